// Compress: keeps the slices along `axis` whose entry in the 1-D bool condition is true (entries
// past the condition's end count as false). Without `axis` the input is flattened first. The output
// length depends on the condition's values, so it must be known while preparing.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class Compress final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        elem_ = layout::byteWidth(ctx, 0);
        const Tensor& condition = ctx.requireConstantInput(1);
        if (condition.dtype() != DataType::Bool || condition.rank() != 1)
            throw KernelError(std::string("condition must be a 1-D bool tensor, got ") + dataTypeName(condition.dtype()) + " " +
                              shapeToString(condition.shape()));
        Shape shape = x.shape;
        size_t axis = 0;
        if (ctx.hasAttr("axis")) {
            if (x.rank() == 0) throw KernelError("axis given for a scalar input");
            axis = static_cast<size_t>(layout::normalizeAxis(ctx.attrInt("axis", 0), x.rank()));
        } else {
            shape = {x.numel()};
        }
        const int64_t dim = shape[axis];
        if (condition.numel() > dim)
            throw KernelError("condition has " + std::to_string(condition.numel()) + " entries, more than the axis length " +
                              std::to_string(dim));
        keep_.clear();
        for (int64_t i = 0; i < condition.numel(); ++i)
            if (condition.data<bool>()[i]) keep_.push_back(i);
        outer_ = layout::product(shape, 0, axis);
        dim_ = dim;
        blockBytes_ = static_cast<size_t>(layout::product(shape, axis + 1, shape.size())) * elem_;
        shape[axis] = static_cast<int64_t>(keep_.size());
        ctx.setOutput(0, x.dtype, shape);
    }

    void eval(EvalContext& ctx) override
    {
        const auto* src = static_cast<const std::byte*>(ctx.input(0).raw());
        auto* dst = static_cast<std::byte*>(ctx.output(0).raw());
        if (blockBytes_ == 0) return;
        for (int64_t o = 0; o < outer_; ++o)
            for (int64_t i : keep_) {
                std::memcpy(dst, src + static_cast<size_t>(o * dim_ + i) * blockBytes_, blockBytes_);
                dst += blockBytes_;
            }
    }

private:
    size_t elem_ = 0, blockBytes_ = 0;
    int64_t outer_ = 0, dim_ = 0;
    std::vector<int64_t> keep_;
};

} // namespace

void register_compress(KernelRegistry& r)
{
    r.add("Compress", "", layout::byteTypes(), make<Compress>);
}

} // namespace joule::rt
