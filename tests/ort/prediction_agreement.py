#!/usr/bin/python3
"""Top-1 and value agreement between the studio and ONNX Runtime on the Fashion-MNIST test set.

    /usr/bin/python3 tests/ort/prediction_agreement.py --joule build/bin/joule --model M.onnx \\
        --card resources/models/fmnist_resnet8.card.json --workdir DIR [--min-agreement 0.995] [--limit N]
        [--max-steps 1 --min-value-share 0.999]
    ... --model M.onnx --npy X.npy,Y.npy --workdir DIR     (preprocessed float32 inputs instead)

`joule eval` classifies the test images (for a quantized QDQ model this is the studio's integer engine)
and writes its per-input records; ONNX Runtime (ort_predict.mjs) classifies the same images,
preprocessed here with the card's scale / mean / std. With --npy the inputs are X.npy (float32
[N, ...], already preprocessed, given to both as they are) and Y.npy (labels). Prints one JSON line with both accuracies and the
agreement, and exits 1 when the agreement is below --min-agreement.

With --max-steps, the outputs are also compared value by value: `joule run` (the integer engine for a
QDQ model) and ONNX Runtime on the same inputs, the difference of every output element measured in
quantization steps: the scale of the DequantizeLinear that produces a quantized output, or for a float
output (logits of an integer Gemm) the step an 8-bit quantization of its range would have. Exits 1 when
fewer than --min-value-share of the elements differ by at most --max-steps; the JSON line gives the
largest and the mean difference in steps. Exit 2 when something needed is missing (node,
onnxruntime-node, numpy, the dataset, a file).
"""
import argparse
import csv
import gzip
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("JOULE_DATA", "/usr/share/datasets/fashion-mnist")


def fail(code, message):
    print(f"prediction_agreement: {message}", file=sys.stderr)
    sys.exit(code)


