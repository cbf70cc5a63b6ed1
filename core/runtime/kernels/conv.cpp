// Conv (fp32): N-d convolution with groups, explicit or automatic padding, strides and dilations.
//
// Paths, chosen in prepare():
//   depthwise  one input channel per group (1-D/2-D): direct convolution, no GEMM (see depthwise());
//   pointwise  1x1 kernel, stride 1, no padding: no im2col; the GEMM reads the input in place (few
//              input channels) or packs it a chunk at a time;
//   im2col 2-D other 1-D/2-D convolutions: the input is copied once with its zero padding and its
//              columns split by stride phase, so that every patch row is a contiguous run; patches
//              are written straight into the GEMM's packed-B layout a chunk of output positions at a
//              time, then multiplied;
//   im2col N-d 3-D and higher: same, with a general (slower) patch gather.
// Weights are packed for the GEMM once in prepare() when they are constant (the usual case). The
// work is split across threads by chunks of output positions (by channels for depthwise).
#include "runtime/kernels/conv_geometry.h"
#include "runtime/kernels/gemm_fp32.h"
#include "runtime/registry.h"

#include <algorithm>
#include <cstring>
#include <immintrin.h>

namespace joule::rt {
namespace {

// Packed-B chunk budget per worker; chunks stay in L2 between im2col and the GEMM.
constexpr int64_t kChunkBytes = 1 << 20;
// Pointwise convolutions with at most this many input channels per group read the input in place;
// deeper ones pack it (strided reads of many input rows per tile are slow).
constexpr int64_t kInPlaceMaxK = 32;
// Below this many multiply-adds a convolution runs on one thread.
constexpr double kParallelMacs = 5.0e5;
// Largest kernel (taps per channel) of the 2-D paths; larger ones take the N-d path.
constexpr int64_t kMaxTaps2d = 64;

int64_t alignFloats(int64_t n) { return (n + 15) / 16 * 16; }

// Panels per chunk when nPanels panels of each of `tasksPerChunk` (image, group) pairs are cut into
// chunks of at most `budget` panels: as even as possible, and in a number of tasks the workers share
// evenly (98 panels by 32 on 2 workers: 4 chunks of 25 and 23, not 32, 32, 32 and 2).
int64_t balancedChunkPanels(int64_t nPanels, int64_t budget, int64_t tasksPerChunk, int workers)
{
    int64_t chunks = (nPanels + std::max<int64_t>(budget, 1) - 1) / std::max<int64_t>(budget, 1);
    while (workers > 1 && (tasksPerChunk * chunks) % workers != 0 && chunks < nPanels) ++chunks;
    return std::max<int64_t>(1, (nPanels + chunks - 1) / chunks);
}

// The loops below are cloned per instruction set; the loader picks the best clone for this CPU.

// Copies one H x W channel into a zero-bordered, phase-split plane: padded row r = ih + pt and column
// c = iw + pl go to dst[((r % rowPhases) * colPhases + c % colPhases) * rows * len + (r / rowPhases) *
// len + c / colPhases]. Positions no input lands on are left as they are (zero).
__attribute__((target_clones("avx512f", "avx2", "default")))
void copyPadded(const float* __restrict x, int64_t H, int64_t W, int64_t pt, int64_t pl, int64_t rowPhases,
                int64_t colPhases, int64_t rows, int64_t len, float* __restrict dst)
{
    const int64_t plane = rows * len;
    for (int64_t ih = 0; ih < H; ++ih) {
        const int64_t r = ih + pt;
        float* __restrict base = dst + (r % rowPhases) * colPhases * plane + (r / rowPhases) * len;
        const float* __restrict in = x + ih * W;
        if (colPhases == 1) {
            for (int64_t iw = 0; iw < W; ++iw) base[pl + iw] = in[iw];
        } else if (colPhases == 2) {
            // input column 2i goes to phase pl % 2 at i + pl / 2, column 2i + 1 to the other phase
            float* __restrict a = base + (pl % 2) * plane + pl / 2;
            float* __restrict b = base + ((pl + 1) % 2) * plane + (pl + 1) / 2;
            for (int64_t i = 0; i < W / 2; ++i) {
                a[i] = in[2 * i];
                b[i] = in[2 * i + 1];
            }
            if (W % 2) a[W / 2] = in[W - 1];
        } else {
            for (int64_t iw = 0; iw < W; ++iw) {
                const int64_t c = iw + pl;
                base[(c % colPhases) * plane + c / colPhases] = in[iw];
            }
        }
    }
}

// A run of consecutive output positions of one output row inside a packed-B panel.
struct Segment {
    int64_t lane;     // first lane in the panel
    int64_t count;
    int64_t source;   // offset of its first input (tap 0) in the padded plane
};

// Fills one packed-B panel: for each patch row p in [p0, p0 + kc), lanes[...] = the padded input of
// each segment at its source plus the row's tap offset; lanes past `lanes` are zero.
__attribute__((target_clones("avx512f", "avx2", "default")))
void fillPanel(const float* x, const int64_t* rowOffsets, int64_t kc, const Segment* segs, int nseg, int64_t lanes,
               int64_t nr, float* __restrict out)
{
    for (int64_t p = 0; p < kc; ++p, out += nr) {
        const float* base = x + rowOffsets[p];
        for (int s = 0; s < nseg; ++s) {
            const float* __restrict src = base + segs[s].source;
            float* __restrict d = out + segs[s].lane;
            for (int64_t i = 0; i < segs[s].count; ++i) d[i] = src[i];
        }
        for (int64_t lane = lanes; lane < nr; ++lane) out[lane] = 0.0f;
    }
}

// copyPadded's common case (no column phases) with AVX-512 masked moves instead of the call to
// memmove that the plain loop becomes, whose cost dominates on short rows (28, 14, 7 floats).
__attribute__((target("avx512f")))
void copyPaddedRowsAvx512(const float* __restrict x, int64_t H, int64_t W, int64_t pt, int64_t pl, int64_t rowPhases,
                          int64_t rows, int64_t len, float* __restrict dst)
{
    const int64_t plane = rows * len;
    for (int64_t ih = 0; ih < H; ++ih) {
        const int64_t r = ih + pt;
        float* d = dst + (r % rowPhases) * plane + (r / rowPhases) * len + pl;
        const float* in = x + ih * W;
        for (int64_t iw = 0; iw < W; iw += 16) {
            const __mmask16 m = W - iw >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (W - iw)) - 1u);
            _mm512_mask_storeu_ps(d + iw, m, _mm512_maskz_loadu_ps(m, in + iw));
        }
    }
}

