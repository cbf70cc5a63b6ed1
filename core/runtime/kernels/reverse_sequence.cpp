// ReverseSequence: for every batch entry b, reverses the first sequence_lens[b] steps along the
// time axis and keeps the rest. time_axis / batch_axis are 0 and 1 (either order; defaults 0 / 1).
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class ReverseSequence final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const TensorInfo& lens = ctx.input(1);
        const size_t elem = layout::byteWidth(ctx, 0);
        if (x.rank() < 2) throw KernelError("input must have rank >= 2, got " + shapeToString(x.shape));
        const int64_t timeAxis = ctx.attrInt("time_axis", 0), batchAxis = ctx.attrInt("batch_axis", 1);
        if (!((timeAxis == 0 && batchAxis == 1) || (timeAxis == 1 && batchAxis == 0)))
            throw KernelError("time_axis and batch_axis must be 0 and 1, got " + std::to_string(timeAxis) + " and " +
                              std::to_string(batchAxis));
        if (lens.dtype != DataType::Int64) throw KernelError(std::string("sequence_lens must be int64, got ") + dataTypeName(lens.dtype));
        timeFirst_ = timeAxis == 0;
        steps_ = x.shape[static_cast<size_t>(timeAxis)];
        batch_ = x.shape[static_cast<size_t>(batchAxis)];
        if (lens.shape != Shape{batch_})
            throw KernelError("sequence_lens has shape " + shapeToString(lens.shape) + ", expected [" + std::to_string(batch_) + "]");
        blockBytes_ = static_cast<size_t>(layout::product(x.shape, 2, x.shape.size())) * elem;
        ctx.setOutput(0, x.dtype, x.shape);
    }

    void eval(EvalContext& ctx) override
    {
        const Tensor& x = ctx.input(0);
        const int64_t* lens = ctx.input(1).data<int64_t>();
        const auto* src = static_cast<const std::byte*>(x.raw());
        auto* dst = static_cast<std::byte*>(ctx.output(0).raw());
        for (int64_t b = 0; b < batch_; ++b) {
            const int64_t len = lens[b];
            if (len < 0 || len > steps_)
                throw KernelError("sequence_lens[" + std::to_string(b) + "] = " + std::to_string(len) + " is outside [0, " +
                                  std::to_string(steps_) + "]");
            for (int64_t t = 0; t < steps_; ++t) {
                const int64_t from = t < len ? len - 1 - t : t;
                std::memcpy(dst + offset(t, b), src + offset(from, b), blockBytes_);
            }
        }
    }

private:
    size_t offset(int64_t t, int64_t b) const
    {
        return static_cast<size_t>(timeFirst_ ? t * batch_ + b : b * steps_ + t) * blockBytes_;
    }

    bool timeFirst_ = true;
    int64_t steps_ = 0, batch_ = 0;
    size_t blockBytes_ = 0;
};

} // namespace

void register_reverse_sequence(KernelRegistry& r)
{
    r.add("ReverseSequence", "", layout::byteTypes(), make<ReverseSequence>);
}

} // namespace joule::rt
