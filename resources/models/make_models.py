#!/usr/bin/python3
"""Train and export Joule Studio's reference Fashion-MNIST models.

Run with Debian's Python (python3-torch, python3-torchvision, python3-onnx, python3-numpy):

    /usr/bin/python3 resources/models/make_models.py [--only NAME ...] [--out DIR]

Reads the four IDX .gz files from $JOULE_DATA or /usr/share/datasets/fashion-mnist, trains three
models with fixed seeds on 2 CPU threads on all 60,000 training images (the committed models; with
--train-images 50000 the last 10,000, train [50000, 60000), are held out instead, as a validation
split never trained on), and writes next to this script (or to --out):

    fmnist_resnet8.onnx  fmnist_little.onnx  fmnist_dscnn.onnx   (opset 13, batch axis "batch")
    <name>.card.json                                              (machine-readable model cards)

Preprocessing of every model: x = (pixel * scale - mean) / std with scale = 1/255 and the dataset's
mean/std below. Accuracies in the cards are measured on the PyTorch model in eval mode on all 10,000
test images with exactly that preprocessing.
"""

import argparse
import gzip
import json
import math
import os
import struct
import sys
import tempfile
import time

# Sleep instead of spinning in OpenMP barriers: on a shared 2-core machine spinning threads make training
# several times slower. Must be set before torch loads libgomp; it does not change any result.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SCALE = 1.0 / 255.0
# Fashion-MNIST training-set statistics of pixel/255, rounded; recorded in every card.
MEAN = 0.2860
STD = 0.3530
SEED = 20240601
TRAIN_IMAGES, TRAIN_TOTAL = 60000, 60000   # set by main() from --train-images
THREADS = 2


# --------------------------------------------------------------------------------------------- data

def read_idx(path):
    """Read an IDX file (optionally .gz) into a numpy array; errors name the file and the field."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4:
        raise ValueError(f"{path}: file too short for the IDX magic number")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0:
        raise ValueError(f"{path}: magic number must start with two zero bytes, got {zero:#x}")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if dtype_code not in dtypes:
        raise ValueError(f"{path}: unknown IDX data type code {dtype_code:#x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: file too short for {ndim} dimension sizes")
    dims = struct.unpack(">" + "I" * ndim, raw[4:header])
    dtype = np.dtype(dtypes[dtype_code])
    count = int(np.prod(dims)) if dims else 1
    if len(raw) - header != count * dtype.itemsize:
        raise ValueError(f"{path}: data holds {len(raw) - header} bytes, dimensions {dims} need "
                         f"{count * dtype.itemsize}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


def load_fashion_mnist(folder):
    def part(prefix):
        images = read_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"))
        labels = read_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"))
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"{folder}/{prefix}-images-idx3-ubyte.gz: expected N x 28 x 28, got {images.shape}")
        if labels.shape != (images.shape[0],):
            raise ValueError(f"{folder}/{prefix}-labels-idx1-ubyte.gz: {labels.shape[0]} labels for "
                             f"{images.shape[0]} images")
        return images, labels
    return part("train"), part("t10k")


def preprocess(images_u8):
    """uint8 N x 28 x 28 -> float32 N x 1 x 28 x 28 with exactly the preprocessing in the cards."""
    x = torch.from_numpy(images_u8.astype(np.float32)).unsqueeze(1)
    return (x * SCALE - MEAN) / STD


def augment(x, generator, pad, flip):
    """Random crop with `pad` pixels of padding (background value) and random horizontal flip."""
    n, _, h, w = x.shape
    if pad == 0 and not flip:
        return x
    background = (0.0 - MEAN) / STD
    padded = F.pad(x, (pad, pad, pad, pad), value=background)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, :, None]          # n x h x 1
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, :]          # n x 1 x w
    out = padded[torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)
    if flip:
        mask = torch.rand(n, generator=generator) < 0.5
        out = torch.where(mask[:, None, None, None], out.flip(-1), out)
    return out


# ------------------------------------------------------------------------------------------- models

class BasicBlock(nn.Module):
    """Two 3x3 convs with batch norm; a 1x1 conv shortcut where the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Conv2d(cin, cout, 1, stride, 0, bias=False)
            self.shortcut_bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.shortcut is None else self.shortcut_bn(self.shortcut(x))
        return F.relu(y + s)


