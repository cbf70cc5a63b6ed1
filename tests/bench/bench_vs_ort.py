#!/usr/bin/python3
"""Latency of our engine against ONNX Runtime, side by side in one run (a benchmark, never a test).

    /usr/bin/python3 tests/bench/bench_vs_ort.py [--build build] [--rounds 3] [--runs 50] [--threads 1,2]
                                                [--model M.onnx ...] [--no-int8] [--markdown]
                                            [--eval-model M.onnx ...] [--eval-threads 2] [--eval-batch 64,8] [--no-eval]

For every model, thread count and precision it alternates `joule bench` and ONNX Runtime
(tests/bench/ort_bench.mjs) for --rounds rounds of --runs timed runs each, and reports the median of
each side's round medians and their ratio (ours / ONNX Runtime: below 1 is faster than ONNX Runtime).
fp32 runs the model as it is; int8 runs a QDQ copy that our quantize plugin makes (min-max on 16
seeded random inputs) in both: ONNX Runtime on the QDQ graph, ours lowered to the integer engine.

Then the Fashion-MNIST evaluation throughput (test set, in batches of 64 and of 8 on both sides; ours / ONNX Runtime above 1
is faster than ONNX Runtime).

Default models: the Fashion-MNIST reference models (resources/models/fmnist_*.onnx) and the torchvision
exports in BUILD/test-models (tests/models/export_torchvision.py; ctest's ort fixture makes them).
Exit codes: 0, 1 a run failed, 2 something needed is missing.
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run_json(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()[-500:]}")
    return json.loads(p.stdout)


def input_shape(model):
    import onnx  # Debian's python3-onnx
    m = onnx.load(model, load_external_data=False)
    init = {i.name for i in m.graph.initializer}
    for i in m.graph.input:
        if i.name not in init:
            return [d.dim_value if d.dim_value > 0 else 1 for d in i.type.tensor_type.shape.dim]
    raise RuntimeError(f"{model}: no input")


def quantized_copy(joule, model, shape, workdir):
    """A QDQ copy of `model` made by our quantize plugin on 16 seeded random inputs."""
    import numpy as np
    name = os.path.splitext(os.path.basename(model))[0]
    rng = np.random.default_rng(0)
    x, y = os.path.join(workdir, f"{name}_x.npy"), os.path.join(workdir, f"{name}_y.npy")
    np.save(x, rng.standard_normal([16] + shape[1:]).astype(np.float32))
    np.save(y, np.zeros(16, dtype=np.int64))
    recipe = os.path.join(workdir, f"{name}_int8.json")
    with open(recipe, "w") as f:
        json.dump({"model": os.path.abspath(model),
                   "datasets": {"calibration": {"spec": f"npy:{x},{y}", "limit": 16}, "test": {"spec": f"npy:{x},{y}", "limit": 1}},
                   "target": "stm32l4r5",
                   "steps": [{"plugin": "quantize", "params": {"calibration": "minmax", "calibration_samples": 16, "sqnr_samples": 0}}]}, f)
    out = os.path.join(workdir, f"{name}_qdq")
    run_json([joule, "optimize", recipe, "--no-store", "--export-dir", out, "--json"])
    return os.path.join(out, "c1.onnx")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--model", action="append", default=[])
    p.add_argument("--no-int8", action="store_true")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--eval-model", action="append", default=[],
                   help="Fashion-MNIST model for the evaluation-throughput rows (default: resources/models/fmnist_resnet8.onnx)")
    p.add_argument("--eval-threads", default="2", help="thread counts of the evaluation-throughput rows")
    p.add_argument("--eval-batch", default="64,8",
                   help="batch sizes of the evaluation rows, the same on both sides (64: the issue's setting; 8: joule eval's default)")
    p.add_argument("--no-eval", action="store_true", help="skip the evaluation-throughput rows")
    a = p.parse_args(argv)
    joule = os.path.join(a.build, "bin", "joule")
    node = shutil.which("node") or shutil.which("nodejs")
    if not os.path.exists(joule) or not node:
        print(f"bench_vs_ort: needs {joule} and node on PATH", file=sys.stderr)
        return 2
    torchvision = ("mobilenetv2.onnx", "resnet18.onnx", "squeezenet1_1.onnx", "shufflenetv2.onnx")
    models = a.model or sorted(glob.glob(os.path.join(ROOT, "resources", "models", "fmnist_*.onnx"))) + \
        [m for m in (os.path.join(a.build, "test-models", f) for f in torchvision) if os.path.exists(m)]
    threads = [int(t) for t in a.threads.split(",")]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"bench_vs_ort: {cpu}, {os.cpu_count()} cores, commit {commit}; median of {a.rounds} interleaved rounds of {a.runs} runs, batch 1")
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for model in models:
            shape = input_shape(model)
            variants = [("fp32", model, model)]
            if not a.no_int8:
                try:
                    qdq = quantized_copy(joule, model, shape, work)
                    variants.append(("int8", qdq, qdq))
                except (RuntimeError, ImportError) as e:
                    print(f"bench_vs_ort: {os.path.basename(model)}: no int8 copy: {e}", file=sys.stderr)
            for precision, ours_model, ort_model in variants:
                for t in threads:
                    ours, theirs = [], []
                    shape_arg = ",".join(str(d) for d in shape)
                    for _ in range(a.rounds):
                        cmd = [joule, "bench", ours_model, "--threads", str(t), "--runs", str(a.runs), "--warmup", "5", "--json",
                               "--precision", precision]
                        ours.append(run_json(cmd)["median_ms"])
                        theirs.append(run_json([node, os.path.join(HERE, "ort_bench.mjs"), ort_model, "--threads", str(t),
                                                "--runs", str(a.runs), "--shape", shape_arg])["median_ms"])
                    o, r = statistics.median(ours), statistics.median(theirs)
                    rows.append((os.path.basename(model), precision, t, o, r, o / r))
                    print(f"  {os.path.basename(model):22s} {precision:5s} {t} thread(s): ours {o:9.3f} ms, ONNX Runtime {r:9.3f} ms, ratio {o / r:5.2f}",
                          flush=True)
    eval_rows = [] if a.no_eval else eval_throughput(a, joule, node)
    if a.markdown:
        print("\n| model | precision | threads | ours ms | ONNX Runtime ms | ours / ORT |\n|---|---|---|---|---|---|")
        for m, prec, t, o, r, q in rows:
            print(f"| {m} | {prec} | {t} | {o:.3f} | {r:.3f} | {q:.2f} |")
        if eval_rows:
            print("\n| model | threads | batch | ours images/s | ONNX Runtime images/s | ours / ORT |\n|---|---|---|---|---|---|")
            for m, t, b, o, r in eval_rows:
                print(f"| {m} | {t} | {b} | {o:,.0f} | {r:,.0f} | {o / r:.2f} |")
    return 0


FASHION_MNIST = "/usr/share/datasets/fashion-mnist"   # Debian's dataset-fashion-mnist


def eval_throughput(a, joule, node):
    """Fashion-MNIST test set (10,000 images) in batches of B (each --eval-batch, the same B on both sides):
    `joule eval --threads T --batch B` against ONNX
    Runtime (ort_eval.mjs), interleaved for --rounds rounds; ONNX Runtime's figure is the better of its
    two ways to use T threads (one session with T intra-op threads, or T sessions side by side)."""
    images = os.path.join(FASHION_MNIST, "t10k-images-idx3-ubyte.gz")
    labels = os.path.join(FASHION_MNIST, "t10k-labels-idx1-ubyte.gz")
    if not (os.path.exists(images) and os.path.exists(labels)):
        raise RuntimeError(f"no Fashion-MNIST test set in {FASHION_MNIST} (install dataset-fashion-mnist)")
    rows = []
    for model in a.eval_model or [os.path.join(ROOT, "resources", "models", "fmnist_resnet8.onnx")]:
        card_path = os.path.splitext(model)[0] + ".card.json"
        pre = json.load(open(card_path))["preprocessing"] if os.path.exists(card_path) else {}
        scale, mean, std = pre.get("scale", 1 / 255), pre.get("mean", [0.0])[0], pre.get("std", [1.0])[0]
        for t, b in [(int(x), int(y)) for x in a.eval_threads.split(",") for y in a.eval_batch.split(",")]:
            ours, theirs = [], []
            for _ in range(a.rounds):
                d = run_json([joule, "eval", model, "--dataset", "fashion-mnist:test", "--threads", str(t), "--batch", str(b),
                              "--json"])
                ours.append(d["images_per_s"])
                best = 0.0
                for mode in ("intra", "sessions"):
                    r = run_json([node, os.path.join(HERE, "ort_eval.mjs"), model, "--images", images, "--labels", labels,
                                  "--batch", str(b), "--threads", str(t), "--mode", mode, "--scale", str(scale),
                                  "--mean", str(mean), "--std", str(std)])
                    if abs(r["accuracy"] - d["accuracy"]) > 0.001:
                        raise RuntimeError(f"{model}: ONNX Runtime's accuracy {r['accuracy']} differs from ours {d['accuracy']}")
                    best = max(best, r["images_per_s"])
                theirs.append(best)
            o, r = statistics.median(ours), statistics.median(theirs)
            rows.append((os.path.basename(model), t, b, o, r))
            print(f"  {os.path.basename(model):22s} eval  {t} thread(s), batch {b:3d}: ours {o:9,.0f} images/s, ONNX Runtime {r:9,.0f} images/s, "
                  f"ratio {o / r:5.2f}", flush=True)
    return rows


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except RuntimeError as e:
        print(f"bench_vs_ort: {e}", file=sys.stderr)
        sys.exit(1)
