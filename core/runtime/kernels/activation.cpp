// Activations with attributes, float and double: LeakyRelu, Elu, Selu, Celu, HardSigmoid,
// HardSwish, ThresholdedRelu, Shrink. Defaults are the spec's.
#include "runtime/kernels/elementwise.h"

#include <algorithm>
#include <cmath>

namespace joule::rt {
namespace {

struct LeakyReluOp {
    float alpha = 0.01f;
    LeakyReluOp() = default;
    explicit LeakyReluOp(const PrepareContext& ctx) : alpha(ctx.attrFloat("alpha", 0.01f)) {}
    template <typename T> T operator()(T x) const { return x < T(0) ? T(alpha) * x : x; }
};

struct EluOp {
    float alpha = 1.0f;
    EluOp() = default;
    explicit EluOp(const PrepareContext& ctx) : alpha(ctx.attrFloat("alpha", 1.0f)) {}
    template <typename T> T operator()(T x) const { return x < T(0) ? T(alpha) * (std::exp(x) - T(1)) : x; }
};

struct SeluOp {
    float alpha = 1.67326319217681884765625f;
    float gamma = 1.05070102214813232421875f;
    SeluOp() = default;
    explicit SeluOp(const PrepareContext& ctx)
        : alpha(ctx.attrFloat("alpha", 1.67326319217681884765625f)),
          gamma(ctx.attrFloat("gamma", 1.05070102214813232421875f)) {}
    template <typename T> T operator()(T x) const
    {
        return x > T(0) ? T(gamma) * x : T(gamma) * (T(alpha) * std::exp(x) - T(alpha));
    }
};

struct CeluOp {
    float alpha = 1.0f;
    CeluOp() = default;
    explicit CeluOp(const PrepareContext& ctx) : alpha(ctx.attrFloat("alpha", 1.0f))
    {
        if (alpha == 0.0f) throw KernelError("Celu alpha must not be 0");
    }
    template <typename T> T operator()(T x) const
    {
        return std::max(T(0), x) + std::min(T(0), T(alpha) * (std::exp(x / T(alpha)) - T(1)));
    }
};

struct HardSigmoidOp {
    float alpha = 0.2f;
    float beta = 0.5f;
    HardSigmoidOp() = default;
    explicit HardSigmoidOp(const PrepareContext& ctx)
        : alpha(ctx.attrFloat("alpha", 0.2f)), beta(ctx.attrFloat("beta", 0.5f)) {}
    template <typename T> T operator()(T x) const
    {
        return std::max(T(0), std::min(T(1), T(alpha) * x + T(beta)));
    }
};

struct HardSwishOp {
    // x * HardSigmoid(x) with alpha = 1/6, beta = 0.5.
    template <typename T> T operator()(T x) const
    {
        return x * std::max(T(0), std::min(T(1), x * T(1.0 / 6.0) + T(0.5)));
    }
};

struct ThresholdedReluOp {
    float alpha = 1.0f;
    ThresholdedReluOp() = default;
    explicit ThresholdedReluOp(const PrepareContext& ctx) : alpha(ctx.attrFloat("alpha", 1.0f)) {}
    template <typename T> T operator()(T x) const { return x > T(alpha) ? x : T(0); }
};

struct ShrinkOp {
    float lambd = 0.5f;
    float bias = 0.0f;
    ShrinkOp() = default;
    explicit ShrinkOp(const PrepareContext& ctx) : lambd(ctx.attrFloat("lambd", 0.5f)), bias(ctx.attrFloat("bias", 0.0f)) {}
    template <typename T> T operator()(T x) const
    {
        if (x < T(-lambd)) return x + T(bias);
        if (x > T(lambd)) return x - T(bias);
        return T(0);
    }
};

template <typename Op>
struct With {
    template <typename T> using Type = ew::UnaryKernel<T, Op>;
};

} // namespace

void register_activation(KernelRegistry& r)
{
    using namespace ew;
    addForTypes<With<LeakyReluOp>::Type>(r, "LeakyRelu", FloatTypes{});
    addForTypes<With<EluOp>::Type>(r, "Elu", FloatTypes{});
    addForTypes<With<SeluOp>::Type>(r, "Selu", FloatTypes{});
    addForTypes<With<CeluOp>::Type>(r, "Celu", FloatTypes{});
    addForTypes<With<HardSigmoidOp>::Type>(r, "HardSigmoid", FloatTypes{});
    addForTypes<With<HardSwishOp>::Type>(r, "HardSwish", FloatTypes{});
    addForTypes<With<ThresholdedReluOp>::Type>(r, "ThresholdedRelu", FloatTypes{});
    addForTypes<With<ShrinkOp>::Type>(r, "Shrink", FloatTypes{});
}

} // namespace joule::rt
