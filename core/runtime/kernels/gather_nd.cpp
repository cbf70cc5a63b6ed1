// GatherND: each row of the last indices axis (k values) addresses a slice data[b..., i1, ..., ik, :].
// Output shape = data.shape[:b] + indices.shape[b:-1] + data.shape[b+k:], b = batch_dims (opset 12).
// Negative indices count from the end of their axis.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class GatherND final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& data = ctx.input(0);
        const TensorInfo& indices = ctx.input(1);
        const size_t elem = layout::byteWidth(ctx, 0);
        if (indices.dtype != DataType::Int64) throw KernelError(std::string("indices must be int64, got ") + dataTypeName(indices.dtype));
        const int64_t b = ctx.attrInt("batch_dims", 0);
        if (indices.rank() < 1 || data.rank() < 1) throw KernelError("data and indices must have rank >= 1");
        if (b < 0 || b >= std::min(data.rank(), indices.rank()))
            throw KernelError("batch_dims " + std::to_string(b) + " must be less than the ranks of data and indices");
        const int64_t k = indices.shape.back();
        if (k < 1 || k > data.rank() - b)
            throw KernelError("the last dimension of indices (" + std::to_string(k) + ") must be in [1, " +
                              std::to_string(data.rank() - b) + "]");
        const auto ub = static_cast<size_t>(b), uk = static_cast<size_t>(k);
        for (size_t d = 0; d < ub; ++d)
            if (data.shape[d] != indices.shape[d])
                throw KernelError("batch dimension " + std::to_string(d) + " differs: data " + shapeToString(data.shape) +
                                  ", indices " + shapeToString(indices.shape));
        Shape out(data.shape.begin(), data.shape.begin() + b);
        out.insert(out.end(), indices.shape.begin() + b, indices.shape.end() - 1);
        out.insert(out.end(), data.shape.begin() + b + k, data.shape.end());
        ctx.setOutput(0, data.dtype, out);
        batches_ = layout::product(data.shape, 0, ub);
        tuples_ = layout::product(indices.shape, ub, indices.shape.size() - 1);
        k_ = k;
        sliceBytes_ = static_cast<size_t>(layout::product(data.shape, ub + uk, data.shape.size())) * elem;
        dims_.assign(data.shape.begin() + b, data.shape.begin() + b + k);
        const auto strides = layout::contiguousStrides(data.shape);
        strides_.assign(strides.begin() + b, strides.begin() + b + k);
        for (auto& s : strides_) s *= static_cast<int64_t>(elem);
        batchBytes_ = static_cast<size_t>(layout::product(data.shape, ub, data.shape.size())) * elem;
    }

    void eval(EvalContext& ctx) override
    {
        const auto* src = static_cast<const std::byte*>(ctx.input(0).raw());
        const int64_t* idx = ctx.input(1).data<int64_t>();
        auto* dst = static_cast<std::byte*>(ctx.output(0).raw());
        if (sliceBytes_ == 0) return;
        for (int64_t b = 0; b < batches_; ++b) {
            const std::byte* base = src + static_cast<size_t>(b) * batchBytes_;
            for (int64_t t = 0; t < tuples_; ++t, idx += k_, dst += sliceBytes_) {
                int64_t offset = 0;
                for (int64_t j = 0; j < k_; ++j) {
                    int64_t i = idx[j];
                    const int64_t dim = dims_[static_cast<size_t>(j)];
                    if (i < -dim || i >= dim)
                        throw KernelError("index " + std::to_string(i) + " is out of range for an axis of length " + std::to_string(dim));
                    if (i < 0) i += dim;
                    offset += i * strides_[static_cast<size_t>(j)];
                }
                std::memcpy(dst, base + offset, sliceBytes_);
            }
        }
    }

private:
    int64_t batches_ = 0, tuples_ = 0, k_ = 0;
    size_t sliceBytes_ = 0, batchBytes_ = 0;
    std::vector<int64_t> dims_, strides_;   // strides in bytes
};

} // namespace

void register_gather_nd(KernelRegistry& r)
{
    r.add("GatherND", "", layout::byteTypes(), make<GatherND>);
}

} // namespace joule::rt
