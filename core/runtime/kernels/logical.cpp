// And, Or, Xor (bool, numpy broadcasting) and Not (bool, elementwise).
#include "runtime/kernels/elementwise.h"

namespace joule::rt {
namespace {

struct AndOp {
    bool operator()(bool a, bool b) const { return a && b; }
};
struct OrOp {
    bool operator()(bool a, bool b) const { return a || b; }
};
struct XorOp {
    bool operator()(bool a, bool b) const { return a != b; }
};

template <typename Op>
class LogicalBinary final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        if (ctx.input(1).dtype != DataType::Bool)
            throw KernelError(std::string("input 1 has type ") + dataTypeName(ctx.input(1).dtype) + ", expected bool");
        plan_.build({ctx.input(0).shape, ctx.input(1).shape});
        ctx.setOutput(0, DataType::Bool, plan_.outputShape());
    }

    void eval(EvalContext& ctx) override
    {
        broadcastBinary(plan_, ctx.input(0).data<bool>(), ctx.input(1).data<bool>(), ctx.output(0).data<bool>(), Op{},
                        ctx.threads());
    }

private:
    BroadcastPlan<2> plan_;
};

class Not final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override { ctx.setOutput(0, DataType::Bool, ctx.input(0).shape); }

    void eval(EvalContext& ctx) override
    {
        mapUnary(ctx.input(0).data<bool>(), ctx.output(0).data<bool>(), ctx.output(0).numel(),
                 [](bool x) { return !x; }, ctx.threads());
    }
};

} // namespace

void register_logical(KernelRegistry& r)
{
    r.add("And", "", {DataType::Bool}, make<LogicalBinary<AndOp>>);
    r.add("Or", "", {DataType::Bool}, make<LogicalBinary<OrOp>>);
    r.add("Xor", "", {DataType::Bool}, make<LogicalBinary<XorOp>>);
    r.add("Not", "", {DataType::Bool}, make<Not>);
}

} // namespace joule::rt
