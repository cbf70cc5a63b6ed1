// ConstantOfShape: a tensor of the shape given by input 0 (1-D int64), every element equal to the
// one-element tensor attribute `value` (default: float32 0).
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class ConstantOfShape final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const std::vector<int64_t> shape = layout::constantInts(ctx, 0, "input");
        for (int64_t d : shape)
            if (d < 0) throw KernelError("shape " + layout::intsToString(shape) + " has a negative dimension");
        type_ = DataType::Float32;
        std::fill(std::begin(value_), std::end(value_), std::byte{0});
        if (const Attribute* a = ctx.node().attribute("value")) {
            if (a->kind != Attribute::Kind::Tensor || a->t.numel() != 1)
                throw KernelError("attribute 'value' must be a one-element tensor");
            type_ = a->t.dtype();
            elem_ = elementSize(type_);
            if (elem_ == 0) throw UnsupportedError(std::string("value of type ") + dataTypeName(type_) + " is not supported");
            std::memcpy(value_, a->t.raw(), elem_);
        } else {
            elem_ = sizeof(float);
        }
        ctx.setOutput(0, type_, shape);
    }

    void eval(EvalContext& ctx) override
    {
        Tensor& y = ctx.output(0);
        layout::fillElements(static_cast<std::byte*>(y.raw()), value_, elem_, y.numel());
    }

private:
    DataType type_ = DataType::Float32;
    size_t elem_ = 4;
    alignas(8) std::byte value_[8] = {};
};

} // namespace

void register_constant_of_shape(KernelRegistry& r)
{
    r.add("ConstantOfShape", "", {DataType::Undefined}, make<ConstantOfShape>, -1);
}

} // namespace joule::rt
