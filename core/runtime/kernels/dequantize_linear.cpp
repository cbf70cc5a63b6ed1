// DequantizeLinear (opsets 10, 13): y = (x - x_zero_point) * x_scale, float32 output.
// Per tensor (scalar scale), or from opset 13 per axis (1-D scale with one value per slice along
// `axis`, default 1). x is int8, uint8, int16, uint16 or int32 (int32 has no zero point, or 0).
// The difference is exact in int64 and converted to float once, then multiplied in float.
#include "runtime/kernels/quant_axis.h"
#include "runtime/registry.h"

namespace joule::rt {
namespace {

template <typename X>
class DequantizeLinear final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const TensorInfo& scale = ctx.input(1);
        if (scale.dtype != DataType::Float32) throw KernelError("x_scale must be float32");
        const int64_t count = scale.numel();
        if (ctx.hasInput(2)) {
            if (ctx.input(2).dtype != x.dtype) throw KernelError("x_zero_point type differs from x's");
            if (ctx.input(2).numel() != count)
                throw KernelError("x_zero_point has " + std::to_string(ctx.input(2).numel()) + " values, x_scale " + std::to_string(count));
        }
        axis_ = QuantAxis::plan(ctx, x, scale, "x_scale");
        ctx.setOutput(0, DataType::Float32, x.shape);
    }

    void eval(EvalContext& ctx) override
    {
        const X* x = ctx.input(0).data<X>();
        const float* scale = ctx.input(1).data<float>();
        const X* zero = ctx.hasInput(2) ? ctx.input(2).data<X>() : nullptr;
        float* y = ctx.output(0).data<float>();
        for (int64_t o = 0; o < axis_.outer; ++o)
            for (int64_t c = 0; c < axis_.channels; ++c) {
                const float s = scale[c];
                const int64_t z = zero ? static_cast<int64_t>(zero[c]) : 0;
                const int64_t base = (o * axis_.channels + c) * axis_.inner;
                for (int64_t i = 0; i < axis_.inner; ++i)
                    y[base + i] = static_cast<float>(static_cast<int64_t>(x[base + i]) - z) * s;
            }
    }

private:
    QuantAxis axis_;
};

} // namespace

void register_dequantize_linear(KernelRegistry& r)
{
    r.add("DequantizeLinear", "", {DataType::UInt8}, make<DequantizeLinear<uint8_t>>);
    r.add("DequantizeLinear", "", {DataType::Int8}, make<DequantizeLinear<int8_t>>);
    r.add("DequantizeLinear", "", {DataType::UInt16}, make<DequantizeLinear<uint16_t>>);
    r.add("DequantizeLinear", "", {DataType::Int16}, make<DequantizeLinear<int16_t>>);
    r.add("DequantizeLinear", "", {DataType::Int32}, make<DequantizeLinear<int32_t>>);
}

} // namespace joule::rt
