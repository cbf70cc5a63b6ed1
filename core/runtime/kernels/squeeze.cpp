// Squeeze: removes axes of length 1 — the listed ones (attribute `axes` before opset 13, input 1
// from opset 13; negative counts from the end) or, when none are given, all of them.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class Squeeze final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        layout::byteWidth(ctx, 0);
        const int rank = x.rank();
        std::vector<int64_t> axes;
        if (ctx.opset() >= 13) {
            if (ctx.hasInput(1)) axes = layout::constantInts(ctx, 1, "axes");
        } else {
            axes = ctx.attrInts("axes");
        }
        std::vector<bool> drop(static_cast<size_t>(rank), false);
        if (axes.empty()) {
            for (int d = 0; d < rank; ++d) drop[static_cast<size_t>(d)] = x.shape[static_cast<size_t>(d)] == 1;
        }
        for (int64_t a : axes) {
            const auto d = static_cast<size_t>(layout::normalizeAxis(a, rank, "axes entry"));
            if (x.shape[d] != 1)
                throw KernelError("cannot squeeze axis " + std::to_string(a) + " of length " + std::to_string(x.shape[d]) +
                                  " (input " + shapeToString(x.shape) + ")");
            drop[d] = true;
        }
        Shape out;
        for (int d = 0; d < rank; ++d)
            if (!drop[static_cast<size_t>(d)]) out.push_back(x.shape[static_cast<size_t>(d)]);
        ctx.setOutput(0, x.dtype, out);
    }

    void eval(EvalContext& ctx) override
    {
        const Tensor& x = ctx.input(0);
        if (x.bytes()) std::memcpy(ctx.output(0).raw(), x.raw(), x.bytes());
    }
};

} // namespace

void register_squeeze(KernelRegistry& r)
{
    r.add("Squeeze", "", layout::byteTypes(), make<Squeeze>);
}

} // namespace joule::rt
