#pragma once
// Packed single-precision GEMM: C[m x n] (=|+=) A[m x k] * B[k x n], the engine under Conv,
// ConvTranspose, Gemm and MatMul.
//
//   const gemm::MicroKernel& mk = gemm::bestMicroKernel();      // AVX-512, AVX2 or portable, per CPU
//   std::vector<float> ap(gemm::packedASize(mk, m, k));
//   gemm::packA(mk, w, k, 1, m, k, 1.0f, ap.data());            // prepare(): weights, once
//   gemm::packB(mk, x, n, 1, k, n, bp);                          // eval(): into scratch
//   gemm::run(mk, {.m = m, .n = n, .k = k, .a = ap.data(), .b = bp, .c = y, .ldc = n}, threads);
//
// B may also be used in place (Problem::ldb): row-major with unit column stride, read directly by the
// micro-kernel. That saves the packing pass when B is read once (1x1 convolutions); packing pays off
// for large k with many A panels.
//
// Packed layouts. k is cut into blocks of blockK(k) rows (the last one shorter). Within the block
// starting at row pc (kc rows), A is stored as panels of mk.mr rows, each panel kc x mr (for each
// k, mr consecutive row values) at a.data + pc * roundUp(m, mr) + panel * kc * mr; B likewise as
// panels of mk.nr columns, each kc x nr, at pc * roundUp(n, nr) + panel * kc * nr. Rows of A and
// columns of B past m / n are zero. Producers that fill packed B themselves (im2col) use
// packedBOffset(). Packed buffers should be 64-byte aligned.
//
// This header declares only; the micro-kernels live in files compiled for their instruction set
// (gemm_fp32_avx2.cpp, gemm_fp32_avx512.cpp) and are chosen at run time.

#include <cstddef>
#include <cstdint>

namespace joule::rt::gemm {

// Computes one tile: C[rows x cols] = A panel * B panel (+ bias[r] per row when bias != nullptr
// and !accumulate), or C += A panel * B panel when accumulate. `a` is a kc x mr panel, `b` a
// kc x nr panel whose rows are ldb floats apart (ldb == nr: packed; otherwise B is read in place and
// columns past `cols` are not touched); rows <= mr, cols <= nr. C rows are ldc floats apart.
using TileFunction = void (*)(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc,
                              int rows, int cols, const float* bias, bool accumulate);

// As TileFunction, for a B that is never materialised (implicit im2col): row p of the kc x nr panel
// is the `cols` contiguous floats at base + offsets[p]; lanes past `cols` are not read.
using IndirectTileFunction = void (*)(int64_t kc, const float* a, const float* base, const int64_t* offsets, float* c,
                                      int64_t ldc, int rows, int cols, const float* bias, bool accumulate);

struct MicroKernel {
    const char* name;   // "avx512", "avx2", "portable"
    int mr;             // rows of A per panel
    int nr;             // columns of B per panel
    TileFunction tile;
    IndirectTileFunction indirect;   // nullptr: this ISA has none (use packed B)
};

// The fastest micro-kernel this CPU supports (checked once). JOULE_GEMM_ISA=portable|avx2|avx512
// in the environment restricts the choice (for testing the other paths).
const MicroKernel& bestMicroKernel();
// A specific micro-kernel by name, or nullptr when unknown or not supported by this CPU.
const MicroKernel* microKernel(const char* name);

// Rows of k per packed block for a product with inner dimension k.
int64_t blockK(int64_t k);

inline constexpr int64_t roundUp(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

size_t packedASize(const MicroKernel& mk, int64_t m, int64_t k);   // floats
size_t packedBSize(const MicroKernel& mk, int64_t k, int64_t n);   // floats

// Packs A(i, p) = scale * a[i * rowStride + p * colStride] for i < m, p < k (transposed A: swap the
// strides).
void packA(const MicroKernel& mk, const float* a, int64_t rowStride, int64_t colStride, int64_t m, int64_t k,
           float scale, float* dst);
// Packs B(p, j) = b[p * rowStride + j * colStride] for p < k, j < n.
void packB(const MicroKernel& mk, const float* b, int64_t rowStride, int64_t colStride, int64_t k, int64_t n,
           float* dst);
// As packB, but only the panels [panelBegin, panelEnd) (for producers that split the work).
void packBPanels(const MicroKernel& mk, const float* b, int64_t rowStride, int64_t colStride, int64_t k,
                 int64_t n, int64_t panelBegin, int64_t panelEnd, float* dst);

// Offset (in floats) of B(p, j) in the packed layout.
inline int64_t packedBOffset(int64_t nr, int64_t k, int64_t n, int64_t kBlock, int64_t p, int64_t j)
{
    const int64_t pc = p / kBlock * kBlock;
    const int64_t kc = k - pc < kBlock ? k - pc : kBlock;
    return pc * roundUp(n, nr) + (j / nr) * kc * nr + (p - pc) * nr + j % nr;
}

struct Problem {
    int64_t m = 0, n = 0, k = 0;
    const float* a = nullptr;        // packed A
    const float* b = nullptr;        // packed B, or row-major B when ldb > 0
    int64_t ldb = 0;                 // 0: b is packed; else B(p, j) = b[p * ldb + j] (no packing needed)
    const int64_t* offsets = nullptr;  // set: B(p, j) = b[offsets[p] + j], never materialised
                                       // (implicit im2col; mk.indirect must be set; ldb unused)
    float* c = nullptr;
    int64_t ldc = 0;
    const float* rowBias = nullptr;  // m values added to C's rows, or nullptr
    bool accumulate = false;         // C += A*B instead of C = A*B (+ bias)
};

// Computes the tiles of A panels [mPanelBegin, mPanelEnd) x B panels [nPanelBegin, nPanelEnd), all k.
void runTiles(const MicroKernel& mk, const Problem& p, int64_t mPanelBegin, int64_t mPanelEnd, int64_t nPanelBegin,
              int64_t nPanelEnd);
// Computes all of C, split across `threads` (by B panels, or by A panels when n is narrow).
void run(const MicroKernel& mk, const Problem& p, int threads);

} // namespace joule::rt::gemm