// A whole unit-stride padded plane [rows][len], zero border included: each row is written once in
// blocks of 16 (masked-off lanes of a load are not read, so the blocks may start before the row).
__attribute__((target("avx512f")))
void copyPlaneAvx512(const float* __restrict x, int64_t H, int64_t W, int64_t pt, int64_t pl, int64_t rows, int64_t len,
                     float* __restrict dst)
{
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t r = 0; r < rows; ++r) {
        float* d = dst + r * len;
        const int64_t ih = r - pt;
        const float* in = x + ih * W - pl;   // lane j of the row reads in[j] when pl <= j < pl + W
        for (int64_t j = 0; j < len; j += 16) {
            const __mmask16 inRow = len - j >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (len - j)) - 1u);
            __mmask16 data = 0;
            if (ih >= 0 && ih < H) {
                const int64_t lo = std::max<int64_t>(pl - j, 0), hi = std::min<int64_t>(pl + W - j, 16);
                if (lo < hi) data = __mmask16(((1u << hi) - 1u) & ~((1u << lo) - 1u));
            }
            const __m512 v = data ? _mm512_maskz_loadu_ps(data, in + j) : zero;
            _mm512_mask_storeu_ps(d + j, inRow, v);
        }
    }
}

// The copy-out of one implicit-GEMM chunk: C holds `rows` output channels (ldc apart) over virtual
// positions [v0, v1) of padded rows `len` long; the real outputs (column < OW of each row) go to
// y[m * outSize + oh * OW + ow], clamped to [lo, hi] when clamp. One call per chunk, so the masks and
// the clamp are set up once rather than per output row. (GCC 12 warns that the `undefined` source of
// its own _mm512_max_ps / _mm512_min_ps may be uninitialized once they are inlined here: not ours.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f")))
void copyOutAvx512(const float* __restrict cbuf, int64_t ldc, int64_t v0, int64_t v1, int64_t len, int64_t OW,
                   int64_t rows, float* __restrict y, int64_t outSize, bool clamp, float lo, float hi)
{
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    for (int64_t oh = v0 / len; oh * len < v1; ++oh) {
        const int64_t b = std::max(v0, oh * len), e = std::min(v1, oh * len + OW);
        if (b >= e) continue;
        const int64_t n = e - b;
        const float* src = cbuf + (b - v0);
        float* dst = y + oh * OW + (b - oh * len);
        for (int64_t i = 0; i < n; i += 16) {
            const __mmask16 mk = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1u);
            for (int64_t m = 0; m < rows; ++m) {
                __m512 v = _mm512_maskz_loadu_ps(mk, src + m * ldc + i);
                if (clamp) v = _mm512_min_ps(_mm512_max_ps(v, vlo), vhi);
                _mm512_mask_storeu_ps(dst + m * outSize + i, mk, v);
            }
        }
    }
}
#pragma GCC diagnostic pop

// copyPadded with two column phases (stride-2 convolutions): 32 input columns at a time are split
// into their 16 even and 16 odd ones with two permutations.
__attribute__((target("avx512f")))
void copyPaddedPhase2Avx512(const float* __restrict x, int64_t H, int64_t W, int64_t pt, int64_t pl, int64_t rowPhases,
                            int64_t rows, int64_t len, float* __restrict dst)
{
    const int64_t plane = rows * len;
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odds = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int64_t ih = 0; ih < H; ++ih) {
        const int64_t r = ih + pt;
        float* base = dst + (r % rowPhases) * 2 * plane + (r / rowPhases) * len;
        const float* in = x + ih * W;
        // input column 2i goes to phase pl % 2 at i + pl / 2, column 2i + 1 to the other phase
        float* a = base + (pl % 2) * plane + pl / 2;
        float* b = base + ((pl + 1) % 2) * plane + (pl + 1) / 2;
        for (int64_t iw = 0; iw < W; iw += 32) {
            const int64_t n = std::min<int64_t>(32, W - iw);
            const __mmask16 m0 = n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1u);
            const __mmask16 m1 = n >= 32 ? __mmask16(0xFFFF) : n > 16 ? __mmask16((1u << (n - 16)) - 1u) : __mmask16(0);
            const __m512 lo = _mm512_maskz_loadu_ps(m0, in + iw), hi = _mm512_maskz_loadu_ps(m1, in + iw + 16);
            const int64_t ne = (n + 1) / 2, no = n / 2;
            _mm512_mask_storeu_ps(a + iw / 2, __mmask16((1u << ne) - 1u), _mm512_permutex2var_ps(lo, evens, hi));
            if (no > 0) _mm512_mask_storeu_ps(b + iw / 2, __mmask16((1u << no) - 1u), _mm512_permutex2var_ps(lo, odds, hi));
        }
    }
}

