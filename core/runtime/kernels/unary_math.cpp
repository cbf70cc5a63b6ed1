// Elementwise math without attributes: Sigmoid Tanh Exp Log Sqrt Erf Floor Ceil Round Reciprocal
// Softplus Softsign and the trigonometric / hyperbolic functions and their inverses (float,
// double), Neg (signed types), Abs Sign (all numeric types). float32 Exp, Sigmoid, Tanh,
// Erf and Sqrt run on the vectorised vmath functions.
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/vector_math.h"

#include <cmath>

namespace joule::rt {
namespace {

struct SigmoidOp {
    template <typename T> T operator()(T x) const { return T(1) / (T(1) + std::exp(-x)); }
    static void block(const float* x, float* y, int64_t n) { vmath::sigmoid(x, y, n); }
};
struct TanhOp {
    template <typename T> T operator()(T x) const { return std::tanh(x); }
    static void block(const float* x, float* y, int64_t n) { vmath::tanh(x, y, n); }
};
struct ExpOp {
    template <typename T> T operator()(T x) const { return std::exp(x); }
    static void block(const float* x, float* y, int64_t n) { vmath::exp(x, y, n); }
};
struct LogOp {
    template <typename T> T operator()(T x) const { return std::log(x); }
};
struct SqrtOp {
    template <typename T> T operator()(T x) const { return std::sqrt(x); }
    static void block(const float* x, float* y, int64_t n) { vmath::sqrt(x, y, n); }
};
struct ErfOp {
    template <typename T> T operator()(T x) const { return std::erf(x); }
    static void block(const float* x, float* y, int64_t n) { vmath::erf(x, y, n); }
};
struct FloorOp {
    template <typename T> T operator()(T x) const { return std::floor(x); }
};
struct CeilOp {
    template <typename T> T operator()(T x) const { return std::ceil(x); }
};
struct ReciprocalOp {
    template <typename T> T operator()(T x) const { return T(1) / x; }
};
struct SoftplusOp {
    // log(1 + e^x), written so that large x does not overflow.
    template <typename T> T operator()(T x) const
    {
        return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    }
};
struct RoundOp {
    // Half to even (the default floating-point rounding mode).
    template <typename T> T operator()(T x) const { return std::nearbyint(x); }
};
struct SoftsignOp {
    template <typename T> T operator()(T x) const { return x / (T(1) + std::fabs(x)); }
};
#define JOULE_STD_UNARY(Name, fn) \
    struct Name {                 \
        template <typename T> T operator()(T x) const { return std::fn(x); } \
    };
JOULE_STD_UNARY(SinOp, sin)
JOULE_STD_UNARY(CosOp, cos)
JOULE_STD_UNARY(TanOp, tan)
JOULE_STD_UNARY(AsinOp, asin)
JOULE_STD_UNARY(AcosOp, acos)
JOULE_STD_UNARY(AtanOp, atan)
JOULE_STD_UNARY(SinhOp, sinh)
JOULE_STD_UNARY(CoshOp, cosh)
JOULE_STD_UNARY(AsinhOp, asinh)
JOULE_STD_UNARY(AcoshOp, acosh)
JOULE_STD_UNARY(AtanhOp, atanh)
#undef JOULE_STD_UNARY
struct NegOp {
    template <typename T> T operator()(T x) const { return ew::wrapNeg(x); }
};
struct AbsOp {
    template <typename T> T operator()(T x) const
    {
        if constexpr (std::is_floating_point_v<T>) return std::fabs(x);
        else if constexpr (std::is_signed_v<T>) return x < 0 ? ew::wrapNeg(x) : x;
        else return x;
    }
};
struct SignOp {
    // -1, 0 or 1; NaN stays NaN.
    template <typename T> T operator()(T x) const
    {
        if constexpr (std::is_signed_v<T>) return x > T(0) ? T(1) : (x < T(0) ? T(-1) : x);
        else return x > T(0) ? T(1) : T(0);
    }
};

template <typename Op>
struct With {
    template <typename T> using Type = ew::UnaryKernel<T, Op>;
};

} // namespace

void register_unary_math(KernelRegistry& r)
{
    using namespace ew;
    addForTypes<With<SigmoidOp>::Type>(r, "Sigmoid", FloatTypes{});
    addForTypes<With<TanhOp>::Type>(r, "Tanh", FloatTypes{});
    addForTypes<With<ExpOp>::Type>(r, "Exp", FloatTypes{});
    addForTypes<With<LogOp>::Type>(r, "Log", FloatTypes{});
    addForTypes<With<SqrtOp>::Type>(r, "Sqrt", FloatTypes{});
    addForTypes<With<ErfOp>::Type>(r, "Erf", FloatTypes{});
    addForTypes<With<FloorOp>::Type>(r, "Floor", FloatTypes{});
    addForTypes<With<CeilOp>::Type>(r, "Ceil", FloatTypes{});
    addForTypes<With<ReciprocalOp>::Type>(r, "Reciprocal", FloatTypes{});
    addForTypes<With<SoftplusOp>::Type>(r, "Softplus", FloatTypes{});
    addForTypes<With<RoundOp>::Type>(r, "Round", FloatTypes{});
    addForTypes<With<SoftsignOp>::Type>(r, "Softsign", FloatTypes{});
    addForTypes<With<SinOp>::Type>(r, "Sin", FloatTypes{});
    addForTypes<With<CosOp>::Type>(r, "Cos", FloatTypes{});
    addForTypes<With<TanOp>::Type>(r, "Tan", FloatTypes{});
    addForTypes<With<AsinOp>::Type>(r, "Asin", FloatTypes{});
    addForTypes<With<AcosOp>::Type>(r, "Acos", FloatTypes{});
    addForTypes<With<AtanOp>::Type>(r, "Atan", FloatTypes{});
    addForTypes<With<SinhOp>::Type>(r, "Sinh", FloatTypes{});
    addForTypes<With<CoshOp>::Type>(r, "Cosh", FloatTypes{});
    addForTypes<With<AsinhOp>::Type>(r, "Asinh", FloatTypes{});
    addForTypes<With<AcoshOp>::Type>(r, "Acosh", FloatTypes{});
    addForTypes<With<AtanhOp>::Type>(r, "Atanh", FloatTypes{});
    addForTypes<With<NegOp>::Type>(r, "Neg", SignedTypes{});
    addForTypes<With<AbsOp>::Type>(r, "Abs", NumericTypes{});
    addForTypes<With<SignOp>::Type>(r, "Sign", NumericTypes{});
}

} // namespace joule::rt
