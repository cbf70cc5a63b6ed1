// Reshape: same elements, new shape. In the target shape 0 copies the input's dimension (unless
// allowzero = 1, opset 14, where 0 is a real zero) and one -1 is inferred. Opsets < 5 take the
// shape as an attribute.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class Reshape final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        layout::byteWidth(ctx, 0);
        const std::vector<int64_t> target = ctx.opset() < 5 && !ctx.hasInput(1)
                                                ? ctx.attrInts("shape")
                                                : layout::constantInts(ctx, 1, "shape");
        const bool allowZero = ctx.attrInt("allowzero", 0) != 0;
        Shape out(target.size());
        int inferred = -1;
        int64_t known = 1;
        bool hasZero = false;
        for (size_t i = 0; i < target.size(); ++i) {
            int64_t d = target[i];
            if (d == -1) {
                if (inferred >= 0) throw KernelError("shape " + layout::intsToString(target) + " has more than one -1");
                inferred = static_cast<int>(i);
                continue;
            }
            if (d == 0 && !allowZero) {
                if (i >= x.shape.size())
                    throw KernelError("shape " + layout::intsToString(target) + " copies dimension " + std::to_string(i) +
                                      " (0), but the input " + shapeToString(x.shape) + " has rank " +
                                      std::to_string(x.rank()));
                d = x.shape[i];
            }
            if (d < 0) throw KernelError("shape " + layout::intsToString(target) + " has an invalid dimension " + std::to_string(d));
            hasZero = hasZero || d == 0;
            out[i] = d;
            known *= d;
        }
        if (inferred >= 0 && allowZero && hasZero)
            throw KernelError("shape " + layout::intsToString(target) + " combines -1 with 0 while allowzero = 1");
        if (inferred >= 0) {
            if (known == 0 || x.numel() % known != 0)
                throw KernelError("cannot infer -1 in shape " + layout::intsToString(target) + " for input " + shapeToString(x.shape));
            out[static_cast<size_t>(inferred)] = x.numel() / known;
        }
        if (elementCount(out) != x.numel())
            throw KernelError("cannot reshape " + shapeToString(x.shape) + " (" + std::to_string(x.numel()) +
                              " elements) to " + shapeToString(out));
        ctx.setOutput(0, x.dtype, out);
    }

    void eval(EvalContext& ctx) override
    {
        const Tensor& x = ctx.input(0);
        if (x.bytes()) std::memcpy(ctx.output(0).raw(), x.raw(), x.bytes());
    }
};

} // namespace

void register_reshape(KernelRegistry& r)
{
    r.add("Reshape", "", layout::byteTypes(), make<Reshape>);
}

} // namespace joule::rt
