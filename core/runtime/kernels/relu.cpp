// Relu: y = max(x, 0), on float, double and the signed integer types (opset 14).
#include "runtime/kernels/elementwise.h"

namespace joule::rt {
namespace {

template <typename T>
class Relu final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        ctx.setOutput(0, ctx.input(0).dtype, ctx.input(0).shape);
    }

    void eval(EvalContext& ctx) override
    {
        mapUnary(ctx.input(0).data<T>(), ctx.output(0).data<T>(), ctx.output(0).numel(),
                 [](T x) { return x < T(0) ? T(0) : x; }, ctx.threads());
    }
};

} // namespace

void register_relu(KernelRegistry& r)
{
    ew::addForTypes<Relu>(r, "Relu", ew::SignedTypes{});
}

} // namespace joule::rt
