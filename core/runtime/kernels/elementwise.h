#pragma once
// Shared pieces of the elementwise kernels: compile-time type lists, one-line registration of a
// kernel template for each type of a list, run-time dispatch from a DataType to a C++ type, and
// integer arithmetic that wraps instead of overflowing.
//
//   template <typename T> using AddKernel = BinaryArith<T, AddOp>;
//   addForTypes<AddKernel>(r, "Add", NumericTypes{});      // Add for float, double, int8, ... uint64
//
//   visitType(DataType::Int64, [&](auto tag) { using T = typename decltype(tag)::type; ... });
//
// Header-only; everything lives in joule::rt::ew.

#include "runtime/broadcast.h"
#include "runtime/registry.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

namespace joule::rt::ew {

template <typename... Ts> struct TypeList {};
template <typename T> struct TypeTag { using type = T; };

using FloatTypes = TypeList<float, double>;
using SignedTypes = TypeList<float, double, int8_t, int16_t, int32_t, int64_t>;
using IntegerTypes = TypeList<int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t>;
using NumericTypes = TypeList<float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t>;

// Registers K<T> for op under DataType dataTypeOf<T>() for every T of the list.
template <template <typename> class K, typename... Ts>
void addForTypes(KernelRegistry& r, const std::string& op, TypeList<Ts...>, int typeInput = 0)
{
    (r.add(op, "", {dataTypeOf<Ts>()}, make<K<Ts>>, typeInput), ...);
}

// Calls f(TypeTag<T>{}) for the C++ type of `type` among bool and the numeric types; returns false
// (without calling f) for any other type.
template <typename F>
bool visitType(DataType type, F&& f)
{
    switch (type) {
    case DataType::Float32: f(TypeTag<float>{}); return true;
    case DataType::Float64: f(TypeTag<double>{}); return true;
    case DataType::Int8: f(TypeTag<int8_t>{}); return true;
    case DataType::UInt8: f(TypeTag<uint8_t>{}); return true;
    case DataType::Int16: f(TypeTag<int16_t>{}); return true;
    case DataType::UInt16: f(TypeTag<uint16_t>{}); return true;
    case DataType::Int32: f(TypeTag<int32_t>{}); return true;
    case DataType::UInt32: f(TypeTag<uint32_t>{}); return true;
    case DataType::Int64: f(TypeTag<int64_t>{}); return true;
    case DataType::UInt64: f(TypeTag<uint64_t>{}); return true;
    case DataType::Bool: f(TypeTag<bool>{}); return true;
    default: return false;
    }
}

// An unsigned type at least as wide as int, so that arithmetic on it never overflows (wraps).
template <typename T>
using WrapType = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;

template <typename T> inline T wrapAdd(T a, T b)
{
    if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<WrapType<T>>(a) + static_cast<WrapType<T>>(b));
    else return a + b;
}
template <typename T> inline T wrapSub(T a, T b)
{
    if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<WrapType<T>>(a) - static_cast<WrapType<T>>(b));
    else return a - b;
}
template <typename T> inline T wrapMul(T a, T b)
{
    if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<WrapType<T>>(a) * static_cast<WrapType<T>>(b));
    else return a * b;
}
template <typename T> inline T wrapNeg(T a)
{
    if constexpr (std::is_integral_v<T>) return static_cast<T>(WrapType<T>(0) - static_cast<WrapType<T>>(a));
    else return -a;
}

// A one-input, same-shape, same-type kernel: y = Op(x). Op is default-constructed, or constructed
// in prepare() from the context when it has such a constructor (to read attributes), and applied
// per element with `T operator()(T) const`. An Op may also provide
// `static void block(const T* x, T* y, int64_t n)`, a vectorised loop over a contiguous block
// (Eigen's exp, tanh, ...), which is then used instead.
template <typename T, typename Op>
class UnaryKernel final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        if constexpr (std::is_constructible_v<Op, const PrepareContext&>) op_ = Op(ctx);
        ctx.setOutput(0, ctx.input(0).dtype, ctx.input(0).shape);
    }

    void eval(EvalContext& ctx) override
    {
        const T* x = ctx.input(0).data<T>();
        T* y = ctx.output(0).data<T>();
        const int64_t n = ctx.output(0).numel();
        if constexpr (requires { Op::block(x, y, n); }) {
            auto job = [x, y](int64_t b, int64_t e) { Op::block(x + b, y + b, e - b); };
            detail::runSplit(job, n, ctx.threads());
        } else {
            mapUnary(x, y, n, op_, ctx.threads());
        }
    }

private:
    Op op_{};
};

// y = op(a, b) with numpy broadcasting for two inputs of the same type T; y is of type Out (T for
// arithmetic, bool for comparisons). Op: `Out operator()(T, T) const`.
template <typename T, typename Out, typename Op>
class BinaryKernel final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        if (ctx.input(1).dtype != ctx.input(0).dtype)
            throw KernelError(std::string("inputs have different types (") + dataTypeName(ctx.input(0).dtype) +
                              " and " + dataTypeName(ctx.input(1).dtype) + ")");
        plan_.build({ctx.input(0).shape, ctx.input(1).shape});
        ctx.setOutput(0, dataTypeOf<Out>(), plan_.outputShape());
    }

    // A following Relu / Clip is applied to each value as it is computed, for ops that say they allow
    // it (Op::kClampable: Add, Sub, Mul on float; a residual Add + Relu is one pass instead of two).
    bool fuseActivation(float lo, float hi) override
    {
        if constexpr (std::is_same_v<T, float> && std::is_same_v<Out, float> && requires { Op::kClampable; }) {
            lo_ = lo;
            hi_ = hi;
            clamp_ = true;
            return true;
        }
        return false;
    }

    void eval(EvalContext& ctx) override
    {
        if constexpr (std::is_same_v<T, float> && std::is_same_v<Out, float> && requires { Op::kClampable; }) {
            if (clamp_) {
                const float lo = lo_, hi = hi_;
                auto clamped = [lo, hi](float a, float b) { return std::min(std::max(Op{}(a, b), lo), hi); };
                broadcastBinary(plan_, ctx.input(0).data<T>(), ctx.input(1).data<T>(), ctx.output(0).data<Out>(), clamped,
                                ctx.threads());
                return;
            }
        }
        broadcastBinary(plan_, ctx.input(0).data<T>(), ctx.input(1).data<T>(), ctx.output(0).data<Out>(), Op{},
                        ctx.threads());
    }

private:
    BroadcastPlan<2> plan_;
    bool clamp_ = false;
    float lo_ = 0, hi_ = 0;
};

} // namespace joule::rt::ew
