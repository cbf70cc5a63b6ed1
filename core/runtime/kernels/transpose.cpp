// Transpose: out.shape[i] = in.shape[perm[i]]; perm defaults to reversing the axes.
// prepare() drops size-1 axes and merges axes that stay adjacent, so common layouts reduce to a
// plain copy, a (batched) 2-D transpose — NCHW<->NHWC, [M,N]->[N,M] — done in cache blocks, or a
// general strided copy.
#include "runtime/cpu_isa.h"
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

#include <algorithm>
#include <numeric>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace joule::rt {
namespace {

// dst[b][j][i] = src[b][i][j] for a batch of rows x cols matrices, in cache blocks; the inner loop
// reads with a stride and writes contiguously.
template <typename T>
void transposeBlocks(const std::byte* srcBytes, std::byte* dstBytes, int64_t batch, int64_t rows, int64_t cols)
{
    constexpr int64_t kBlock = 32;
    const auto* src = reinterpret_cast<const T*>(srcBytes);
    auto* dst = reinterpret_cast<T*>(dstBytes);
    for (int64_t b = 0; b < batch; ++b, src += rows * cols, dst += rows * cols) {
        for (int64_t i0 = 0; i0 < rows; i0 += kBlock) {
            const int64_t i1 = std::min(rows, i0 + kBlock);
            for (int64_t j0 = 0; j0 < cols; j0 += kBlock) {
                const int64_t j1 = std::min(cols, j0 + kBlock);
                for (int64_t j = j0; j < j1; ++j) {
                    T* d = dst + j * rows;
                    const T* s = src + j;
                    for (int64_t i = i0; i < i1; ++i) d[i] = s[i * cols];
                }
            }
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#define JOULE_TRANSPOSE_AVX2 1
// One 8x8 float tile: 8 rows of src (stride cols) become 8 rows of dst (stride rows).
__attribute__((target("avx2"))) inline void transposeTile8x8(const float* src, int64_t cols, float* dst, int64_t rows)
{
    const __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + cols);
    const __m256 r2 = _mm256_loadu_ps(src + 2 * cols), r3 = _mm256_loadu_ps(src + 3 * cols);
    const __m256 r4 = _mm256_loadu_ps(src + 4 * cols), r5 = _mm256_loadu_ps(src + 5 * cols);
    const __m256 r6 = _mm256_loadu_ps(src + 6 * cols), r7 = _mm256_loadu_ps(src + 7 * cols);
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + rows, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * rows, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * rows, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * rows, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * rows, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * rows, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * rows, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// 4-byte elements with AVX2: 8x8 register tiles inside 64x64 cache blocks; scalar edges.
__attribute__((target("avx2"))) void transposeBlocksAvx2(const std::byte* srcBytes, std::byte* dstBytes, int64_t batch,
                                                         int64_t rows, int64_t cols)
{
    constexpr int64_t kBlock = 64;
    const auto* src = reinterpret_cast<const float*>(srcBytes);
    auto* dst = reinterpret_cast<float*>(dstBytes);
    for (int64_t b = 0; b < batch; ++b, src += rows * cols, dst += rows * cols) {
        for (int64_t i0 = 0; i0 < rows; i0 += kBlock) {
            const int64_t i1 = std::min(rows, i0 + kBlock);
            for (int64_t j0 = 0; j0 < cols; j0 += kBlock) {
                const int64_t j1 = std::min(cols, j0 + kBlock);
                int64_t i = i0;
                for (; i + 8 <= i1; i += 8) {
                    int64_t j = j0;
                    for (; j + 8 <= j1; j += 8) transposeTile8x8(src + i * cols + j, cols, dst + j * rows + i, rows);
                    for (; j < j1; ++j)
                        for (int64_t k = i; k < i + 8; ++k) dst[j * rows + k] = src[k * cols + j];
                }
                for (; i < i1; ++i)
                    for (int64_t j = j0; j < j1; ++j) dst[j * rows + i] = src[i * cols + j];
            }
        }
    }
}

// dst[b][j][i] = src[b][i][j] for 3 rows, 4-byte elements (an RGB image's NCHW -> NHWC, ahead of a
// channels-last network): 16 columns of the three rows become 48 interleaved values with two
// vpermt2ps per output vector; the 8x8 tiles above would leave 3 rows to the scalar edge loop.
__attribute__((target("avx512f"))) void transposeRows3Avx512(const std::byte* srcBytes, std::byte* dstBytes, int64_t batch, int64_t cols)
{
    alignas(64) int32_t pickAB[3][16], pickC[3][16];
    for (int v = 0; v < 3; ++v)
        for (int l = 0; l < 16; ++l) {
            const int k = 16 * v + l, col = k / 3, row = k % 3;
            pickAB[v][l] = row == 0 ? col : row == 1 ? 16 + col : 0;
            pickC[v][l] = row == 2 ? 16 + col : l;
        }
    __m512i ab[3], c3[3];
    for (int v = 0; v < 3; ++v) {
        ab[v] = _mm512_load_si512(pickAB[v]);
        c3[v] = _mm512_load_si512(pickC[v]);
    }
    const auto* src = reinterpret_cast<const float*>(srcBytes);
    auto* dst = reinterpret_cast<float*>(dstBytes);
    for (int64_t b = 0; b < batch; ++b, src += 3 * cols, dst += 3 * cols) {
        int64_t j = 0;
        for (; j + 16 <= cols; j += 16) {
            const __m512 r0 = _mm512_loadu_ps(src + j), r1 = _mm512_loadu_ps(src + cols + j), r2 = _mm512_loadu_ps(src + 2 * cols + j);
            for (int v = 0; v < 3; ++v)
                _mm512_storeu_ps(dst + 3 * j + 16 * v, _mm512_permutex2var_ps(_mm512_permutex2var_ps(r0, ab[v], r1), c3[v], r2));
        }
        for (; j < cols; ++j)
            for (int64_t i = 0; i < 3; ++i) dst[j * 3 + i] = src[i * cols + j];
    }
}
#endif

class Transpose final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        elem_ = layout::byteWidth(ctx, 0);
        const int rank = x.rank();
        std::vector<int64_t> perm = ctx.attrInts("perm");
        if (perm.empty() && !ctx.hasAttr("perm")) {
            perm.resize(static_cast<size_t>(rank));
            for (int i = 0; i < rank; ++i) perm[static_cast<size_t>(i)] = rank - 1 - i;
        }
        if (static_cast<int>(perm.size()) != rank)
            throw KernelError("perm " + layout::intsToString(perm) + " has " + std::to_string(perm.size()) +
                              " entries for an input of rank " + std::to_string(rank));
        std::vector<bool> seen(static_cast<size_t>(rank), false);
        Shape out(static_cast<size_t>(rank));
        for (int i = 0; i < rank; ++i) {
            const int p = layout::normalizeAxis(perm[static_cast<size_t>(i)], rank, "perm entry");
            if (seen[static_cast<size_t>(p)]) throw KernelError("perm " + layout::intsToString(perm) + " repeats axis " + std::to_string(p));
            seen[static_cast<size_t>(p)] = true;
            perm[static_cast<size_t>(i)] = p;
            out[static_cast<size_t>(i)] = x.shape[static_cast<size_t>(p)];
        }
        ctx.setOutput(0, x.dtype, out);
        planCopy(x.shape, perm);
    }

    void eval(EvalContext& ctx) override
    {
        const Tensor& x = ctx.input(0);
        const auto* src = static_cast<const std::byte*>(x.raw());
        auto* dst = static_cast<std::byte*>(ctx.output(0).raw());
        switch (mode_) {
        case Mode::Copy: if (x.bytes()) std::memcpy(dst, src, x.bytes()); break;
        case Mode::Blocks2D:
            switch (elem_) {
            case 1: transposeBlocks<uint8_t>(src, dst, batch_, rows_, cols_); break;
            case 2: transposeBlocks<uint16_t>(src, dst, batch_, rows_, cols_); break;
            case 4:
#ifdef JOULE_TRANSPOSE_AVX2
                if (avx512_ && rows_ == 3) { transposeRows3Avx512(src, dst, batch_, cols_); break; }
                if (avx2_) { transposeBlocksAvx2(src, dst, batch_, rows_, cols_); break; }
#endif
                transposeBlocks<uint32_t>(src, dst, batch_, rows_, cols_);
                break;
            default: transposeBlocks<uint64_t>(src, dst, batch_, rows_, cols_); break;
            }
            break;
        case Mode::Strided: copy_.run(src, dst); break;
        }
    }

private:
    enum class Mode { Copy, Blocks2D, Strided };

    // Reduces (shape, perm) to the fewest axes and picks the copy strategy.
    void planCopy(const Shape& shape, const std::vector<int64_t>& perm)
    {
        // Keep axes longer than 1, renumbered.
        std::vector<int> newIndex(shape.size(), -1);
        Shape kept;
        for (size_t a = 0; a < shape.size(); ++a)
            if (shape[a] != 1) { newIndex[a] = static_cast<int>(kept.size()); kept.push_back(shape[a]); }
        std::vector<int> p;
        for (int64_t a : perm)
            if (newIndex[static_cast<size_t>(a)] >= 0) p.push_back(newIndex[static_cast<size_t>(a)]);
        // Runs of input axes that appear consecutively in the output, in output order.
        std::vector<std::pair<int, int>> runs;
        for (int a : p) {
            if (!runs.empty() && a == runs.back().second + 1) runs.back().second = a;
            else runs.push_back({a, a});
        }
        std::vector<size_t> byInput(runs.size());
        std::iota(byInput.begin(), byInput.end(), size_t{0});
        std::sort(byInput.begin(), byInput.end(), [&](size_t l, size_t r) { return runs[l].first < runs[r].first; });
        Shape reduced(runs.size());
        std::vector<int64_t> reducedPerm(runs.size());
        for (size_t pos = 0; pos < byInput.size(); ++pos) {
            const auto& run = runs[byInput[pos]];
            reduced[pos] = layout::product(kept, static_cast<size_t>(run.first), static_cast<size_t>(run.second) + 1);
            reducedPerm[byInput[pos]] = static_cast<int64_t>(pos);
        }
        if (reduced.size() <= 1) { mode_ = Mode::Copy; return; }
        if (reduced.size() == 2 || (reduced.size() == 3 && reducedPerm == std::vector<int64_t>{0, 2, 1})) {
            mode_ = Mode::Blocks2D;
#ifdef JOULE_TRANSPOSE_AVX2
            avx2_ = elem_ == 4 && cpuHas(CpuFeature::Avx2Fma);
            avx512_ = elem_ == 4 && isaAllowed(Isa::Avx512, "JOULE_GEMM_ISA") && cpuHas(CpuFeature::Avx512F);
#endif
            batch_ = reduced.size() == 3 ? reduced[0] : 1;
            rows_ = reduced[reduced.size() - 2];
            cols_ = reduced[reduced.size() - 1];
            return;
        }
        mode_ = Mode::Strided;
        const auto inStrides = layout::contiguousStrides(reduced);
        Shape outShape(reduced.size());
        std::vector<int64_t> srcStrides(reduced.size());
        for (size_t i = 0; i < reduced.size(); ++i) {
            outShape[i] = reduced[static_cast<size_t>(reducedPerm[i])];
            srcStrides[i] = inStrides[static_cast<size_t>(reducedPerm[i])];
        }
        copy_.plan(outShape, srcStrides, elem_);
    }

    size_t elem_ = 0;
    bool avx2_ = false, avx512_ = false;
    Mode mode_ = Mode::Copy;
    int64_t batch_ = 1, rows_ = 0, cols_ = 0;
    layout::StridedCopy copy_;
};

} // namespace

void register_transpose(KernelRegistry& r)
{
    r.add("Transpose", "", layout::byteTypes(), make<Transpose>);
}

} // namespace joule::rt
