// QuantizeLinear (opsets 10, 13): y = saturate(round_half_to_even(x / y_scale) + y_zero_point).
// Per tensor (scalar scale), or from opset 13 per axis (1-D scale with one value per slice along
// `axis`, default 1). y's type is y_zero_point's (int8, uint8, int16, uint16); uint8 when the zero
// point is omitted. x is float32 (or int32, which opset 10 allows). See runtime/quant_math.h for
// the exact rounding.
#include "runtime/quant_math.h"
#include "runtime/kernels/quant_axis.h"
#include "runtime/registry.h"

#include <algorithm>
#include <limits>
#include <type_traits>

namespace joule::rt {
namespace {

// quantizeValue() over a run of floats to 8-bit codes, in a form the compiler vectorizes: NaN -> 0,
// clamp to the codes' range minus the zero point (integers, so clamping before rounding equals
// rounding before clamping), then round half to even by adding and subtracting 1.5 * 2^23 (exact
// for |r| < 2^22, and the clamp keeps |r| <= 510). Same codes as quantizeValue, value for value.
template <typename Y>
inline void quantizeRun(const float* __restrict x, int64_t n, float s, int32_t z, Y* __restrict y)
{
    const float lo = static_cast<float>(std::numeric_limits<Y>::min()) - static_cast<float>(z);
    const float hi = static_cast<float>(std::numeric_limits<Y>::max()) - static_cast<float>(z);
    for (int64_t i = 0; i < n; ++i) {
        float r = x[i] / s;
        r = r == r ? r : 0.0f;
        r = std::min(std::max(r, lo), hi);
        y[i] = static_cast<Y>(static_cast<int32_t>((r + 12582912.0f) - 12582912.0f) + z);
    }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void quantizeToU8(const float* x, int64_t n, float s, int32_t z, uint8_t* y) { quantizeRun(x, n, s, z, y); }
__attribute__((target_clones("avx512f", "avx2", "default")))
void quantizeToS8(const float* x, int64_t n, float s, int32_t z, int8_t* y) { quantizeRun(x, n, s, z, y); }

template <typename X>
class QuantizeLinear final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const TensorInfo& scale = ctx.input(1);
        if (scale.dtype != DataType::Float32) throw KernelError("y_scale must be float32");
        yType_ = ctx.hasInput(2) ? ctx.input(2).dtype : DataType::UInt8;
        if (yType_ != DataType::UInt8 && yType_ != DataType::Int8 && yType_ != DataType::UInt16 && yType_ != DataType::Int16)
            throw UnsupportedError(std::string("output type ") + dataTypeName(yType_) + " (from y_zero_point)");
        const int64_t count = scale.numel();
        if (ctx.hasInput(2) && ctx.input(2).numel() != count)
            throw KernelError("y_zero_point has " + std::to_string(ctx.input(2).numel()) + " values, y_scale " + std::to_string(count));
        axis_ = QuantAxis::plan(ctx, x, scale, "y_scale");
        ctx.setOutput(0, yType_, x.shape);
    }

    void eval(EvalContext& ctx) override
    {
        switch (yType_) {
        case DataType::Int8: run<int8_t>(ctx); break;
        case DataType::UInt16: run<uint16_t>(ctx); break;
        case DataType::Int16: run<int16_t>(ctx); break;
        default: run<uint8_t>(ctx); break;
        }
    }

private:
    template <typename Y> void run(EvalContext& ctx) const
    {
        const X* x = ctx.input(0).data<X>();
        const float* scale = ctx.input(1).data<float>();
        const Y* zero = ctx.hasInput(2) ? ctx.input(2).data<Y>() : nullptr;
        Y* y = ctx.output(0).data<Y>();
        for (int64_t o = 0; o < axis_.outer; ++o)
            for (int64_t c = 0; c < axis_.channels; ++c) {
                const float s = scale[c];
                const int32_t z = zero ? static_cast<int32_t>(zero[c]) : 0;
                const int64_t base = (o * axis_.channels + c) * axis_.inner;
                if constexpr (std::is_same_v<X, float> && std::is_same_v<Y, uint8_t>) {
                    quantizeToU8(x + base, axis_.inner, s, z, y + base);
                    continue;
                } else if constexpr (std::is_same_v<X, float> && std::is_same_v<Y, int8_t>) {
                    quantizeToS8(x + base, axis_.inner, s, z, y + base);
                    continue;
                }
                for (int64_t i = 0; i < axis_.inner; ++i) y[base + i] = quantizeValue<Y>(static_cast<float>(x[base + i]), s, z);
            }
    }

    DataType yType_ = DataType::UInt8;
    QuantAxis axis_;
};

} // namespace

void register_quantize_linear(KernelRegistry& r)
{
    r.add("QuantizeLinear", "", {DataType::Float32}, make<QuantizeLinear<float>>);
    r.add("QuantizeLinear", "", {DataType::Int32}, make<QuantizeLinear<int32_t>>);
}

} // namespace joule::rt
