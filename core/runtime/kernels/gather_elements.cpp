// GatherElements: out[p] = data[p with p[axis] replaced by indices[p]]; indices has data's rank and
// gives the output shape (each of its other dimensions at most data's). Negative indices count from the end.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class GatherElements final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& data = ctx.input(0);
        const TensorInfo& indices = ctx.input(1);
        elem_ = layout::byteWidth(ctx, 0);
        if (indices.dtype != DataType::Int64 && indices.dtype != DataType::Int32)
            throw KernelError(std::string("indices must be int32 or int64, got ") + dataTypeName(indices.dtype));
        if (data.rank() == 0 || indices.rank() != data.rank())
            throw KernelError("indices " + shapeToString(indices.shape) + " must have the rank of data " + shapeToString(data.shape));
        axis_ = static_cast<size_t>(layout::normalizeAxis(ctx.attrInt("axis", 0), data.rank()));
        for (size_t d = 0; d < data.shape.size(); ++d)
            if (d != axis_ && indices.shape[d] > data.shape[d])
                throw KernelError("indices " + shapeToString(indices.shape) + " exceeds data " + shapeToString(data.shape) +
                                  " on axis " + std::to_string(d));
        shape_ = indices.shape;
        axisLen_ = data.shape[axis_];
        dataStride_ = layout::contiguousStrides(data.shape);
        wideIndices_ = indices.dtype == DataType::Int64;
        ctx.setOutput(0, data.dtype, indices.shape);
    }

    void eval(EvalContext& ctx) override
    {
        if (elementCount(shape_) == 0) return;
        src_ = static_cast<const std::byte*>(ctx.input(0).raw());
        indices_ = ctx.input(1).raw();
        dst_ = static_cast<std::byte*>(ctx.output(0).raw());
        position_ = 0;
        walk(0, 0);
    }

private:
    void walk(size_t d, int64_t base)
    {
        const int64_t n = shape_[d];
        const bool last = d + 1 == shape_.size();
        for (int64_t i = 0; i < n; ++i) {
            const int64_t offset = d == axis_ ? base : base + i * dataStride_[d];
            if (!last) { walk(d + 1, offset); continue; }
            int64_t idx = wideIndices_ ? static_cast<const int64_t*>(indices_)[position_]
                                       : static_cast<const int32_t*>(indices_)[position_];
            if (idx < -axisLen_ || idx >= axisLen_)
                throw KernelError("index " + std::to_string(idx) + " is out of range for an axis of length " + std::to_string(axisLen_));
            if (idx < 0) idx += axisLen_;
            layout::copyElement(dst_ + position_ * static_cast<int64_t>(elem_),
                                src_ + (offset + idx * dataStride_[axis_]) * static_cast<int64_t>(elem_), elem_);
            ++position_;
        }
    }

    size_t elem_ = 0, axis_ = 0;
    int64_t axisLen_ = 0;
    Shape shape_;
    std::vector<int64_t> dataStride_;
    bool wideIndices_ = true;
    // Per-eval walk state.
    const std::byte* src_ = nullptr;
    const void* indices_ = nullptr;
    std::byte* dst_ = nullptr;
    int64_t position_ = 0;
};

} // namespace

void register_gather_elements(KernelRegistry& r)
{
    r.add("GatherElements", "", layout::byteTypes(), make<GatherElements>);
}

} // namespace joule::rt
