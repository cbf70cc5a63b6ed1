// AveragePool: the mean over each window (kernel_shape, strides, pads / auto_pad, ceil_mode,
// dilations). count_include_pad = 1 divides by the taps inside input + explicit padding, otherwise
// by the taps inside the input. 1-D, 2-D, 3-D and higher.
#include "runtime/kernels/pooling.h"
#include "runtime/registry.h"

namespace joule::rt {
namespace {

class AveragePool final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        if (!ctx.hasAttr("kernel_shape")) throw KernelError("attribute kernel_shape is required");
        if (x.rank() > 10) throw UnsupportedError("more than 8 spatial axes");
        type_ = x.dtype;
        const bool ceilMode = ctx.attrInt("ceil_mode", 0) != 0;
        const bool includePad = ctx.attrInt("count_include_pad", 0) != 0;
        plan_.build(ConvGeometry::read(ctx, x.shape, {}, ceilMode), includePad);
        planes_ = x.shape[0] * x.shape[1];
        Shape y = {x.shape[0], x.shape[1]};
        y.insert(y.end(), plan_.geo.out.begin(), plan_.geo.out.end());
        ctx.setOutput(0, type_, y);
    }

    void eval(EvalContext& ctx) override
    {
        if (type_ == DataType::Float64) poolAverage(plan_, ctx.input(0).data<double>(), ctx.output(0).data<double>(), planes_);
        else poolAverage(plan_, ctx.input(0).data<float>(), ctx.output(0).data<float>(), planes_);
    }

private:
    PoolPlan plan_;
    DataType type_ = DataType::Float32;
    int64_t planes_ = 0;
};

} // namespace

void register_average_pool(KernelRegistry& r)
{
    r.add("AveragePool", "", {DataType::Float32, DataType::Float64}, make<AveragePool>);
}

} // namespace joule::rt
