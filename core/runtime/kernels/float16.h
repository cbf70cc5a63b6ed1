#pragma once
// IEEE binary16 (float16) elements and their conversion to and from float.
//
//   Half h{floatToHalf(0.1f)};          // rounds to nearest even: 0x2e66
//   float f = halfToFloat(h.bits);      // exact
//
// Header-only; joule::rt.

#include <bit>
#include <cstdint>

namespace joule::rt {

// A float16 element (IEEE binary16 bits).
struct Half {
    uint16_t bits;
};

inline float halfToFloat(uint16_t h)
{
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    uint32_t f;
    if (exponent == 0) {
        if (mantissa == 0) {
            f = sign;
        } else {   // subnormal: normalise
            exponent = 127 - 15 + 1;
            while (!(mantissa & 0x400u)) {
                mantissa <<= 1;
                --exponent;
            }
            f = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
        }
    } else if (exponent == 31) {
        f = sign | 0x7f800000u | (mantissa << 13);
    } else {
        f = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    return std::bit_cast<float>(f);
}

inline uint16_t floatToHalf(float value)
{
    const uint32_t f = std::bit_cast<uint32_t>(value);
    const auto sign = static_cast<uint16_t>((f >> 16) & 0x8000u);
    const uint32_t a = f & 0x7fffffffu;
    if (a >= 0x7f800000u) return sign | 0x7c00u | (a > 0x7f800000u ? 0x200u : 0u);   // inf, NaN
    if (a >= 0x47800000u) return sign | 0x7c00u;                                        // >= 2^16: inf
    if (a >= 0x38800000u) {                                                              // normal
        uint32_t h = (a >> 13) - ((127u - 15u) << 10);
        const uint32_t rest = a & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;   // may carry into inf: correct
        return static_cast<uint16_t>(sign | h);
    }
    if (a < 0x33000000u) return sign;   // below half the smallest subnormal: zero
    const uint32_t e = a >> 23;
    const uint32_t m = (a & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - e;
    uint32_t h = m >> shift;
    const uint32_t rest = m & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1u);
    if (rest > half || (rest == half && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
}

} // namespace joule::rt
