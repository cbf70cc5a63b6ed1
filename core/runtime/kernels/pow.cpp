// Pow: y = x ^ e with numpy broadcasting. The output has the base's type; the exponent may have
// any numeric type (opset 12+). Integer ^ integer is exact (wrapping); any other mix is computed
// in double and converted to the base type (truncating, as numpy's astype).
#include "runtime/kernels/elementwise.h"

#include <cmath>

namespace joule::rt {
namespace {

template <typename T, typename E>
T power(T x, E e)
{
    if constexpr (std::is_integral_v<T> && std::is_integral_v<E>) {
        if constexpr (std::is_signed_v<E>) {
            if (e < 0) {   // |x| > 1 truncates to 0
                if (x == 1) return 1;
                if constexpr (std::is_signed_v<T>)
                    if (x == -1) return (e % 2 == 0) ? T(1) : T(-1);
                return 0;
            }
        }
        T result = 1;
        T base = x;
        auto n = static_cast<std::make_unsigned_t<E>>(e);
        while (n) {
            if (n & 1u) result = ew::wrapMul(result, base);
            base = ew::wrapMul(base, base);
            n >>= 1;
        }
        return result;
    } else if constexpr (std::is_same_v<T, float> && std::is_same_v<E, float>) {
        return std::pow(x, e);
    } else {
        return static_cast<T>(std::pow(static_cast<double>(x), static_cast<double>(e)));
    }
}

template <typename T>
class Pow final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        plan_.build({ctx.input(0).shape, ctx.input(1).shape});
        const DataType et = ctx.input(1).dtype;
        run_ = nullptr;
        ew::visitType(et, [&](auto tag) {
            using E = typename decltype(tag)::type;
            if constexpr (!std::is_same_v<E, bool>) run_ = &Pow::run<E>;
        });
        if (!run_) throw UnsupportedError(std::string("exponent type ") + dataTypeName(et) + " is not supported");
        ctx.setOutput(0, ctx.input(0).dtype, plan_.outputShape());
    }

    void eval(EvalContext& ctx) override { run_(*this, ctx); }

private:
    template <typename E>
    static void run(Pow& self, EvalContext& ctx)
    {
        const T* x = ctx.input(0).data<T>();
        const E* e = ctx.input(1).data<E>();
        T* y = ctx.output(0).data<T>();
        if constexpr (std::is_floating_point_v<T>) {
            // x ^ 2 (a scalar exponent) is common in normalisation layers; avoid pow().
            if (ctx.input(1).numel() == 1 && static_cast<double>(e[0]) == 2.0) {
                broadcastBinary(self.plan_, x, e, y, [](T a, E) { return a * a; }, ctx.threads());
                return;
            }
        }
        broadcastBinary(self.plan_, x, e, y, [](T a, E b) { return power(a, b); }, ctx.threads());
    }

    BroadcastPlan<2> plan_;
    void (*run_)(Pow&, EvalContext&) = nullptr;
};

} // namespace

void register_pow(KernelRegistry& r)
{
    ew::addForTypes<Pow>(r, "Pow", ew::NumericTypes{});
}

} // namespace joule::rt
