// QLinearAdd's element loop on AVX-512 F/BW (compiled with those flags, x86-64 only; called only
// when the CPU has them, see qlinear_add.cpp). The same codes as the scalar loop's integer
// formula, computed exactly in doubles.
#include "runtime/kernels/quant_activation.h"

#include <immintrin.h>

#include <bit>
#include <cstdint>

namespace joule::rt {

namespace {

template <bool Signed> inline __m512d widen(const uint8_t* p, __mmask8 k)
{
    const __m128i bytes = _mm_maskz_loadu_epi8(k, p);
    return _mm512_cvtepi32_pd(Signed ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes));
}

// In doubles, exactly: with mA = ma / 2^shift and mB = mb / 2^shift (exact: a change of exponent),
// a * mA + (b * mB - (za * mA + zb * mB)) is a multiple of 2^-shift below 2^(e + 10), where
// max(mA, mB) is in [2^(e-1), 2^e] and shift = 31 - e, so it needs at most 41 significant bits and
// every product, fused add and sum is exact. Rounding that to an integer half to even gives
// rne(acc / 2^shift) of the 64-bit formula; the clamp (less the zero point) and the zero point
// follow as integers. Eight elements per step.
template <bool Signed>
void addLanes(const uint8_t* a, const uint8_t* b, uint8_t* y, int64_t n, int32_t za, int32_t zb, int32_t ma, int32_t mb,
              int shift, int32_t zc, QuantClamp clamp)
{
    constexpr int kNearestEven = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    const double powerOfTwo = std::bit_cast<double>(static_cast<uint64_t>(1023 - shift) << 52);
    const double mA = static_cast<double>(ma) * powerOfTwo, mB = static_cast<double>(mb) * powerOfTwo;
    const __m512d vmA = _mm512_set1_pd(mA), vmB = _mm512_set1_pd(mB);
    const __m512d offset = _mm512_set1_pd(-(static_cast<double>(za) * mA + static_cast<double>(zb) * mB));
    const __m512d lo = _mm512_set1_pd(static_cast<double>(clamp.lo) - zc), hi = _mm512_set1_pd(static_cast<double>(clamp.hi) - zc);
    const __m256i zp = _mm256_set1_epi32(zc);
    for (int64_t i = 0; i < n; i += 8) {
        const __mmask8 k = n - i >= 8 ? static_cast<__mmask8>(0xFF) : static_cast<__mmask8>((1u << (n - i)) - 1);
        const __m512d t = _mm512_fmadd_pd(widen<Signed>(b + i, k), vmB, offset);
        const __m512d q = _mm512_roundscale_pd(_mm512_fmadd_pd(widen<Signed>(a + i, k), vmA, t), kNearestEven);
        const __m256i r = _mm256_add_epi32(_mm512_cvtpd_epi32(_mm512_min_pd(_mm512_max_pd(q, lo), hi)), zp);
        _mm_mask_storeu_epi8(y + i, k, _mm256_cvtepi32_epi8(r));
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
