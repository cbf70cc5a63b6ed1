#pragma once
// Shared pieces of the tensor-family kernels (Transpose, Slice, Pad, Concat, ...): these ops only
// move bytes, so they work on any element type through its size.
//
//   StridedCopy copy;
//   copy.plan(outShape, srcStridesInElements, elementSize(dtype));   // prepare()
//   copy.run(srcBytes, dstBytes);                                       // eval(), no allocation
//
// Header-only; everything lives in joule::rt::layout.

#include "runtime/kernel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace joule::rt::layout {

// Every data type whose elements are whole bytes (all but Undefined and the packed int4 types).
inline std::vector<DataType> byteTypes()
{
    return {DataType::Float32, DataType::Float64, DataType::Float16, DataType::Int8, DataType::UInt8,
            DataType::Int16, DataType::UInt16, DataType::Int32, DataType::UInt32, DataType::Int64,
            DataType::UInt64, DataType::Bool};
}

// Bytes per element of input `i`; UnsupportedError for packed (int4) or undefined types.
inline size_t byteWidth(const PrepareContext& ctx, size_t i)
{
    const size_t es = elementSize(ctx.input(i).dtype);
    if (es == 0)
        throw UnsupportedError(std::string("input ") + std::to_string(i) + " has type " +
                               dataTypeName(ctx.input(i).dtype) + ", which this op does not support");
    return es;
}

// `axis` in [-rank, rank) mapped to [0, rank); KernelError naming `what` otherwise.
inline int normalizeAxis(int64_t axis, int64_t rank, const char* what = "axis")
{
    if (axis < -rank || axis >= rank)
        throw KernelError(std::string(what) + " " + std::to_string(axis) + " is out of range for rank " +
                          std::to_string(rank));
    return static_cast<int>(axis < 0 ? axis + rank : axis);
}

// "[2,-1,0]" — for messages about shape-like inputs (shapeToString prints negatives as '?').
inline std::string intsToString(const std::vector<int64_t>& v)
{
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) s += ',';
        s += std::to_string(v[i]);
    }
    s += ']';
    return s;
}

