#!/usr/bin/python3
"""Latency of our engine against ONNX Runtime, side by side in one run (a benchmark, never a test).

    /usr/bin/python3 tests/bench/bench_vs_ort.py [--build build] [--rounds 3] [--runs 50] [--threads 1,2]
                                                [--model M.onnx ...] [--no-int8] [--markdown]

For every model, thread count and precision it alternates `joule bench` and ONNX Runtime
(tests/bench/ort_bench.mjs) for --rounds rounds of --runs timed runs each, and reports the median of
each side's round medians and their ratio (ours / ONNX Runtime: below 1 is faster than ONNX Runtime).
fp32 runs the model as it is; int8 runs a QDQ copy that our quantize plugin makes (min-max on 16
seeded random inputs) in both: ONNX Runtime on the QDQ graph, ours lowered to the integer engine.

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
    a = p.parse_args(argv)
    joule = os.path.join(a.build, "bin", "joule")
    node = shutil.which("node") or shutil.which("nodejs")
    if not os.path.exists(joule) or not node:
        print(f"bench_vs_ort: needs {joule} and node on PATH", file=sys.stderr)
        return 2
    models = a.model or sorted(glob.glob(os.path.join(ROOT, "resources", "models", "fmnist_*.onnx"))) + \
        [m for m in (os.path.join(a.build, "test-models", f) for f in ("mobilenetv2.onnx", "resnet18.onnx", "squeezenet1_1.onnx", "shufflenetv2.onnx")) if os.path.exists(m)]
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
    if a.markdown:
        print("\n| model | precision | threads | ours ms | ONNX Runtime ms | ours / ORT |\n|---|---|---|---|---|---|")
        for m, prec, t, o, r, q in rows:
            print(f"| {m} | {prec} | {t} | {o:.3f} | {r:.3f} | {q:.2f} |")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except RuntimeError as e:
        print(f"bench_vs_ort: {e}", file=sys.stderr)
        sys.exit(1)
