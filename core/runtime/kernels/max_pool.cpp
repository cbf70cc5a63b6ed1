// MaxPool: the maximum over each window (kernel_shape, strides, pads / auto_pad, dilations,
// ceil_mode), with the optional Indices output (flattened position of the maximum in X; row-major,
// or column-major within the plane when storage_order = 1). 1-D, 2-D, 3-D and higher.
#include "runtime/kernels/pooling.h"
#include "runtime/registry.h"

namespace joule::rt {
namespace {

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
        poolMax(plan_, ctx.input(0).data<T>(), ctx.output(0).data<T>(), indices, storageOrder_, planes_);
    }

    PoolPlan plan_;
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
