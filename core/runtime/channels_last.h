#pragma once
// The channels-last pass: runs a graph's 2-D float32 convolutions on [N, H, W, C] tensors, the
// layout oneDNN's fastest convolution kernels read and write, with as few layout changes as the
// graph allows.
//
//   joule::Graph g = joule::onnx::loadModel("mobilenetv2.onnx");
//   joule::Graph fast = joule::rt::toChannelsLast(g, joule::rt::KernelRegistry::builtin());
//   // or: joule::rt::Session session(g, {.threads = 2, .channelsLast = true});
//
// Rewrites (v: a value; v' its channels-last copy, named "v#nhwc"):
//   Conv (float32 4-D weights and bias, initializers or graph inputs) => ConvNhwc ("ai.joule") on x', writing y'
//   MaxPool (one output, no dilations), AveragePool (no ceil_mode), GlobalAveragePool on x'
//                                                             => MaxPoolNhwc, AveragePoolNhwc, GlobalAveragePoolNhwc
//   Relu, Clip, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish on x'  => the same op on x', writing y'
//   Add, Sub, Mul, Div, Sum, Max, Min with every input channels-last    => the same op on the copies
//                                                         (the same axis order on both sides keeps broadcasting)
//   Concat with every input channels-last                   => Concat on the copies, axis moved (1 -> 3)
// A Transpose (perm 0,2,3,1) makes x' where it is first needed; a Transpose back (perm 0,3,1,2)
// remakes v under its own name for the first node that reads it in NCHW, and for graph outputs.
// Every other node is kept as it is. The pass only runs when the registry has ConvNhwc (a build
// with oneDNN); otherwise, or when there is no such Conv, it returns the graph unchanged.
//
// The rewritten graph computes the same outputs as the original, up to floating-point rounding
// (oneDNN sums in another order): docs/performance.md says what the layout changes cost and save.

#include "ir/graph.h"
#include "runtime/registry.h"

namespace joule::rt {

Graph toChannelsLast(const Graph& graph, const KernelRegistry& registry);

// Whether `n` is a Transpose the pass put in (a layout change, not a layer of the model).
bool isLayoutChange(const Node& n);

// How many nodes of `graph` run channels-last (ConvNhwc and the other "ai.joule" ...Nhwc ops).
int channelsLastNodeCount(const Graph& graph);

} // namespace joule::rt
