// Cast (to = attribute "to", an ONNX TensorProto data type) and CastLike (to = the type of input 1)
// among float32, float64, float16, int8..uint64 and bool. Float to integer truncates toward zero
// (out-of-range values are undefined, as in the spec); anything to bool is "x != 0"; float16 is
// rounded to nearest even; bfloat16 likewise (from float64 through float32). Strings are not supported.
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/float16.h"

#include <bit>
#include <cmath>

namespace joule::rt {
namespace {

// double -> float rounding to odd, so that a second rounding to float16 is correctly rounded.
float toFloatRoundOdd(double d)
{
    float f = static_cast<float>(d);
    if (static_cast<double>(f) == d || std::isnan(d)) return f;
    if (std::fabs(static_cast<double>(f)) > std::fabs(d)) f = std::nextafter(f, 0.0f);
    return std::bit_cast<float>(std::bit_cast<uint32_t>(f) | 1u);
}

// A bfloat16 element (the upper 16 bits of a float32).
struct BHalf {
    uint16_t bits;
};

template <typename To, typename From>
To convert(From x)
{
    if constexpr (std::is_same_v<From, BHalf>) {
        return convert<To>(bfloat16ToFloat(x.bits));
    } else if constexpr (std::is_same_v<To, BHalf>) {
        return BHalf{floatToBfloat16(convert<float>(x))};
    } else if constexpr (std::is_same_v<From, Half>) {
        return convert<To>(halfToFloat(x.bits));
    } else if constexpr (std::is_same_v<To, Half>) {
        if constexpr (std::is_same_v<From, double>) return Half{floatToHalf(toFloatRoundOdd(x))};
        else return Half{floatToHalf(static_cast<float>(x))};
    } else if constexpr (std::is_same_v<To, bool>) {
        return x != From(0);
    } else {
        return static_cast<To>(x);
    }
}

using CastFn = void (*)(const void* x, void* y, int64_t n);

template <typename From, typename To>
void castArray(const void* x, void* y, int64_t n)
{
    const From* in = static_cast<const From*>(x);
    To* out = static_cast<To*>(y);
    for (int64_t i = 0; i < n; ++i) out[i] = convert<To>(in[i]);
}

// visitType plus float16.
template <typename F>
bool visitCastType(DataType type, F&& f)
{
    if (type == DataType::Float16) {
        f(ew::TypeTag<Half>{});
        return true;
    }
    if (type == DataType::BFloat16) {
        f(ew::TypeTag<BHalf>{});
        return true;
    }
    return ew::visitType(type, f);
}

// ONNX TensorProto.DataType codes.
DataType fromOnnxCode(int64_t code)
{
    switch (code) {
    case 1: return DataType::Float32;
    case 2: return DataType::UInt8;
    case 3: return DataType::Int8;
    case 4: return DataType::UInt16;
    case 5: return DataType::Int16;
    case 6: return DataType::Int32;
    case 7: return DataType::Int64;
    case 9: return DataType::Bool;
    case 10: return DataType::Float16;
    case 11: return DataType::Float64;
    case 12: return DataType::UInt32;
    case 13: return DataType::UInt64;
    case 16: return DataType::BFloat16;
    default: return DataType::Undefined;
    }
}

CastFn castFunction(DataType from, DataType to)
{
    CastFn fn = nullptr;
    visitCastType(from, [&](auto fromTag) {
        visitCastType(to, [&](auto toTag) {
            fn = &castArray<typename decltype(fromTag)::type, typename decltype(toTag)::type>;
        });
    });
    if (!fn)
        throw UnsupportedError(std::string("cast from ") + dataTypeName(from) + " to " + dataTypeName(to) +
                               " is not supported");
    return fn;
}

// Cast when LikeInput is false, CastLike when true.
template <bool LikeInput>
class Cast final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        DataType to;
        if constexpr (LikeInput) {
            to = ctx.input(1).dtype;
        } else {
            if (!ctx.hasAttr("to")) throw KernelError("attribute 'to' is required");
            const int64_t code = ctx.attrInt("to", 0);
            to = fromOnnxCode(code);
            if (to == DataType::Undefined)
                throw UnsupportedError("cast to ONNX data type " + std::to_string(code) +
                                       (code == 8 ? " (string)" : "") + " is not supported");
        }
        fn_ = castFunction(ctx.input(0).dtype, to);
        ctx.setOutput(0, to, ctx.input(0).shape);
    }

    void eval(EvalContext& ctx) override
    {
        const std::byte* x = static_cast<const std::byte*>(ctx.input(0).raw());
        std::byte* y = static_cast<std::byte*>(ctx.output(0).raw());
        const size_t inSize = elementSize(ctx.input(0).dtype()), outSize = elementSize(ctx.output(0).dtype());
        const CastFn fn = fn_;
        auto job = [&](int64_t b, int64_t e) { fn(x + b * inSize, y + b * outSize, e - b); };
        detail::runSplit(job, ctx.output(0).numel(), ctx.threads());
    }

private:
    CastFn fn_ = nullptr;
};

} // namespace

void register_cast(KernelRegistry& r)
{
    r.add("Cast", "", {DataType::Undefined}, make<Cast<false>>, -1);
    r.add("CastLike", "", {DataType::Undefined}, make<Cast<true>>, -1);
}

} // namespace joule::rt
