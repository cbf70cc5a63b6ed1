#include "ir/tensor.h"

#include <algorithm>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace joule {

size_t elementSize(DataType type)
{
    switch (type) {
    case DataType::Float64: case DataType::Int64: case DataType::UInt64: return 8;
    case DataType::Float32: case DataType::Int32: case DataType::UInt32: return 4;
    case DataType::Float16: case DataType::BFloat16: case DataType::Int16: case DataType::UInt16: return 2;
    case DataType::Int8: case DataType::UInt8: case DataType::Bool: return 1;
    case DataType::Int4: case DataType::UInt4: case DataType::Undefined: return 0;
    case DataType::String: return sizeof(std::string);
    }
    return 0;
}

size_t storageBytes(DataType type, int64_t count)
{
    if (type == DataType::Int4 || type == DataType::UInt4) return static_cast<size_t>((count + 1) / 2);
    return elementSize(type) * static_cast<size_t>(count);
}

namespace {
struct TypeName { DataType type; const char* name; };
constexpr TypeName kTypeNames[] = {
    {DataType::Float32, "float32"}, {DataType::Float64, "float64"}, {DataType::Float16, "float16"}, {DataType::BFloat16, "bfloat16"},
    {DataType::Int4, "int4"}, {DataType::UInt4, "uint4"}, {DataType::Int8, "int8"},
    {DataType::UInt8, "uint8"}, {DataType::Int16, "int16"}, {DataType::UInt16, "uint16"},
    {DataType::Int32, "int32"}, {DataType::UInt32, "uint32"}, {DataType::Int64, "int64"},
    {DataType::UInt64, "uint64"}, {DataType::Bool, "bool"}, {DataType::String, "string"},
};
} // namespace

const char* dataTypeName(DataType type)
{
    for (const auto& t : kTypeNames)
        if (t.type == type) return t.name;
    return "undefined";
}

DataType dataTypeFromName(const std::string& name)
{
    for (const auto& t : kTypeNames)
        if (name == t.name) return t.type;
    return DataType::Undefined;
}

bool isFloating(DataType type)
{
    return type == DataType::Float32 || type == DataType::Float64 || type == DataType::Float16 ||
           type == DataType::BFloat16;
}

bool isInteger(DataType type)
{
    return !isFloating(type) && type != DataType::Bool && type != DataType::Undefined && type != DataType::String;
}

float halfToFloat(uint16_t h)
{
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t mant = h & 0x3FFu;
    uint32_t bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (mant << 13);            // inf / nan
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (mant << 13);     // normal
    } else if (mant == 0) {
        bits = sign;                                          // zero
    } else {                                                  // subnormal: normalise
        exp = 113;
        while (!(mant & 0x400u)) { mant <<= 1; --exp; }
        bits = sign | (exp << 23) | ((mant & 0x3FFu) << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t floatToHalf(float value)
{
    uint32_t x;
    std::memcpy(&x, &value, 4);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    const uint32_t absx = x & 0x7FFFFFFFu;
    if (absx >= 0x7F800000u) return static_cast<uint16_t>(sign | 0x7C00u | (absx > 0x7F800000u ? 0x200u : 0u));
    if (absx >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);   // rounds to inf
    if (absx < 0x38800000u) {                                                // subnormal or zero
        if (absx < 0x33000000u) return sign;
        const uint32_t e = absx >> 23;
        const uint32_t m = (absx & 0x7FFFFFu) | 0x800000u;
        // value = m * 2^(e-150) = half * 2^-24, so half = m >> (126 - e), shift in [14, 24].
        const uint32_t shift = 126 - e;
        uint32_t half = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1);
        const uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u))) ++half;
        return static_cast<uint16_t>(sign | half);
    }
    uint32_t r = absx - 0x38000000u;   // rebias exponent
    const uint32_t rem = r & 0x1FFFu;
    r >>= 13;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
    return static_cast<uint16_t>(sign | r);
}

float bfloat16ToFloat(uint16_t bits)
{
    const uint32_t x = static_cast<uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}

uint16_t floatToBfloat16(float value)
{
    uint32_t x;
    std::memcpy(&x, &value, 4);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);   // quiet nan
    const uint32_t rounding = 0x7FFFu + ((x >> 16) & 1u);
    return static_cast<uint16_t>((x + rounding) >> 16);
}

int64_t elementCount(const Shape& shape)
{
    int64_t n = 1;
    for (int64_t d : shape)
        if (__builtin_mul_overflow(n, d, &n))
            throw std::length_error("shape " + shapeToString(shape) + " has more elements than fit in 64 bits");
    return n;
}

