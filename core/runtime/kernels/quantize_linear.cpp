// QuantizeLinear (opsets 10, 13): y = saturate(round_half_to_even(x / y_scale) + y_zero_point).
// Per tensor (scalar scale), or from opset 13 per axis (1-D scale with one value per slice along
// `axis`, default 1). y's type is y_zero_point's (int8, uint8, int16, uint16); uint8 when the zero
// point is omitted. x is float32 (or int32, which opset 10 allows). See runtime/quant_math.h for
// the exact rounding.
#include "runtime/quant_math.h"
#include "runtime/registry.h"

#include <type_traits>

namespace joule::rt {
namespace {

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
        outer_ = 1;
        channels_ = 1;
        inner_ = x.numel();
        if (count != 1) {
            if (ctx.opset() < 13 || scale.rank() != 1)
                throw KernelError("y_scale must be a scalar (per-tensor) or, from opset 13, a 1-D per-axis tensor");
            const int rank = x.rank();
            int64_t axis = ctx.attrInt("axis", 1);
            if (axis < -rank || axis >= rank)
                throw KernelError("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
            if (axis < 0) axis += rank;
            if (x.shape[axis] != count)
                throw KernelError("y_scale has " + std::to_string(count) + " values but axis " + std::to_string(axis) +
                                  " has size " + std::to_string(x.shape[axis]));
            outer_ = inner_ = 1;
            for (int d = 0; d < axis; ++d) outer_ *= x.shape[d];
            for (int d = static_cast<int>(axis) + 1; d < rank; ++d) inner_ *= x.shape[d];
            channels_ = count;
        }
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
        for (int64_t o = 0; o < outer_; ++o)
            for (int64_t c = 0; c < channels_; ++c) {
                const float s = scale[c];
                const int32_t z = zero ? static_cast<int32_t>(zero[c]) : 0;
                const int64_t base = (o * channels_ + c) * inner_;
                for (int64_t i = 0; i < inner_; ++i) y[base + i] = quantizeValue<Y>(static_cast<float>(x[base + i]), s, z);
            }
    }

    DataType yType_ = DataType::UInt8;
    int64_t outer_ = 1, channels_ = 1, inner_ = 1;
};

} // namespace

void register_quantize_linear(KernelRegistry& r)
{
    r.add("QuantizeLinear", "", {DataType::Float32}, make<QuantizeLinear<float>>);
    r.add("QuantizeLinear", "", {DataType::Int32}, make<QuantizeLinear<int32_t>>);
}

} // namespace joule::rt
