// MaxPool: the maximum over each window (kernel_shape, strides, pads / auto_pad, dilations,
// ceil_mode), with the optional Indices output (flattened position of the maximum in X; row-major,
// or column-major within the plane when storage_order = 1). 1-D, 2-D, 3-D and higher.
#include "runtime/cpu_isa.h"
#include "runtime/kernels/pooling.h"
#include "runtime/registry.h"

#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace joule::rt {
namespace {

// 2-D windows without Indices (the usual case), one output row at a time: the maximum of the
// window's input rows column by column (contiguous, vectorised), into a row buffer whose borders
// hold the lowest value, then the maximum of each output's columns in that buffer. Same values as
// poolMax (the maximum does not depend on the order taps are visited).
struct RowPool2d {
    int64_t H = 0, W = 0, OH = 0, OW = 0, sh = 1, sw = 1, dh = 1, dw = 1, kh = 1, kw = 1, pt = 0, pl = 0;
    int64_t width = 0;   // floats of the row buffer: pl + W + right border
    bool bytesAvx512 = false;   // 8-bit codes, 3 columns at stride 2, on an AVX-512 BW CPU: rowPool8Avx512
};

#if defined(__x86_64__) || defined(_M_X64)
// rowPool for 8-bit codes with 3 columns at stride 2 (any rows, pads and ceil_mode), 64 bytes per
// step. Each output row: the maximum of its window's input rows into the row buffer (masked loads
// and stores, no scalar tails), then row[ow] = max(buf[2 ow], buf[2 ow + 1], buf[2 ow + 2]) for 32
// outputs at a time: three shifted loads, whose even bytes (the low byte of each 16-bit lane) are
// the outputs. Loads stop at the buffer's `width` bytes; lanes past the row are never stored.
template <bool Signed> __attribute__((target("avx512f,avx512bw"))) inline __m512i vmax(__m512i a, __m512i b)
{
    return Signed ? _mm512_max_epi8(a, b) : _mm512_max_epu8(a, b);
}

template <bool Signed>
__attribute__((target("avx512f,avx512bw"))) void rowPool8Avx512(const RowPool2d& r, const uint8_t* xp, uint8_t* yp, uint8_t* buf)
{
    const auto upTo = [](int64_t n) -> __mmask64 { return n >= 64 ? ~__mmask64{0} : n <= 0 ? __mmask64{0} : (__mmask64{1} << n) - 1; };
    const uint8_t lowest = Signed ? 0x80 : 0x00;
    std::memset(buf, lowest, static_cast<size_t>(r.pl));
    std::memset(buf + r.pl + r.W, lowest, static_cast<size_t>(r.width - r.pl - r.W));
    uint8_t* mid = buf + r.pl;
    const __m512i low = _mm512_set1_epi8(static_cast<char>(lowest));
    for (int64_t oh = 0; oh < r.OH; ++oh) {
        for (int64_t w = 0; w < r.W; w += 64) {
            const __mmask64 k = upTo(r.W - w);
            __m512i m = low;
            for (int64_t ky = 0; ky < r.kh; ++ky) {
                const int64_t ih = oh * r.sh - r.pt + ky * r.dh;
                if (ih >= 0 && ih < r.H) m = vmax<Signed>(m, _mm512_maskz_loadu_epi8(k, xp + ih * r.W + w));
            }
            _mm512_mask_storeu_epi8(mid + w, k, m);
        }
        uint8_t* row = yp + oh * r.OW;
        for (int64_t ow = 0; ow < r.OW; ow += 32) {
            const int64_t at = 2 * ow;
            const __m512i v0 = _mm512_maskz_loadu_epi8(upTo(r.width - at), buf + at);
            const __m512i v1 = _mm512_maskz_loadu_epi8(upTo(r.width - at - 1), buf + at + 1);
            const __m512i v2 = _mm512_maskz_loadu_epi8(upTo(r.width - at - 2), buf + at + 2);
            const int64_t left = r.OW - ow;
            const __mmask32 k = left >= 32 ? ~__mmask32{0} : (__mmask32{1} << left) - 1;
            _mm512_mask_cvtepi16_storeu_epi8(row + ow, k, vmax<Signed>(vmax<Signed>(v0, v1), v2));
        }
    }
}
#endif

template <typename T>
inline void rowPool(const RowPool2d& r, const T* __restrict xp, T* __restrict yp, T* __restrict buf)
{
    const T lowest = std::numeric_limits<T>::lowest();
    for (int64_t i = 0; i < r.pl; ++i) buf[i] = lowest;
    for (int64_t i = r.pl + r.W; i < r.width; ++i) buf[i] = lowest;
    T* mid = buf + r.pl;
    for (int64_t oh = 0; oh < r.OH; ++oh) {
        bool any = false;
        for (int64_t ky = 0; ky < r.kh; ++ky) {
            const int64_t ih = oh * r.sh - r.pt + ky * r.dh;
            if (ih < 0 || ih >= r.H) continue;
            const T* __restrict src = xp + ih * r.W;
            if (!any) std::memcpy(mid, src, static_cast<size_t>(r.W) * sizeof(T));
            else
                for (int64_t w = 0; w < r.W; ++w) mid[w] = std::max(mid[w], src[w]);
            any = true;
        }
        if (!any) std::fill(mid, mid + r.W, lowest);
        T* __restrict row = yp + oh * r.OW;
        if (r.sw == 2 && r.dw == 1 && r.kw == 3) {
            for (int64_t ow = 0; ow < r.OW; ++ow)
                row[ow] = std::max(std::max(buf[2 * ow], buf[2 * ow + 1]), buf[2 * ow + 2]);
        } else if (r.sw == 1 && r.dw == 1 && r.kw == 3) {
            for (int64_t ow = 0; ow < r.OW; ++ow) row[ow] = std::max(std::max(buf[ow], buf[ow + 1]), buf[ow + 2]);
        } else {
            for (int64_t ow = 0; ow < r.OW; ++ow) {
                T m = buf[ow * r.sw];
                for (int64_t kx = 1; kx < r.kw; ++kx) m = std::max(m, buf[ow * r.sw + kx * r.dw]);
                row[ow] = m;
            }
        }
    }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void rowPoolF32(const RowPool2d& r, const float* xp, float* yp, float* buf) { rowPool(r, xp, yp, buf); }
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
void rowPoolU8(const RowPool2d& r, const uint8_t* xp, uint8_t* yp, uint8_t* buf) { rowPool(r, xp, yp, buf); }
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
void rowPoolS8(const RowPool2d& r, const int8_t* xp, int8_t* yp, int8_t* buf) { rowPool(r, xp, yp, buf); }

inline void rowPoolAny(const RowPool2d& r, const float* x, float* y, float* b) { rowPoolF32(r, x, y, b); }
#if defined(__x86_64__) || defined(_M_X64)
inline void rowPoolAny(const RowPool2d& r, const uint8_t* x, uint8_t* y, uint8_t* b)
{
    if (r.bytesAvx512) rowPool8Avx512<false>(r, x, y, b);
    else rowPoolU8(r, x, y, b);
}
inline void rowPoolAny(const RowPool2d& r, const int8_t* x, int8_t* y, int8_t* b)
{
    const auto u = [](auto* p) { return reinterpret_cast<uint8_t*>(const_cast<int8_t*>(p)); };
    if (r.bytesAvx512) rowPool8Avx512<true>(r, u(x), u(y), u(b));
    else rowPoolS8(r, x, y, b);
}
#else
inline void rowPoolAny(const RowPool2d& r, const uint8_t* x, uint8_t* y, uint8_t* b) { rowPoolU8(r, x, y, b); }
inline void rowPoolAny(const RowPool2d& r, const int8_t* x, int8_t* y, int8_t* b) { rowPoolS8(r, x, y, b); }
#endif
inline void rowPoolAny(const RowPool2d& r, const double* x, double* y, double* b) { rowPool(r, x, y, b); }

class MaxPool final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        if (!ctx.hasAttr("kernel_shape")) throw KernelError("attribute kernel_shape is required");
        if (x.rank() > 10) throw UnsupportedError("more than 8 spatial axes");
        type_ = x.dtype;
        const bool ceilMode = ctx.attrInt("ceil_mode", 0) != 0;
        plan_.build(ConvGeometry::read(ctx, x.shape, {}, ceilMode), false);
        storageOrder_ = static_cast<int>(ctx.attrInt("storage_order", 0));
        if (storageOrder_ != 0 && storageOrder_ != 1) throw KernelError("storage_order must be 0 or 1");
        planes_ = x.shape[0] * x.shape[1];
        Shape y = {x.shape[0], x.shape[1]};
        y.insert(y.end(), plan_.geo.out.begin(), plan_.geo.out.end());
        ctx.setOutput(0, type_, y);
        if (ctx.hasOutput(1)) ctx.setOutput(1, DataType::Int64, y);
        const ConvGeometry& g = plan_.geo;
        rowPath_ = g.rank() == 2 && !ctx.hasOutput(1) && g.out[0] > 0 && g.out[1] > 0;
        if (rowPath_) {
            RowPool2d& r = rows_;
            r.H = g.in[0]; r.W = g.in[1]; r.OH = g.out[0]; r.OW = g.out[1];
            r.sh = g.strides[0]; r.sw = g.strides[1]; r.dh = g.dilations[0]; r.dw = g.dilations[1];
            r.kh = g.kernel[0]; r.kw = g.kernel[1]; r.pt = g.padBegin[0]; r.pl = g.padBegin[1];
            r.width = std::max(r.pl + r.W, (r.OW - 1) * r.sw + (r.kw - 1) * r.dw + 1);
            r.bytesAvx512 = elementSize(type_) == 1 && r.sw == 2 && r.dw == 1 && r.kw == 3 &&
                            isaAllowed(Isa::Avx512, "JOULE_INT_ISA") && cpuHas(CpuFeature::Avx512Bw);
            const double work = static_cast<double>(planes_) * r.OH * r.kh * r.W;
            // The 8-bit vector path stays on one thread: on two, ResNet-18's and SqueezeNet's pools
            // took longer split (about 90 against 78 us, 58 against 43 us; minima of 200 runs).
            workers_ = !r.bytesAvx512 && work >= 2.0e5 ? std::max(1, ctx.threads()) : 1;
            rowBytes_ = static_cast<size_t>((r.width * static_cast<int64_t>(elementSize(type_)) + 63) / 64 * 64);
            ctx.requestScratch(rowBytes_ * static_cast<size_t>(workers_));
        }
    }

