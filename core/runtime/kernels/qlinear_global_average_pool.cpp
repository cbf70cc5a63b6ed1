// QLinearGlobalAveragePool (com.microsoft): the quantized mean of each channel over all spatial
// positions, [N, C, d...] -> [N, C, 1...] (channels_last = 1: [N, d..., C] -> [N, 1..., C]).
// X and Y share one type (uint8 or int8); scales and zero points are per tensor and known while
// preparing.
//
// Integer arithmetic, exactly (docs/integer-runtime.md):
//   acc = sum over the S spatial positions of (x - x_zero_point)          int32, exact
//   M   = x_scale / (y_scale * S)                                           double from the float32 scales
//   y   = saturate(y_zero_point + rne(acc * M))   with Requantizer::fromReal(M) of quant_math.h
#include "runtime/kernels/int_gemm.h"
#include "runtime/kernels/quant_activation.h"
#include "runtime/registry.h"

namespace joule::rt {
namespace {

class QLinearGlobalAveragePool final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        if (!intgemm::isInt8Type(x.dtype)) throw UnsupportedError(std::string("X must be int8 or uint8, got ") + dataTypeName(x.dtype));
        if (x.rank() < 3) throw KernelError("X must have shape [N, C, d...] with at least one spatial dim, got " + shapeToString(x.shape));
        type_ = x.dtype;
        channelsLast_ = ctx.attrInt("channels_last", 0) != 0;
        const float sx = intgemm::readScale(ctx, 1, 0, "x_scale")[0];
        zX_ = intgemm::readZeroPoint(ctx, 2, 0, "x_zero_point").at(0);
        const float sy = intgemm::readScale(ctx, 3, 0, "y_scale")[0];
        zY_ = intgemm::readZeroPoint(ctx, 4, 0, "y_zero_point").at(0);
        if ((ctx.hasInput(2) && ctx.input(2).dtype != type_) || (ctx.hasInput(4) && ctx.input(4).dtype != type_))
            throw KernelError("zero points must have the type of X");
        batch_ = x.shape[0];
        const int cAxis = channelsLast_ ? x.rank() - 1 : 1;
        channels_ = x.shape[static_cast<size_t>(cAxis)];
        spatial_ = x.numel() / std::max<int64_t>(1, batch_ * channels_);
        if (spatial_ > (int64_t{1} << 23)) throw UnsupportedError("more than 2^23 spatial positions would overflow the int32 sum");
        requant_ = Requantizer::fromReal(static_cast<double>(sx) / (static_cast<double>(sy) * static_cast<double>(spatial_)));
        Shape y(x.shape.size(), 1);
        y[0] = batch_;
        y[static_cast<size_t>(cAxis)] = channels_;
        ctx.setOutput(0, type_, y);
    }

    void eval(EvalContext& ctx) override
    {
        if (type_ == DataType::UInt8) run<uint8_t>(ctx);
        else run<int8_t>(ctx);
    }

private:
    template <typename T> void run(EvalContext& ctx) const
    {
        const T* x = ctx.input(0).data<T>();
        T* y = ctx.output(0).data<T>();
        const int64_t C = channels_, S = spatial_;
        for (int64_t n = 0; n < batch_; ++n) {
            const T* xn = x + n * C * S;
            for (int64_t c = 0; c < C; ++c) {
                int32_t acc = 0;
                if (channelsLast_)
                    for (int64_t s = 0; s < S; ++s) acc += static_cast<int32_t>(xn[s * C + c]);
                else
                    for (int64_t s = 0; s < S; ++s) acc += static_cast<int32_t>(xn[c * S + s]);
                acc -= zX_ * static_cast<int32_t>(S);
                y[n * C + c] = saturate<T>(requant_.apply(acc) + zY_);
            }
        }
    }

    DataType type_ = DataType::UInt8;
    bool channelsLast_ = false;
    int32_t zX_ = 0, zY_ = 0;
    int64_t batch_ = 0, channels_ = 0, spatial_ = 0;
    Requantizer requant_;
};

} // namespace

void register_qlinear_global_average_pool(KernelRegistry& r)
{
    r.add("QLinearGlobalAveragePool", "com.microsoft", {DataType::UInt8, DataType::Int8}, make<QLinearGlobalAveragePool>);
}

} // namespace joule::rt
