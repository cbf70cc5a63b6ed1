#!/usr/bin/python3
"""Top-1 agreement between the studio and ONNX Runtime on the Fashion-MNIST test set.

    /usr/bin/python3 tests/ort/prediction_agreement.py --joule build/bin/joule --model M.onnx \\
        --card resources/models/fmnist_resnet8.card.json --workdir DIR [--min-agreement 0.995] [--limit N]
    ... --model M.onnx --npy X.npy,Y.npy --workdir DIR     (preprocessed float32 inputs instead)

`joule eval` classifies the test images (for a quantized QDQ model this is the studio's integer engine)
and writes its per-input records; ONNX Runtime (ort_predict.mjs) classifies the same images,
preprocessed here with the card's scale / mean / std. With --npy the inputs are X.npy (float32
[N, ...], already preprocessed, given to both as they are) and Y.npy (labels). Prints one JSON line with both accuracies and the
agreement, and exits 1 when the agreement is below --min-agreement. Exit 2 when something needed is
missing (node, onnxruntime-node, numpy, the dataset, a file).
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
        r = subprocess.run([args.node, os.path.join(HERE, "ort_predict.mjs"), args.model, "--images", x_path,
                            "--output", pred_path], capture_output=True, text=True, timeout=900)
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
    print(json.dumps(result))
    if agreement < args.min_agreement:
        fail(1, f"agreement {agreement:.4f} is below {args.min_agreement}")


if __name__ == "__main__":
    main()
