// Equal, Greater, Less, GreaterOrEqual, LessOrEqual: bool y = a (op) b with numpy broadcasting.
// Equal also compares bool tensors (opset 11+).
#include "runtime/kernels/elementwise.h"

namespace joule::rt {
namespace {

struct EqualOp {
    template <typename T> bool operator()(T a, T b) const { return a == b; }
};
struct GreaterOp {
    template <typename T> bool operator()(T a, T b) const { return a > b; }
};
struct LessOp {
    template <typename T> bool operator()(T a, T b) const { return a < b; }
};
struct GreaterOrEqualOp {
    template <typename T> bool operator()(T a, T b) const { return a >= b; }
};
struct LessOrEqualOp {
    template <typename T> bool operator()(T a, T b) const { return a <= b; }
};

template <typename T, typename Op> using Comparison = ew::BinaryKernel<T, bool, Op>;

template <typename T> using EqualKernel = Comparison<T, EqualOp>;
template <typename T> using GreaterKernel = Comparison<T, GreaterOp>;
template <typename T> using LessKernel = Comparison<T, LessOp>;
template <typename T> using GreaterOrEqualKernel = Comparison<T, GreaterOrEqualOp>;
template <typename T> using LessOrEqualKernel = Comparison<T, LessOrEqualOp>;

} // namespace

void register_comparison(KernelRegistry& r)
{
    ew::addForTypes<EqualKernel>(r, "Equal", ew::NumericTypes{});
    ew::addForTypes<EqualKernel>(r, "Equal", ew::TypeList<bool>{});
    ew::addForTypes<GreaterKernel>(r, "Greater", ew::NumericTypes{});
    ew::addForTypes<LessKernel>(r, "Less", ew::NumericTypes{});
    ew::addForTypes<GreaterOrEqualKernel>(r, "GreaterOrEqual", ew::NumericTypes{});
    ew::addForTypes<LessOrEqualKernel>(r, "LessOrEqual", ew::NumericTypes{});
}

} // namespace joule::rt