    void eval(EvalContext& ctx) override
    {
        int64_t* indices = ctx.outputCount() > 1 && !ctx.output(1).empty() ? ctx.output(1).data<int64_t>() : nullptr;
        switch (type_) {
        case DataType::Float32: run<float>(ctx, indices); break;
        case DataType::Float64: run<double>(ctx, indices); break;
        case DataType::Int8: run<int8_t>(ctx, indices); break;
        case DataType::UInt8: run<uint8_t>(ctx, indices); break;
        default: break;
        }
    }

private:
    template <typename T>
    void run(EvalContext& ctx, int64_t* indices) const
    {
        if (rowPath_ && !indices) {
            const T* x = ctx.input(0).data<T>();
            T* y = ctx.output(0).data<T>();
            auto* scratch = static_cast<std::byte*>(ctx.scratch());
            const int64_t inPlane = rows_.H * rows_.W, outPlane = rows_.OH * rows_.OW;
            // Worker t of workers_ takes the t-th run of consecutive planes, with row buffer t.
            const int64_t per = (planes_ + workers_ - 1) / workers_;
            auto part = [&](int64_t t0, int64_t t1) {
                for (int64_t t = t0; t < t1; ++t) {
                    T* buf = reinterpret_cast<T*>(scratch + rowBytes_ * static_cast<size_t>(t));
                    for (int64_t p = t * per; p < std::min(planes_, (t + 1) * per); ++p)
                        rowPoolAny(rows_, x + p * inPlane, y + p * outPlane, buf);
                }
            };
            if (workers_ > 1) parallelFor(workers_, workers_, 1, part);
            else part(0, 1);
            return;
        }
        poolMax(plan_, ctx.input(0).data<T>(), ctx.output(0).data<T>(), indices, storageOrder_, planes_);
    }

    PoolPlan plan_;
    bool rowPath_ = false;
    RowPool2d rows_;
    int workers_ = 1;
    size_t rowBytes_ = 0;
    DataType type_ = DataType::Float32;
    int storageOrder_ = 0;
    int64_t planes_ = 0;
};

} // namespace

void register_max_pool(KernelRegistry& r)
{
    r.add("MaxPool", "", {DataType::Float32, DataType::Float64, DataType::Int8, DataType::UInt8}, make<MaxPool>);
}

} // namespace joule::rt
