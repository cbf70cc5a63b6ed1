#pragma once
// Static post-training quantization of an fp32 graph into the QDQ form (docs/quantization.md).
//
//   auto ranges = joule::quant::chooseRanges(stats, {.method = CalibrationMethod::Entropy});
//   joule::quant::QuantizedModel q = joule::quant::quantizeGraph(fp32, ranges, {
//       .activations = ActivationType::UInt8, .weights = WeightGranularity::PerChannel,
//       .weightBits = {{"/fc/Gemm", 4}}});       // node name -> 4 or 8 (0 = keep fp32)
//   q.graph.validate();                           // runs in rt::Session and in ONNX Runtime
//   for (const QuantizedLayer& l : q.layers) ...  // which tensors carry each layer's output
//
// Pattern (A = an activation tensor the fp32 graph computes, W = a weight initializer):
//   A -> QuantizeLinear(s_A, zp_A) -> A_quantized -> DequantizeLinear -> A_dequantized -> consumers
//   W_quantized (int8) -> DequantizeLinear(scale, int8 zeros, axis) -> W_dequantized -> Conv/Gemm/MatMul
//   B_quantized (int32, scale s_x * s_w, zp 0) -> DequantizeLinear -> B_dequantized -> bias input
// Quantized ops: Conv (incl. depthwise/grouped), Gemm, MatMul, Add, Concat, GlobalAveragePool,
// AveragePool, MaxPool, Flatten, Reshape. Their float activation inputs are quantized; their output
// is quantized after a following Relu / Clip when that is its only consumer ("fused" position);
// MaxPool, Flatten and Reshape outputs reuse their input's scale and zero point. Values nobody
// consumes (the model's outputs, e.g. logits) stay fp32. Other ops run in fp32 on dequantized inputs.
// Weights are symmetric (zero point 0): scale = max|w| / 127 (int8) or / 7 (int4, values in [-8, 7]
// stored as int8, DequantizeLinear attribute "joule.bits" = 4, and the int4 initializers listed,
// comma-separated, in the metadata entry "joule.int4_weights"), per output channel (Conv axis 0,
// Gemm transB=1 axis 0, Gemm transB=0 / MatMul axis 1) or per tensor; a zero channel gets scale 1.
// Activations are asymmetric: scale = (hi - lo) / 255, zero point = qmin - round(lo / scale).

#include "ir/graph.h"
#include "quant/calibration.h"

#include <map>
#include <string>
#include <vector>

namespace joule::quant {

enum class ActivationType { UInt8, Int8 };
enum class WeightGranularity { PerTensor, PerChannel };

struct QuantizerOptions {
    ActivationType activations = ActivationType::UInt8;
    WeightGranularity weights = WeightGranularity::PerChannel;
    int defaultWeightBits = 8;                 // 8 or 4
    std::map<std::string, int> weightBits;     // per node name: 8, 4, or 0 = leave the node in fp32
};

// One quantized op of the result.
struct QuantizedLayer {
    std::string node;           // node name (unchanged from the fp32 graph)
    std::string op;
    int weightBits = 0;         // 8 or 4 for Conv/Gemm/MatMul with constant weights, else 0
    int64_t weightCount = 0;    // elements of the weight
    std::string rawOutput;      // the node's own output (pre-activation for Conv), same name in both graphs
    std::string output;         // the value carrying the layer's result: after a fused Relu/Clip
    std::string dequantized;    // its dequantized copy in the QDQ graph, or `output` when left fp32
    std::string bias;           // int32 bias initializer (Conv/Gemm with a bias), else empty
};

struct QuantizedModel {
    Graph graph;
    std::vector<QuantizedLayer> layers;   // in execution order
};

// Scale and zero point covering [lo, hi] (widened to contain 0) with the activation type's codes.
QuantParams activationParams(Range range, ActivationType type);

QuantizedModel quantizeGraph(const Graph& fp32, const std::map<std::string, Range>& ranges,
                             const QuantizerOptions& options = {});

// Bytes of the quantized weights of MAC layers (int4 counted as half a byte per weight).
double weightMemoryBytes(const QuantizedModel& model);

} // namespace joule::quant
