#pragma once
// Integer quantization arithmetic shared by the int8 kernels and the C exporter.
//
//   // prepare(): real multiplier of a QLinearConv / QLinearMatMul output
//   Requantizer rq = Requantizer::fromReal(double(xScale) * double(wScale) / double(yScale));
//   // eval(): int32 accumulator -> output code
//   uint8_t y = saturate<uint8_t>(rq.apply(acc) + yZeroPoint);
//
//   uint8_t q = quantizeValue<uint8_t>(x, scale, zeroPoint);   // QuantizeLinear
//
// Rounding, exactly (the C export must do the same to be bit-exact with the studio):
//
// * QuantizeLinear / DynamicQuantizeLinear (float -> int): q = saturate(rne(x / scale) + zp), where
//   x / scale is one IEEE float32 division and rne rounds half to even (std::nearbyint in the
//   default rounding mode). This is the ONNX spec's formula and matches the backend tests bit for bit.
//
// * Requantization (int32 accumulator -> int8/uint8, QLinearConv / QLinearMatMul): the real
//   multiplier M = (x_scale * w_scale) / y_scale is computed in double from the float32 scales and
//   stored as M = m0 * 2^-shift with m0 a 31-bit integer in [2^30, 2^31) (Q31 mantissa) and
//   shift in [1, 62]. Then
//       y = saturate(zp + rne((int64)acc * m0 / 2^shift))
//   with one rounding, half to even, done in 64-bit integer arithmetic (no float, no double
//   rounding). The ONNX reference computes acc * M in floating point and rounds half to even;
//   the two agree except when acc * M lies within ~acc * 2^-31 of a .5 tie, which does not happen
//   in the backend tests (they pass bit-exact). We choose the integer form because the
//   microcontroller export has no double-precision FPU and must reproduce the studio's numbers.
//   Multipliers >= 2^31 (never seen in practice) are rejected in fromReal(); multipliers so small
//   that shift would exceed 62 give y = zp.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace joule::rt {

template <typename T> constexpr int32_t quantMin() { return std::numeric_limits<T>::min(); }
template <typename T> constexpr int32_t quantMax() { return std::numeric_limits<T>::max(); }

template <typename T> inline T saturate(int64_t v)
{
    if (v < std::numeric_limits<T>::min()) return std::numeric_limits<T>::min();
    if (v > std::numeric_limits<T>::max()) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
}

// QuantizeLinear of one value: saturate(round_half_to_even(x / scale) + zeroPoint).
template <typename T> inline T quantizeValue(float x, float scale, int32_t zeroPoint)
{
    const float r = std::nearbyint(x / scale);
    // Clamp in float first so huge values and infinities do not overflow the integer conversion.
    const float lo = static_cast<float>(std::numeric_limits<T>::min()) - static_cast<float>(zeroPoint);
    const float hi = static_cast<float>(std::numeric_limits<T>::max()) - static_cast<float>(zeroPoint);
    if (std::isnan(r)) return saturate<T>(zeroPoint);
    if (r <= lo) return std::numeric_limits<T>::min();
    if (r >= hi) return std::numeric_limits<T>::max();
    return saturate<T>(static_cast<int64_t>(r) + zeroPoint);
}

// Divides v by 2^shift (1 <= shift <= 62), rounding half to even. With q = floor(v / 2^shift) and
// rem = v - q * 2^shift in [0, 2^shift), the result is q + 1 when rem > half, or rem == half and q is
// odd; that is, when rem + (q & 1) > half. Written without branches: the kernels' inner loops call it.
inline int64_t roundingShiftRightHalfEven(int64_t v, int shift)
{
    const int64_t q = v >> shift;                          // floor (arithmetic shift)
    const int64_t rem = v & ((int64_t{1} << shift) - 1);   // v - q * 2^shift
    return q + static_cast<int64_t>(rem + (q & 1) > (int64_t{1} << (shift - 1)));
}

// A real multiplier in fixed point: M = multiplier * 2^-shift.
struct Requantizer {
    int32_t multiplier = 0;   // Q31 mantissa in [2^30, 2^31), or 0 when M == 0 (or underflows)
    int shift = 31;           // in [1, 62]

    static Requantizer fromReal(double m)
    {
        Requantizer r;
        if (!(m >= 0.0) || !std::isfinite(m))
            throw std::invalid_argument("requantization multiplier must be finite and >= 0, got " + std::to_string(m));
        if (m == 0.0) return r;
        int exponent = 0;
        const double mantissa = std::frexp(m, &exponent);   // m = mantissa * 2^exponent, mantissa in [0.5, 1)
        int64_t q = static_cast<int64_t>(std::nearbyint(mantissa * 2147483648.0));
        if (q == (int64_t{1} << 31)) {
            q /= 2;
            ++exponent;
        }
        const int shift = 31 - exponent;
        if (shift < 1)
            throw std::invalid_argument("requantization multiplier " + std::to_string(m) + " is too large (>= 2^30)");
        if (shift > 62) return r;   // |acc * M| < 2^-31 for every int32 acc: rounds to 0
        r.multiplier = static_cast<int32_t>(q);
        r.shift = shift;
        return r;
    }

    // round_half_to_even(acc * M), exact (0 when multiplier == 0).
    int64_t apply(int32_t acc) const { return roundingShiftRightHalfEven(static_cast<int64_t>(acc) * multiplier, shift); }

    double real() const { return std::ldexp(static_cast<double>(multiplier), -shift); }
};

// QLinearAdd's rescaling of A and B to C's scale with one common shift (docs/integer-runtime.md):
// mA = A_scale / C_scale, mB = B_scale / C_scale in double, shift = min(31 - e, 62) with e the frexp
// exponent of max(mA, mB), multipliers rne(m * 2^shift); then
//   C = saturate(C_zp + roundingShiftRightHalfEven((A - A_zp) * mulA + (B - B_zp) * mulB, shift)).
struct AddRescaler {
    int64_t mulA = 0, mulB = 0;
    int shift = 31;

    // Throws std::invalid_argument when the larger ratio is >= 2^30 (shift < 1).
    static AddRescaler fromScales(double aScale, double bScale, double cScale)
    {
        const double ma = aScale / cScale, mb = bScale / cScale;
        int e = 0;
        std::frexp(std::max(ma, mb), &e);
        AddRescaler r;
        r.shift = std::min(31 - e, 62);
        if (r.shift < 1) throw std::invalid_argument("QLinearAdd: scale ratio " + std::to_string(std::max(ma, mb)) + " is too large (>= 2^30)");
        r.mulA = static_cast<int64_t>(std::nearbyint(std::ldexp(ma, r.shift)));
        r.mulB = static_cast<int64_t>(std::nearbyint(std::ldexp(mb, r.shift)));
        return r;
    }
};

} // namespace joule::rt