def read_idx(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    import numpy as np
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(name):
    for candidate in (os.path.join(DATA, name), os.path.join(DATA, name + ".gz"),
                      os.path.join(DATA, "fashion-mnist", name), os.path.join(DATA, "fashion-mnist", name + ".gz")):
        if os.path.exists(candidate):
            return candidate
    fail(2, f"{name}(.gz) not found in {DATA} (install dataset-fashion-mnist)")


def output_step(model_path, reference):
    """One quantization step of the model's first output, and what it is.

    A quantized output (made by a DequantizeLinear with a constant scale) steps by that scale. A float
    output (the classifier's logits after an integer Gemm) steps by what an 8-bit quantization of it
    would: its range over these inputs, zero included, divided by 255."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        fail(2, "python3-onnx is missing (apt-get install python3-onnx)")
    import numpy as np
    graph = onnx.load(model_path).graph
    out = graph.output[0].name
    node = next((n for n in graph.node if out in n.output), None)
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    if node is not None and node.op_type == "DequantizeLinear" and node.input[1] in inits:
        return inits[node.input[1]].astype(np.float64).reshape(-1), "output scale"
    lo, hi = min(float(reference.min()), 0.0), max(float(reference.max()), 0.0)
    if hi <= lo:
        fail(1, f"{model_path}: output '{out}' is constant zero; no quantization step")
    return np.float64((hi - lo) / 255.0), "8-bit range of the float output"


def joule_outputs(args, x, workdir):
    """`joule run` on every sample of x (in chunks where the batch dimension is free): float32 [N, classes]."""
    import numpy as np
    import onnx
    dim0 = onnx.load(args.model, load_external_data=False).graph.input[0].type.tensor_type.shape.dim[0]
    chunk = 1000 if not dim0.HasField("dim_value") else 1
    out_name = onnx.load(args.model, load_external_data=False).graph.output[0].name
    parts = []
    for b in range(0, len(x), chunk):
        x_path = os.path.join(workdir, "run_input.npy")
        np.save(x_path, x[b:b + chunk])
        out_dir = os.path.join(workdir, "run_output")
        r = subprocess.run([args.joule, "run", args.model, "--input", x_path, "--output-dir", out_dir],
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            fail(1, f"joule run failed on samples from {b}: {r.stderr.strip()}")
        y = np.load(os.path.join(out_dir, out_name + ".npy"))
        parts.append(y.reshape(len(x[b:b + chunk]), -1))
    return np.concatenate(parts).astype(np.float32)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--joule", required=True)
    p.add_argument("--node", default="node")
    p.add_argument("--model", required=True)
    p.add_argument("--card", help="model card with the preprocessing (Fashion-MNIST test set)")
    p.add_argument("--npy", help="X.npy,Y.npy: preprocessed float32 inputs and labels instead of Fashion-MNIST")
    p.add_argument("--workdir", required=True)
    p.add_argument("--min-agreement", type=float, default=0.995)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--max-steps", type=float, help="compare output values too: the largest allowed difference in steps")
    p.add_argument("--min-value-share", type=float, default=0.999,
                   help="share of output elements that must lie within --max-steps (default 0.999)")
    args = p.parse_args()
    try:
        import numpy as np
    except ImportError:
        fail(2, "numpy is missing (apt-get install python3-numpy)")
    if bool(args.card) == bool(args.npy):
        fail(2, "give either --card (Fashion-MNIST test set) or --npy X.npy,Y.npy")
    for f in [args.joule, args.model] + ([args.card] if args.card else args.npy.split(",")):
        if not os.path.exists(f):
            fail(2, f"{f}: no such file")
    os.makedirs(args.workdir, exist_ok=True)
    records = os.path.join(args.workdir, "joule_records.csv")

    if args.card:
        prep = json.load(open(args.card))["preprocessing"]
        scale, mean, std = float(prep["scale"]), [float(v) for v in prep["mean"]], [float(v) for v in prep["std"]]
        images = read_idx(find("t10k-images-idx3-ubyte"))
        labels = read_idx(find("t10k-labels-idx1-ubyte")).astype(np.int64)
        if args.limit:
            images, labels = images[:args.limit], labels[:args.limit]
        x = ((images.astype(np.float32) * np.float32(scale) - np.float32(mean[0])) / np.float32(std[0])).astype(np.float32)
        x = x.reshape(len(x), 1, 28, 28)
        x_path = os.path.join(args.workdir, "images.npy")
        np.save(x_path, x)
        cmd = [args.joule, "eval", args.model, "--dataset", "fashion-mnist:test", "--records", records,
               "--scale", repr(scale), "--mean", ",".join(map(repr, mean)), "--std", ",".join(map(repr, std)), "--json"]
    else:
        x_path, y_path = args.npy.split(",")
        x = np.load(x_path)
        labels = np.load(y_path).astype(np.int64)
        if args.limit:
            x, labels = x[:args.limit], labels[:args.limit]
        cmd = [args.joule, "eval", args.model, "--dataset", f"npy:{x_path},{y_path}", "--records", records, "--json"]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        fail(1, f"joule eval failed: {r.stderr.strip()}")
    ours = np.zeros(len(x), dtype=np.int64)
    with open(records) as f:
        for row in csv.DictReader(f):
            ours[int(row["index"])] = int(row["prediction"])

    pred_path = os.path.join(args.workdir, "ort_predictions.npy")
    try:
        scores_path = os.path.join(args.workdir, "ort_scores.npy")
        r = subprocess.run([args.node, os.path.join(HERE, "ort_predict.mjs"), args.model, "--images", x_path,
                            "--output", pred_path] + (["--scores", scores_path] if args.max_steps is not None else []),
                           capture_output=True, text=True, timeout=900)
    except FileNotFoundError:
        fail(2, f"{args.node}: not found (apt-get install nodejs)")
    if r.returncode == 2:
        fail(2, r.stderr.strip())
    if r.returncode != 0:
        fail(1, f"ONNX Runtime failed: {r.stderr.strip()}")
    theirs = np.load(pred_path)

    agreement = float(np.mean(ours == theirs))
    result = {"model": args.model, "samples": int(len(x)), "agreement": agreement,
              "joule_accuracy": float(np.mean(ours == labels)), "ort_accuracy": float(np.mean(theirs == labels)),
              "disagreements": int(np.sum(ours != theirs))}
    value_share = None
    if args.max_steps is not None:
        mine = joule_outputs(args, x, args.workdir)
        ort_values = np.load(scores_path).reshape(mine.shape)
        step, step_kind = output_step(args.model, ort_values)
        steps = np.abs(mine.astype(np.float64) - ort_values.astype(np.float64)) / step
        value_share = float(np.mean(steps <= args.max_steps + 1e-3))
        result.update({"output_step": float(np.max(step)), "step_kind": step_kind, "elements": int(steps.size),
                       "max_abs_diff": float(np.abs(mine - ort_values).max()), "max_diff_steps": float(steps.max()),
                       "mean_diff_steps": float(steps.mean()), "share_within_max_steps": value_share,
                       "elements_over_max_steps": int(np.sum(steps > args.max_steps + 1e-3))})
    print(json.dumps(result))
    if agreement < args.min_agreement:
        fail(1, f"agreement {agreement:.4f} is below {args.min_agreement}")
    if value_share is not None and value_share < args.min_value_share:
        fail(1, f"only {value_share:.5f} of the output elements lie within {args.max_steps} quantization steps "
                f"(need {args.min_value_share})")


if __name__ == "__main__":
    main()
