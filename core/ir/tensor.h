#pragma once
// Tensors of the Joule IR.
//
//   joule::Tensor t(joule::DataType::Float32, {1, 3, 28, 28});   // owns zeroed storage
//   float* p = t.data<float>();
//   joule::Tensor v = joule::Tensor::view(DataType::Float32, {10}, arenaPtr);  // borrows memory
//
// A Tensor either owns its bytes (shared between copies: copying a Tensor is cheap and aliases
// the same storage; use clone() for a deep copy) or is a view of memory owned by someone else
// (an arena, a caller's buffer), which must outlive the view. Quantized tensors carry their
// QuantParams (scale / zero point, per tensor or per channel along `axis`).
//
// String tensors (DataType::String) hold std::string objects: data<std::string>() is an array of
// numel() strings. They are never copied as bytes: clone() and sameContents() copy / compare strings.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <optional>
#include <string>
#include <vector>

namespace joule {

enum class DataType : uint8_t {
    Undefined = 0,
    Float32,
    Float64,
    Float16,
    Int4,   // packed two per byte, low nibble first (ONNX INT4 layout)
    UInt4,
    Int8,
    UInt8,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    UInt64,
    Bool,
    BFloat16,
    String,   // std::string elements (ONNX STRING); owning tensors only, never in an arena
};

// IEEE half and bfloat16 bit patterns <-> float (round to nearest even).
float halfToFloat(uint16_t bits);
uint16_t floatToHalf(float value);
float bfloat16ToFloat(uint16_t bits);
uint16_t floatToBfloat16(float value);

// Bytes a tensor of `count` elements of `type` occupies (int4 packs two per byte; a string tensor's
// array of std::string objects, not the characters).
size_t storageBytes(DataType type, int64_t count);
// Bytes of one element; 0 for sub-byte types, sizeof(std::string) for String.
size_t elementSize(DataType type);
const char* dataTypeName(DataType type);    // "float32", "int8", ...
DataType dataTypeFromName(const std::string& name);  // Undefined if unknown
bool isFloating(DataType type);
bool isInteger(DataType type);

using Shape = std::vector<int64_t>;
// 1 for a scalar ([]). Throws std::length_error when the product does not fit in int64.
int64_t elementCount(const Shape& shape);
// Bytes that `shape` elements of `type` take, or std::nullopt when that does not fit in int64
// (an unknown, negative dimension counts as 1): for checking a declared size before allocating it.
std::optional<int64_t> checkedStorageBytes(DataType type, const Shape& shape);
std::string shapeToString(const Shape& shape);  // "[1,3,28,28]"

// Affine quantization: real = scale * (q - zero_point). Per tensor when scale has one element,
// otherwise per channel along `axis`.
struct QuantParams {
    std::vector<float> scale;
    std::vector<int32_t> zeroPoint;
    int axis = 0;
    bool perChannel() const { return scale.size() > 1; }
    bool operator==(const QuantParams&) const = default;
};

class Tensor {
public:
    Tensor() = default;
    // Owning, zero-initialised.
    Tensor(DataType type, Shape shape);
    // A view of `data`, not owned; `data` must outlive the tensor and every copy of it.
    static Tensor view(DataType type, Shape shape, void* data);
    // Owning scalar / vector helpers.
    template <typename T> static Tensor fromVector(DataType type, Shape shape, const std::vector<T>& values);

    DataType dtype() const { return type_; }
    const Shape& shape() const { return shape_; }
    int rank() const { return static_cast<int>(shape_.size()); }
    int64_t dim(int i) const { return shape_[static_cast<size_t>(i < 0 ? i + rank() : i)]; }
    int64_t numel() const { return elementCount(shape_); }
    size_t bytes() const { return storageBytes(type_, numel()); }
    bool empty() const { return type_ == DataType::Undefined; }
    bool ownsData() const { return owner_ != nullptr; }

    void* raw() { return data_; }
    const void* raw() const { return data_; }
    template <typename T> T* data() { return static_cast<T*>(data_); }
    template <typename T> const T* data() const { return static_cast<const T*>(data_); }
    template <typename T> std::span<const T> values() const { return {data<T>(), static_cast<size_t>(numel())}; }

    // Element `i` converted to double / int64 (any numeric type; for shape and attribute-like inputs;
    // std::logic_error for strings).
    double asDouble(int64_t i) const;
    int64_t asInt64(int64_t i) const;
    std::vector<int64_t> toInt64Vector() const;

    // Same bytes, new shape (element count must match).
    Tensor reshaped(Shape shape) const;
    Tensor clone() const;   // deep, owning copy

    const QuantParams* quant() const { return quant_.get(); }
    void setQuant(QuantParams q) { quant_ = std::make_shared<QuantParams>(std::move(q)); }
    void clearQuant() { quant_.reset(); }

    // Element-wise equality of type, shape and bytes.
    bool sameContents(const Tensor& other) const;

private:
    DataType type_ = DataType::Undefined;
    Shape shape_;
    std::shared_ptr<std::byte[]> owner_;
    void* data_ = nullptr;
    std::shared_ptr<QuantParams> quant_;
};

template <typename T>
Tensor Tensor::fromVector(DataType type, Shape shape, const std::vector<T>& values)
{
    Tensor t(type, std::move(shape));
    const size_t n = std::min(values.size(), static_cast<size_t>(t.numel()));
    for (size_t i = 0; i < n; ++i) t.data<T>()[i] = values[i];
    return t;
}

// Maps C++ types to DataType.
template <typename T> constexpr DataType dataTypeOf();
template <> constexpr DataType dataTypeOf<float>() { return DataType::Float32; }
template <> constexpr DataType dataTypeOf<double>() { return DataType::Float64; }
template <> constexpr DataType dataTypeOf<int8_t>() { return DataType::Int8; }
template <> constexpr DataType dataTypeOf<uint8_t>() { return DataType::UInt8; }
template <> constexpr DataType dataTypeOf<int16_t>() { return DataType::Int16; }
template <> constexpr DataType dataTypeOf<uint16_t>() { return DataType::UInt16; }
template <> constexpr DataType dataTypeOf<int32_t>() { return DataType::Int32; }
template <> constexpr DataType dataTypeOf<uint32_t>() { return DataType::UInt32; }
template <> constexpr DataType dataTypeOf<int64_t>() { return DataType::Int64; }
template <> constexpr DataType dataTypeOf<uint64_t>() { return DataType::UInt64; }
template <> constexpr DataType dataTypeOf<bool>() { return DataType::Bool; }
template <> constexpr DataType dataTypeOf<std::string>() { return DataType::String; }

} // namespace joule
