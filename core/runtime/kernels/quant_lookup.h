#pragma once
// 256-entry requantizing lookup tables for elementwise functions of one 8-bit tensor: the quantized
// Relu / Clip / LeakyRelu / Sigmoid / Tanh / HardSigmoid / HardSwish of the QDQ lowering (QLookup,
// QLinearLeakyRelu, QLinearSigmoid) and the C export, which writes the same table as a const array.
//
//   QuantLookupFunction f = QuantLookupFunction::parse("LeakyRelu", 0.1f, 0.0f, -inf, inf);
//   std::array<uint8_t, 256> table = buildQuantLookup<uint8_t, uint8_t>(f, xScale, xZp, yScale, yZp);
//   y[i] = table[x[i]];                      // uint8: index = code; int8: index = code + 128
//
// Each entry is exactly the fake-quant chain DQ -> f -> Q in float32 (docs/integer-runtime.md):
//   v = (float)(c - x_zp) * x_scale          DequantizeLinear, one float32 product
//   r = f(v)                                  float32, the formula below
//   y = saturate(rne(r / y_scale) + y_zp)     QuantizeLinear (quantizeValue of quant_math.h)
// For Relu, Clip and LeakyRelu every step is one correctly rounded float32 operation, so the table
// matches the QDQ graph bit for bit; Sigmoid and Tanh use std::exp / std::tanh of float and agree
// with the float kernels to within a rounding of f.

#include "runtime/kernel.h"
#include "runtime/quant_math.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace joule::rt {

struct QuantLookupFunction {
    enum class Kind { Relu, Clip, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish };
    Kind kind = Kind::Relu;
    float alpha = 0.0f, beta = 0.0f;   // LeakyRelu alpha; HardSigmoid alpha, beta
    float min = -std::numeric_limits<float>::infinity(), max = std::numeric_limits<float>::infinity();   // Clip

    // `name` is the ONNX op name; alpha / beta default to the ONNX defaults when NaN.
    static QuantLookupFunction parse(const std::string& name, float alpha, float beta, float min, float max)
    {
        QuantLookupFunction f;
        if (name == "Relu") f.kind = Kind::Relu;
        else if (name == "Clip") f.kind = Kind::Clip;
        else if (name == "LeakyRelu") f.kind = Kind::LeakyRelu;
        else if (name == "Sigmoid") f.kind = Kind::Sigmoid;
        else if (name == "Tanh") f.kind = Kind::Tanh;
        else if (name == "HardSigmoid") f.kind = Kind::HardSigmoid;
        else if (name == "HardSwish") f.kind = Kind::HardSwish;
        else throw UnsupportedError("function '" + name + "' has no quantized lookup table");
        const bool leaky = f.kind == Kind::LeakyRelu;
        f.alpha = std::isnan(alpha) ? (leaky ? 0.01f : 0.2f) : alpha;
        f.beta = std::isnan(beta) ? 0.5f : beta;
        f.min = min;
        f.max = max;
        if (f.kind == Kind::Clip && f.min > f.max) throw KernelError("Clip min is above max");
        return f;
    }

    float operator()(float v) const
    {
        switch (kind) {
        case Kind::Relu: return v < 0.0f ? 0.0f : v;
        case Kind::Clip: return std::min(std::max(v, min), max);
        case Kind::LeakyRelu: return v < 0.0f ? alpha * v : v;
        case Kind::Sigmoid: return 1.0f / (1.0f + std::exp(-v));
        case Kind::Tanh: return std::tanh(v);
        case Kind::HardSigmoid: return std::max(0.0f, std::min(1.0f, alpha * v + beta));
        case Kind::HardSwish: return v * std::max(0.0f, std::min(1.0f, v * static_cast<float>(1.0 / 6.0) + 0.5f));
        }
        return v;
    }
};

// dst[i] = table[src[i] ^ flip] for i < n (flip = 0x80 turns an int8 code's byte into its table
// index). AVX-512 VBMI when the CPU has it (unless JOULE_INT_ISA=avx2|portable), else scalar; both
// give the same bytes. dst must not overlap src. Defined in quant_lookup.cpp.
void lookupBytes(const uint8_t* src, uint8_t* dst, int64_t n, const uint8_t* table, uint8_t flip);

// Index of a code in a table: uint8 as is, int8 shifted by 128.
template <typename X> constexpr int lookupIndex(X code) { return static_cast<int>(code) - std::numeric_limits<X>::min(); }

template <typename X, typename Y>
std::array<Y, 256> buildQuantLookup(const QuantLookupFunction& f, float xScale, int32_t xZp, float yScale, int32_t yZp)
{
    std::array<Y, 256> table{};
    for (int c = std::numeric_limits<X>::min(); c <= std::numeric_limits<X>::max(); ++c) {
        const float v = static_cast<float>(static_cast<int64_t>(c) - xZp) * xScale;
        table[static_cast<size_t>(lookupIndex(static_cast<X>(c)))] = quantizeValue<Y>(f(v), yScale, yZp);
    }
    return table;
}

} // namespace joule::rt
