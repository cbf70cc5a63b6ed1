#!/usr/bin/env bash
# The main job, for `make demo`: what each reference model is, how accurate it is on the real
# Fashion-MNIST test set, measured by our own engine, and what int8 quantization does to ResNet-8
# (accuracy, estimated latency and energy on a board, measured speed here), and what adaptive inference
# (a big/little cascade, early exits) saves per input, what channel pruning saves (alone and with int8), a
# sweep recorded in the experiment store, and the int8 cascade exported as C for a Cortex-M4 and run there
# under QEMU.
# Every optimize run is recorded in the demo project, BUILD/demo/joule.db; at the end the studio opens
# on it (or, without a display, its views are rendered to BUILD/demo/screenshots/).
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
joule="$build/bin/joule"
project_dir="$build/demo"
project="$project_dir/joule.db"
mkdir -p "$project_dir"
rm -f "$project" "$project-wal" "$project-shm"

shopt -s nullglob
models=("$here"/resources/models/*.onnx)
if ((${#models[@]} == 0)); then
  echo "demo: no reference models in resources/models (train them with /usr/bin/python3 resources/models/make_models.py)" >&2
  exit 1
fi

for f in "${models[@]}"; do
  echo "== $(basename "$f" .onnx)"
  "$joule" info "$f"
  echo
done

echo "== Accuracy on fashion-mnist:test (10,000 images), measured by the Joule engine"
printf '%-18s %10s %10s %12s %12s\n' model accuracy correct MACs images/s
for f in "${models[@]}"; do
  m=$(basename "$f" .onnx)
  [[ $m == fmnist_* ]] || continue   # models trained on Fashion-MNIST
  json=$("$joule" eval "$f" --dataset fashion-mnist:test --json)
  macs=$("$joule" info "$f" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["macs"])')
  echo "$json" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print("%-18s %9.2f%% %10d %12s %12.0f" % (sys.argv[1], 100 * d["accuracy"], d["correct"], sys.argv[2], d["images_per_s"]))
' "$m" "$macs"
done

echo
echo "== Optimization: static int8 quantization of ResNet-8 (resources/recipes/fmnist_resnet8_int8.json)"
echo "   accuracy on the 10,000 test images by the integer engine; latency and energy estimated on the recipe's target"
"$joule" optimize "$here"/resources/recipes/fmnist_resnet8_int8.json --store "$project"
echo
echo "== Speed on this machine (measured, 1 thread, batch 1): fp32 engine vs int8 engine"
for p in fp32 int8; do
  "$joule" bench "$here"/resources/models/fmnist_resnet8.onnx --precision "$p" --runs 200 --json |
    /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print("fmnist_resnet8 %-5s median %.3f ms" % (sys.argv[1], d["median_ms"]))' "$p"
done

echo
echo "== Adaptive inference: each input pays only for the stages it needs (thresholds tuned on the held-out"
echo "   train [50000, 60000), reported on the 10,000 test images; energy estimated on the recipe's target)"
for r in fmnist_cascade fmnist_cascade_int8 fmnist_early_exit; do
  echo "-- $r"
  "$joule" optimize "$here/resources/recipes/$r.json" --store "$project" 2>/dev/null
done

echo
echo "== Pruning that removes work: 20 % of ResNet-8's channels removed (residual branches together) and refitted"
echo "   by least squares without retraining, alone and then quantized to int8 (energy estimated on the recipe's target)"
for r in fmnist_resnet8_prune fmnist_resnet8_prune_int8; do
  echo "-- $r"
  "$joule" optimize "$here/resources/recipes/$r.json" --store "$project" 2>/dev/null
done

echo
echo "== A sweep into the experiment store: DS-CNN int8, calibration x weight granularity (8 points),"
echo "   every point one transaction in a SQLite store; then the Pareto front of accuracy against energy"
store_dir=$(mktemp -d)
"$joule" sweep "$here/resources/recipes/fmnist_dscnn_sweep.json" --store "$store_dir/joule.db" \
  --grid quantize.calibration=minmax,percentile,entropy,mse --grid quantize.weights=per_channel,per_tensor 2>/dev/null
"$joule" runs list --store "$store_dir/joule.db"
"$joule" pareto --store "$store_dir/joule.db" --x energy_uj --y accuracy
rm -rf "$store_dir"

echo
echo "== Export for the board: the int8 cascade as C99 (bit-exact with the integer engine), ONNX, a Cortex-M4"
echo "   build's flash and RAM, then the firmware run on an emulated Cortex-M4 (QEMU mps2-an386)"
cascade_id=$("$joule" runs list --store "$project" --json | /usr/bin/python3 -c '
import json, sys
for run in json.load(sys.stdin)["runs"]:
    for c in run["candidates"]:
        if run["name"] == "fmnist_cascade_int8" and c["plugin"] == "cascade": print(c["id"])')
"$joule" export --store "$project" --candidate "$cascade_id" --format bundle --out "$project_dir/export" --force 2>/dev/null
if command -v qemu-system-arm >/dev/null; then
  make -s -C "$project_dir/export/cortex_m" run
fi

echo
echo "== The studio on the demo project ($project: the runs above, every candidate with its per-input records)"
if [[ -n ${DISPLAY:-} || -n ${WAYLAND_DISPLAY:-} ]]; then
  echo "   opening joule-studio (close its window to end the demo)"
  "$build/bin/joule-studio" "$project"
else
  "$build/bin/joule-studio" --screenshot "$project_dir/screenshots" "$project" >/dev/null
  echo "   no display here, so no window: the demo project is $project (open it with joule-studio on a desktop);"
  echo "   its views were rendered to $project_dir/screenshots/"
  ls "$project_dir/screenshots"
fi