inline std::vector<int64_t> contiguousStrides(const Shape& shape)
{
    std::vector<int64_t> strides(shape.size(), 1);
    for (size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
    return strides;
}

inline int64_t product(const Shape& shape, size_t begin, size_t end)
{
    int64_t n = 1;
    for (size_t i = begin; i < end && i < shape.size(); ++i) n *= shape[i];
    return n;
}

// Integer values of a constant 1-D (or scalar) input, e.g. Reshape's shape or Slice's starts.
inline std::vector<int64_t> constantInts(PrepareContext& ctx, size_t i, const char* what)
{
    const Tensor& t = ctx.requireConstantInput(i);
    if (!isInteger(t.dtype()))
        throw KernelError(std::string(what) + " must be an integer tensor, got " + dataTypeName(t.dtype()));
    if (t.rank() > 1)
        throw KernelError(std::string(what) + " must be 1-D, got shape " + shapeToString(t.shape()));
    return t.toInt64Vector();
}

// Copies one element of `size` bytes; the switch lets the compiler use plain loads and stores.
inline void copyElement(std::byte* dst, const std::byte* src, size_t size)
{
    switch (size) {
    case 1: *dst = *src; break;
    case 2: std::memcpy(dst, src, 2); break;
    case 4: std::memcpy(dst, src, 4); break;
    case 8: std::memcpy(dst, src, 8); break;
    default: std::memcpy(dst, src, size); break;
    }
}

// Fills `count` elements of `size` bytes at dst with the element at `value`.
inline void fillElements(std::byte* dst, const std::byte* value, size_t size, int64_t count)
{
    if (count <= 0) return;
    bool allZero = true;
    for (size_t b = 0; b < size; ++b) allZero = allZero && value[b] == std::byte{0};
    if (allZero) { std::memset(dst, 0, size * static_cast<size_t>(count)); return; }
    for (int64_t i = 0; i < count; ++i) copyElement(dst + static_cast<size_t>(i) * size, value, size);
}

// IEEE binary16 from a float, rounding to nearest even.
inline uint16_t floatToHalf(float value)
{
    uint32_t f;
    std::memcpy(&f, &value, 4);
    const uint32_t sign = (f >> 16) & 0x8000u;
    const uint32_t absF = f & 0x7FFFFFFFu;
    if (absF >= 0x7F800000u) return static_cast<uint16_t>(sign | 0x7C00u | (absF > 0x7F800000u ? 0x200u : 0u));
    if (absF >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);   // overflows to infinity
    if (absF < 0x38800000u) {                                                  // subnormal or zero
        if (absF < 0x33000000u) return static_cast<uint16_t>(sign);
        const uint32_t mant = (absF & 0x7FFFFFu) | 0x800000u;
        const int shift = 126 - static_cast<int>(absF >> 23);   // 14..24
        uint32_t half = mant >> shift;
        const uint32_t rest = mant & ((1u << shift) - 1u);
        const uint32_t halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
        return static_cast<uint16_t>(sign | half);
    }
    uint32_t half = ((absF - 0x38000000u) >> 13);
    const uint32_t rest = absF & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
}

// Writes `value` converted to `type` at dst (for attribute-given fill values).
inline void storeScalar(DataType type, double value, void* dst)
{
    auto put = [dst](auto v) { std::memcpy(dst, &v, sizeof(v)); };
    switch (type) {
    case DataType::Float32: put(static_cast<float>(value)); break;
    case DataType::Float64: put(value); break;
    case DataType::Float16: put(floatToHalf(static_cast<float>(value))); break;
    case DataType::Int8: put(static_cast<int8_t>(value)); break;
    case DataType::UInt8: put(static_cast<uint8_t>(value)); break;
    case DataType::Int16: put(static_cast<int16_t>(value)); break;
    case DataType::UInt16: put(static_cast<uint16_t>(value)); break;
    case DataType::Int32: put(static_cast<int32_t>(value)); break;
    case DataType::UInt32: put(static_cast<uint32_t>(value)); break;
    case DataType::Int64: put(static_cast<int64_t>(value)); break;
    case DataType::UInt64: put(static_cast<uint64_t>(value)); break;
    case DataType::Bool: put(static_cast<uint8_t>(value != 0.0)); break;
    default: throw UnsupportedError(std::string("cannot store a value of type ") + dataTypeName(type));
    }
}

// Copies a strided view of a source tensor into a contiguous destination of shape `outShape`.
// Source strides are in elements and may be negative (reversed slices) or zero (broadcast);
// `srcOffset` is the element offset of the first copied element. plan() merges dimensions that
// stay adjacent and finds the longest contiguous inner run, so run() does one memcpy per run.
class StridedCopy {
public:
    void plan(const Shape& outShape, const std::vector<int64_t>& srcStrides, size_t elemBytes, int64_t srcOffset = 0)
    {
        elem_ = elemBytes;
        offset_ = srcOffset * static_cast<int64_t>(elemBytes);
        total_ = elementCount(outShape);
        count_.clear();
        srcStride_.clear();
        for (size_t d = 0; d < outShape.size(); ++d) {
            if (outShape[d] == 1) continue;
            if (!count_.empty() && srcStride_.back() == srcStrides[d] * outShape[d]) {
                count_.back() *= outShape[d];
                srcStride_.back() = srcStrides[d];
            } else {
                count_.push_back(outShape[d]);
                srcStride_.push_back(srcStrides[d]);
            }
        }
        dstStride_.assign(count_.size(), 1);
        for (size_t d = count_.size(); d-- > 1;) dstStride_[d - 1] = dstStride_[d] * count_[d];
        for (auto& s : srcStride_) s *= static_cast<int64_t>(elemBytes);
        for (auto& s : dstStride_) s *= static_cast<int64_t>(elemBytes);
        // Innermost dimension contiguous in the source: copy it as one run.
        innerRun_ = !count_.empty() && srcStride_.back() == static_cast<int64_t>(elemBytes);
    }

    void run(const void* src, void* dst) const
    {
        if (total_ == 0) return;
        const auto* s = static_cast<const std::byte*>(src) + offset_;
        auto* d = static_cast<std::byte*>(dst);
        if (count_.empty()) { std::memcpy(d, s, elem_); return; }
        copyDim(0, s, d);
    }

private:
    void copyDim(size_t dim, const std::byte* src, std::byte* dst) const
    {
        const int64_t n = count_[dim];
        const int64_t ss = srcStride_[dim];
        const int64_t ds = dstStride_[dim];
        if (dim + 1 == count_.size()) {
            if (innerRun_) { std::memcpy(dst, src, static_cast<size_t>(n) * elem_); return; }
            switch (elem_) {
            case 1: for (int64_t i = 0; i < n; ++i) dst[i] = src[i * ss]; break;
            case 4: copyStrided<uint32_t>(dst, src, n, ss); break;
            case 2: copyStrided<uint16_t>(dst, src, n, ss); break;
            case 8: copyStrided<uint64_t>(dst, src, n, ss); break;
            default: for (int64_t i = 0; i < n; ++i) copyElement(dst + i * ds, src + i * ss, elem_); break;
            }
            return;
        }
        for (int64_t i = 0; i < n; ++i) copyDim(dim + 1, src + i * ss, dst + i * ds);
    }

    template <typename T>
    static void copyStrided(std::byte* dst, const std::byte* src, int64_t n, int64_t srcStrideBytes)
    {
        for (int64_t i = 0; i < n; ++i) {
            T v;
            std::memcpy(&v, src + i * srcStrideBytes, sizeof(T));
            std::memcpy(dst + i * static_cast<int64_t>(sizeof(T)), &v, sizeof(T));
        }
    }

    size_t elem_ = 0;
    int64_t offset_ = 0;
    int64_t total_ = 0;
    bool innerRun_ = false;
    std::vector<int64_t> count_, srcStride_, dstStride_;   // bytes for the strides
};

} // namespace joule::rt::layout