std::optional<int64_t> checkedStorageBytes(DataType type, const Shape& shape)
{
    int64_t n = 1;
    for (int64_t d : shape)
        if (__builtin_mul_overflow(n, d < 0 ? int64_t(1) : d, &n)) return std::nullopt;
    if (type == DataType::Int4 || type == DataType::UInt4) return n / 2 + n % 2;
    int64_t bytes = 0;
    if (__builtin_mul_overflow(n, static_cast<int64_t>(elementSize(type)), &bytes)) return std::nullopt;
    return bytes;
}

std::string shapeToString(const Shape& shape)
{
    std::ostringstream out;
    out << '[';
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) out << ',';
        if (shape[i] < 0) out << '?'; else out << shape[i];
    }
    out << ']';
    return out.str();
}

Tensor::Tensor(DataType type, Shape shape) : type_(type), shape_(std::move(shape))
{
    for (int64_t d : shape_)
        if (d < 0) throw std::invalid_argument("tensor shape " + shapeToString(shape_) + " has an unknown dimension");
    if (type_ == DataType::String) {
        // An array of empty strings, destroyed as such.
        const size_t count = static_cast<size_t>(std::max<int64_t>(numel(), 1));
        owner_ = std::shared_ptr<std::byte[]>(reinterpret_cast<std::byte*>(new std::string[count]),
                                              [](std::byte* p) { delete[] reinterpret_cast<std::string*>(p); });
        data_ = owner_.get();
        return;
    }
    const size_t n = std::max<size_t>(bytes(), 1);
    owner_ = std::shared_ptr<std::byte[]>(new std::byte[n]());
    data_ = owner_.get();
}

Tensor Tensor::view(DataType type, Shape shape, void* data)
{
    Tensor t;
    t.type_ = type;
    t.shape_ = std::move(shape);
    t.data_ = data;
    return t;
}

double Tensor::asDouble(int64_t i) const
{
    switch (type_) {
    case DataType::Float32: return data<float>()[i];
    case DataType::Float64: return data<double>()[i];
    case DataType::Int8: return data<int8_t>()[i];
    case DataType::UInt8: return data<uint8_t>()[i];
    case DataType::Int16: return data<int16_t>()[i];
    case DataType::UInt16: return data<uint16_t>()[i];
    case DataType::Int32: return data<int32_t>()[i];
    case DataType::UInt32: return data<uint32_t>()[i];
    case DataType::Int64: return static_cast<double>(data<int64_t>()[i]);
    case DataType::UInt64: return static_cast<double>(data<uint64_t>()[i]);
    case DataType::Bool: return data<bool>()[i] ? 1.0 : 0.0;
    case DataType::Float16: return halfToFloat(data<uint16_t>()[i]);
    case DataType::BFloat16: return bfloat16ToFloat(data<uint16_t>()[i]);
    case DataType::Int4: case DataType::UInt4: {
        const uint8_t byte = data<uint8_t>()[i / 2];
        int v = (i % 2) ? (byte >> 4) : (byte & 0x0F);
        if (type_ == DataType::Int4 && v >= 8) v -= 16;
        return v;
    }
    default: throw std::logic_error(std::string("cannot read elements of type ") + dataTypeName(type_));
    }
}

int64_t Tensor::asInt64(int64_t i) const
{
    switch (type_) {
    case DataType::Int64: return data<int64_t>()[i];
    case DataType::UInt64: return static_cast<int64_t>(data<uint64_t>()[i]);
    case DataType::Int32: return data<int32_t>()[i];
    default: return static_cast<int64_t>(asDouble(i));
    }
}

std::vector<int64_t> Tensor::toInt64Vector() const
{
    std::vector<int64_t> out(static_cast<size_t>(numel()));
    for (int64_t i = 0; i < numel(); ++i) out[static_cast<size_t>(i)] = asInt64(i);
    return out;
}

Tensor Tensor::reshaped(Shape shape) const
{
    if (elementCount(shape) != numel())
        throw std::invalid_argument("cannot reshape " + shapeToString(shape_) + " to " + shapeToString(shape));
    Tensor t = *this;
    t.shape_ = std::move(shape);
    return t;
}

Tensor Tensor::clone() const
{
    Tensor t(type_, shape_);
    if (type_ == DataType::String) std::copy_n(data<std::string>(), numel(), t.data<std::string>());
    else if (bytes()) std::memcpy(t.data_, data_, bytes());
    t.quant_ = quant_;
    return t;
}

bool Tensor::sameContents(const Tensor& other) const
{
    if (type_ != other.type_ || shape_ != other.shape_) return false;
    if (type_ == DataType::String) return std::equal(data<std::string>(), data<std::string>() + numel(), other.data<std::string>());
    return bytes() == 0 || std::memcmp(data_, other.data_, bytes()) == 0;
}

} // namespace joule
