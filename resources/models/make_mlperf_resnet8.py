#!/usr/bin/python3
"""Export MLPerf Tiny's reference ResNet-8 (image classification) for the cost model's calibration.

    /usr/bin/python3 resources/models/make_mlperf_resnet8.py [--out DIR]

Writes mlperf_resnet8.onnx (opset 13, input "input" 1x3x32x32, output "probabilities") and
mlperf_resnet8.card.json next to this script (or to --out). The architecture is the one MLPerf Tiny
v1.0 benchmarks (training/image_classification/keras_model.py, `resnet_v1_eembc`): conv3x3(16)+BN+ReLU,
three residual stacks of 16/32/64 filters (strides 1/2/2; a 1x1 strided conv shortcut without BN where
the shape changes), average pool 8x8, dense 64->10 with softmax. Convolutions keep their bias, as Keras
does. The weights are seeded random values and BatchNorm gets seeded random statistics (eval mode):
the model is for costing (MACs, memory, latency), not for accuracy. The card records, for every Conv and
Gemm node of the ONNX graph, the MACs counted by PyTorch forward hooks on the torch module.

Exit codes: 0 done, 1 failed export or check.
"""

import argparse
import json
import os
import sys
import tempfile

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20240601
INPUT_SHAPE = (1, 3, 32, 32)
OPSET = 13
NAME = "mlperf_resnet8"
ARCHITECTURE = ("MLPerf Tiny ResNet-8 (resnet_v1_eembc): conv3x3(16)+BN+ReLU on 32x32x3, residual stacks "
                "16/32/64 filters stride 1/2/2 (two conv3x3+BN, 1x1 stride-2 conv shortcut without BN on shape "
                "change, add, ReLU), AveragePool 8x8, FC 64->10, softmax")


class Stack(nn.Module):
    """One residual stack of resnet_v1_eembc."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride, 0) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.shortcut is None else self.shortcut(x)
        return F.relu(s + y)


class ResNet8(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1)
        self.bn1 = nn.BatchNorm2d(16)
        self.stack1 = Stack(16, 16, 1)
        self.stack2 = Stack(16, 32, 2)
        self.stack3 = Stack(32, 64, 2)
        self.pool = nn.AvgPool2d(8)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.stack3(self.stack2(self.stack1(x)))
        x = torch.flatten(self.pool(x), 1)
        return F.softmax(self.fc(x), dim=1)


def randomize_batchnorm(model):
    """Seeded, non-trivial BatchNorm statistics and affine parameters (variance > 0)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n) * 0.1)
                m.running_var.copy_(torch.rand(n) * 0.5 + 0.75)
                m.weight.copy_(torch.rand(n) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(n) * 0.1)


def count_macs(model):
    """Per-sample MACs of every Conv2d and Linear, from forward hooks on a batch-1 input, in call order."""
    names = {m: n for n, m in model.named_modules()}
    layers = []

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            n, cout, hout, wout = output.shape
            kh, kw = module.kernel_size
            macs = n * cout * hout * wout * (module.in_channels // module.groups) * kh * kw
            layers.append({"torch_module": names[module], "op": "Conv", "macs": int(macs)})
        else:
            macs = module.in_features * module.out_features * (output.numel() // module.out_features)
            layers.append({"torch_module": names[module], "op": "Gemm", "macs": int(macs)})

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(torch.zeros(*INPUT_SHAPE))
    for h in handles:
        h.remove()
    return layers


def replace_atomically(path, write):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=os.path.splitext(path)[1])
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def map_onnx_names(layers, model, proto):
    """Pairs each hooked module with the exported Conv/Gemm/MatMul node, in order, checking op and weight shape."""
    compute = [n for n in proto.graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]
    if len(compute) != len(layers):
        raise RuntimeError(f"{len(compute)} Conv/Gemm/MatMul nodes but {len(layers)} Conv2d/Linear modules")
    shapes = {t.name: tuple(t.dims) for t in proto.graph.initializer}
    modules = dict(model.named_modules())
    mapped = []
    for layer, node in zip(layers, compute):
        module = modules[layer["torch_module"]]
        expected = ("Conv",) if isinstance(module, nn.Conv2d) else ("Gemm", "MatMul")
        weight_shape = shapes.get(node.input[1])
        if node.op_type not in expected or weight_shape != tuple(module.weight.shape):
            raise RuntimeError(f"node {node.name} ({node.op_type}, weight {weight_shape}) does not match module "
                               f"{layer['torch_module']} (weight {tuple(module.weight.shape)})")
        mapped.append({"name": node.name, "torch_module": layer["torch_module"], "op": node.op_type,
                       "macs": layer["macs"]})
    return mapped


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    torch.manual_seed(SEED)
    model = ResNet8()
    randomize_batchnorm(model)
    model.eval()

    onnx_path = os.path.join(args.out, NAME + ".onnx")

    def export(tmp):
        torch.onnx.export(model, torch.zeros(*INPUT_SHAPE), tmp, opset_version=OPSET,
                          input_names=["input"], output_names=["probabilities"],
                          do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL)
        onnx.checker.check_model(onnx.load(tmp), full_check=True)
    replace_atomically(onnx_path, export)
    proto = onnx.load(onnx_path)

    layers = map_onnx_names(count_macs(model), model, proto)
    card = {
        "name": NAME,
        "file": NAME + ".onnx",
        "architecture": ARCHITECTURE,
        "purpose": "cost-model calibration against MLPerf Tiny v1.0 image classification; random weights, "
                   "not trained (accuracy is meaningless)",
        "input": {"name": "input", "shape": list(INPUT_SHAPE), "layout": "NCHW"},
        "seed": SEED,
        "torch_version": torch.__version__,
        "macs": sum(l["macs"] for l in layers),
        "params": int(sum(int(torch.tensor(t.dims).prod()) if t.dims else 1 for t in proto.graph.initializer)),
        "torch_params": int(sum(p.numel() for p in model.parameters())),
        "layers": layers,
    }

    def write_card(tmp):
        with open(tmp, "w") as f:
            f.write(json.dumps(card, indent=2) + "\n")
    replace_atomically(os.path.join(args.out, NAME + ".card.json"), write_card)
    ops = sorted({n.op_type for n in proto.graph.node})
    print(f"{NAME}: MACs {card['macs']:,}  params {card['params']:,} (torch {card['torch_params']:,})  "
          f"ops {' '.join(ops)}  -> {onnx_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
