// Where: y = condition ? x : y with numpy broadcasting of all three inputs. Works on any element
// type through its size; the kernel is chosen by the type of x (input 1).
#include "runtime/kernels/elementwise.h"

namespace joule::rt {
namespace {

// W is an unsigned integer of the element's width: Where only moves elements.
template <typename W>
class Where final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        if (ctx.input(0).dtype != DataType::Bool)
            throw KernelError(std::string("condition has type ") + dataTypeName(ctx.input(0).dtype) + ", expected bool");
        if (ctx.input(2).dtype != ctx.input(1).dtype)
            throw KernelError(std::string("X and Y have different types (") + dataTypeName(ctx.input(1).dtype) +
                              " and " + dataTypeName(ctx.input(2).dtype) + ")");
        plan_.build({ctx.input(0).shape, ctx.input(1).shape, ctx.input(2).shape});
        ctx.setOutput(0, ctx.input(1).dtype, plan_.outputShape());
    }

    void eval(EvalContext& ctx) override
    {
        broadcastTernary(plan_, ctx.input(0).data<bool>(), static_cast<const W*>(ctx.input(1).raw()),
                         static_cast<const W*>(ctx.input(2).raw()), static_cast<W*>(ctx.output(0).raw()),
                         [](bool c, W x, W y) { return c ? x : y; }, ctx.threads());
    }

private:
    BroadcastPlan<3> plan_;
};

} // namespace

void register_where(KernelRegistry& r)
{
    r.add("Where", "", {DataType::Bool, DataType::Int8, DataType::UInt8}, make<Where<uint8_t>>, 1);
    r.add("Where", "", {DataType::Float16, DataType::Int16, DataType::UInt16}, make<Where<uint16_t>>, 1);
    r.add("Where", "", {DataType::Float32, DataType::Int32, DataType::UInt32}, make<Where<uint32_t>>, 1);
    r.add("Where", "", {DataType::Float64, DataType::Int64, DataType::UInt64}, make<Where<uint64_t>>, 1);
}

} // namespace joule::rt
