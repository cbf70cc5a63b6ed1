#!/usr/bin/python3
"""Lists the ONNX backend test cases (directory names) whose models use only the ops Joule must support
(issue 2, acceptance 2). Usage: list_required_cases.py DATA_DIR > required_node.txt"""
import pathlib
import sys

import onnx

REQUIRED_OPS = set("""
Conv ConvTranspose Gemm MatMul Add Sub Mul Div Relu LeakyRelu PRelu Clip Sigmoid HardSigmoid
HardSwish Tanh Softmax LogSoftmax MaxPool AveragePool GlobalAveragePool GlobalMaxPool
BatchNormalization Flatten Reshape Transpose Concat Split Slice Squeeze Unsqueeze Pad Gather Shape
Constant ConstantOfShape Identity Dropout ReduceMean ReduceSum ReduceMax Exp Log Sqrt Pow Neg Abs Erf
Cast Resize Sum Mean Max Min QuantizeLinear DequantizeLinear QLinearConv QLinearMatMul MatMulInteger
ConvInteger LayerNormalization Expand Tile Where Equal Greater Less Not And ArgMax TopK Range
""".split())


def ops_of(graph):
    for node in graph.node:
        yield node.op_type
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from ops_of(attr.g)


def main():
    root = pathlib.Path(sys.argv[1])
    for model in sorted(root.glob("*/model.onnx")):
        ops = set(ops_of(onnx.load(str(model), load_external_data=False).graph))
        if ops and ops <= REQUIRED_OPS:
            print(model.parent.name)


if __name__ == "__main__":
    main()
