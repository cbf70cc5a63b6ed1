// PRelu: y = x < 0 ? slope * x : x, where slope broadcasts to x's shape (unidirectionally).
#include "runtime/kernels/elementwise.h"

namespace joule::rt {
namespace {

template <typename T>
class PRelu final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        if (ctx.input(1).dtype != ctx.input(0).dtype)
            throw KernelError(std::string("slope has type ") + dataTypeName(ctx.input(1).dtype) + ", X has " +
                              dataTypeName(ctx.input(0).dtype));
        plan_.build({ctx.input(0).shape, ctx.input(1).shape}, ctx.input(0).shape);
        ctx.setOutput(0, ctx.input(0).dtype, ctx.input(0).shape);
    }

    void eval(EvalContext& ctx) override
    {
        broadcastBinary(plan_, ctx.input(0).data<T>(), ctx.input(1).data<T>(), ctx.output(0).data<T>(),
                        [](T x, T slope) { return x < T(0) ? ew::wrapMul(slope, x) : x; }, ctx.threads());
    }

private:
    BroadcastPlan<2> plan_;
};

} // namespace

void register_prelu(KernelRegistry& r)
{
    ew::addForTypes<PRelu>(r, "PRelu", ew::TypeList<float, double, int32_t, int64_t, uint32_t, uint64_t>{});
}

} // namespace joule::rt
