// BitShift: y = x << s or x >> s (attribute direction "LEFT" / "RIGHT") on unsigned integers, with
// numpy broadcasting. Shifting by the type's width or more gives 0.
#include "runtime/kernels/elementwise.h"

namespace joule::rt {
namespace {

template <typename T>
class BitShift final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        if (ctx.input(1).dtype != ctx.input(0).dtype)
            throw KernelError(std::string("inputs have different types (") + dataTypeName(ctx.input(0).dtype) +
                              " and " + dataTypeName(ctx.input(1).dtype) + ")");
        const std::string direction = ctx.attrString("direction", "");
        if (direction != "LEFT" && direction != "RIGHT")
            throw KernelError("direction must be LEFT or RIGHT, got '" + direction + "'");
        left_ = direction == "LEFT";
        plan_.build({ctx.input(0).shape, ctx.input(1).shape});
        ctx.setOutput(0, ctx.input(0).dtype, plan_.outputShape());
    }

    void eval(EvalContext& ctx) override
    {
        constexpr T width = sizeof(T) * 8;
        const T* x = ctx.input(0).data<T>();
        const T* s = ctx.input(1).data<T>();
        T* y = ctx.output(0).data<T>();
        if (left_)
            broadcastBinary(plan_, x, s, y, [](T v, T n) { return n >= width ? T(0) : static_cast<T>(v << n); }, ctx.threads());
        else
            broadcastBinary(plan_, x, s, y, [](T v, T n) { return n >= width ? T(0) : static_cast<T>(v >> n); }, ctx.threads());
    }

private:
    bool left_ = true;
    BroadcastPlan<2> plan_;
};

} // namespace

void register_bit_shift(KernelRegistry& r)
{
    ew::addForTypes<BitShift>(r, "BitShift", ew::TypeList<uint8_t, uint16_t, uint32_t, uint64_t>{});
}

} // namespace joule::rt
