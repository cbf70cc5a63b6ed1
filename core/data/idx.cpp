#include "data/idx.h"

#include "data/file_bytes.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>

namespace joule::data {

namespace {

bool hasZeroDim(const Shape& shape)
{
    return std::find(shape.begin(), shape.end(), 0) != shape.end();
}

struct IdxType { uint8_t code; DataType type; };
constexpr IdxType kIdxTypes[] = {
    {0x08, DataType::UInt8}, {0x09, DataType::Int8},    {0x0B, DataType::Int16},
    {0x0C, DataType::Int32}, {0x0D, DataType::Float32}, {0x0E, DataType::Float64},
};

std::string hex32(uint32_t v)
{
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08X", v);
    return buf;
}

uint32_t bigEndian32(const uint8_t* p)
{
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

// Reverses the bytes of each `width`-byte element in place (IDX is big-endian).
void swapElements(uint8_t* data, size_t count, size_t width)
{
    if (width == 1 || std::endian::native == std::endian::big) return;
    for (size_t i = 0; i < count; ++i) {
        uint8_t* e = data + i * width;
        for (size_t a = 0, b = width - 1; a < b; ++a, --b) std::swap(e[a], e[b]);
    }
}

} // namespace

uint32_t idxMagicFor(const Tensor& t)
{
    for (const auto& it : kIdxTypes)
        if (it.type == t.dtype() && t.rank() >= 1 && t.rank() <= 255) return uint32_t(it.code) << 8 | uint32_t(t.rank());
    return 0;
}

Tensor parseIdx(const std::vector<uint8_t>& bytes, const std::string& name)
{
    if (bytes.size() < 4) throw DataError(name + ": not an IDX file (only " + std::to_string(bytes.size()) + " bytes)");
    const uint32_t magic = bigEndian32(bytes.data());
    const IdxType* type = nullptr;
    for (const auto& it : kIdxTypes)
        if (bytes[2] == it.code) type = &it;
    const int rank = bytes[3];
    if (bytes[0] != 0 || bytes[1] != 0 || !type || rank == 0)
        throw DataError(name + ": not an IDX file (magic " + hex32(magic) + ")");
    const size_t headerSize = 4 + 4 * static_cast<size_t>(rank);
    if (bytes.size() < headerSize)
        throw DataError(name + ": IDX header truncated (magic " + hex32(magic) + " announces " + std::to_string(rank) +
                        " dimensions)");
    Shape shape;
    for (int i = 0; i < rank; ++i) shape.push_back(bigEndian32(bytes.data() + 4 + 4 * i));
    const size_t width = elementSize(type->type);
    const size_t available = bytes.size() - headerSize;
    // Stop multiplying once the product exceeds the data present (guards against overflow).
    uint64_t needed = width;
    bool tooLarge = false;
    for (int64_t d : hasZeroDim(shape) ? Shape{0} : shape) {
        if (d != 0 && needed > available / static_cast<uint64_t>(d)) tooLarge = true;
        if (!tooLarge) needed *= static_cast<uint64_t>(d);
    }
    if (tooLarge || needed != available)
        throw DataError(name + ": IDX size mismatch: header says " + dataTypeName(type->type) + " " + shapeToString(shape) +
                        " but " + std::to_string(available) + " data bytes follow");
    Tensor t(type->type, shape);
    if (needed) std::memcpy(t.raw(), bytes.data() + headerSize, needed);
    swapElements(static_cast<uint8_t*>(t.raw()), static_cast<size_t>(t.numel()), width);
    return t;
}

Tensor readIdx(const std::string& path)
{
    std::vector<uint8_t> bytes = readFileBytes(path);
    if (isGzip(bytes)) bytes = gunzip(bytes, path);
    return parseIdx(bytes, path);
}

} // namespace joule::data
