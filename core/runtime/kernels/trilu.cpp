// Trilu: keeps the upper (upper = 1, default) or lower triangle of the last two axes and zeroes the
// rest. Element (i, j) is kept when j - i >= k (upper) or j - i <= k (lower); k is the optional
// scalar input 1 (default 0).
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class Trilu final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        elem_ = layout::byteWidth(ctx, 0);
        if (x.rank() < 2) throw KernelError("input must have rank >= 2, got " + shapeToString(x.shape));
        if (ctx.hasInput(1)) {
            const TensorInfo& k = ctx.input(1);
            if (k.dtype != DataType::Int64 || k.numel() != 1)
                throw KernelError("k must be an int64 scalar, got " + std::string(dataTypeName(k.dtype)) + " " + shapeToString(k.shape));
        }
        upper_ = ctx.attrInt("upper", 1) != 0;
        rows_ = x.shape[x.shape.size() - 2];
        cols_ = x.shape.back();
        batch_ = layout::product(x.shape, 0, x.shape.size() - 2);
        ctx.setOutput(0, x.dtype, x.shape);
    }

    void eval(EvalContext& ctx) override
    {
        const Tensor& x = ctx.input(0);
        const int64_t k = ctx.hasInput(1) ? *ctx.input(1).data<int64_t>() : 0;
        const auto* src = static_cast<const std::byte*>(x.raw());
        auto* dst = static_cast<std::byte*>(ctx.output(0).raw());
        const size_t rowBytes = static_cast<size_t>(cols_) * elem_;
        for (int64_t b = 0; b < batch_; ++b) {
            for (int64_t i = 0; i < rows_; ++i) {
                const size_t offset = static_cast<size_t>(b * rows_ + i) * rowBytes;
                // Kept columns: [i + k, cols) for upper, [0, i + k] for lower.
                const int64_t lo = upper_ ? std::clamp<int64_t>(i + k, 0, cols_) : 0;
                const int64_t hi = upper_ ? cols_ : std::clamp<int64_t>(i + k + 1, 0, cols_);
                std::memset(dst + offset, 0, rowBytes);
                if (hi > lo)
                    std::memcpy(dst + offset + static_cast<size_t>(lo) * elem_, src + offset + static_cast<size_t>(lo) * elem_,
                                static_cast<size_t>(hi - lo) * elem_);
            }
        }
    }

private:
    size_t elem_ = 0;
    bool upper_ = true;
    int64_t rows_ = 0, cols_ = 0, batch_ = 0;
};

} // namespace

void register_trilu(KernelRegistry& r)
{
    r.add("Trilu", "", layout::byteTypes(), make<Trilu>);
}

} // namespace joule::rt
