#pragma once
// Lowering of QDQ graphs (the project's quantized format, as ONNX Runtime's QDQ format) to integer
// ops that run in true integer arithmetic with quant_math.h's requantization.
//
//   joule::Graph qdq = joule::onnx::loadModel("resnet8_int8.onnx");   // QuantizeLinear/DequantizeLinear
//   joule::Graph lowered = joule::rt::lowerQdq(qdq);                   // QLinearConv, QGemm, ...
//   joule::rt::Session session(lowered);                               // int8 kernels
//
// Patterns rewritten (x_q, w_q, b_q: quantized tensors; DQ / Q: DequantizeLinear / QuantizeLinear;
// every scale and zero point a constant; activations per tensor, weights per tensor or per output
// channel; a DQ carrying "joule.bits" = 4 holds int4 values in int8 storage and runs as int8):
//
//   DQ(x_q), DQ(w_q) [, DQ(b_q)] -> Conv -> [Relu | Clip] -> Q   =>  QLinearConv
//   DQ(a_q), DQ(w_q) [, DQ(b_q)] -> Gemm -> [Relu | Clip] -> Q   =>  QGemm (com.microsoft)
//   DQ(a_q), DQ(w_q) [, DQ(b_q)] -> Gemm  (fp32 output, e.g. logits) =>  QGemm without y_scale
//   DQ(a_q), DQ(w_q) -> MatMul -> Q                                =>  QLinearMatMul
//   DQ(a_q), DQ(b_q) -> Add -> [Relu | Clip] -> Q                  =>  QLinearAdd (com.microsoft)
//   DQ(x_q) -> GlobalAveragePool -> Q                              =>  QLinearGlobalAveragePool
//   DQ(x_q) -> MaxPool | Flatten | Reshape -> [Relu | Clip] -> Q (same scale, zp)
//                                                                 =>  the op on x_q directly [-> QClamp]
//   DQ(x_1..x_n) -> Concat -> [Relu | Clip] -> Q                   =>  QLinearConcat (com.microsoft),
//                                        or Concat on the codes when every x_i has y's scale and zp
//   DQ(x_q) -> AveragePool (2-D) -> [Relu | Clip] -> Q             =>  QLinearAveragePool (com.microsoft)
//   DQ(x_q) -> Relu | Clip -> Q (same scale, zp)                   =>  QClamp ("ai.joule", codes clamped)
//   DQ(x_q) -> LeakyRelu | Sigmoid -> Q                            =>  QLinearLeakyRelu | QLinearSigmoid
//   DQ(x_q) -> Relu | Clip | Tanh | HardSigmoid | HardSwish -> Q   =>  QLookup ("ai.joule")
//
// A fused Relu / Clip turns the op into its "ai.joule" variant whose activation_min / _max
// attributes clamp the output codes (runtime/kernels/quant_activation.h). The standalone
// activations run as 256-entry tables built from the float formula (runtime/kernels/quant_lookup.h). A bias is lowered only
// when its scale is x_scale * w_scale (the QDQ format's rule). Anything else stays as it was:
// DQ -> float op -> Q runs as fake quantization, still correct. DQ / Q nodes and initializers that
// nothing reads any more are removed. The input graph is not modified. docs/integer-runtime.md
// describes every rounding step of the integer ops.

#include "ir/graph.h"

#include <map>
#include <string>
#include <vector>

namespace joule::rt {

// Returns the lowered copy of `qdq`. Throws GraphError if the result does not validate.
Graph lowerQdq(const Graph& qdq);

// Whether `graph` holds QuantizeLinear / DequantizeLinear nodes (the QDQ form lowerQdq() rewrites).
bool hasQdq(const Graph& graph);

// Which nodes lowerQdq() rewrote, by the op type it produced ("QLinearConv" -> 9, ...).
std::map<std::string, int> loweredOpCounts(const Graph& lowered);


} // namespace joule::rt
