// AVX-512 micro-kernel of the packed fp32 GEMM (gemm_fp32.h): 8 rows x 32 columns per tile.
// Compiled with -mavx512f -mfma (list_nn.cmake); called only when the CPU has AVX-512F. Everything
// here has internal linkage except tileAvx512 and tileIndirectAvx512, and no header with inline
// functions is included, so no AVX-512 code can be merged into portable code by the linker.
#include <cstdint>
#include <immintrin.h>

namespace joule::rt::gemm {
namespace {

constexpr int kMr = 8;
constexpr int kNr = 32;

// B row p of the panel: b + p * ldb (packed, or in place), or b + offsets[p] (Indirect: implicit
// im2col). Masked: lanes past `cols` are neither read nor written.
template <int R, bool Masked, bool Indirect>
void tile(int64_t kc, const float* a, const float* b, int64_t ldb, const int64_t* offsets, float* c, int64_t ldc,
          int cols, const float* bias, bool accumulate)
{
    const __mmask16 m0 = cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cols) - 1u);
    const __mmask16 m1 = cols >= 32 ? __mmask16(0xFFFF) : cols > 16 ? __mmask16((1u << (cols - 16)) - 1u) : __mmask16(0);
    __m512 lo[R], hi[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        lo[r] = _mm512_setzero_ps();
        hi[r] = _mm512_setzero_ps();
    }
    for (int64_t p = 0; p < kc; ++p) {
        const float* row = Indirect ? b + offsets[p] : b + p * ldb;
        const __m512 b0 = Masked ? _mm512_maskz_loadu_ps(m0, row) : _mm512_loadu_ps(row);
        const __m512 b1 = Masked ? _mm512_maskz_loadu_ps(m1, row + 16) : _mm512_loadu_ps(row + 16);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const __m512 av = _mm512_set1_ps(a[r]);
            lo[r] = _mm512_fmadd_ps(av, b0, lo[r]);
            hi[r] = _mm512_fmadd_ps(av, b1, hi[r]);
        }
        a += kMr;
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        float* cr = c + r * ldc;
        __m512 v0 = lo[r], v1 = hi[r];
        if (accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
        } else if (bias) {
            const __m512 bv = _mm512_set1_ps(bias[r]);
            v0 = _mm512_add_ps(v0, bv);
            v1 = _mm512_add_ps(v1, bv);
        }
        _mm512_mask_storeu_ps(cr, m0, v0);
        _mm512_mask_storeu_ps(cr + 16, m1, v1);
    }
}

template <bool Masked, bool Indirect>
void tileRows(int64_t kc, const float* a, const float* b, int64_t ldb, const int64_t* offsets, float* c, int64_t ldc,
              int rows, int cols, const float* bias, bool accumulate)
{
    switch (rows) {
    case 8: tile<8, Masked, Indirect>(kc, a, b, ldb, offsets, c, ldc, cols, bias, accumulate); break;
    case 7: tile<7, Masked, Indirect>(kc, a, b, ldb, offsets, c, ldc, cols, bias, accumulate); break;
    case 6: tile<6, Masked, Indirect>(kc, a, b, ldb, offsets, c, ldc, cols, bias, accumulate); break;
    case 5: tile<5, Masked, Indirect>(kc, a, b, ldb, offsets, c, ldc, cols, bias, accumulate); break;
    case 4: tile<4, Masked, Indirect>(kc, a, b, ldb, offsets, c, ldc, cols, bias, accumulate); break;
    case 3: tile<3, Masked, Indirect>(kc, a, b, ldb, offsets, c, ldc, cols, bias, accumulate); break;
    case 2: tile<2, Masked, Indirect>(kc, a, b, ldb, offsets, c, ldc, cols, bias, accumulate); break;
    default: tile<1, Masked, Indirect>(kc, a, b, ldb, offsets, c, ldc, cols, bias, accumulate); break;
    }
}

} // namespace

void tileIndirectAvx512(int64_t kc, const float* a, const float* base, const int64_t* offsets, float* c, int64_t ldc,
                        int rows, int cols, const float* bias, bool accumulate)
{
    if (cols < kNr) tileRows<true, true>(kc, a, base, 0, offsets, c, ldc, rows, cols, bias, accumulate);
    else tileRows<false, true>(kc, a, base, 0, offsets, c, ldc, rows, cols, bias, accumulate);
}

// b is a kc x 32 panel with rows ldb floats apart; columns past `cols` are not read when ldb != 32
// (B used in place), so b may end right after the last valid column.
void tileAvx512(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc, int rows, int cols,
                const float* bias, bool accumulate)
{
    if (ldb != kNr && cols < kNr) tileRows<true, false>(kc, a, b, ldb, nullptr, c, ldc, rows, cols, bias, accumulate);
    else tileRows<false, false>(kc, a, b, ldb, nullptr, c, ldc, rows, cols, bias, accumulate);
}

} // namespace joule::rt::gemm
