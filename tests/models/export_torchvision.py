#!/usr/bin/python3
"""Exports MobileNetV2, ResNet-18, SqueezeNet 1.1 and ShuffleNetV2 with seeded random weights to ONNX.

They serve to compare runtimes (tests/ort, tests/bench/bench_vs_ort.py).

    /usr/bin/python3 tests/models/export_torchvision.py OUTDIR

Writes OUTDIR/<model>.onnx for mobilenetv2, resnet18, squeezenet1_1 and shufflenetv2 (x1.0), opset 13,
input 'input' 1x3x224x224, output 'output', and OUTDIR/<model>_input.npy (float32, standard normal,
seeded). BatchNorm layers get seeded random statistics and affine parameters so that they are not
identities. Nothing is exported when every file exists and is newer than this script.

Exit codes: 0 done, 1 bad usage or failed export, 2 a required package (python3-torch,
python3-torchvision, python3-numpy) is missing.
"""
import os
import sys
import tempfile

MODELS = ("mobilenetv2", "resnet18", "squeezenet1_1", "shufflenetv2")
INPUT_SHAPE = (1, 3, 224, 224)
OPSET = 13


def import_or_exit(module, package):
    try:
        return __import__(module)
    except ImportError as e:
        print(f"export_torchvision: missing {package} (import {module} failed: {e}); "
              f"run packaging/install-deps.sh", file=sys.stderr)
        sys.exit(2)


def outputs_of(outdir):
    return [os.path.join(outdir, f"{m}.onnx") for m in MODELS] + \
           [os.path.join(outdir, f"{m}_input.npy") for m in MODELS]


def up_to_date(outdir):
    script_mtime = os.path.getmtime(os.path.abspath(__file__))
    return all(os.path.isfile(p) and os.path.getmtime(p) > script_mtime for p in outputs_of(outdir))


def build(name, torch, torchvision):
    constructors = {"mobilenetv2": torchvision.models.mobilenet_v2, "resnet18": torchvision.models.resnet18,
                    "squeezenet1_1": torchvision.models.squeezenet1_1,
                    "shufflenetv2": torchvision.models.shufflenet_v2_x1_0}
    try:
        model = constructors[name](weights=None)
    except TypeError:  # torchvision before 0.13 knows only `pretrained`
        model = constructors[name](pretrained=False)
    randomize_batchnorm(model, torch)
    return model.eval()


def randomize_batchnorm(model, torch):
    """Gives every BatchNorm seeded, non-trivial statistics and affine parameters (variance > 0)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n) * 0.1)
                module.running_var.copy_(torch.rand(n) * 0.5 + 0.75)
                module.weight.copy_(torch.rand(n) * 0.5 + 0.75)
                module.bias.copy_(torch.randn(n) * 0.1)


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def replace_atomically(path, write):
    """Calls write(tmp_path) on a temporary file next to `path`, then renames it over `path`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=os.path.dirname(path))
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def export(name, outdir, seed, torch, torchvision, np):
    torch.manual_seed(seed)
    model = build(name, torch, torchvision)
    x = np.random.default_rng(seed).standard_normal(INPUT_SHAPE).astype(np.float32)
    onnx_path = os.path.join(outdir, f"{name}.onnx")
    replace_atomically(onnx_path, lambda tmp: torch.onnx.export(
        model, torch.from_numpy(x), tmp, opset_version=OPSET,
        input_names=["input"], output_names=["output"]))

    def save_input(tmp):
        with open(tmp, "wb") as f:
            np.save(f, x)
    replace_atomically(os.path.join(outdir, f"{name}_input.npy"), save_input)


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        print("usage: export_torchvision.py OUTDIR", file=sys.stderr)
        return 1
    outdir = argv[1]
    np = import_or_exit("numpy", "python3-numpy")
    torch = import_or_exit("torch", "python3-torch")
    torchvision = import_or_exit("torchvision", "python3-torchvision")
    os.makedirs(outdir, exist_ok=True)
    if up_to_date(outdir):
        print(f"export_torchvision: {outdir} is up to date")
        return 0
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for seed, name in enumerate(MODELS):
        try:
            export(name, outdir, seed, torch, torchvision, np)
        except Exception as e:  # report which model failed, in one line
            print(f"export_torchvision: exporting {name} to {outdir} failed: {e}", file=sys.stderr)
            return 1
        print(f"export_torchvision: wrote {name}.onnx and {name}_input.npy to {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
