// Slice: takes [start, end) with step along each listed axis. Opset 1 reads starts/ends/axes from
// attributes; opset 10+ from inputs 1..4 (axes and steps optional). Negative starts/ends count
// from the end; out-of-range values are clamped as the spec says ([0, dim] for positive steps,
// [-1, dim-1] for negative steps), so a slice can be empty or run backwards.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class Slice final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const size_t elem = layout::byteWidth(ctx, 0);
        const int rank = x.rank();
        std::vector<int64_t> starts, ends, axes, steps;
        if (ctx.opset() < 10) {
            starts = ctx.attrInts("starts");
            ends = ctx.attrInts("ends");
            axes = ctx.attrInts("axes");
        } else {
            starts = layout::constantInts(ctx, 1, "starts");
            ends = layout::constantInts(ctx, 2, "ends");
            if (ctx.hasInput(3)) axes = layout::constantInts(ctx, 3, "axes");
            if (ctx.hasInput(4)) steps = layout::constantInts(ctx, 4, "steps");
        }
        if (starts.size() != ends.size())
            throw KernelError("starts " + layout::intsToString(starts) + " and ends " + layout::intsToString(ends) +
                              " differ in length");
        if (axes.empty()) {
            if (starts.size() > static_cast<size_t>(rank))
                throw KernelError("starts has " + std::to_string(starts.size()) + " entries for an input of rank " +
                                  std::to_string(rank));
            for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
        }
        if (steps.empty()) steps.assign(starts.size(), 1);
        if (axes.size() != starts.size() || steps.size() != starts.size())
            throw KernelError("starts, ends, axes and steps must have the same length (" + std::to_string(starts.size()) +
                              ", " + std::to_string(ends.size()) + ", " + std::to_string(axes.size()) + ", " +
                              std::to_string(steps.size()) + ")");

        Shape out = x.shape;
        const std::vector<int64_t> inStrides = layout::contiguousStrides(x.shape);
        std::vector<int64_t> srcStrides = inStrides;
        int64_t offset = 0;
        std::vector<bool> seen(static_cast<size_t>(rank), false);
        for (size_t i = 0; i < starts.size(); ++i) {
            const auto a = static_cast<size_t>(layout::normalizeAxis(axes[i], rank, "axes entry"));
            if (seen[a]) throw KernelError("axes " + layout::intsToString(axes) + " repeats axis " + std::to_string(a));
            seen[a] = true;
            const int64_t step = steps[i];
            if (step == 0) throw KernelError("steps " + layout::intsToString(steps) + " contains 0");
            const int64_t dim = x.shape[a];
            int64_t start = starts[i] < 0 ? starts[i] + dim : starts[i];
            int64_t end = ends[i] < 0 ? ends[i] + dim : ends[i];
            int64_t count = 0;
            if (step > 0) {
                start = std::clamp<int64_t>(start, 0, dim);
                end = std::clamp<int64_t>(end, 0, dim);
                count = end > start ? (end - start + step - 1) / step : 0;
            } else {
                start = std::max<int64_t>(0, std::min(start, dim - 1));
                end = std::max<int64_t>(-1, std::min(end, dim - 1));
                count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
            }
            out[a] = count;
            srcStrides[a] = inStrides[a] * step;
            if (count > 0) offset += start * inStrides[a];
        }
        ctx.setOutput(0, x.dtype, out);
        copy_.plan(out, srcStrides, elem, offset);
    }

    void eval(EvalContext& ctx) override { copy_.run(ctx.input(0).raw(), ctx.output(0).raw()); }

private:
    layout::StridedCopy copy_;
};

} // namespace

void register_slice(KernelRegistry& r)
{
    r.add("Slice", "", layout::byteTypes(), make<Slice>);
}

} // namespace joule::rt
