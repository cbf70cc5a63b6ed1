// Range: start, start + delta, ... up to (excluding) limit; count = max(ceil((limit - start) / delta), 0).
// start, limit and delta are scalar inputs of one type; they must be known while preparing.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

template <typename T>
void fillRange(const EvalContext& ctx, Tensor& y)
{
    const T start = *ctx.input(0).data<T>();
    const T delta = *ctx.input(2).data<T>();
    T* out = y.data<T>();
    for (int64_t i = 0, n = y.numel(); i < n; ++i) out[i] = static_cast<T>(start + static_cast<T>(i) * delta);
}

class Range final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        type_ = ctx.input(0).dtype;
        for (size_t i = 0; i < 3; ++i) {
            if (ctx.input(i).dtype != type_)
                throw KernelError("input " + std::to_string(i) + " has type " + dataTypeName(ctx.input(i).dtype) +
                                  ", input 0 has " + dataTypeName(type_));
            if (ctx.input(i).numel() != 1)
                throw KernelError("input " + std::to_string(i) + " must be a scalar, got shape " + shapeToString(ctx.input(i).shape));
        }
        const Tensor& start = ctx.requireConstantInput(0);
        const Tensor& limit = ctx.requireConstantInput(1);
        const Tensor& delta = ctx.requireConstantInput(2);
        int64_t count = 0;
        if (isFloating(type_)) {
            const double d = delta.asDouble(0);
            if (d == 0.0) throw KernelError("delta is 0");
            count = static_cast<int64_t>(std::max(0.0, std::ceil((limit.asDouble(0) - start.asDouble(0)) / d)));
        } else {
            const int64_t s = start.asInt64(0), l = limit.asInt64(0), d = delta.asInt64(0);
            if (d == 0) throw KernelError("delta is 0");
            const int64_t span = l - s;
            count = (span > 0) == (d > 0) && span != 0 ? (span + d + (d > 0 ? -1 : 1)) / d : 0;
        }
        ctx.setOutput(0, type_, {count});
    }

    void eval(EvalContext& ctx) override
    {
        Tensor& y = ctx.output(0);
        switch (type_) {
        case DataType::Float32: fillRange<float>(ctx, y); break;
        case DataType::Float64: fillRange<double>(ctx, y); break;
        case DataType::Int16: fillRange<int16_t>(ctx, y); break;
        case DataType::Int32: fillRange<int32_t>(ctx, y); break;
        case DataType::Int64: fillRange<int64_t>(ctx, y); break;
        default: break;
        }
    }

private:
    DataType type_ = DataType::Float32;
};

} // namespace

void register_range(KernelRegistry& r)
{
    r.add("Range", "", {DataType::Float32, DataType::Float64, DataType::Int16, DataType::Int32, DataType::Int64},
          make<Range>);
}

} // namespace joule::rt
