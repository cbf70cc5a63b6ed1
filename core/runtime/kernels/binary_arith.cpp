// Add, Sub, Mul, Div: y = a (op) b with numpy broadcasting, on every numeric type.
// Integer results wrap on overflow; integer Div truncates toward zero like C, gives 0 for a
// division by zero and wraps INT_MIN / -1.
#include "runtime/kernels/elementwise.h"

namespace joule::rt {
namespace {

struct AddOp {
    static constexpr bool kClampable = true;   // BinaryKernel may fuse a following Relu / Clip
    template <typename T> T operator()(T a, T b) const { return ew::wrapAdd(a, b); }
};
struct SubOp {
    template <typename T> T operator()(T a, T b) const { return ew::wrapSub(a, b); }
};
struct MulOp {
    template <typename T> T operator()(T a, T b) const { return ew::wrapMul(a, b); }
};
struct DivOp {
    template <typename T> T operator()(T a, T b) const
    {
        if constexpr (std::is_floating_point_v<T>) {
            return a / b;
        } else {
            if (b == 0) return 0;
            if constexpr (std::is_signed_v<T>)
                if (b == -1) return ew::wrapNeg(a);
            return static_cast<T>(a / b);
        }
    }
};

template <typename T, typename Op> using BinaryArith = ew::BinaryKernel<T, T, Op>;

template <typename T> using AddKernel = BinaryArith<T, AddOp>;
template <typename T> using SubKernel = BinaryArith<T, SubOp>;
template <typename T> using MulKernel = BinaryArith<T, MulOp>;
template <typename T> using DivKernel = BinaryArith<T, DivOp>;

} // namespace

void register_binary_arith(KernelRegistry& r)
{
    ew::addForTypes<AddKernel>(r, "Add", ew::NumericTypes{});
    ew::addForTypes<SubKernel>(r, "Sub", ew::NumericTypes{});
    ew::addForTypes<MulKernel>(r, "Mul", ew::NumericTypes{});
    ew::addForTypes<DivKernel>(r, "Div", ew::NumericTypes{});
}

} // namespace joule::rt
