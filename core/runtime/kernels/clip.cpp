// Clip: y = min(max(x, lo), hi). Before opset 11 the bounds are the attributes min / max (float
// types only); from opset 11 they are optional scalar inputs 1 and 2, read when the node runs.
// Missing bounds are the type's limits; when lo > hi every element becomes hi.
#include "runtime/kernels/elementwise.h"

#include <algorithm>
#include <limits>

namespace joule::rt {
namespace {

template <typename T>
class Clip final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        lo_ = std::numeric_limits<T>::lowest();
        hi_ = std::numeric_limits<T>::max();
        boundInputs_ = ctx.opset() >= 11;
        if (!boundInputs_) {
            if constexpr (std::is_floating_point_v<T>) {
                lo_ = static_cast<T>(ctx.attrFloat("min", std::numeric_limits<float>::lowest()));
                hi_ = static_cast<T>(ctx.attrFloat("max", std::numeric_limits<float>::max()));
            } else {
                throw KernelError(std::string("Clip before opset 11 is defined for float types only, not ") +
                                  dataTypeName(ctx.input(0).dtype));
            }
        } else {
            for (size_t i = 1; i < 3; ++i) {
                if (!ctx.hasInput(i)) continue;
                if (ctx.input(i).dtype != ctx.input(0).dtype)
                    throw KernelError(std::string(i == 1 ? "min" : "max") + " has type " +
                                      dataTypeName(ctx.input(i).dtype) + ", input has " + dataTypeName(ctx.input(0).dtype));
                if (ctx.input(i).numel() != 1)
                    throw KernelError(std::string(i == 1 ? "min" : "max") + " must be a scalar, got shape " +
                                      shapeToString(ctx.input(i).shape));
            }
        }
        ctx.setOutput(0, ctx.input(0).dtype, ctx.input(0).shape);
    }

    void eval(EvalContext& ctx) override
    {
        T lo = lo_, hi = hi_;
        if (boundInputs_) {
            if (ctx.hasInput(1)) lo = ctx.input(1).data<T>()[0];
            if (ctx.hasInput(2)) hi = ctx.input(2).data<T>()[0];
        }
        mapUnary(ctx.input(0).data<T>(), ctx.output(0).data<T>(), ctx.output(0).numel(),
                 [lo, hi](T x) { return std::min(std::max(x, lo), hi); }, ctx.threads());
    }

private:
    bool boundInputs_ = true;
    T lo_{};
    T hi_{};
};

} // namespace

void register_clip(KernelRegistry& r)
{
    ew::addForTypes<Clip>(r, "Clip", ew::NumericTypes{});
}

} // namespace joule::rt
