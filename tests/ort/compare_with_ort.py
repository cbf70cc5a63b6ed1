#!/usr/bin/python3
"""Runs models with `joule run` and with ONNX Runtime (ort_run.mjs) and compares every output.

    /usr/bin/python3 tests/ort/compare_with_ort.py --joule build/bin/joule --model M.onnx \\
        --input NAME=X.npy [--input ...] --workdir DIR [--tolerance 1e-4]
    ... --model A.onnx --model B.onnx --random-input 1x1x28x28 --workdir DIR

--random-input [NAME=]SHAPE writes a float32 standard-normal tensor (seed 0) of SHAPE (e.g. 1x3x8x8) to
DIR and feeds it to input NAME, or to the model's only input when NAME is left out. With several
--model options every model gets the same inputs, each in its own folder DIR/<model>/.

An output passes when ONNX Runtime and joule give the same shape and dtype and
max|joule - ort| <= tolerance * max|ort| (exact equality for integer and bool outputs).
Exit codes: 0 every output passes, 1 some output fails or a run fails, 2 bad usage or something
needed is missing (node, onnxruntime-node, numpy, the joule binary, a model or input file).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ORT_RUN = os.path.join(HERE, "ort_run.mjs")
ORT_PACKAGE = os.path.join(HERE, "node_modules", "onnxruntime-node", "package.json")
RUN_TIMEOUT_S = 240


class Missing(Exception):
    """Something the comparison needs is not there (exit 2)."""


class RunFailed(Exception):
    """joule or ONNX Runtime did not produce outputs (exit 1)."""


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--joule", required=True, help="path to the joule CLI")
    p.add_argument("--model", required=True, action="append", help="ONNX model (repeatable)")
    p.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy")
    p.add_argument("--random-input", action="append", default=[], metavar="[NAME=]SHAPE")
    p.add_argument("--workdir", required=True, help="folder for inputs and both runtimes' outputs")
    p.add_argument("--tolerance", type=float, default=1e-4, help="relative to max|ort| (default 1e-4)")
    p.add_argument("--node", default=None, help="node executable (default: node on PATH)")
    p.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (default: its own)")
    args = p.parse_args(argv)
    if not args.input and not args.random_input:
        p.error("give at least one --input NAME=FILE.npy or --random-input [NAME=]SHAPE")
    if args.tolerance < 0:
        p.error("--tolerance must not be negative")
    return args


def require_prerequisites(args):
    """Returns (numpy module, node path); raises Missing naming the first thing that is absent."""
    try:
        import numpy
    except ImportError as e:
        raise Missing(f"python3-numpy is missing (import numpy failed: {e})")
    node = args.node or shutil.which("node")
    if not node or not (os.path.isfile(node) and os.access(node, os.X_OK)):
        raise Missing(f"node is missing ({args.node or 'not on PATH'}); install nodejs (packaging/install-deps.sh)")
    if not os.path.isfile(ORT_PACKAGE):
        raise Missing(f"onnxruntime-node is missing ({ORT_PACKAGE}); run 'npm install --ignore-scripts' in {HERE}")
    if not (os.path.isfile(args.joule) and os.access(args.joule, os.X_OK)):
        raise Missing(f"joule binary is missing or not executable: {args.joule}")
    for model in args.model:
        if not os.path.isfile(model):
            raise Missing(f"model file is missing: {model}")
    for spec in args.input:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise Missing(f"--input '{spec}' is not NAME=FILE.npy")
        if not os.path.isfile(path):
            raise Missing(f"input file is missing: {path} (for input '{name}')")
    return numpy, node


def parse_shape(text):
    try:
        dims = [int(d) for d in text.lower().split("x")]
    except ValueError:
        dims = []
    if not dims or any(d < 0 for d in dims):
        raise Missing(f"--random-input shape '{text}' is not like 1x1x28x28")
    return dims


def run(cmd, what):
    print("+ " + " ".join(cmd), flush=True)
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RunFailed(f"{what} did not finish within {RUN_TIMEOUT_S} s")
    elapsed = time.monotonic() - start
    if proc.stderr.strip():
        sys.stdout.write("".join(f"  {what}: {line}\n" for line in proc.stderr.strip().splitlines()[-10:]))
    if proc.returncode != 0:
        raise RunFailed(f"{what} exited with {proc.returncode}")
    print(f"  {what}: finished in {elapsed:.2f} s wall", flush=True)
    return proc.stdout


def model_inputs(node, model):
    out = run([node, ORT_RUN, model, "--list-inputs"], "ort inputs")
    return [entry["name"] for entry in json.loads(out)]


def write_random_inputs(np, specs, model, node, folder):
    """Returns NAME=FILE.npy specs for the --random-input options, written into `folder`."""
    result = []
    for spec in specs:
        name, sep, shape_text = spec.rpartition("=")
        if not sep:
            names = model_inputs(node, model)
            if len(names) != 1:
                raise RunFailed(f"{model}: has inputs {names}; say which one with --random-input NAME=SHAPE")
            name = names[0]
        array = np.random.default_rng(0).standard_normal(parse_shape(shape_text)).astype(np.float32)
        path = os.path.join(folder, f"random_{len(result)}.npy")
        with open(path + ".tmp", "wb") as f:
            np.save(f, array)
        os.replace(path + ".tmp", path)
        result.append(f"{name}={path}")
    return result


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def compare_output(np, label, name, ort_file, joule_file, tolerance):
    """Prints one line for output `name`; returns True when it passes."""
    if not os.path.isfile(joule_file):
        print(f"{label} {name}: joule wrote no {os.path.basename(joule_file)} FAIL")
        return False
    ref, got = np.load(ort_file), np.load(joule_file)
    if ref.shape != got.shape or ref.dtype != got.dtype:
        print(f"{label} {name}: ort {ref.dtype}{list(ref.shape)} vs joule {got.dtype}{list(got.shape)} FAIL")
        return False
    exact = ref.dtype.kind in "biu"
    ref64, got64 = ref.astype(np.float64), got.astype(np.float64)
    if ref.size == 0:
        diff, scale = 0.0, 0.0
    else:
        if not (np.isfinite(ref64).all() and np.isfinite(got64).all()):
            nan_match = np.array_equal(ref64, got64, equal_nan=True)
            print(f"{label} {name}: non-finite values {'match' if nan_match else 'differ'} "
                  f"{'PASS' if nan_match else 'FAIL'}")
            return nan_match
        diff, scale = float(np.max(np.abs(got64 - ref64))), float(np.max(np.abs(ref64)))
    bound = 0.0 if exact else tolerance * scale
    ok = diff <= bound
    print(f"{label} {name}: {ref.dtype}{list(ref.shape)} max_abs_diff={diff:.3e} bound={bound:.3e} "
          f"(max|ort|={scale:.3e}) {'PASS' if ok else 'FAIL'}")
    return ok


def compare_model(np, node, args, model, folder):
    """Runs both runtimes on `model`; returns (passed, failed) output counts."""
    label = os.path.splitext(os.path.basename(model))[0]
    inputs = args.input + write_random_inputs(np, args.random_input, model, node, fresh_dir(os.path.join(folder, "inputs")))
    input_args = [a for spec in inputs for a in ("--input", spec)]
    ort_dir, joule_dir = fresh_dir(os.path.join(folder, "ort")), fresh_dir(os.path.join(folder, "joule"))
    threads = ["--threads", str(args.threads)] if args.threads > 0 else []
    try:
        run([node, ORT_RUN, model, *input_args, "--output-dir", ort_dir, "--timing", *threads], "ort")
        run([args.joule, "run", model, *input_args, "--output-dir", joule_dir], "joule")
    except RunFailed as e:
        print(f"{label}: {e} FAIL")
        return 0, 1
    names = sorted(f[:-4] for f in os.listdir(ort_dir) if f.endswith(".npy"))
    if not names:
        print(f"{label}: ONNX Runtime wrote no outputs to {ort_dir} FAIL")
        return 0, 1
    results = [compare_output(np, label, n, os.path.join(ort_dir, n + ".npy"),
                              os.path.join(joule_dir, n + ".npy"), args.tolerance) for n in names]
    extra = sorted(set(f[:-4] for f in os.listdir(joule_dir) if f.endswith(".npy")) - set(names))
    for n in extra:
        print(f"{label} {n}: joule wrote an output ONNX Runtime does not have FAIL")
    return sum(results), len(results) - sum(results) + len(extra)


def main(argv):
    args = parse_args(argv)
    try:
        np, node = require_prerequisites(args)
        for spec in args.random_input:
            parse_shape(spec.rpartition("=")[2])
    except Missing as e:
        print(f"compare_with_ort: FAIL: {e}", file=sys.stderr)
        return 2
    passed = failed = 0
    stems = {}
    for model in args.model:
        stem = os.path.splitext(os.path.basename(model))[0]
        stems[stem] = stems.get(stem, 0) + 1
        folder = os.path.join(args.workdir, stem if stems[stem] == 1 else f"{stem}_{stems[stem]}")
        try:
            p, f = compare_model(np, node, args, model, folder)
        except RunFailed as e:
            print(f"{stem}: {e} FAIL")
            p, f = 0, 1
        passed, failed = passed + p, failed + f
    print(f"compare_with_ort: {passed} of {passed + failed} outputs within tolerance "
          f"({len(args.model)} model(s)) -> {'PASS' if failed == 0 else 'FAIL'}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
