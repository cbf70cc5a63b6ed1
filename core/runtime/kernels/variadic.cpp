// Max, Min, Sum, Mean: y = fold of any number (>= 1) of inputs with numpy broadcasting.
// Two inputs run as one broadcast pass; more inputs are folded into the output one at a time.
// Max and Min (all numeric types and float16) propagate NaN, as numpy's maximum / minimum; Sum and
// Mean are float / double; Mean is the sum divided by the count.
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/float16.h"

#include <cmath>
#include <vector>

namespace joule::rt {
namespace {

struct MaxOp {
    template <typename T> T operator()(T a, T b) const
    {
        if constexpr (std::is_floating_point_v<T>)
            if (b != b) return b;
        return a < b ? b : a;
    }
    Half operator()(Half a, Half b) const
    {
        const float fa = halfToFloat(a.bits), fb = halfToFloat(b.bits);
        return (fb != fb || fa < fb) ? b : a;
    }
};
struct MinOp {
    template <typename T> T operator()(T a, T b) const
    {
        if constexpr (std::is_floating_point_v<T>)
            if (b != b) return b;
        return b < a ? b : a;
    }
    Half operator()(Half a, Half b) const
    {
        const float fa = halfToFloat(a.bits), fb = halfToFloat(b.bits);
        return (fb != fb || fb < fa) ? b : a;
    }
};
struct SumOp {
    template <typename T> T operator()(T a, T b) const { return ew::wrapAdd(a, b); }
};

template <typename T, typename Op, bool IsMean>
class Variadic final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const size_t n = ctx.inputCount();
        if (n == 0) throw KernelError("needs at least one input");
        Shape out;
        for (size_t i = 0; i < n; ++i) {
            if (ctx.input(i).dtype != ctx.input(0).dtype)
                throw KernelError("input " + std::to_string(i) + " has type " + dataTypeName(ctx.input(i).dtype) +
                                  ", input 0 has " + dataTypeName(ctx.input(0).dtype));
            out = broadcastShapes(out, ctx.input(i).shape);
        }
        pair_ = n == 2;
        if (pair_) {
            pairPlan_.build({ctx.input(0).shape, ctx.input(1).shape});
        } else {
            firstPlan_.build({ctx.input(0).shape}, out);
            rest_.assign(n - 1, BroadcastPlan<2>{});
            for (size_t i = 1; i < n; ++i) rest_[i - 1].build({out, ctx.input(i).shape});
        }
        count_ = static_cast<int64_t>(n);
        ctx.setOutput(0, ctx.input(0).dtype, out);
    }

    void eval(EvalContext& ctx) override
    {
        T* y = ctx.output(0).data<T>();
        const int threads = ctx.threads();
        if (pair_) {
            broadcastBinary(pairPlan_, ctx.input(0).data<T>(), ctx.input(1).data<T>(), y, Op{}, threads);
        } else {
            broadcastCopy(firstPlan_, ctx.input(0).data<T>(), y, threads);
            for (size_t i = 0; i < rest_.size(); ++i)
                broadcastBinary(rest_[i], static_cast<const T*>(y), ctx.input(i + 1).data<T>(), y, Op{}, threads);
        }
        if constexpr (IsMean) {
            const T n = static_cast<T>(count_);
            mapUnary(static_cast<const T*>(y), y, ctx.output(0).numel(), [n](T v) { return v / n; }, threads);
        }
    }

private:
    bool pair_ = false;
    int64_t count_ = 1;
    BroadcastPlan<2> pairPlan_;
    BroadcastPlan<1> firstPlan_;
    std::vector<BroadcastPlan<2>> rest_;
};

template <typename T> using MaxKernel = Variadic<T, MaxOp, false>;
template <typename T> using MinKernel = Variadic<T, MinOp, false>;
template <typename T> using SumKernel = Variadic<T, SumOp, false>;
template <typename T> using MeanKernel = Variadic<T, SumOp, true>;

} // namespace

void register_variadic(KernelRegistry& r)
{
    ew::addForTypes<MaxKernel>(r, "Max", ew::NumericTypes{});
    ew::addForTypes<MinKernel>(r, "Min", ew::NumericTypes{});
    r.add("Max", "", {DataType::Float16}, make<MaxKernel<Half>>);
    r.add("Min", "", {DataType::Float16}, make<MinKernel<Half>>);
    ew::addForTypes<SumKernel>(r, "Sum", ew::FloatTypes{});
    ew::addForTypes<MeanKernel>(r, "Mean", ew::FloatTypes{});
}

} // namespace joule::rt