class ResNet8(nn.Module):
    """MLPerf Tiny ResNet-8 layout: stem 16, stages 16/32/64 (stride 1/2/2), GAP, FC."""
    architecture = ("ResNet-8: conv3x3(16)+BN+ReLU, 3 basic blocks 16/32/64 ch stride 1/2/2 "
                    "(1x1 conv shortcut on shape change), global avg pool, FC 64->10")

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        self.stage1 = BasicBlock(16, 16, 1)
        self.stage2 = BasicBlock(16, 32, 2)
        self.stage3 = BasicBlock(32, 64, 2)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem(x)))
        x = self.stage3(self.stage2(self.stage1(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


class LittleCNN(nn.Module):
    """Tiny CNN for the first stage of a big/little cascade."""
    architecture = ("Little CNN: conv3x3 s2 (8)+BN+ReLU -> 14x14, conv3x3 s2 (16)+BN+ReLU -> 7x7, "
                    "flatten 784, FC 784->10")

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


class DSBlock(nn.Module):
    """Depthwise 3x3 + BN + ReLU6, pointwise 1x1 + BN + ReLU6."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.dw = nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False)
        self.dw_bn = nn.BatchNorm2d(cin)
        self.pw = nn.Conv2d(cin, cout, 1, 1, 0, bias=False)
        self.pw_bn = nn.BatchNorm2d(cout)
        self.act = nn.ReLU6()

    def forward(self, x):
        x = self.act(self.dw_bn(self.dw(x)))
        return self.act(self.pw_bn(self.pw(x)))


class DSCNN(nn.Module):
    """DS-CNN / MobileNet-v1 style network (stride-2 stem as in Hello Edge's DS-CNN)."""
    architecture = ("DS-CNN: conv3x3 s2 (32)+BN+ReLU6 -> 14x14, 4 depthwise-separable blocks (dw3x3+BN+ReLU6, "
                    "pw1x1+BN+ReLU6) 64/128/128/256 ch stride 1/2/1/1, global avg pool, FC 256->10")

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 32, 3, 2, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(32)
        self.act = nn.ReLU6()
        self.blocks = nn.Sequential(
            DSBlock(32, 64, 1),
            DSBlock(64, 128, 2),
            DSBlock(128, 128, 1),
            DSBlock(128, 256, 1),
        )
        self.fc = nn.Linear(256, 10)

    def forward(self, x):
        x = self.act(self.stem_bn(self.stem(x)))
        x = self.blocks(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


# name -> (model class, training recipe); augmentation = (crop padding in pixels, horizontal flip)
RECIPES = {
    "fmnist_resnet8": (ResNet8, dict(epochs=12, lr=0.1, batch_size=128, weight_decay=5e-4, augment=(2, True))),
    "fmnist_little": (LittleCNN, dict(epochs=20, lr=0.05, batch_size=128, weight_decay=5e-4, augment=(2, True))),
    "fmnist_dscnn": (DSCNN, dict(epochs=10, lr=0.1, batch_size=128, weight_decay=5e-4, augment=(2, True))),
}


def describe_augmentation(pad, flip):
    parts = []
    if pad:
        parts.append(f"random crop 28x28 from {pad}-pixel padding (background value)")
    if flip:
        parts.append("random horizontal flip p=0.5")
    return ", ".join(parts) or "none"


# ------------------------------------------------------------------------------------ train / test

def evaluate(model, x, y, batch_size=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch_size):
            correct += int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
    return correct


def train(name, model, recipe, x_train, y_train, x_test, y_test):
    generator = torch.Generator().manual_seed(SEED)
    epochs, bs = recipe["epochs"], recipe["batch_size"]
    steps_per_epoch = math.ceil(x_train.shape[0] / bs)
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe["lr"], momentum=0.9, nesterov=True,
                                weight_decay=recipe["weight_decay"])
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe["lr"], epochs=epochs,
                                                   steps_per_epoch=steps_per_epoch, pct_start=0.2)
    start = time.monotonic()
    for epoch in range(epochs):
        model.train()
        t0 = time.monotonic()
        order = torch.randperm(x_train.shape[0], generator=generator)
        loss_sum, seen = 0.0, 0
        for i in range(0, x_train.shape[0], bs):
            idx = order[i:i + bs]
            xb = augment(x_train[idx], generator, *recipe["augment"])
            loss = F.cross_entropy(model(xb), y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            loss_sum += float(loss) * idx.shape[0]
            seen += idx.shape[0]
        correct = evaluate(model, x_test, y_test)
        print(f"[{name}] epoch {epoch + 1:2d}/{epochs} loss {loss_sum / seen:.4f} "
              f"test {100.0 * correct / x_test.shape[0]:.2f}% ({time.monotonic() - t0:.1f} s)", flush=True)
    return time.monotonic() - start


# ------------------------------------------------------------------------------------ measurements

def count_macs(model):
    """Per-sample MACs of every Conv2d and Linear, from forward hooks on a batch-1 input."""
    layers = []

    def hook(module, inputs, output):
        name = module_names[module]
        if isinstance(module, nn.Conv2d):
            n, cout, hout, wout = output.shape
            kh, kw = module.kernel_size
            macs = n * cout * hout * wout * (module.in_channels // module.groups) * kh * kw
            layers.append({"torch_module": name, "op": "Conv", "macs": int(macs)})
        else:
            macs = module.in_features * module.out_features * (output.numel() // module.out_features)
            layers.append({"torch_module": name, "op": "Gemm", "macs": int(macs)})

    module_names = {m: n for n, m in model.named_modules()}
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    for h in handles:
        h.remove()
    return layers


def atomic_write_bytes(path, data):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; these files are committed and shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def export_onnx(model, path):
    model.eval()
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".onnx")
    os.close(fd)
    try:
        torch.onnx.export(model, torch.zeros(1, 1, 28, 28), tmp, opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL)
        proto = onnx.load(tmp)
        onnx.checker.check_model(proto, full_check=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return proto


def map_onnx_names(layers, model, proto, path):
    """Attach the exported ONNX node name of every Conv/Gemm/MatMul to the layer measured in torch.

    The exporter emits compute nodes in execution order, the same order the forward hooks fired in; each
    pairing is checked by op type and by the shape of the node's weight initializer.
    """
    compute = [n for n in proto.graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]
    if len(compute) != len(layers):
        raise RuntimeError(f"{path}: {len(compute)} Conv/Gemm/MatMul nodes in the graph but "
                           f"{len(layers)} Conv2d/Linear modules in the model")
    shapes = {t.name: tuple(t.dims) for t in proto.graph.initializer}
    modules = dict(model.named_modules())
    mapped = []
    for layer, node in zip(layers, compute):
        module = modules[layer["torch_module"]]
        expected_op = "Conv" if isinstance(module, nn.Conv2d) else ("Gemm", "MatMul")
        weight_shape = shapes.get(node.input[1])
        if node.op_type not in expected_op or weight_shape != tuple(module.weight.shape):
            raise RuntimeError(f"{path}: node {node.name} ({node.op_type}, weight {weight_shape}) does not "
                               f"match module {layer['torch_module']} (weight {tuple(module.weight.shape)})")
        mapped.append({"name": node.name, "torch_module": layer["torch_module"], "op": node.op_type,
                       "macs": layer["macs"]})
    return mapped


def onnx_params(proto):
    return int(sum(int(np.prod(t.dims)) if t.dims else 1 for t in proto.graph.initializer))


# -------------------------------------------------------------------------------------------- main

def build(name, out_dir, data):
    (x_train, y_train), (x_test, y_test) = data
    cls, recipe = RECIPES[name]
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    model = cls()
    print(f"[{name}] {cls.architecture}", flush=True)
    train_seconds = train(name, model, recipe, x_train, y_train, x_test, y_test)
    model.eval()
    correct = evaluate(model, x_test, y_test)
    onnx_path = os.path.join(out_dir, name + ".onnx")
    proto = export_onnx(model, onnx_path)
    layers = map_onnx_names(count_macs(model), model, proto, onnx_path)
    ops = sorted({n.op_type for n in proto.graph.node})
    card = {
        "name": name,
        "file": name + ".onnx",
        "architecture": cls.architecture,
        "input": {"name": "input", "shape": [1, 1, 28, 28], "layout": "NCHW"},
        "preprocessing": {"scale": SCALE, "mean": [MEAN], "std": [STD]},
        "classes": CLASSES,
        "training": {
            "epochs": recipe["epochs"],
            "optimizer": (f"SGD momentum 0.9 nesterov, weight decay {recipe['weight_decay']}, "
                          f"OneCycle (max lr {recipe['lr']}, 20% warm-up, cosine)"),
            "lr": recipe["lr"],
            "batch_size": recipe["batch_size"],
            "augmentation": describe_augmentation(*recipe["augment"]),
            "seed": SEED,
            "train_images": f"fashion-mnist:train [0, {TRAIN_IMAGES})",
            "held_out": (f"fashion-mnist:train [{TRAIN_IMAGES}, {TRAIN_TOTAL}) (validation: never trained on)"
                         if TRAIN_IMAGES < TRAIN_TOTAL else None),
            "torch_version": torch.__version__,
            "train_seconds": round(train_seconds, 1),
        },
        "pytorch": {"test_samples": int(x_test.shape[0]), "test_correct": correct,
                    "test_accuracy": correct / x_test.shape[0]},
        "macs": sum(l["macs"] for l in layers),
        "params": onnx_params(proto),
        "torch_params": int(sum(p.numel() for p in model.parameters())),
        "layers": layers,
    }
    atomic_write_bytes(os.path.join(out_dir, name + ".card.json"),
                       (json.dumps(card, indent=2) + "\n").encode())
    size = os.path.getsize(onnx_path)
    print(f"[{name}] test {correct}/{x_test.shape[0]} = {100.0 * correct / x_test.shape[0]:.2f}%  "
          f"MACs {card['macs']:,}  params {card['params']:,} (torch {card['torch_params']:,})  "
          f"{size:,} bytes  ops {' '.join(ops)}  train {train_seconds:.0f} s", flush=True)
    return card


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(RECIPES), help="build only these models")
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)),
                        help="output folder (default: this script's folder)")
    parser.add_argument("--train-images", type=int, default=60000,
                        help="train on the first N training images; the rest is held out (default 60000, as the "
                             "committed models; 50000 holds train [50000, 60000) out as a validation split)")
    parser.add_argument("--data", default=os.environ.get("JOULE_DATA", "/usr/share/datasets/fashion-mnist"),
                        help="folder with the Fashion-MNIST IDX .gz files (default: $JOULE_DATA or "
                             "/usr/share/datasets/fashion-mnist)")
    args = parser.parse_args()

    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    (tr_i, tr_l), (te_i, te_l) = load_fashion_mnist(args.data)
    if not 0 < args.train_images <= tr_i.shape[0]:
        sys.exit(f"make_models: --train-images must lie in [1, {tr_i.shape[0]}], got {args.train_images}")
    global TRAIN_IMAGES, TRAIN_TOTAL
    TRAIN_IMAGES, TRAIN_TOTAL = args.train_images, tr_i.shape[0]
    tr_i, tr_l = tr_i[:args.train_images], tr_l[:args.train_images]
    data = ((preprocess(tr_i), torch.from_numpy(tr_l.astype(np.int64))),
            (preprocess(te_i), torch.from_numpy(te_l.astype(np.int64))))
    print(f"data: {tr_i.shape[0]} train, {te_i.shape[0]} test images from {args.data}", flush=True)
    os.makedirs(args.out, exist_ok=True)

    start = time.monotonic()
    cards = {name: build(name, args.out, data) for name in (args.only or RECIPES)}
    if "fmnist_resnet8" in cards and "fmnist_little" in cards:
        ratio = cards["fmnist_resnet8"]["macs"] / cards["fmnist_little"]["macs"]
        print(f"little/big MAC ratio: 1/{ratio:.1f}", flush=True)
    print(f"total {time.monotonic() - start:.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
