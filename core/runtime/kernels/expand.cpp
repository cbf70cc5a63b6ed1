// Expand: y = x broadcast to broadcast(x.shape, shape), where `shape` (input 1, int64) must be
// known while preparing. Any element type (moved by its size).
#include "runtime/kernels/elementwise.h"

namespace joule::rt {
namespace {

template <typename W>
class Expand final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const Tensor& shapeValue = ctx.requireConstantInput(1);
        if (shapeValue.rank() != 1)
            throw KernelError("shape must be a 1-D tensor, got shape " + shapeToString(shapeValue.shape()));
        Shape requested = shapeValue.toInt64Vector();
        for (int64_t d : requested)
            if (d < 0) throw KernelError("shape " + shapeToString(requested) + " has a negative dimension");
        const Shape out = broadcastShapes(ctx.input(0).shape, requested);
        plan_.build({ctx.input(0).shape}, out);
        ctx.setOutput(0, ctx.input(0).dtype, out);
    }

    void eval(EvalContext& ctx) override
    {
        broadcastCopy(plan_, static_cast<const W*>(ctx.input(0).raw()), static_cast<W*>(ctx.output(0).raw()),
                      ctx.threads());
    }

private:
    BroadcastPlan<1> plan_;
};

} // namespace

void register_expand(KernelRegistry& r)
{
    r.add("Expand", "", {DataType::Bool, DataType::Int8, DataType::UInt8}, make<Expand<uint8_t>>);
    r.add("Expand", "", {DataType::Float16, DataType::Int16, DataType::UInt16}, make<Expand<uint16_t>>);
    r.add("Expand", "", {DataType::Float32, DataType::Int32, DataType::UInt32}, make<Expand<uint32_t>>);
    r.add("Expand", "", {DataType::Float64, DataType::Int64, DataType::UInt64}, make<Expand<uint64_t>>);
}

} // namespace joule::rt
