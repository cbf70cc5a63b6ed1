// Unsqueeze: inserts axes of length 1 at the listed positions of the output (attribute `axes`
// before opset 13, input 1 from opset 13; negative counts from the end of the output, in any order).
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class Unsqueeze final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        layout::byteWidth(ctx, 0);
        const std::vector<int64_t> axes =
            ctx.opset() >= 13 ? layout::constantInts(ctx, 1, "axes") : ctx.attrInts("axes");
        if (axes.empty()) throw KernelError("axes is empty");
        const int rank = x.rank() + static_cast<int>(axes.size());
        std::vector<bool> inserted(static_cast<size_t>(rank), false);
        for (int64_t a : axes) {
            const auto d = static_cast<size_t>(layout::normalizeAxis(a, rank, "axes entry"));
            if (inserted[d]) throw KernelError("axes " + layout::intsToString(axes) + " repeats axis " + std::to_string(d));
            inserted[d] = true;
        }
        Shape out;
        size_t next = 0;
        for (int d = 0; d < rank; ++d) out.push_back(inserted[static_cast<size_t>(d)] ? 1 : x.shape[next++]);
        ctx.setOutput(0, x.dtype, out);
    }

    void eval(EvalContext& ctx) override
    {
        const Tensor& x = ctx.input(0);
        if (x.bytes()) std::memcpy(ctx.output(0).raw(), x.raw(), x.bytes());
    }
};

} // namespace

void register_unsqueeze(KernelRegistry& r)
{
    r.add("Unsqueeze", "", layout::byteTypes(), make<Unsqueeze>);
}

} // namespace joule::rt