// Depthwise planes: out[i] = b + sum_k w[k] * taps[k][i] (3x3), out[i] += w * tap[i] (other sizes).
__attribute__((target_clones("avx512f", "avx2", "default")))
void depthwisePlane9(const float* const* taps, const float* w, float b, float* __restrict out, int64_t n)
{
    const float* __restrict t0 = taps[0];
    const float* __restrict t1 = taps[1];
    const float* __restrict t2 = taps[2];
    const float* __restrict t3 = taps[3];
    const float* __restrict t4 = taps[4];
    const float* __restrict t5 = taps[5];
    const float* __restrict t6 = taps[6];
    const float* __restrict t7 = taps[7];
    const float* __restrict t8 = taps[8];
    const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
    for (int64_t i = 0; i < n; ++i)
        out[i] = b + w0 * t0[i] + w1 * t1[i] + w2 * t2[i] + w3 * t3[i] + w4 * t4[i] + w5 * t5[i] + w6 * t6[i] +
                 w7 * t7[i] + w8 * t8[i];
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void depthwisePlaneTap(const float* __restrict tap, float w, float* __restrict out, int64_t n)
{
    for (int64_t i = 0; i < n; ++i) out[i] += w * tap[i];
}

class Conv final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const TensorInfo& w = ctx.input(1);
        if (x.rank() < 3) throw KernelError("input X must have shape [N, C, spatial...], got " + shapeToString(x.shape));
        if (w.rank() != x.rank())
            throw KernelError("weight W has shape " + shapeToString(w.shape) + " but X has rank " + std::to_string(x.rank()));
        if (w.dtype != DataType::Float32) throw UnsupportedError("weight W must be float32");
        if (x.rank() > 10) throw UnsupportedError("more than 8 spatial axes");
        groups_ = ctx.attrInt("group", 1);
        batch_ = x.shape[0];
        cin_ = x.shape[1];
        cout_ = w.shape[0];
        if (groups_ < 1 || cin_ % groups_ != 0 || cout_ % groups_ != 0)
            throw KernelError("group " + std::to_string(groups_) + " must divide the input channels (" +
                              std::to_string(cin_) + ") and the output channels (" + std::to_string(cout_) + ")");
        cinG_ = cin_ / groups_;
        coutG_ = cout_ / groups_;
        if (w.shape[1] != cinG_)
            throw KernelError("weight W has shape " + shapeToString(w.shape) + " but X has " + std::to_string(cin_) +
                              " channels in " + std::to_string(groups_) + " group(s)");
        if (ctx.hasInput(2) && (ctx.input(2).numel() != cout_ || ctx.input(2).rank() != 1))
            throw KernelError("bias B must have shape [" + std::to_string(cout_) + "], got " +
                              shapeToString(ctx.input(2).shape));
        geo_ = ConvGeometry::read(ctx, x.shape, Shape(w.shape.begin() + 2, w.shape.end()));
        for (int d = 0; d < geo_.rank(); ++d)
            if (geo_.kernel[d] != w.shape[static_cast<size_t>(d) + 2])
                throw KernelError("kernel_shape does not match the weight W's shape " + shapeToString(w.shape));
        Shape y = {batch_, cout_};
        y.insert(y.end(), geo_.out.begin(), geo_.out.end());
        ctx.setOutput(0, DataType::Float32, y);

        if (geo_.rank() == 1) {   // run 1-D as 2-D with a height of 1
            auto lift = [](std::vector<int64_t>& v, int64_t one) { v.insert(v.begin(), one); };
            lift(geo_.in, 1); lift(geo_.kernel, 1); lift(geo_.strides, 1); lift(geo_.dilations, 1);
            lift(geo_.padBegin, 0); lift(geo_.padEnd, 0); lift(geo_.out, 1);
        }
        inSize_ = geo_.inCount();
        outSize_ = geo_.outCount();
        kSize_ = cinG_ * geo_.kernelCount();
        const bool twoD = geo_.rank() == 2 && geo_.kernelCount() <= kMaxTaps2d;
        bool unit = true;
        for (int d = 0; d < geo_.rank(); ++d)
            unit = unit && geo_.kernel[d] == 1 && geo_.strides[d] == 1 && geo_.padBegin[d] == 0 && geo_.padEnd[d] == 0;
        const bool implicit = gemm::bestMicroKernel().indirect != nullptr;
        if (twoD && cinG_ == 1 && groups_ > 1) path_ = Path::Depthwise;
        else if (unit) path_ = Path::Pointwise;
        else if (twoD && implicit) path_ = Path::Implicit2d;
        else if (twoD) path_ = Path::Im2col2d;
        else path_ = Path::Im2colNd;

        const double macs = static_cast<double>(batch_) * cout_ * outSize_ * kSize_;
        workers_ = macs >= kParallelMacs ? std::max(1, ctx.threads()) : 1;
        if (path_ == Path::Depthwise) prepareDepthwise(ctx);
        else if (path_ == Path::Implicit2d) prepareImplicit(ctx);
        else prepareGemm(ctx);
    }

    // A following Relu / Clip: each block of outputs is clamped right after it is computed, while it
    // is still in cache.
    bool fuseActivation(float lo, float hi) override
    {
        actLo_ = lo;
        actHi_ = hi;
        clamp_ = true;
        return true;
    }

    void eval(EvalContext& ctx) override
    {
        Run run;
        run.x = ctx.input(0).data<float>();
        run.y = ctx.output(0).data<float>();
        run.bias = ctx.hasInput(2) ? ctx.input(2).data<float>() : nullptr;
        float* scratch = static_cast<float*>(ctx.scratch());
        if (outSize_ == 0 || batch_ == 0 || cout_ == 0) return;
        if (path_ == Path::Depthwise) {
            run.w = ctx.input(1).data<float>();
            run.scratch = scratch;
            const Run* r = &run;
            if (workers_ <= 1) depthwise(*r, 0);
            else parallelFor(workers_, workers_, 1, [this, r](int64_t b, int64_t e) {
                for (int64_t t = b; t < e; ++t) depthwise(*r, static_cast<int>(t));
            });
            return;
        }
        if (packedW_.empty()) {
            packWeights(ctx.input(1).data<float>(), scratch);
            run.w = scratch;
            scratch += aStride_ * groups_;
        } else {
            run.w = packedW_.data();
        }
        if (path_ == Path::Implicit2d) {
            evalImplicit(run, scratch);
            return;
        }
        if (path_ == Path::Im2col2d) {   // the padded, phase-split copy of every input channel
            std::fill(scratch, scratch + paddedFloats_, 0.0f);
            for (int64_t c = 0; c < batch_ * cin_; ++c)
                copyPadded(run.x + c * inSize_, geo_.in[0], geo_.in[1], geo_.padBegin[0], geo_.padBegin[1], 1,
                           geo_.strides[1], padRows_, padLength_, scratch + c * padPlane_);
            run.x = scratch;
            scratch += paddedFloats_;
        }
        run.scratch = scratch;
        const Run* r = &run;
        if (workers_ <= 1) work(*r, 0);
        else parallelFor(workers_, workers_, 1, [this, r](int64_t b, int64_t e) {
            for (int64_t t = b; t < e; ++t) work(*r, static_cast<int>(t));
        });
    }

