// QLinearAveragePool (com.microsoft; also "ai.joule" with a fused activation, see
// quant_activation.h): the quantized mean of each window of a 2-D pooling, [N, C, H, W] ->
// [N, C, OH, OW]. Attributes as AveragePool: kernel_shape, strides, pads / auto_pad, ceil_mode,
// count_include_pad; channels_last must be 0. X and Y share one type (uint8 or int8); scales and
// zero points are per tensor and known while preparing.
//
// Integer arithmetic, exactly (docs/integer-runtime.md), per output position:
//   inside = taps of the window inside the input;  n = inside, or with count_include_pad the taps
//            inside input + explicit pads (as AveragePool counts them)
//   acc = sum over the inside taps of (x - x_zero_point)             int32, exact (padding adds 0)
//   y   = clamp(saturate(y_zero_point + Requantizer(x_scale / (y_scale * n)).apply(acc)))
//   with the multiplier (double) x_scale / ((double) y_scale * (double) n); an empty window (n = 0)
//   gives y_zero_point.
#include "runtime/kernels/int_gemm.h"
#include "runtime/kernels/pooling.h"
#include "runtime/kernels/quant_activation.h"
#include "runtime/registry.h"

namespace joule::rt {
namespace {

class QLinearAveragePool final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        if (!intgemm::isInt8Type(x.dtype)) throw UnsupportedError(std::string("X must be int8 or uint8, got ") + dataTypeName(x.dtype));
        if (ctx.attrInt("channels_last", 0) != 0) throw UnsupportedError("channels_last = 1 is not supported");
        if (!ctx.hasAttr("kernel_shape")) throw KernelError("attribute kernel_shape is required");
        if (x.rank() != 4) throw UnsupportedError("only 2-D pooling ([N, C, H, W] input) is supported, got shape " + shapeToString(x.shape));
        type_ = x.dtype;
        for (size_t zp : {size_t{2}, size_t{4}})
            if (ctx.hasInput(zp) && ctx.input(zp).dtype != type_) throw KernelError("zero points must have the type of X");
        const double sx = intgemm::readScale(ctx, 1, 0, "x_scale")[0];
        zX_ = intgemm::readZeroPoint(ctx, 2, 0, "x_zero_point").at(0);
        const double sy = intgemm::readScale(ctx, 3, 0, "y_scale")[0];
        zY_ = intgemm::readZeroPoint(ctx, 4, 0, "y_zero_point").at(0);
        clamp_ = readQuantClamp(ctx, type_);
        const bool includePad = ctx.attrInt("count_include_pad", 0) != 0;
        plan_.build(ConvGeometry::read(ctx, x.shape, {}, ctx.attrInt("ceil_mode", 0) != 0), includePad);
        const ConvGeometry& g = plan_.geo;
        if (g.kernelCount() >= (int64_t{1} << 23)) throw UnsupportedError("windows of 2^23 or more taps would overflow the int32 sum");
        const int64_t OH = g.out[0], OW = g.out[1];
        // Per output position: the zero-point correction zx * inside and the Requantizer for n.
        std::vector<Requantizer> byCount(static_cast<size_t>(g.kernelCount() + 1));
        std::vector<bool> made(byCount.size(), false);
        correction_.resize(static_cast<size_t>(OH * OW));
        requant_.resize(static_cast<size_t>(OH * OW));
        for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t inside = (plan_.tapHi[0][oh] - plan_.tapLo[0][oh]) * (plan_.tapHi[1][ow] - plan_.tapLo[1][ow]);
                const int64_t n = plan_.counted[0][oh] * plan_.counted[1][ow];
                const auto k = static_cast<size_t>(n);
                if (!made[k] && n > 0) byCount[k] = Requantizer::fromReal(sx / (sy * static_cast<double>(n)));
                made[k] = true;
                correction_[static_cast<size_t>(oh * OW + ow)] = static_cast<int32_t>(zX_ * inside);
                requant_[static_cast<size_t>(oh * OW + ow)] = byCount[k];   // n = 0: multiplier 0, y = y_zero_point
            }
        planes_ = x.shape[0] * x.shape[1];
        ctx.requestScratch(static_cast<size_t>(g.in[1] + OW) * sizeof(int32_t));
        ctx.setOutput(0, type_, {x.shape[0], x.shape[1], OH, OW});
    }

    void eval(EvalContext& ctx) override
    {
        if (type_ == DataType::UInt8) run<uint8_t>(ctx);
        else run<int8_t>(ctx);
    }

