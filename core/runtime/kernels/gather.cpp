// Gather: picks slices of `data` along `axis` at the given indices (int32 or int64, negative counts
// from the end). Output shape = data.shape[:axis] + indices.shape + data.shape[axis+1:].
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class Gather final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& data = ctx.input(0);
        const TensorInfo& indices = ctx.input(1);
        const size_t elem = layout::byteWidth(ctx, 0);
        if (indices.dtype != DataType::Int64 && indices.dtype != DataType::Int32)
            throw KernelError(std::string("indices must be int32 or int64, got ") + dataTypeName(indices.dtype));
        if (data.rank() == 0) throw KernelError("cannot gather from a scalar");
        const auto axis = static_cast<size_t>(layout::normalizeAxis(ctx.attrInt("axis", 0), data.rank()));
        Shape out(data.shape.begin(), data.shape.begin() + static_cast<std::ptrdiff_t>(axis));
        out.insert(out.end(), indices.shape.begin(), indices.shape.end());
        out.insert(out.end(), data.shape.begin() + static_cast<std::ptrdiff_t>(axis) + 1, data.shape.end());
        ctx.setOutput(0, data.dtype, out);
        outer_ = layout::product(data.shape, 0, axis);
        axisLen_ = data.shape[axis];
        count_ = indices.numel();
        blockBytes_ = static_cast<size_t>(layout::product(data.shape, axis + 1, data.shape.size())) * elem;
        wideIndices_ = indices.dtype == DataType::Int64;
    }

    void eval(EvalContext& ctx) override
    {
        const auto* src = static_cast<const std::byte*>(ctx.input(0).raw());
        const Tensor& indices = ctx.input(1);
        auto* dst = static_cast<std::byte*>(ctx.output(0).raw());
        if (blockBytes_ == 0) return;
        for (int64_t j = 0; j < count_; ++j) {
            int64_t idx = wideIndices_ ? indices.data<int64_t>()[j] : indices.data<int32_t>()[j];
            if (idx < -axisLen_ || idx >= axisLen_)
                throw KernelError("index " + std::to_string(idx) + " is out of range for an axis of length " + std::to_string(axisLen_));
            if (idx < 0) idx += axisLen_;
            const std::byte* from = src + static_cast<size_t>(idx) * blockBytes_;
            std::byte* to = dst + static_cast<size_t>(j) * blockBytes_;
            for (int64_t o = 0; o < outer_; ++o)
                std::memcpy(to + static_cast<size_t>(o * count_) * blockBytes_,
                            from + static_cast<size_t>(o * axisLen_) * blockBytes_, blockBytes_);
        }
    }

private:
    int64_t outer_ = 0, axisLen_ = 0, count_ = 0;
    size_t blockBytes_ = 0;
    bool wideIndices_ = true;
};

} // namespace

void register_gather(KernelRegistry& r)
{
    r.add("Gather", "", layout::byteTypes(), make<Gather>);
}

} // namespace joule::rt
