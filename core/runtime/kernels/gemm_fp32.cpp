// Packed fp32 GEMM: packing, blocking, threading and the choice of micro-kernel (see gemm_fp32.h).
#include "runtime/kernels/gemm_fp32.h"

#include "runtime/cpu_isa.h"
#include "runtime/kernel.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace joule::rt::gemm {

// Defined in gemm_fp32_avx2.cpp / gemm_fp32_avx512.cpp, which are compiled for those instruction sets
// and must only be called when the CPU has them.
void tileAvx2(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc, int rows, int cols,
              const float* bias, bool accumulate);
void tileAvx512(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc, int rows, int cols,
                const float* bias, bool accumulate);
void tileIndirectAvx512(int64_t kc, const float* a, const float* base, const int64_t* offsets, float* c, int64_t ldc,
                        int rows, int cols, const float* bias, bool accumulate);
inline constexpr int kAvx2Mr = 6, kAvx2Nr = 16;
inline constexpr int kAvx512Mr = 8, kAvx512Nr = 32;

namespace {

constexpr int kPortableMr = 4, kPortableNr = 8;
constexpr int64_t kBlockRows = 64;

void tilePortable(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc, int rows,
                  int cols, const float* bias, bool accumulate)
{
    float acc[kPortableMr][kPortableNr] = {};
    float bRow[kPortableNr] = {};
    for (int64_t p = 0; p < kc; ++p) {
        const float* bp = b;
        if (ldb != kPortableNr && cols < kPortableNr) {   // in place: do not read past the last column
            for (int j = 0; j < cols; ++j) bRow[j] = b[j];
            bp = bRow;
        }
        for (int r = 0; r < kPortableMr; ++r) {
            const float av = a[r];
            for (int j = 0; j < kPortableNr; ++j) acc[r][j] += av * bp[j];
        }
        a += kPortableMr;
        b += ldb;
    }
    for (int r = 0; r < rows; ++r) {
        float* cr = c + r * ldc;
        if (accumulate) {
            for (int j = 0; j < cols; ++j) cr[j] += acc[r][j];
        } else {
            const float add = bias ? bias[r] : 0.0f;
            for (int j = 0; j < cols; ++j) cr[j] = acc[r][j] + add;
        }
    }
}

const MicroKernel kPortable{"portable", kPortableMr, kPortableNr, tilePortable, nullptr};
const MicroKernel kAvx2{"avx2", kAvx2Mr, kAvx2Nr, tileAvx2, nullptr};
const MicroKernel kAvx512{"avx512", kAvx512Mr, kAvx512Nr, tileAvx512, tileIndirectAvx512};

bool cpuHas(const MicroKernel& mk)
{
    if (&mk == &kAvx512) return rt::cpuHas(CpuFeature::Avx512F);
    if (&mk == &kAvx2) return rt::cpuHas(CpuFeature::Avx2Fma);
    return &mk == &kPortable;
}

Isa isaOf(const MicroKernel& mk)
{
    return &mk == &kAvx512 ? Isa::Avx512 : &mk == &kAvx2 ? Isa::Avx2 : Isa::Portable;
}

// The best micro-kernel the CPU has within the JOULE_GEMM_ISA cap.
const MicroKernel& chooseMicroKernel()
{
    for (const MicroKernel* mk : {&kAvx512, &kAvx2, &kPortable})
        if (isaAllowed(isaOf(*mk), "JOULE_GEMM_ISA") && cpuHas(*mk)) return *mk;
    return kPortable;
}

} // namespace

const MicroKernel& bestMicroKernel()
{
    static const MicroKernel& chosen = chooseMicroKernel();
    return chosen;
}

const MicroKernel* microKernel(const char* name)
{
    for (const MicroKernel* mk : {&kAvx512, &kAvx2, &kPortable})
        if (std::strcmp(mk->name, name) == 0) return cpuHas(*mk) ? mk : nullptr;
    return nullptr;
}

int64_t blockK(int64_t k)
{
    constexpr int64_t kMaxBlock = 256;
    if (k <= kMaxBlock) return std::max<int64_t>(k, 1);
    const int64_t blocks = (k + kMaxBlock - 1) / kMaxBlock;
    return (k + blocks - 1) / blocks;
}

size_t packedASize(const MicroKernel& mk, int64_t m, int64_t k)
{
    return static_cast<size_t>(roundUp(m, mk.mr) * k);
}

size_t packedBSize(const MicroKernel& mk, int64_t k, int64_t n)
{
    return static_cast<size_t>(roundUp(n, mk.nr) * k);
}

void packA(const MicroKernel& mk, const float* a, int64_t rowStride, int64_t colStride, int64_t m, int64_t k,
           float scale, float* dst)
{
    const int64_t mr = mk.mr, kb = blockK(k), mPad = roundUp(m, mr);
    for (int64_t pc = 0; pc < k; pc += kb) {
        const int64_t kc = std::min(kb, k - pc);
        for (int64_t i0 = 0; i0 < mPad; i0 += mr) {
            float* panel = dst + pc * mPad + (i0 / mr) * kc * mr;
            for (int64_t p = 0; p < kc; ++p)
                for (int64_t r = 0; r < mr; ++r) {
                    const int64_t i = i0 + r;
                    panel[p * mr + r] = i < m ? scale * a[i * rowStride + (pc + p) * colStride] : 0.0f;
                }
        }
    }
}

