#pragma once
// AVX-512 requantization shared by the AVX-512 int8 kernels (include only from files compiled with
// -mavx512f -mavx512bw, and call only on CPUs that have them).

#include "runtime/kernels/quant_activation.h"

#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cstdint>

namespace joule::rt {

// y = clamp(zp + rne(acc * m / 2^shift), lo, hi) in 16 int32 lanes, exactly as Requantizer::apply
// followed by QuantClamp: 64-bit products in even / odd lanes, rounding half to even without
// branches (round up when rem + (q & 1) > half).
//
// apply() takes a shorter path when every |acc| < 2^22: then |acc * m| < 2^53, so the double
// product acc * (m / 2^shift) is the exact quotient (m / 2^shift is exact too), and rounding it to
// an integer half to even (vroundscalepd) gives the same integer as the 64-bit path, in fewer steps.
struct VecRequant {
    __m512i m, mask, half, lo, hi, zp, one, exactLimit;
    __m512d scaleD, loD, hiD;
    __m128i shift;
    VecRequant(int32_t multiplier, int s, int32_t zeroPoint, QuantClamp c)
    {
        // m / 2^s, exact: 2^-s is built from its exponent bits (no libm call; this runs per tile).
        const double powerOfTwo = std::bit_cast<double>(static_cast<uint64_t>(1023 - s) << 52);
        scaleD = _mm512_set1_pd(static_cast<double>(multiplier) * powerOfTwo);
        loD = _mm512_set1_pd(static_cast<double>(c.lo) - zeroPoint);
        hiD = _mm512_set1_pd(static_cast<double>(c.hi) - zeroPoint);
        exactLimit = _mm512_set1_epi32((1 << 22) - 1);
        m = _mm512_set1_epi64(multiplier);
        mask = _mm512_set1_epi64((int64_t{1} << s) - 1);
        half = _mm512_set1_epi64(int64_t{1} << (s - 1));
        lo = _mm512_set1_epi64(static_cast<int64_t>(c.lo) - zeroPoint);
        hi = _mm512_set1_epi64(static_cast<int64_t>(c.hi) - zeroPoint);
        zp = _mm512_set1_epi32(zeroPoint);
        one = _mm512_set1_epi64(1);
        shift = _mm_cvtsi32_si128(s);
    }
    __m512i round64(__m512i p) const
    {
        __m512i q = _mm512_sra_epi64(p, shift);
        const __m512i rem = _mm512_and_si512(p, mask);
        const __mmask8 up = _mm512_cmpgt_epi64_mask(_mm512_add_epi64(rem, _mm512_and_si512(q, one)), half);
        q = _mm512_mask_add_epi64(q, up, q, one);
        return _mm512_min_epi64(_mm512_max_epi64(q, lo), hi);
    }
    __m512i apply(__m512i acc) const
    {
        // |INT32_MIN| stays 2^31 as an unsigned value, so it takes the 64-bit path.
        if (_mm512_cmpgt_epu32_mask(_mm512_abs_epi32(acc), exactLimit) == 0) {
            constexpr int kNearestEven = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
            const __m512d a0 = _mm512_cvtepi32_pd(_mm512_castsi512_si256(acc));
            const __m512d a1 = _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(acc, 1));
            const __m512d q0 = _mm512_min_pd(_mm512_max_pd(_mm512_roundscale_pd(_mm512_mul_pd(a0, scaleD), kNearestEven), loD), hiD);
            const __m512d q1 = _mm512_min_pd(_mm512_max_pd(_mm512_roundscale_pd(_mm512_mul_pd(a1, scaleD), kNearestEven), loD), hiD);
            const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtpd_epi32(q0)), _mm512_cvtpd_epi32(q1), 1);
            return _mm512_add_epi32(q, zp);
        }
        const __m512i even = round64(_mm512_mul_epi32(acc, m));
        const __m512i odd = round64(_mm512_mul_epi32(_mm512_srli_epi64(acc, 32), m));
        const __m512i r = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
        return _mm512_add_epi32(r, zp);
    }
};

// The same result in fewer steps, for a layer whose every accumulator is known, from its weights
// and bias, to satisfy |acc| < 2^22 and |acc * m / 2^shift| < 2^30 (exact() checks that bound once,
// while preparing). One fused multiply-add per 8 lanes computes acc * (m / 2^shift) + 1.5 * 2^52
// exactly and rounds it once, to nearest even: at that magnitude a double's unit in the last place
// is 1, so the rounding is rne(acc * m / 2^shift) and the low 32 bits of the double are that integer
// (two's complement). The zero point follows in int32: added to the magic number it would move the
// ties of an odd zero point to the other neighbour. Only the scale is per channel.
struct FastRequant {
    __m512i lo, hi, zp, lowDwords;
    __m512d magic;
    FastRequant(int32_t zeroPoint, QuantClamp c)
        : lo(_mm512_set1_epi32(c.lo)), hi(_mm512_set1_epi32(c.hi)), zp(_mm512_set1_epi32(zeroPoint)),
          lowDwords(_mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)),
          magic(_mm512_set1_pd(6755399441055744.0))
    {
    }
    // m / 2^s as a double (exact).
    static double scaleOf(int32_t multiplier, int s)
    {
        return static_cast<double>(multiplier) * std::bit_cast<double>(static_cast<uint64_t>(1023 - s) << 52);
    }
    // Whether every accumulator in [accMin, accMax] takes the shortcut exactly.
    static bool exact(int64_t accMin, int64_t accMax, double scale)
    {
        const int64_t bound = std::max(accMax, -accMin);
        return bound < (int64_t{1} << 22) && static_cast<double>(bound) * scale < 1073741824.0;
    }
    __m512i apply(__m512i acc, __m512d scale) const { return _mm512_min_epi32(_mm512_max_epi32(unclamped(acc, scale), lo), hi); }
    // zp + rne(acc * scale) before the clamp (for callers that clamp after packing to bytes).
    __m512i unclamped(__m512i acc, __m512d scale) const
    {
        const __m512d r0 = _mm512_fmadd_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(acc)), scale, magic);
        const __m512d r1 = _mm512_fmadd_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(acc, 1)), scale, magic);
        return _mm512_add_epi32(_mm512_permutex2var_epi32(_mm512_castpd_si512(r0), lowDwords, _mm512_castpd_si512(r1)), zp);
    }
};

} // namespace joule::rt
