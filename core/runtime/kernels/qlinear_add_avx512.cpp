// QLinearAdd's element loop on AVX-512 F/BW (compiled with those flags, x86-64 only; called only
// when the CPU has them, see qlinear_add.cpp). Same integer formula as the scalar loop, 16 lanes.
#include "runtime/kernels/requant_avx512.h"

#include <immintrin.h>

namespace joule::rt {

namespace {

template <bool Signed> inline __m512i widen(const void* p, __mmask16 k)
{
    const __m128i bytes = _mm_maskz_loadu_epi8(k, p);
    return Signed ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
}

template <bool Signed>
void addLanes(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, int32_t za, int32_t zb, int32_t ma, int32_t mb,
              int shift, int32_t zc, QuantClamp clamp)
{
    const VecRequant rq(0, shift, zc, clamp);   // rounding, clamp and zero point; the products are ours
    const __m512i vza = _mm512_set1_epi32(za), vzb = _mm512_set1_epi32(zb);
    const __m512i vma = _mm512_set1_epi64(ma), vmb = _mm512_set1_epi64(mb);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
        const __m512i da = _mm512_sub_epi32(widen<Signed>(a + i, k), vza);
        const __m512i db = _mm512_sub_epi32(widen<Signed>(b + i, k), vzb);
        const __m512i even = rq.round64(_mm512_add_epi64(_mm512_mul_epi32(da, vma), _mm512_mul_epi32(db, vmb)));
        const __m512i odd = rq.round64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(da, 32), vma),
                                                        _mm512_mul_epi32(_mm512_srli_epi64(db, 32), vmb)));
        const __m512i r = _mm512_add_epi32(_mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32)), rq.zp);
        _mm_mask_storeu_epi8(y + i, k, _mm512_cvtepi32_epi8(r));
    }
}

} // namespace

// y[i] = clamp(zc + rne(((a[i] - za) * ma + (b[i] - zb) * mb) / 2^shift)) for n same-shape elements.
void qlinearAddAvx512(const void* a, const void* b, void* y, int64_t n, bool isSigned, int32_t za, int32_t zb, int32_t ma,
                      int32_t mb, int shift, int32_t zc, QuantClamp clamp)
{
    const auto* pa = static_cast<const uint8_t*>(a);
    const auto* pb = static_cast<const uint8_t*>(b);
    auto* py = static_cast<uint8_t*>(y);
    if (isSigned) addLanes<true>(pa, pb, py, n, za, zb, ma, mb, shift, zc, clamp);
    else addLanes<false>(pa, pb, py, n, za, zb, ma, mb, shift, zc, clamp);
}

} // namespace joule::rt
