// Cast (to = attribute "to", an ONNX TensorProto data type) and CastLike (to = the type of input 1)
// among float32, float64, float16, bfloat16, int8..uint64, bool and string. Float to integer
// truncates toward zero (out-of-range values are undefined, as in the spec); anything to bool is
// "x != 0"; float16 is rounded to nearest even. Float to bfloat16 truncates the float32 (keeps its
// upper 16 bits; NaN stays a quiet NaN), as the ONNX reference implementation and its backend tests
// do; from float64 it goes through float32 first.
// Strings: numbers are written in the shortest form that reads back to the same value (std::to_chars:
// "0.039187793", "1e-05"), infinities and NaN as "INF", "-INF", "NaN"; strings are read as the spec
// describes ("3.14", "1e-5", "1E8", "NaN", "INF", "+INF", "-INF"; integers in decimal); a string that
// is not a number is an error naming the element. bool <-> string is not supported.
#include "runtime/kernels/elementwise.h"
#include "runtime/kernels/float16.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

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
        const uint32_t bits = std::bit_cast<uint32_t>(convert<float>(x));
        if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return BHalf{static_cast<uint16_t>((bits >> 16) | 0x40u)};   // quiet NaN
        return BHalf{static_cast<uint16_t>(bits >> 16)};
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

// Number -> string.
template <typename From>
std::string formatNumber(From x)
{
    if constexpr (std::is_same_v<From, Half> || std::is_same_v<From, BHalf>) {
        return formatNumber(convert<float>(x));
    } else if constexpr (std::is_floating_point_v<From>) {
        if (std::isnan(x)) return "NaN";
        if (std::isinf(x)) return x > 0 ? "INF" : "-INF";
        char buf[64];
        auto r = std::to_chars(buf, buf + sizeof buf, x);
        return std::string(buf, r.ptr);
    } else {
        return std::to_string(x);
    }
}

template <typename From>
void toStringArray(const void* x, void* y, int64_t n)
{
    const From* in = static_cast<const From*>(x);
    std::string* out = static_cast<std::string*>(y);
    for (int64_t i = 0; i < n; ++i) out[i] = formatNumber(in[i]);
}

// String -> number; `index` only for the message.
template <typename To>
To parseNumber(const std::string& s, int64_t index)
{
    const char* begin = s.c_str();
    char* end = nullptr;
    errno = 0;
    To value{};
    if constexpr (std::is_same_v<To, Half> || std::is_same_v<To, BHalf> || std::is_floating_point_v<To>) {
        const double d = std::strtod(begin, &end);   // also "NaN", "INF", "+INF", "-INF"
        value = convert<To>(d);
    } else if constexpr (std::is_signed_v<To>) {
        value = static_cast<To>(std::strtoll(begin, &end, 10));
    } else {
        value = static_cast<To>(std::strtoull(begin, &end, 10));
    }
    if (end == begin || *end != '\0')
        throw KernelError("element " + std::to_string(index) + " '" + s + "' is not a number");
    return value;
}

template <typename To>
void fromStringArray(const void* x, void* y, int64_t n)
{
    const std::string* in = static_cast<const std::string*>(x);
    To* out = static_cast<To*>(y);
    for (int64_t i = 0; i < n; ++i) out[i] = parseNumber<To>(in[i], i);
}

void copyStrings(const void* x, void* y, int64_t n)
{
    std::copy_n(static_cast<const std::string*>(x), n, static_cast<std::string*>(y));
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
    case 8: return DataType::String;
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
    if (from == DataType::String && to == DataType::String) return &copyStrings;
    if (from == DataType::String || to == DataType::String) {
        const DataType other = from == DataType::String ? to : from;
        if (other != DataType::Bool)
            visitCastType(other, [&](auto tag) {
                using T = typename decltype(tag)::type;
                fn = from == DataType::String ? &fromStringArray<T> : &toStringArray<T>;
            });
        if (!fn)
            throw UnsupportedError(std::string("cast from ") + dataTypeName(from) + " to " + dataTypeName(to) +
                                   " is not supported");
        return fn;
    }
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
                throw UnsupportedError("cast to ONNX data type " + std::to_string(code) + " is not supported");
        }
        fn_ = castFunction(ctx.input(0).dtype, to);
        // String conversions run on one thread: they allocate and may throw on a bad element.
        serial_ = ctx.input(0).dtype == DataType::String || to == DataType::String;
        ctx.setOutput(0, to, ctx.input(0).shape);
    }

    void eval(EvalContext& ctx) override
    {
        const std::byte* x = static_cast<const std::byte*>(ctx.input(0).raw());
        std::byte* y = static_cast<std::byte*>(ctx.output(0).raw());
        const size_t inSize = elementSize(ctx.input(0).dtype()), outSize = elementSize(ctx.output(0).dtype());
        const CastFn fn = fn_;
        if (serial_) {
            fn(x, y, ctx.output(0).numel());
            return;
        }
        auto job = [&](int64_t b, int64_t e) { fn(x + b * inSize, y + b * outSize, e - b); };
        detail::runSplit(job, ctx.output(0).numel(), ctx.threads());
    }

private:
    CastFn fn_ = nullptr;
    bool serial_ = false;
};

} // namespace

void register_cast(KernelRegistry& r)
{
    r.add("Cast", "", {DataType::Undefined}, make<Cast<false>>, -1);
    r.add("CastLike", "", {DataType::Undefined}, make<Cast<true>>, -1);
}

} // namespace joule::rt
