// Mod with numpy broadcasting. fmod = 0 (default; integers only): the remainder has the sign of
// the divisor, as Python's %. fmod = 1: the remainder has the sign of the dividend, as C's fmod.
// An integer remainder by 0 is 0.
#include "runtime/kernels/elementwise.h"

#include <cmath>

namespace joule::rt {
namespace {

template <typename T>
T truncatedRemainder(T a, T b)
{
    if constexpr (std::is_floating_point_v<T>) {
        return std::fmod(a, b);
    } else {
        if (b == 0) return 0;
        if constexpr (std::is_signed_v<T>)
            if (b == -1) return 0;
        return static_cast<T>(a % b);
    }
}

template <typename T>
T flooredRemainder(T a, T b)
{
    const T r = truncatedRemainder(a, b);
    if constexpr (std::is_signed_v<T>)
        if (r != 0 && ((r < 0) != (b < 0))) return static_cast<T>(r + b);
    return r;
}

template <typename T>
class Mod final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        if (ctx.input(1).dtype != ctx.input(0).dtype)
            throw KernelError(std::string("inputs have different types (") + dataTypeName(ctx.input(0).dtype) +
                              " and " + dataTypeName(ctx.input(1).dtype) + ")");
        fmod_ = ctx.attrInt("fmod", 0) != 0;
        if (!fmod_ && std::is_floating_point_v<T>)
            throw KernelError("fmod must be 1 for floating-point inputs");
        plan_.build({ctx.input(0).shape, ctx.input(1).shape});
        ctx.setOutput(0, ctx.input(0).dtype, plan_.outputShape());
    }

    void eval(EvalContext& ctx) override
    {
        const T* a = ctx.input(0).data<T>();
        const T* b = ctx.input(1).data<T>();
        T* y = ctx.output(0).data<T>();
        if (fmod_) broadcastBinary(plan_, a, b, y, [](T u, T v) { return truncatedRemainder(u, v); }, ctx.threads());
        else broadcastBinary(plan_, a, b, y, [](T u, T v) { return flooredRemainder(u, v); }, ctx.threads());
    }

private:
    bool fmod_ = false;
    BroadcastPlan<2> plan_;
};

} // namespace

void register_mod(KernelRegistry& r)
{
    ew::addForTypes<Mod>(r, "Mod", ew::NumericTypes{});
}

} // namespace joule::rt
