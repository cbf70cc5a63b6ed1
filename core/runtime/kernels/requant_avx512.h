#pragma once
// AVX-512 requantization shared by the AVX-512 int8 kernels (include only from files compiled with
// -mavx512f -mavx512bw, and call only on CPUs that have them).

#include "runtime/kernels/quant_activation.h"

#include <immintrin.h>

#include <cstdint>

namespace joule::rt {

// y = clamp(zp + rne(acc * m / 2^shift), lo, hi) in 16 int32 lanes, exactly as Requantizer::apply
// followed by QuantClamp: 64-bit products in even / odd lanes, rounding half to even without
// branches (round up when rem + (q & 1) > half).
struct VecRequant {
    __m512i m, mask, half, lo, hi, zp, one;
    __m128i shift;
    VecRequant(int32_t multiplier, int s, int32_t zeroPoint, QuantClamp c)
    {
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
        const __m512i even = round64(_mm512_mul_epi32(acc, m));
        const __m512i odd = round64(_mm512_mul_epi32(_mm512_srli_epi64(acc, 32), m));
        const __m512i r = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
        return _mm512_add_epi32(r, zp);
    }
};

} // namespace joule::rt
