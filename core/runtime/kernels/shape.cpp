// Shape: the input's dimensions as a 1-D int64 tensor; opset 15 keeps only [start, end) of them
// (negative counts from the end, out-of-range values clamped). Depends on the input's shape only.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class ShapeOp final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const Shape& in = ctx.input(0).shape;
        const auto rank = static_cast<int64_t>(in.size());
        int64_t start = ctx.attrInt("start", 0);
        int64_t end = ctx.attrInt("end", rank);
        if (start < 0) start += rank;
        if (end < 0) end += rank;
        start = std::clamp<int64_t>(start, 0, rank);
        end = std::clamp<int64_t>(end, 0, rank);
        dims_.clear();
        for (int64_t i = start; i < end; ++i) dims_.push_back(in[static_cast<size_t>(i)]);
        ctx.setOutput(0, DataType::Int64, {static_cast<int64_t>(dims_.size())});
    }

    void eval(EvalContext& ctx) override
    {
        int64_t* y = ctx.output(0).data<int64_t>();
        for (size_t i = 0; i < dims_.size(); ++i) y[i] = dims_[i];
    }

    bool dependsOnlyOnInputShapes() const override { return true; }

private:
    std::vector<int64_t> dims_;
};

} // namespace

void register_shape(KernelRegistry& r)
{
    std::vector<DataType> types = layout::byteTypes();
    types.push_back(DataType::Int4);
    types.push_back(DataType::UInt4);
    r.add("Shape", "", types, make<ShapeOp>);
}

} // namespace joule::rt