private:
    enum class Path { Depthwise, Pointwise, Implicit2d, Im2col2d, Im2colNd };

    struct Run {
        const float* x = nullptr;      // input, or its padded copy (im2col 2-D)
        float* y = nullptr;
        const float* w = nullptr;      // packed weights (GEMM paths) or raw weights (depthwise)
        const float* bias = nullptr;
        float* scratch = nullptr;      // per-worker buffers
    };

    void prepareGemm(PrepareContext& ctx)
    {
        mk_ = &gemm::bestMicroKernel();
        const int64_t nr = mk_->nr;
        const int64_t nPanels = (outSize_ + nr - 1) / nr;
        // A chunk of output positions fits in L2 once packed, but is at least as wide as the weights
        // are tall: every chunk streams all the weights once more.
        const int64_t budgetPanels = std::max<int64_t>(kChunkBytes / (std::max<int64_t>(kSize_, 1) * nr * 4),
                                                       (coutG_ + nr - 1) / nr);
        chunkPanels_ = balancedChunkPanels(nPanels, budgetPanels, batch_ * groups_, workers_);
        chunks_ = (nPanels + chunkPanels_ - 1) / chunkPanels_;
        workers_ = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(workers_, batch_ * groups_ * chunks_)));

        aStride_ = alignFloats(static_cast<int64_t>(gemm::packedASize(*mk_, coutG_, kSize_)));
        inPlace_ = path_ == Path::Pointwise && kSize_ <= kInPlaceMaxK;
        chunkFloats_ = inPlace_ ? 0 : alignFloats(kSize_ * chunkPanels_ * nr);
        const int64_t runtimeWeights = prepareWeights(ctx);
        paddedFloats_ = 0;
        if (path_ == Path::Im2col2d) {
            const int64_t sw = geo_.strides[1];
            padRows_ = std::max(geo_.in[0] + geo_.padBegin[0], (geo_.out[0] - 1) * geo_.strides[0] + geo_.extent(0));
            const int64_t width = std::max(geo_.in[1] + geo_.padBegin[1], (geo_.out[1] - 1) * sw + geo_.extent(1));
            padLength_ = (width + sw - 1) / sw;
            padPlane_ = sw * padRows_ * padLength_;
            paddedFloats_ = alignFloats(batch_ * cin_ * padPlane_);
        }
        const int64_t scratch = runtimeWeights + paddedFloats_ + chunkFloats_ * workers_;
        if (scratch > 0) ctx.requestScratch(static_cast<size_t>(scratch) * sizeof(float));
    }

    // Packs constant weights once (packedW_); returns the scratch floats eval() needs to pack
    // weights fed at run time (0 for constant ones). aStride_ must be set.
    int64_t prepareWeights(PrepareContext& ctx)
    {
        const Tensor* wc = ctx.constantInput(1);
        packedW_.clear();
        if (!wc) return aStride_ * groups_;
        packedW_.assign(static_cast<size_t>(aStride_ * groups_), 0.0f);
        packWeights(wc->data<float>(), packedW_.data());
        return 0;
    }

    void packWeights(const float* w, float* dst) const
    {
        for (int64_t g = 0; g < groups_; ++g)
            gemm::packA(*mk_, w + g * coutG_ * kSize_, kSize_, 1, coutG_, kSize_, 1.0f, dst + g * aStride_);
    }

    // Worker `t` of workers_: takes every workers_-th (image, group, chunk) task.
    void work(const Run& r, int t) const
    {
        const int64_t nr = mk_->nr;
        const int64_t tasks = batch_ * groups_ * chunks_;
        const int64_t channelFloats = path_ == Path::Im2col2d ? padPlane_ : inSize_;
        float* buffer = r.scratch + chunkFloats_ * t;
        for (int64_t task = t; task < tasks; task += workers_) {
            const int64_t chunk = task % chunks_;
            const int64_t g = task / chunks_ % groups_;
            const int64_t img = task / chunks_ / groups_;
            const int64_t j0 = chunk * chunkPanels_ * nr;
            const int64_t cols = std::min(chunkPanels_ * nr, outSize_ - j0);
            const int64_t panels = (cols + nr - 1) / nr;
            const float* xg = r.x + (img * cin_ + g * cinG_) * channelFloats;
            gemm::Problem p;
            p.m = coutG_;
            p.n = cols;
            p.k = kSize_;
            p.a = r.w + g * aStride_;
            p.c = r.y + (img * cout_ + g * coutG_) * outSize_ + j0;
            p.ldc = outSize_;
            p.rowBias = r.bias ? r.bias + g * coutG_ : nullptr;
            if (inPlace_) {
                p.b = xg + j0;
                p.ldb = inSize_;
            } else {
                if (path_ == Path::Pointwise) gemm::packBPanels(*mk_, xg + j0, inSize_, 1, kSize_, cols, 0, panels, buffer);
                else if (path_ == Path::Im2col2d) im2col2d(xg, j0, cols, buffer);
                else im2colNd(xg, j0, cols, buffer);
                p.b = buffer;
            }
            gemm::runTiles(*mk_, p, 0, (coutG_ + mk_->mr - 1) / mk_->mr, 0, panels);
            if (clamp_)
                for (int64_t row = 0; row < coutG_; ++row) clampRange(p.c + row * outSize_, cols);
        }
    }

    // Writes the patches of output positions [j0, j0 + cols) in packed-B layout (kSize_ rows), from
    // the group's padded, column-phase-split input `x` (padPlane_ floats per channel).
    void im2col2d(const float* x, int64_t j0, int64_t cols, float* dst) const
    {
        const int64_t nr = mk_->nr, kb = gemm::blockK(kSize_), nPad = gemm::roundUp(cols, nr);
        const int64_t OW = geo_.out[1], len = padLength_, sh = geo_.strides[0], sw = geo_.strides[1];
        const int64_t kh = geo_.kernel[0], kw = geo_.kernel[1];
        // Offset of each patch row (channel, ky, kx) of a block from an output's tap-0 input.
        int64_t rowOffsets[256];   // gemm::blockK() is at most 256
        Segment segs[64];          // at most nr / OW + 2 per panel
        for (int64_t pc = 0; pc < kSize_; pc += kb) {
            const int64_t kc = std::min(kb, kSize_ - pc);
            for (int64_t p = 0; p < kc; ++p) {
                const int64_t row = pc + p, ci = row / (kh * kw), ky = row / kw % kh, kx = row % kw;
                const int64_t c = kx * geo_.dilations[1];
                rowOffsets[p] = ci * padPlane_ + (c % sw) * padRows_ * len + ky * geo_.dilations[0] * len + c / sw;
            }
            for (int64_t q = 0; q * nr < cols; ++q) {
                const int64_t jq = j0 + q * nr, lanes = std::min(nr, j0 + cols - jq);
                int nseg = 0;
                for (int64_t lane = 0, oh = jq / OW, ow = jq % OW; lane < lanes; ++oh, ow = 0) {
                    const int64_t count = std::min(OW - ow, lanes - lane);
                    segs[nseg++] = {lane, count, oh * sh * len + ow};
                    lane += count;
                }
                fillPanel(x, rowOffsets, kc, segs, nseg, lanes, nr, dst + pc * nPad + q * kc * nr);
            }
        }
    }

    // General N-d version of im2col2d, reading the unpadded input.
    void im2colNd(const float* x, int64_t j0, int64_t cols, float* dst) const
    {
        const int64_t nr = mk_->nr, kb = gemm::blockK(kSize_), nPad = gemm::roundUp(cols, nr);
        const int rank = geo_.rank();
        const int64_t taps = geo_.kernelCount();
        int64_t tap[8], pos[8];
        for (int64_t p = 0; p < kSize_; ++p) {
            const int64_t ci = p / taps;
            for (int64_t rem = p % taps, d = rank - 1; d >= 0; --d) {
                tap[d] = rem % geo_.kernel[d];
                rem /= geo_.kernel[d];
            }
            const int64_t pc = p / kb * kb, kc = std::min(kb, kSize_ - pc);
            const float* plane = x + ci * inSize_;
            for (int64_t q = 0; q * nr < cols; ++q) {
                float* out = dst + pc * nPad + q * kc * nr + (p - pc) * nr;
                for (int64_t lane = 0; lane < nr; ++lane) {
                    const int64_t j = j0 + q * nr + lane;
                    float v = 0.0f;
                    if (j < j0 + cols) {
                        bool inside = true;
                        int64_t offset = 0;
                        for (int64_t rem = j, d = rank - 1; d >= 0; --d) {
                            pos[d] = rem % geo_.out[d];
                            rem /= geo_.out[d];
                        }
                        for (int d = 0; d < rank && inside; ++d) {
                            const int64_t i = pos[d] * geo_.strides[d] - geo_.padBegin[d] + tap[d] * geo_.dilations[d];
                            inside = i >= 0 && i < geo_.in[d];
                            offset = offset * geo_.in[d] + i;
                        }
                        if (inside) v = plane[offset];
                    }
                    out[lane] = v;
                }
            }
        }
    }

    // Implicit 2-D: the input is copied once, zero-bordered and split by row and column stride phase
    // (as for depthwise, all channels). In its phase plane every patch row (channel, ky, kx) of output
    // (oh, ow) is at a fixed offset from oh * len + ow, so on "virtual" positions v = oh * len + ow
    // the GEMM's B is that buffer read in place at per-row offsets (no im2col). The few columns with
    // ow >= OW are computed into a per-worker C buffer and dropped when the rows are copied out.
    void prepareImplicit(PrepareContext& ctx)
    {
        mk_ = &gemm::bestMicroKernel();
        avx512_ = std::strcmp(mk_->name, "avx512") == 0;
        const int64_t nr = mk_->nr;
        const int64_t sh = geo_.strides[0], sw = geo_.strides[1];
        // A strided 1x1 convolution without padding (ResNet shortcuts) reads one phase only: the
        // input is subsampled straight into [OH][OW] planes.
        subsample_ = geo_.kernelCount() == 1 && geo_.padBegin[0] == 0 && geo_.padBegin[1] == 0 && geo_.padEnd[0] == 0 &&
                     geo_.padEnd[1] == 0;
        if (subsample_) {
            padLength_ = geo_.out[1];
            padRows_ = geo_.out[0];
        } else {
            planPhasePlanes();
        }
        padPlane_ = (subsample_ ? 1 : sh * sw) * padRows_ * padLength_;   // one channel, all phases
        // Full panels past the last virtual position read up to nr floats beyond the last plane.
        paddedFloats_ = alignFloats(batch_ * cin_ * padPlane_ + nr + 16);
        rowOffsets_.assign(static_cast<size_t>(kSize_), 0);
        const int64_t taps = geo_.kernelCount(), phasePlane = padRows_ * padLength_;
        for (int64_t p = 0; p < kSize_; ++p) {
            const int64_t ci = p / taps, ky = p % taps / geo_.kernel[1], kx = p % geo_.kernel[1];
            const int64_t r = ky * geo_.dilations[0], c = kx * geo_.dilations[1];
            rowOffsets_[static_cast<size_t>(p)] =
                ci * padPlane_ + ((r % sh) * sw + c % sw) * phasePlane + (r / sh) * padLength_ + c / sw;
        }
        virtualCount_ = geo_.out[0] * padLength_;
        const int64_t nPanels = (virtualCount_ + nr - 1) / nr;
        // A chunk's C block stays in L2: at most 256 KiB, at least one panel, spread over the workers.
        const int64_t budget = std::max<int64_t>(1, (256 << 10) / (std::max<int64_t>(coutG_, 1) * nr * 4));
        chunkPanels_ = balancedChunkPanels(nPanels, budget, batch_ * groups_, workers_);
        chunks_ = (nPanels + chunkPanels_ - 1) / chunkPanels_;
        workers_ = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(workers_, batch_ * groups_ * chunks_)));
        aStride_ = alignFloats(static_cast<int64_t>(gemm::packedASize(*mk_, coutG_, kSize_)));
        chunkFloats_ = alignFloats(coutG_ * chunkPanels_ * nr);
        const int64_t scratch = prepareWeights(ctx) + paddedFloats_ + chunkFloats_ * workers_;
        ctx.requestScratch(static_cast<size_t>(scratch) * sizeof(float));
    }

    // run.w is set (packed weights); scratch holds the padded planes, then the C blocks.
    void evalImplicit(Run& run, float* scratch)
    {
        const float* x = run.x;
        float* padded = scratch;
        const int64_t channels = batch_ * cin_;
        std::fill(padded + channels * padPlane_, padded + paddedFloats_, 0.0f);
        run.x = padded;
        run.scratch = scratch + paddedFloats_;
        const Run* r = &run;
        const int64_t tasksPerImage = groups_ * chunks_;
        if (batch_ > 1 && batch_ >= workers_) {
            // Batches: each worker takes a contiguous run of images and convolves each image right
            // after copying it, while its padded planes are still in cache.
            const int64_t per = (batch_ + workers_ - 1) / workers_;
            auto images = [&, r](int64_t t0, int64_t t1) {
                for (int64_t t = t0; t < t1; ++t) {
                    float* cbuf = r->scratch + chunkFloats_ * t;
                    for (int64_t img = t * per; img < std::min(batch_, (t + 1) * per); ++img) {
                        copyChannels(x, padded, img * cin_, (img + 1) * cin_);
                        for (int64_t k = 0; k < tasksPerImage; ++k) runTask(*r, img * tasksPerImage + k, cbuf);
                    }
                }
            };
            if (workers_ > 1) parallelFor(workers_, workers_, 1, images);
            else images(0, 1);
            return;
        }
        if (workers_ > 1) parallelFor(workers_, channels, 1, [&](int64_t c0, int64_t c1) { copyChannels(x, padded, c0, c1); });
        else copyChannels(x, padded, 0, channels);
        if (workers_ <= 1) workImplicit(*r, 0);
        else parallelFor(workers_, workers_, 1, [this, r](int64_t b, int64_t e) {
            for (int64_t t = b; t < e; ++t) workImplicit(*r, static_cast<int>(t));
        });
    }

    // Copies input channels [c0, c1) (of the whole batch) into their zero-bordered, phase-split
    // planes (or subsampled planes for strided 1x1).
    void copyChannels(const float* x, float* padded, int64_t c0, int64_t c1) const
    {
        if (subsample_) {
            const int64_t W = geo_.in[1], OH = geo_.out[0], OW = geo_.out[1], sh = geo_.strides[0], sw = geo_.strides[1];
            for (int64_t c = c0; c < c1; ++c)
                for (int64_t oh = 0; oh < OH; ++oh) {
                    const float* src = x + c * inSize_ + oh * sh * W;
                    float* dst = padded + c * padPlane_ + oh * OW;
                    for (int64_t ow = 0; ow < OW; ++ow) dst[ow] = src[ow * sw];
                }
            return;
        }
        const int64_t H = geo_.in[0], W = geo_.in[1], pt = geo_.padBegin[0], pl = geo_.padBegin[1], len = padLength_;
        const bool unitStride = geo_.strides[0] == 1 && geo_.strides[1] == 1;
        if (unitStride && avx512_) {   // every float of the plane written once, border included
            for (int64_t c = c0; c < c1; ++c) copyPlaneAvx512(x + c * inSize_, H, W, pt, pl, padRows_, len, padded + c * padPlane_);
            return;
        }
        std::fill(padded + c0 * padPlane_, padded + c1 * padPlane_, 0.0f);
        for (int64_t c = c0; c < c1; ++c)
            copyPaddedAny(x + c * inSize_, H, W, geo_.strides[0], geo_.strides[1], padRows_, len, padded + c * padPlane_);
    }

    // Worker `t` of workers_: the t-th contiguous run of (image, group, chunk) tasks.
    void workImplicit(const Run& r, int t) const
    {
        const int64_t tasks = batch_ * groups_ * chunks_;
        float* cbuf = r.scratch + chunkFloats_ * t;
        const int64_t per = (tasks + workers_ - 1) / workers_;   // a contiguous run of tasks, as depthwise
        for (int64_t task = t * per; task < std::min(tasks, (t + 1) * per); ++task) runTask(r, task, cbuf);
    }

    // One (image, group, chunk of virtual positions) task, with the C buffer `cbuf`.
    void runTask(const Run& r, int64_t task, float* cbuf) const
    {
        const int64_t nr = mk_->nr, len = padLength_, OW = geo_.out[1];
        const int64_t chunk = task % chunks_;
        const int64_t g = task / chunks_ % groups_;
        const int64_t img = task / chunks_ / groups_;
        const int64_t v0 = chunk * chunkPanels_ * nr, v1 = std::min(virtualCount_, v0 + chunkPanels_ * nr);
        const int64_t ldc = chunkPanels_ * nr;
        gemm::Problem p;
        p.m = coutG_;
        p.n = v1 - v0;
        p.k = kSize_;
        p.a = r.w + g * aStride_;
        p.b = r.x + (img * cin_ + g * cinG_) * padPlane_ + v0;
        p.offsets = rowOffsets_.data();
        p.c = cbuf;
        p.ldc = ldc;
        p.rowBias = r.bias ? r.bias + g * coutG_ : nullptr;
        gemm::runTiles(*mk_, p, 0, (coutG_ + mk_->mr - 1) / mk_->mr, 0, (p.n + nr - 1) / nr);
        // Copy the real outputs (ow < OW) of each output row the chunk touches.
        float* y = r.y + (img * cout_ + g * coutG_) * outSize_;
        const bool clamp = clamp_;
        const float lo = actLo_, hi = actHi_;   // locals: the float stores below may alias members
        if (avx512_) {
            copyOutAvx512(cbuf, ldc, v0, v1, len, OW, coutG_, y, outSize_, clamp, lo, hi);
            return;
        }
        for (int64_t oh = v0 / len; oh * len < v1; ++oh) {
            const int64_t b = std::max(v0, oh * len), e = std::min(v1, oh * len + OW);
            if (b >= e) continue;
            for (int64_t m = 0; m < coutG_; ++m) {
                const float* src = cbuf + m * ldc + (b - v0);
                float* dst = y + m * outSize_ + oh * OW + (b - oh * len);
                if (clamp)
                    for (int64_t i = 0; i < e - b; ++i) dst[i] = std::min(std::max(src[i], lo), hi);
                else
                    std::memcpy(dst, src, static_cast<size_t>(e - b) * sizeof(float));
            }
        }
    }

    // Depthwise: each worker copies one input channel at a time into a zero-bordered buffer split by
    // stride phase (copyPadded with rows and columns split). In its phase plane every kernel tap reads
    // the input of output (oh, ow) at a fixed offset from oh * len + ow, so one long loop over the
    // whole plane computes all outputs (plus a few columns past the right edge, dropped after).
    void prepareDepthwise(PrepareContext& ctx)
    {
        avx512_ = std::strcmp(gemm::bestMicroKernel().name, "avx512") == 0;
        const int64_t sh = geo_.strides[0], sw = geo_.strides[1];
        planPhasePlanes();
        padPlane_ = padRows_ * padLength_;
        dwTaps_.clear();
        for (int64_t ky = 0; ky < geo_.kernel[0]; ++ky)
            for (int64_t kx = 0; kx < geo_.kernel[1]; ++kx) {
                const int64_t r = ky * geo_.dilations[0], c = kx * geo_.dilations[1];
                dwTaps_.push_back(((r % sh) * sw + c % sw) * padPlane_ + (r / sh) * padLength_ + c / sw);
            }
        // Phase planes, then the output plane (with its extra columns).
        dwOutOffset_ = alignFloats(sh * sw * padPlane_);
        chunkFloats_ = alignFloats(dwOutOffset_ + geo_.out[0] * padLength_);
        workers_ = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(workers_, batch_ * cin_)));
        ctx.requestScratch(static_cast<size_t>(chunkFloats_ * workers_) * sizeof(float));
    }

    // Worker `t` of workers_: the t-th contiguous run of input channels of the batch.
    void depthwise(const Run& r, int t) const
    {
        const int64_t H = geo_.in[0], W = geo_.in[1], OH = geo_.out[0], OW = geo_.out[1];
        const int64_t len = padLength_, taps = static_cast<int64_t>(dwTaps_.size());
        float* buffer = r.scratch + chunkFloats_ * t;
        float* plane = buffer + dwOutOffset_;
        std::fill(buffer, buffer + dwOutOffset_, 0.0f);   // the borders stay zero
        const float* src[kMaxTaps2d];
        for (int64_t k = 0; k < taps; ++k) src[k] = buffer + dwTaps_[static_cast<size_t>(k)];
        const int64_t n = (OH - 1) * len + OW;
        // A contiguous run of channels per worker (streams that the prefetchers follow; measured
        // faster than every workers_-th channel on MobileNetV2's depthwise layers).
        const int64_t total = batch_ * cin_, per = (total + workers_ - 1) / workers_;
        for (int64_t channel = t * per; channel < std::min(total, (t + 1) * per); ++channel) {
            copyPaddedAny(r.x + channel * H * W, H, W, geo_.strides[0], geo_.strides[1], padRows_, len, buffer);
            const int64_t img = channel / cin_, ci = channel % cin_;
            for (int64_t m = 0; m < coutG_; ++m) {
                const int64_t co = ci * coutG_ + m;
                const float* wk = r.w + co * taps;
                const float b = r.bias ? r.bias[co] : 0.0f;
                float* out = r.y + (img * cout_ + co) * OH * OW;
                float* dst = len == OW ? out : plane;
                if (taps == 9) {
                    depthwisePlane9(src, wk, b, dst, n);
                } else {
                    std::fill(dst, dst + n, b);
                    for (int64_t k = 0; k < taps; ++k) depthwisePlaneTap(src[k], wk[k], dst, n);
                }
                if (dst != out)
                    for (int64_t oh = 0; oh < OH; ++oh)
                        std::memcpy(out + oh * OW, plane + oh * len, static_cast<size_t>(OW) * sizeof(float));
                if (clamp_) clampRange(out, OH * OW);
            }
        }
    }

    // Rows and length of one stride phase plane of a zero-bordered input that every output's window
    // fits in (padRows_, padLength_), for the depthwise and implicit paths.
    void planPhasePlanes()
    {
        const int64_t sh = geo_.strides[0], sw = geo_.strides[1];
        const int64_t height = std::max(geo_.in[0] + geo_.padBegin[0], (geo_.out[0] - 1) * sh + geo_.extent(0));
        const int64_t width = std::max(geo_.in[1] + geo_.padBegin[1], (geo_.out[1] - 1) * sw + geo_.extent(1));
        padLength_ = (width + sw - 1) / sw;
        padRows_ = (height + sh - 1) / sh;
    }

    // copyPadded of one channel, with the AVX-512 copies where they apply.
    void copyPaddedAny(const float* x, int64_t H, int64_t W, int64_t rowPhases, int64_t colPhases, int64_t rows,
                       int64_t len, float* dst) const
    {
        if (avx512_ && colPhases == 1)
            copyPaddedRowsAvx512(x, H, W, geo_.padBegin[0], geo_.padBegin[1], rowPhases, rows, len, dst);
        else if (avx512_ && colPhases == 2)
            copyPaddedPhase2Avx512(x, H, W, geo_.padBegin[0], geo_.padBegin[1], rowPhases, rows, len, dst);
        else
            copyPadded(x, H, W, geo_.padBegin[0], geo_.padBegin[1], rowPhases, colPhases, rows, len, dst);
    }

    void clampRange(float* y, int64_t n) const
    {
        const float lo = actLo_, hi = actHi_;
        for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(y[i], lo), hi);
    }

    // Fused activation (fuseActivation()).
    bool clamp_ = false;
    float actLo_ = 0, actHi_ = 0;
    ConvGeometry geo_;
    Path path_ = Path::Im2col2d;
    int64_t batch_ = 0, cin_ = 0, cout_ = 0, groups_ = 1, cinG_ = 0, coutG_ = 0;
    int64_t inSize_ = 0, outSize_ = 0, kSize_ = 0;
    int workers_ = 1;
    // GEMM paths
    const gemm::MicroKernel* mk_ = nullptr;
    bool avx512_ = false;   // the AVX-512 micro-kernel runs, so the AVX-512 copies may too
    std::vector<float> packedW_;
    int64_t aStride_ = 0, chunkPanels_ = 1, chunks_ = 1, chunkFloats_ = 0;
    bool inPlace_ = false;
    // Padded, phase-split input planes (im2col 2-D: all channels; depthwise: one per worker).
    int64_t padRows_ = 0, padLength_ = 0, padPlane_ = 0, paddedFloats_ = 0;
    // Implicit 2-D
    std::vector<int64_t> rowOffsets_;   // per patch row (channel, ky, kx): offset in the padded input
    int64_t virtualCount_ = 0;          // OH * padLength_
    bool subsample_ = false;            // strided 1x1 without padding: planes are [OH][OW]
    // Depthwise
    std::vector<int64_t> dwTaps_;   // per kernel tap: offset of output 0's input in the buffer
    int64_t dwOutOffset_ = 0;
};

} // namespace

void register_conv(KernelRegistry& r)
{
    r.add("Conv", "", {DataType::Float32}, make<Conv>);
}

} // namespace joule::rt
