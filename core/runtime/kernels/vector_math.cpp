// Vectorised float32 math (see vector_math.h). The AVX2 paths are compiled for AVX2+FMA through
// function target attributes and chosen at run time; the rest of this file is plain x86-64.
//
// exp: x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in a 12-bit high part and a low part, so n ln2
// is exact), e^r by its Taylor series to r^7 (truncation < 6e-9 relative), scaled by 2^n as two
// factors so that overflow gives inf and underflow rounds through the subnormals.
// tanh: 1 - 2 / (e^2|x| + 1) with the sign of x, and x - x^3/3 + 2x^5/15 - 17x^7/315 for |x| < 0.1
// where the first form cancels. erf: its Maclaurin series to x^11 for |x| < 0.5, else
// Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
#include "runtime/kernels/vector_math.h"
#include "runtime/cpu_isa.h"

#include <cmath>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define JOULE_VMATH_AVX2 1
#include <immintrin.h>
#endif

namespace joule::rt::vmath {
namespace {

#ifdef JOULE_VMATH_AVX2

#define AVX2_FMA __attribute__((target("avx2,fma")))

AVX2_FMA inline __m256 set(float v) { return _mm256_set1_ps(v); }

AVX2_FMA inline __m256 exp8(__m256 x)
{
    // max/min return their second operand when either is NaN, so NaN passes through.
    x = _mm256_min_ps(set(89.0f), _mm256_max_ps(set(-104.0f), x));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, set(1.44269502162933349609375f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, set(0.693115234375f), x);
    r = _mm256_fnmadd_ps(n, set(3.194618329871446e-05f), r);
    __m256 p = set(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, set(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, set(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, set(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, set(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, set(0.5f));
    p = _mm256_fmadd_ps(p, r, set(1.0f));
    p = _mm256_fmadd_ps(p, r, set(1.0f));
    const __m256i ni = _mm256_cvtps_epi32(n);           // in [-150, 129]
    const __m256i k1 = _mm256_srai_epi32(ni, 1);
    const __m256i k2 = _mm256_sub_epi32(ni, k1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, bias), 23));
    const __m256 f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
}

AVX2_FMA inline __m256 sigmoid8(__m256 x)
{
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(set(1.0f), _mm256_add_ps(set(1.0f), e));
}

AVX2_FMA inline __m256 tanh8(__m256 x)
{
    const __m256 signBit = set(-0.0f);
    const __m256 ax = _mm256_andnot_ps(signBit, x);
    const __m256 sign = _mm256_and_ps(signBit, x);
    const __m256 e = exp8(_mm256_add_ps(ax, ax));
    const __m256 large = _mm256_sub_ps(set(1.0f), _mm256_div_ps(set(2.0f), _mm256_add_ps(e, set(1.0f))));
    const __m256 z = _mm256_mul_ps(x, x);
    __m256 p = set(-17.0f / 315.0f);
    p = _mm256_fmadd_ps(p, z, set(2.0f / 15.0f));
    p = _mm256_fmadd_ps(p, z, set(-1.0f / 3.0f));
    const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
    const __m256 isSmall = _mm256_cmp_ps(ax, set(0.1f), _CMP_LT_OQ);
    return _mm256_blendv_ps(_mm256_or_ps(large, sign), small, isSmall);
}

AVX2_FMA inline __m256 erf8(__m256 x)
{
    const __m256 signBit = set(-0.0f);
    const __m256 ax = _mm256_andnot_ps(signBit, x);
    const __m256 sign = _mm256_and_ps(signBit, x);
    const __m256 z = _mm256_mul_ps(x, x);
    // Series: 2/sqrt(pi) * x * (1 - z/3 + z^2/10 - z^3/42 + z^4/216 - z^5/1320).
    __m256 s = set(-1.0f / 1320.0f);
    s = _mm256_fmadd_ps(s, z, set(1.0f / 216.0f));
    s = _mm256_fmadd_ps(s, z, set(-1.0f / 42.0f));
    s = _mm256_fmadd_ps(s, z, set(1.0f / 10.0f));
    s = _mm256_fmadd_ps(s, z, set(-1.0f / 3.0f));
    s = _mm256_fmadd_ps(s, z, set(1.0f));
    const __m256 series = _mm256_mul_ps(_mm256_mul_ps(s, x), set(1.12837916709551257390f));
    // A&S 7.1.26: 1 - t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) e^-x^2, t = 1 / (1 + p|x|).
    const __m256 t = _mm256_div_ps(set(1.0f), _mm256_fmadd_ps(set(0.3275911f), ax, set(1.0f)));
    __m256 q = set(1.061405429f);
    q = _mm256_fmadd_ps(q, t, set(-1.453152027f));
    q = _mm256_fmadd_ps(q, t, set(1.421413741f));
    q = _mm256_fmadd_ps(q, t, set(-0.284496736f));
    q = _mm256_fmadd_ps(q, t, set(0.254829592f));
    q = _mm256_mul_ps(q, t);
    const __m256 tail = _mm256_fnmadd_ps(q, exp8(_mm256_sub_ps(_mm256_setzero_ps(), z)), set(1.0f));
    const __m256 isSmall = _mm256_cmp_ps(ax, set(0.5f), _CMP_LT_OQ);
    return _mm256_blendv_ps(_mm256_or_ps(tail, sign), series, isSmall);
}

AVX2_FMA inline __m256 sqrt8(__m256 x) { return _mm256_sqrt_ps(x); }

// Applies f to n elements, 8 at a time; the last partial group goes through a local buffer so that
// every element sees the same approximation.
template <__m256 (*F)(__m256)>
AVX2_FMA void apply8(const float* x, float* y, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, F(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float buffer[8] = {};
        const auto rest = static_cast<size_t>(n - i);
        std::memcpy(buffer, x + i, rest * sizeof(float));
        _mm256_storeu_ps(buffer, F(_mm256_loadu_ps(buffer)));
        std::memcpy(y + i, buffer, rest * sizeof(float));
    }
}

bool hasAvx2()
{
    static const bool yes = cpuHas(CpuFeature::Avx2Fma);
    return yes;
}

#else
constexpr bool hasAvx2() { return false; }
#endif

template <typename F>
void applyScalar(const float* x, float* y, int64_t n, F f)
{
    for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

} // namespace

#ifdef JOULE_VMATH_AVX2
#define JOULE_VMATH_DISPATCH(vectorFn) \
    if (hasAvx2()) return apply8<vectorFn>(x, y, n)
#else
#define JOULE_VMATH_DISPATCH(vectorFn) (void)0
#endif

void exp(const float* x, float* y, int64_t n)
{
    JOULE_VMATH_DISPATCH(exp8);
    applyScalar(x, y, n, [](float v) { return std::exp(v); });
}

void sigmoid(const float* x, float* y, int64_t n)
{
    JOULE_VMATH_DISPATCH(sigmoid8);
    applyScalar(x, y, n, [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
}

void tanh(const float* x, float* y, int64_t n)
{
    JOULE_VMATH_DISPATCH(tanh8);
    applyScalar(x, y, n, [](float v) { return std::tanh(v); });
}

void erf(const float* x, float* y, int64_t n)
{
    JOULE_VMATH_DISPATCH(erf8);
    applyScalar(x, y, n, [](float v) { return std::erf(v); });
}

void sqrt(const float* x, float* y, int64_t n)
{
    JOULE_VMATH_DISPATCH(sqrt8);
    applyScalar(x, y, n, [](float v) { return std::sqrt(v); });
}

} // namespace joule::rt::vmath
