// Flatten: reshapes to 2-D, [d0*...*d(axis-1), d(axis)*...*dn]. Negative axis counts from the end.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class Flatten final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        layout::byteWidth(ctx, 0);
        const int64_t rank = x.rank();
        int64_t axis = ctx.attrInt("axis", 1);
        if (axis < -rank || axis > rank)
            throw KernelError("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
        if (axis < 0) axis += rank;
        const auto a = static_cast<size_t>(axis);
        ctx.setOutput(0, x.dtype, {layout::product(x.shape, 0, a), layout::product(x.shape, a, x.shape.size())});
    }

    void eval(EvalContext& ctx) override
    {
        const Tensor& x = ctx.input(0);
        if (x.bytes()) std::memcpy(ctx.output(0).raw(), x.raw(), x.bytes());
    }
};

} // namespace

void register_flatten(KernelRegistry& r)
{
    r.add("Flatten", "", layout::byteTypes(), make<Flatten>);
}

} // namespace joule::rt
