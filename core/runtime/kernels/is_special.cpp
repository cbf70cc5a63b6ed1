// IsNaN and IsInf (attributes detect_positive / detect_negative, both 1 by default): bool outputs
// of float / double inputs.
#include "runtime/kernels/elementwise.h"

#include <cmath>

namespace joule::rt {
namespace {

template <typename T, bool Inf>
class IsSpecial final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        if constexpr (Inf) {
            positive_ = ctx.attrInt("detect_positive", 1) != 0;
            negative_ = ctx.attrInt("detect_negative", 1) != 0;
        }
        ctx.setOutput(0, DataType::Bool, ctx.input(0).shape);
    }

    void eval(EvalContext& ctx) override
    {
        const bool positive = positive_, negative = negative_;
        mapUnary(ctx.input(0).data<T>(), ctx.output(0).data<bool>(), ctx.output(0).numel(),
                 [positive, negative](T x) {
                     if constexpr (Inf) return std::isinf(x) && (x > 0 ? positive : negative);
                     else return std::isnan(x);
                 },
                 ctx.threads());
    }

private:
    bool positive_ = true;
    bool negative_ = true;
};

template <typename T> using IsNaN = IsSpecial<T, false>;
template <typename T> using IsInf = IsSpecial<T, true>;

} // namespace

void register_is_special(KernelRegistry& r)
{
    ew::addForTypes<IsNaN>(r, "IsNaN", ew::FloatTypes{});
    ew::addForTypes<IsInf>(r, "IsInf", ew::FloatTypes{});
}

} // namespace joule::rt