void packBPanels(const MicroKernel& mk, const float* b, int64_t rowStride, int64_t colStride, int64_t k,
                 int64_t n, int64_t panelBegin, int64_t panelEnd, float* dst)
{
    // Copies a few panels at a time row by row, so that each source row is read in runs of several
    // cache lines and each destination panel is written sequentially.
    constexpr int64_t kPanelGroup = 16;
    const int64_t nr = mk.nr, kb = blockK(k), nPad = roundUp(n, nr);
    for (int64_t pc = 0; pc < k; pc += kb) {
        const int64_t kc = std::min(kb, k - pc);
        for (int64_t g = panelBegin; g < panelEnd; g += kPanelGroup) {
            const int64_t gEnd = std::min(panelEnd, g + kPanelGroup);
            for (int64_t p = 0; p < kc; ++p) {
                const float* row = b + (pc + p) * rowStride;
                for (int64_t q = g; q < gEnd; ++q) {
                    const int64_t j0 = q * nr, cols = std::min(nr, n - j0);
                    const float* src = row + j0 * colStride;
                    float* out = dst + pc * nPad + q * kc * nr + p * nr;
                    if (colStride == 1 && cols == nr) {
                        for (int64_t j = 0; j < nr; ++j) out[j] = src[j];
                        continue;
                    }
                    for (int64_t j = 0; j < cols; ++j) out[j] = src[j * colStride];
                    for (int64_t j = cols; j < nr; ++j) out[j] = 0.0f;
                }
            }
        }
    }
}

void packB(const MicroKernel& mk, const float* b, int64_t rowStride, int64_t colStride, int64_t k, int64_t n,
           float* dst)
{
    packBPanels(mk, b, rowStride, colStride, k, n, 0, (n + mk.nr - 1) / mk.nr, dst);
}

void runTiles(const MicroKernel& mk, const Problem& pr, int64_t mPanelBegin, int64_t mPanelEnd, int64_t nPanelBegin,
              int64_t nPanelEnd)
{
    const int64_t mr = mk.mr, nr = mk.nr;
    if (pr.k == 0) {   // C = bias (or unchanged when accumulating)
        if (pr.accumulate) return;
        for (int64_t i = mPanelBegin * mr; i < std::min(pr.m, mPanelEnd * mr); ++i)
            for (int64_t j = nPanelBegin * nr; j < std::min(pr.n, nPanelEnd * nr); ++j)
                pr.c[i * pr.ldc + j] = pr.rowBias ? pr.rowBias[i] : 0.0f;
        return;
    }
    const int64_t kb = blockK(pr.k), mPad = roundUp(pr.m, mr), nPad = roundUp(pr.n, nr);
    // Rows of C written while sweeping the B panels: few enough that the stores stay in a handful of
    // streams (a sweep over hundreds of rows of a wide C falls off a cliff).
    const int64_t mBlock = std::max<int64_t>(1, kBlockRows / mr);
    for (int64_t pc = 0; pc < pr.k; pc += kb) {
        const int64_t kc = std::min(kb, pr.k - pc);
        const bool accumulate = pr.accumulate || pc > 0;
        const float* aBlock = pr.a + pc * mPad;
        const bool inPlace = pr.ldb || pr.offsets;   // B's columns are contiguous in each row
        const float* bBlock = pr.offsets ? pr.b : pr.ldb ? pr.b + pc * pr.ldb : pr.b + pc * nPad;
        const int64_t* rowOffsets = pr.offsets ? pr.offsets + pc : nullptr;
        const int64_t ldb = pr.ldb ? pr.ldb : nr;
        for (int64_t pb = mPanelBegin; pb < mPanelEnd; pb += mBlock) {
            const int64_t pe = std::min(mPanelEnd, pb + mBlock);
            for (int64_t q = nPanelBegin; q < nPanelEnd; ++q) {
                const int64_t j0 = q * nr;
                const int cols = static_cast<int>(std::min(nr, pr.n - j0));
                const float* bPanel = inPlace ? bBlock + j0 : bBlock + q * kc * nr;
                for (int64_t p = pb; p < pe; ++p) {
                    const int64_t i0 = p * mr;
                    const int rows = static_cast<int>(std::min(mr, pr.m - i0));
                    float* c = pr.c + i0 * pr.ldc + j0;
                    const float* bias = pr.rowBias && !accumulate ? pr.rowBias + i0 : nullptr;
                    if (rowOffsets)
                        mk.indirect(kc, aBlock + p * kc * mr, bPanel, rowOffsets, c, pr.ldc, rows, cols, bias, accumulate);
                    else
                        mk.tile(kc, aBlock + p * kc * mr, bPanel, ldb, c, pr.ldc, rows, cols, bias, accumulate);
                }
            }
        }
    }
}

void run(const MicroKernel& mk, const Problem& pr, int threads)
{
    if (pr.m <= 0 || pr.n <= 0) return;
    const int64_t mPanels = (pr.m + mk.mr - 1) / mk.mr, nPanels = (pr.n + mk.nr - 1) / mk.nr;
    const double macs = static_cast<double>(pr.m) * static_cast<double>(pr.n) * static_cast<double>(pr.k);
    if (threads <= 1 || macs < 5.0e5) {   // a part must outweigh handing it to a worker (a few us)
        runTiles(mk, pr, 0, mPanels, 0, nPanels);
        return;
    }
    struct Job {
        const MicroKernel& mk;
        const Problem& pr;
        int64_t mPanels, nPanels;
        bool byColumns;
    };
    const Job job{mk, pr, mPanels, nPanels, nPanels >= 2 * threads || nPanels >= mPanels};
    const Job* j = &job;
    parallelFor(threads, job.byColumns ? nPanels : mPanels, 1, [j](int64_t b, int64_t e) {
        if (j->byColumns) runTiles(j->mk, j->pr, 0, j->mPanels, b, e);
        else runTiles(j->mk, j->pr, b, e, 0, j->nPanels);
    });
}

} // namespace joule::rt::gemm
