// AVX2+FMA micro-kernel of the packed fp32 GEMM (gemm_fp32.h): 6 rows x 16 columns per tile.
// Compiled with -mavx2 -mfma (list_nn.cmake); called only when the CPU has AVX2 and FMA. Everything
// here has internal linkage except tileAvx2, and no header with inline functions is included, so
// no AVX2 code can be merged into portable code by the linker.
#include <cstdint>
#include <immintrin.h>

namespace joule::rt::gemm {
namespace {

constexpr int kMr = 6;
constexpr int kNr = 16;

template <int R, bool Masked>
void tile(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc, int cols,
          const float* bias, bool accumulate)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), lane);
    const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols - 8), lane);
    __m256 lo[R], hi[R];
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
        lo[r] = _mm256_setzero_ps();
        hi[r] = _mm256_setzero_ps();
    }
    for (int64_t p = 0; p < kc; ++p) {
        const __m256 b0 = Masked ? _mm256_maskload_ps(b, m0) : _mm256_loadu_ps(b);
        const __m256 b1 = Masked ? _mm256_maskload_ps(b + 8, m1) : _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
        for (int r = 0; r < R; ++r) {
            const __m256 av = _mm256_broadcast_ss(a + r);
            lo[r] = _mm256_fmadd_ps(av, b0, lo[r]);
            hi[r] = _mm256_fmadd_ps(av, b1, hi[r]);
        }
        a += kMr;
        b += ldb;
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
        float* cr = c + r * ldc;
        __m256 v0 = lo[r], v1 = hi[r];
        if (accumulate) {
            v0 = _mm256_add_ps(v0, _mm256_maskload_ps(cr, m0));
            v1 = _mm256_add_ps(v1, _mm256_maskload_ps(cr + 8, m1));
        } else if (bias) {
            const __m256 bv = _mm256_set1_ps(bias[r]);
            v0 = _mm256_add_ps(v0, bv);
            v1 = _mm256_add_ps(v1, bv);
        }
        if (cols == kNr) {
            _mm256_storeu_ps(cr, v0);
            _mm256_storeu_ps(cr + 8, v1);
        } else {
            _mm256_maskstore_ps(cr, m0, v0);
            _mm256_maskstore_ps(cr + 8, m1, v1);
        }
    }
}

template <bool Masked>
void tileRows(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc, int rows, int cols,
              const float* bias, bool accumulate)
{
    switch (rows) {
    case 6: tile<6, Masked>(kc, a, b, ldb, c, ldc, cols, bias, accumulate); break;
    case 5: tile<5, Masked>(kc, a, b, ldb, c, ldc, cols, bias, accumulate); break;
    case 4: tile<4, Masked>(kc, a, b, ldb, c, ldc, cols, bias, accumulate); break;
    case 3: tile<3, Masked>(kc, a, b, ldb, c, ldc, cols, bias, accumulate); break;
    case 2: tile<2, Masked>(kc, a, b, ldb, c, ldc, cols, bias, accumulate); break;
    default: tile<1, Masked>(kc, a, b, ldb, c, ldc, cols, bias, accumulate); break;
    }
}

} // namespace

// b is a kc x 16 panel with rows ldb floats apart; columns past `cols` are not read when ldb != 16
// (B used in place), so b may end right after the last valid column.
void tileAvx2(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc, int rows, int cols,
              const float* bias, bool accumulate)
{
    if (ldb != kNr && cols < kNr) tileRows<true>(kc, a, b, ldb, c, ldc, rows, cols, bias, accumulate);
    else tileRows<false>(kc, a, b, ldb, c, ldc, rows, cols, bias, accumulate);
}

} // namespace joule::rt::gemm
