// AVX2 integer micro-kernels (compiled with -mavx2, called only when the CPU has AVX2; see
// int_gemm.cpp). vpmaddwd multiplies 16 int16 pairs and adds neighbours into 8 int32 lanes; rows
// are padded to a multiple of 16 values, so there is no tail.
#include <immintrin.h>

#include <cstdint>

namespace joule::rt::intgemm {

namespace {

inline int32_t horizontalSum(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

inline __m256i load(const int16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

} // namespace

int32_t dotAvx2(const int16_t* a, const int16_t* b, int64_t kp)
{
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    int64_t k = 0;
    for (; k + 32 <= kp; k += 32) {
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(load(a + k), load(b + k)));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(load(a + k + 16), load(b + k + 16)));
    }
    if (k < kp) acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(load(a + k), load(b + k)));
    return horizontalSum(_mm256_add_epi32(acc0, acc1));
}

void tile4x2Avx2(const int16_t* a, int64_t lda, const int16_t* b, int64_t ldb, int64_t kp, int32_t* out)
{
    __m256i c00 = _mm256_setzero_si256(), c01 = _mm256_setzero_si256();
    __m256i c10 = _mm256_setzero_si256(), c11 = _mm256_setzero_si256();
    __m256i c20 = _mm256_setzero_si256(), c21 = _mm256_setzero_si256();
    __m256i c30 = _mm256_setzero_si256(), c31 = _mm256_setzero_si256();
    const int16_t* a0 = a;
    const int16_t* a1 = a + lda;
    const int16_t* a2 = a + 2 * lda;
    const int16_t* a3 = a + 3 * lda;
    const int16_t* b1 = b + ldb;
    for (int64_t k = 0; k < kp; k += 16) {
        const __m256i vb0 = load(b + k), vb1 = load(b1 + k);
        __m256i va = load(a0 + k);
        c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(va, vb0));
        c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(va, vb1));
        va = load(a1 + k);
        c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(va, vb0));
        c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(va, vb1));
        va = load(a2 + k);
        c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(va, vb0));
        c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(va, vb1));
        va = load(a3 + k);
        c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(va, vb0));
        c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(va, vb1));
    }
    // Reduce the 8 accumulators: hadd pairs, then fold the 128-bit halves.
    const __m256i s0 = _mm256_hadd_epi32(c00, c01);   // lanes: c00 c00 c01 c01 | c00 c00 c01 c01
    const __m256i s1 = _mm256_hadd_epi32(c10, c11);
    const __m256i s2 = _mm256_hadd_epi32(c20, c21);
    const __m256i s3 = _mm256_hadd_epi32(c30, c31);
    const __m256i t0 = _mm256_hadd_epi32(s0, s1);     // c00 c01 c10 c11 | (upper halves)
    const __m256i t1 = _mm256_hadd_epi32(s2, s3);     // c20 c21 c30 c31 | ...
    const __m128i r0 = _mm_add_epi32(_mm256_castsi256_si128(t0), _mm256_extracti128_si256(t0, 1));
    const __m128i r1 = _mm_add_epi32(_mm256_castsi256_si128(t1), _mm256_extracti128_si256(t1, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), r0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 4), r1);
}

} // namespace joule::rt::intgemm
