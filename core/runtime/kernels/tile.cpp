// Tile: repeats the input repeats[i] times along each axis i (repeats: input 1, int64, one entry
// per axis). Each row is copied once, then whole blocks are duplicated with memcpy.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class Tile final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        elem_ = layout::byteWidth(ctx, 0);
        if (ctx.opset() < 6) throw UnsupportedError("Tile before opset 6 (tiles/axis inputs) is not supported");
        const std::vector<int64_t> repeats = layout::constantInts(ctx, 1, "repeats");
        if (repeats.size() != x.shape.size())
            throw KernelError("repeats " + layout::intsToString(repeats) + " has " + std::to_string(repeats.size()) +
                              " entries for an input of rank " + std::to_string(x.rank()));
        Shape out(x.shape.size());
        for (size_t d = 0; d < out.size(); ++d) {
            if (repeats[d] < 0) throw KernelError("repeats " + layout::intsToString(repeats) + " has a negative entry");
            out[d] = x.shape[d] * repeats[d];
        }
        ctx.setOutput(0, x.dtype, out);
        inShape_ = x.shape;
        repeats_ = repeats;
        srcStride_ = layout::contiguousStrides(x.shape);
        dstStride_ = layout::contiguousStrides(out);
        for (auto& s : srcStride_) s *= static_cast<int64_t>(elem_);
        for (auto& s : dstStride_) s *= static_cast<int64_t>(elem_);
    }

    void eval(EvalContext& ctx) override
    {
        Tensor& y = ctx.output(0);
        if (y.numel() == 0) return;
        if (inShape_.empty()) { std::memcpy(y.raw(), ctx.input(0).raw(), elem_); return; }
        tileDim(0, static_cast<const std::byte*>(ctx.input(0).raw()), static_cast<std::byte*>(y.raw()));
    }

private:
    // Fills the output block for axis d (repeats[d] copies of the tiled sub-blocks).
    void tileDim(size_t d, const std::byte* src, std::byte* dst) const
    {
        const int64_t n = inShape_[d];
        size_t bytes = 0;
        if (d + 1 == inShape_.size()) {
            bytes = static_cast<size_t>(n) * elem_;
            std::memcpy(dst, src, bytes);
        } else {
            for (int64_t i = 0; i < n; ++i) tileDim(d + 1, src + i * srcStride_[d], dst + i * dstStride_[d]);
            bytes = static_cast<size_t>(n * dstStride_[d]);
        }
        for (int64_t r = 1; r < repeats_[d]; ++r) std::memcpy(dst + static_cast<size_t>(r) * bytes, dst, bytes);
    }

    size_t elem_ = 0;
    Shape inShape_;
    std::vector<int64_t> repeats_, srcStride_, dstStride_;
};

} // namespace

void register_tile(KernelRegistry& r)
{
    r.add("Tile", "", layout::byteTypes(), make<Tile>);
}

} // namespace joule::rt
