// OneHot: out has indices' shape with a new axis of length depth inserted at `axis` (default -1,
// the end); out = values[1] where the position along that axis equals the index (negative indices
// count back from depth), values[0] elsewhere. Indices outside [-depth, depth) give an all-off row.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class OneHot final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& indices = ctx.input(0);
        const TensorInfo& values = ctx.input(2);
        elem_ = layout::byteWidth(ctx, 2);
        if (values.numel() != 2) throw KernelError("values must hold [off, on], got shape " + shapeToString(values.shape));
        if (indices.dtype == DataType::Float16 || elementSize(indices.dtype) == 0)
            throw UnsupportedError(std::string("indices of type ") + dataTypeName(indices.dtype) + " are not supported");
        const Tensor& depthValue = ctx.requireConstantInput(1);
        if (depthValue.numel() != 1) throw KernelError("depth must be a scalar, got shape " + shapeToString(depthValue.shape()));
        depth_ = depthValue.asInt64(0);
        if (depth_ < 1) throw KernelError("depth must be positive, got " + std::to_string(depth_));
        const int outRank = indices.rank() + 1;
        const auto axis = static_cast<size_t>(layout::normalizeAxis(ctx.attrInt("axis", -1), outRank));
        Shape out = indices.shape;
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(axis), depth_);
        outer_ = layout::product(indices.shape, 0, axis);
        inner_ = layout::product(indices.shape, axis, indices.shape.size());
        ctx.setOutput(0, values.dtype, out);
    }

    void eval(EvalContext& ctx) override
    {
        const Tensor& indices = ctx.input(0);
        const auto* values = static_cast<const std::byte*>(ctx.input(2).raw());
        Tensor& y = ctx.output(0);
        auto* dst = static_cast<std::byte*>(y.raw());
        layout::fillElements(dst, values, elem_, y.numel());
        for (int64_t o = 0; o < outer_; ++o) {
            for (int64_t i = 0; i < inner_; ++i) {
                int64_t idx = indices.asInt64(o * inner_ + i);
                if (idx < -depth_ || idx >= depth_) continue;
                if (idx < 0) idx += depth_;
                layout::copyElement(dst + ((o * depth_ + idx) * inner_ + i) * static_cast<int64_t>(elem_), values + elem_, elem_);
            }
        }
    }

private:
    size_t elem_ = 0;
    int64_t depth_ = 0, outer_ = 0, inner_ = 0;
};

} // namespace

void register_one_hot(KernelRegistry& r)
{
    r.add("OneHot", "", layout::byteTypes(), make<OneHot>, 2);
}

} // namespace joule::rt
