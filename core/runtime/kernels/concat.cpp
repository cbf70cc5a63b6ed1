// Concat: joins the inputs along `axis` (negative counts from the end). All other dimensions must
// match. Copies one contiguous block per input per outer index.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

#include <cstddef>
#include <cstring>
#include <numeric>
#include <vector>

namespace joule::rt {
namespace {

class Concat final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        if (ctx.inputCount() == 0) throw KernelError("Concat needs at least one input");
        const TensorInfo& first = ctx.input(0);
        elem_ = layout::byteWidth(ctx, 0);
        if (!ctx.hasAttr("axis") && ctx.opset() >= 4) throw KernelError("attribute 'axis' is required");
        const int rank = first.rank();
        if (rank == 0) throw KernelError("cannot concatenate scalars");
        const int axis = layout::normalizeAxis(ctx.attrInt("axis", 1), rank);
        Shape out = first.shape;
        out[static_cast<size_t>(axis)] = 0;
        blockBytes_.clear();
        for (size_t i = 0; i < ctx.inputCount(); ++i) {
            const TensorInfo& in = ctx.input(i);
            if (in.dtype != first.dtype)
                throw KernelError("input " + std::to_string(i) + " has type " + dataTypeName(in.dtype) +
                                  ", input 0 has " + dataTypeName(first.dtype));
            if (in.rank() != rank)
                throw KernelError("input " + std::to_string(i) + " has shape " + shapeToString(in.shape) +
                                  ", of another rank than input 0 " + shapeToString(first.shape));
            for (int d = 0; d < rank; ++d)
                if (d != axis && in.shape[static_cast<size_t>(d)] != first.shape[static_cast<size_t>(d)])
                    throw KernelError("input " + std::to_string(i) + " has shape " + shapeToString(in.shape) +
                                      ", which differs from input 0 " + shapeToString(first.shape) +
                                      " outside axis " + std::to_string(axis));
            out[static_cast<size_t>(axis)] += in.shape[static_cast<size_t>(axis)];
            blockBytes_.push_back(static_cast<size_t>(layout::product(in.shape, static_cast<size_t>(axis), in.shape.size())) * elem_);
        }
        outer_ = layout::product(first.shape, 0, static_cast<size_t>(axis));
        rowBytes_ = std::accumulate(blockBytes_.begin(), blockBytes_.end(), size_t{0});
        inputs_.assign(blockBytes_.size(), nullptr);
        ctx.setOutput(0, first.dtype, out);
    }

    void eval(EvalContext& ctx) override
    {
        auto* dst = static_cast<std::byte*>(ctx.output(0).raw());
        const size_t n = blockBytes_.size();
        const std::byte** in = inputs_.data();   // sized while preparing
        for (size_t i = 0; i < n; ++i) in[i] = static_cast<const std::byte*>(ctx.input(i).raw());
        // Rows o0..o1 of the output: one block of each input per row. Channels-last concatenations
        // (ResNet-style joins, SqueezeNet's fire modules) copy blocks of a few hundred bytes per
        // position, where a library call per block costs as much as the copy: blocks are copied in
        // 64-byte steps inline, and long runs are split over threads.
        auto rows = [&](int64_t o0, int64_t o1) {
            std::byte* d = dst + static_cast<size_t>(o0) * rowBytes_;
            for (int64_t o = o0; o < o1; ++o)
                for (size_t i = 0; i < n; ++i) {
                    const size_t block = blockBytes_[i];
                    copyBlock(d, in[i] + static_cast<size_t>(o) * block, block);
                    d += block;
                }
        };
        const size_t total = rowBytes_ * static_cast<size_t>(outer_);
        if (ctx.threads() > 1 && total >= (size_t{256} << 10) && outer_ > 1) parallelFor(ctx.threads(), outer_, 1, rows);
        else rows(0, outer_);
    }

private:
    static void copyBlock(std::byte* d, const std::byte* s, size_t bytes)
    {
        if (bytes > 1024) {
            std::memcpy(d, s, bytes);
            return;
        }
        size_t k = 0;
        for (; k + 64 <= bytes; k += 64) __builtin_memcpy(d + k, s + k, 64);
        if (k < bytes) std::memcpy(d + k, s + k, bytes - k);
    }

    size_t elem_ = 0;
    int64_t outer_ = 0;
    std::vector<size_t> blockBytes_;
    size_t rowBytes_ = 0;   // the output's bytes per outer index: the blocks' sum
    std::vector<const std::byte*> inputs_;
};

} // namespace

void register_concat(KernelRegistry& r)
{
    r.add("Concat", "", layout::byteTypes(), make<Concat>);
}

} // namespace joule::rt