private:
    // Per output row: the window's input rows summed column by column (contiguous, vectorisable),
    // then each output's columns summed from that.
    template <typename T> void run(EvalContext& ctx) const
    {
        const ConvGeometry& g = plan_.geo;
        const int64_t W = g.in[1], OH = g.out[0], OW = g.out[1];
        const T* x = ctx.input(0).data<T>();
        T* y = ctx.output(0).data<T>();
        auto* columns = static_cast<int32_t*>(ctx.scratch());
        int32_t* row = columns + W;
        for (int64_t plane = 0; plane < planes_; ++plane) {
            const T* xp = x + plane * plan_.inPlane;
            T* yp = y + plane * plan_.outPlane;
            for (int64_t oh = 0; oh < OH; ++oh) {
                std::fill(columns, columns + W, 0);
                for (int64_t ky = plan_.tapLo[0][oh]; ky < plan_.tapHi[0][oh]; ++ky)
                    addRow(xp + (oh * g.strides[0] - g.padBegin[0] + ky * g.dilations[0]) * W, columns, W);
                sumWindows(columns, row);
                const size_t base = static_cast<size_t>(oh * OW);
                requantizeRow(row, correction_.data() + base, requant_.data() + base, yp + oh * OW, OW, zY_, clamp_);
            }
        }
    }

    template <typename T> static void addRow(const T* __restrict src, int32_t* __restrict columns, int64_t n)
    {
        for (int64_t i = 0; i < n; ++i) columns[i] += static_cast<int32_t>(src[i]);
    }

    // row[ow] = sum of columns[ow * sw - pad + kx * dilation] over the taps inside the input.
    void sumWindows(const int32_t* __restrict columns, int32_t* __restrict row) const
    {
        const ConvGeometry& g = plan_.geo;
        const int64_t* lo = plan_.tapLo[1].data();
        const int64_t* hi = plan_.tapHi[1].data();
        const int64_t sw = g.strides[1], pad = g.padBegin[1], dil = g.dilations[1];
        for (int64_t ow = 0, n = g.out[1]; ow < n; ++ow) {
            int32_t acc = 0;
            const int32_t* c = columns + ow * sw - pad;
            for (int64_t kx = lo[ow]; kx < hi[ow]; ++kx) acc += c[kx * dil];
            row[ow] = acc;
        }
    }

    // y[ow] = clamp(saturate(zy + rq[ow].apply(row[ow] - correction[ow]))), with everything in locals
    // and restrict pointers (a store to 8-bit codes could otherwise alias the members).
    template <typename T>
    static void requantizeRow(const int32_t* __restrict row, const int32_t* __restrict correction, const Requantizer* __restrict rq,
                              T* __restrict y, int64_t n, int32_t zy, QuantClamp clamp)
    {
        const int64_t lo = clamp.lo, hi = clamp.hi;
        for (int64_t i = 0; i < n; ++i) {
            const int64_t v = rq[i].apply(row[i] - correction[i]) + zy;
            y[i] = static_cast<T>(v < lo ? lo : v > hi ? hi : v);
        }
    }

    DataType type_ = DataType::UInt8;
    int32_t zX_ = 0, zY_ = 0;
    QuantClamp clamp_;
    PoolPlan plan_;
    int64_t planes_ = 0;
    std::vector<int32_t> correction_;
    std::vector<Requantizer> requant_;
};

} // namespace

void register_qlinear_average_pool(KernelRegistry& r)
{
    r.add("QLinearAveragePool", "com.microsoft", {DataType::UInt8, DataType::Int8}, make<QLinearAveragePool>);
    r.add("QLinearAveragePool", "ai.joule", {DataType::UInt8, DataType::Int8}, make<QLinearAveragePool>);
}

} // namespace joule::rt
