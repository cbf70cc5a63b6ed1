// Split: cuts the input along `axis` into consecutive parts. Part sizes come from the `split`
// attribute (opset < 13) or input 1 (opset >= 13); otherwise the axis is divided equally among the
// outputs, or (opset 18) into `num_outputs` parts of ceil(dim / num_outputs) with a smaller last part.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class Split final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        elem_ = layout::byteWidth(ctx, 0);
        if (x.rank() == 0) throw KernelError("cannot split a scalar");
        const int axis = layout::normalizeAxis(ctx.attrInt("axis", 0), x.rank());
        const int64_t dim = x.shape[static_cast<size_t>(axis)];
        const size_t outputs = ctx.outputCount();
        std::vector<int64_t> sizes;
        if (ctx.opset() >= 13 && ctx.hasInput(1)) {
            sizes = layout::constantInts(ctx, 1, "split");
        } else if (ctx.opset() < 13 && ctx.hasAttr("split")) {
            sizes = ctx.attrInts("split");
        } else if (ctx.opset() >= 18 && ctx.hasAttr("num_outputs")) {
            const int64_t parts = ctx.attrInt("num_outputs", 0);
            if (parts < 1 || static_cast<size_t>(parts) != outputs)
                throw KernelError("num_outputs = " + std::to_string(parts) + " but the node has " +
                                  std::to_string(outputs) + " outputs");
            const int64_t chunk = (dim + parts - 1) / parts;
            for (int64_t i = 0; i < parts; ++i) sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
        } else {
            if (outputs == 0 || dim % static_cast<int64_t>(outputs) != 0)
                throw KernelError("axis " + std::to_string(axis) + " of length " + std::to_string(dim) +
                                  " cannot be split equally into " + std::to_string(outputs) + " outputs");
            sizes.assign(outputs, dim / static_cast<int64_t>(outputs));
        }
        if (sizes.size() != outputs)
            throw KernelError("split " + layout::intsToString(sizes) + " has " + std::to_string(sizes.size()) +
                              " parts but the node has " + std::to_string(outputs) + " outputs");
        int64_t total = 0;
        for (int64_t s : sizes) {
            if (s < 0) throw KernelError("split " + layout::intsToString(sizes) + " has a negative part");
            total += s;
        }
        if (total != dim)
            throw KernelError("split " + layout::intsToString(sizes) + " sums to " + std::to_string(total) +
                              ", but axis " + std::to_string(axis) + " has length " + std::to_string(dim));
        outer_ = layout::product(x.shape, 0, static_cast<size_t>(axis));
        const int64_t inner = layout::product(x.shape, static_cast<size_t>(axis) + 1, x.shape.size());
        rowBytes_ = static_cast<size_t>(dim * inner) * elem_;
        blockBytes_.clear();
        for (size_t i = 0; i < outputs; ++i) {
            blockBytes_.push_back(static_cast<size_t>(sizes[i] * inner) * elem_);
            if (!ctx.hasOutput(i)) continue;
            Shape out = x.shape;
            out[static_cast<size_t>(axis)] = sizes[i];
            ctx.setOutput(i, x.dtype, out);
        }
    }

    void eval(EvalContext& ctx) override
    {
        const auto* src = static_cast<const std::byte*>(ctx.input(0).raw());
        for (int64_t o = 0; o < outer_; ++o) {
            size_t offset = static_cast<size_t>(o) * rowBytes_;
            for (size_t i = 0; i < blockBytes_.size(); ++i) {
                const size_t block = blockBytes_[i];
                Tensor& y = ctx.output(i);
                if (block && !y.empty())
                    std::memcpy(static_cast<std::byte*>(y.raw()) + static_cast<size_t>(o) * block, src + offset, block);
                offset += block;
            }
        }
    }

private:
    size_t elem_ = 0;
    int64_t outer_ = 0;
    size_t rowBytes_ = 0;
    std::vector<size_t> blockBytes_;
};

} // namespace

void register_split(KernelRegistry& r)
{
    r.add("Split", "", layout::byteTypes(), make<Split>);
}

} // namespace joule::rt
