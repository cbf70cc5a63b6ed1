#pragma once
// The fused activation of the "ai.joule" quantized ops (QLinearConv, QGemm, QLinearAdd in domain
// "ai.joule"): the same inputs and formula as their ONNX / com.microsoft namesakes, plus two
// optional Int attributes that clamp the quantized output after saturation:
//
//   activation_min  (default: the output type's minimum)   Relu:      zero point of y
//   activation_max  (default: the output type's maximum)   Clip(0,6): quantizeValue(6.0, y_scale, zp)
//
// qdq_lower.cpp writes them when it fuses a Relu / Clip that sat between the op and its
// QuantizeLinear: quantizing is monotone, so clamp(saturate(q)) equals quantizing the clipped real.
//
//   QuantClamp c = readQuantClamp(ctx, yType);   // prepare()
//   y[i] = static_cast<Y>(c.apply(rq.apply(acc) + zp));

#include "runtime/kernel.h"
#include "runtime/quant_math.h"

#include <algorithm>
#include <string>

namespace joule::rt {

struct QuantClamp {
    int32_t lo = -128, hi = 127;
    int32_t apply(int64_t v) const { return static_cast<int32_t>(std::clamp<int64_t>(v, lo, hi)); }
};

// The clamp of `node`'s output codes (the C export reads it from the node the same way).
inline QuantClamp quantClampOf(const Node& node, DataType yType)
{
    QuantClamp c;
    if (yType == DataType::UInt8) { c.lo = quantMin<uint8_t>(); c.hi = quantMax<uint8_t>(); }
    else { c.lo = quantMin<int8_t>(); c.hi = quantMax<int8_t>(); }
    const int32_t typeLo = c.lo, typeHi = c.hi;
    c.lo = static_cast<int32_t>(std::clamp<int64_t>(node.attrInt("activation_min", typeLo), typeLo, typeHi));
    c.hi = static_cast<int32_t>(std::clamp<int64_t>(node.attrInt("activation_max", typeHi), typeLo, typeHi));
    if (c.lo > c.hi)
        throw KernelError("activation_min " + std::to_string(c.lo) + " is above activation_max " + std::to_string(c.hi));
    return c;
}

inline QuantClamp readQuantClamp(PrepareContext& ctx, DataType yType) { return quantClampOf(ctx.node(), yType); }

} // namespace joule::rt
