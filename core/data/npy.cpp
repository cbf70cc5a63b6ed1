#include "data/npy.h"

#include "data/file_bytes.h"
#include "data/zip_archive.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>
#include <limits>
#include <optional>

namespace joule::data {

static_assert(std::endian::native == std::endian::little, "the NPY reader assumes a little-endian host");

namespace {

bool hasZeroDim(const Shape& shape)
{
    return std::find(shape.begin(), shape.end(), 0) != shape.end();
}

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

struct NpyType { DataType type; const char* descr; };
constexpr NpyType kNpyTypes[] = {
    {DataType::Float32, "<f4"}, {DataType::Float64, "<f8"}, {DataType::Float16, "<f2"},
    {DataType::Int8, "|i1"},    {DataType::UInt8, "|u1"},   {DataType::Int16, "<i2"},
    {DataType::UInt16, "<u2"},  {DataType::Int32, "<i4"},   {DataType::UInt32, "<u4"},
    {DataType::Int64, "<i8"},   {DataType::UInt64, "<u8"},  {DataType::Bool, "|b1"},
};

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
struct Header {
    std::optional<std::string> descr;
    std::optional<bool> fortranOrder;
    std::optional<Shape> shape;
};

class HeaderParser {
public:
    HeaderParser(std::string text, const std::string& name) : s_(std::move(text)), name_(name) {}

    Header parse()
    {
        Header h;
        expect('{');
        while (!peek('}')) {
            const std::string key = quoted();
            expect(':');
            if (key == "descr") {
                if (peek('[')) fail("header field 'descr' is a structured dtype; only plain numeric arrays are supported");
                h.descr = quoted();
            } else if (key == "fortran_order") {
                h.fortranOrder = boolean();
            } else if (key == "shape") {
                h.shape = tuple();
            } else {
                skipValue();
            }
            if (!peek('}')) expect(',');
        }
        return h;
    }

private:
    [[noreturn]] void fail(const std::string& what) const { throw DataError(name_ + ": " + what); }
    [[noreturn]] void malformed() const { fail("malformed header '" + trimmed() + "'"); }
    std::string trimmed() const
    {
        std::string t = s_;
        while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
        return t.size() > 120 ? t.substr(0, 120) + "..." : t;
    }
    void skipSpace() { while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_; }
    bool peek(char c) { skipSpace(); return i_ < s_.size() && s_[i_] == c; }
    void expect(char c) { if (!peek(c)) malformed(); ++i_; }
    std::string quoted()
    {
        skipSpace();
        if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) malformed();
        const char q = s_[i_++];
        const size_t end = s_.find(q, i_);
        if (end == std::string::npos) malformed();
        std::string v = s_.substr(i_, end - i_);
        i_ = end + 1;
        return v;
    }
    bool boolean()
    {
        skipSpace();
        if (s_.compare(i_, 4, "True") == 0) { i_ += 4; return true; }
        if (s_.compare(i_, 5, "False") == 0) { i_ += 5; return false; }
        fail("header field 'fortran_order' is not True or False");
    }
    Shape tuple()
    {
        Shape shape;
        expect('(');
        while (!peek(')')) {
            skipSpace();
            if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_])))
                fail("header field 'shape' is not a tuple of non-negative integers");
            int64_t v = 0;
            while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
                if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) fail("header field 'shape' has a dimension that is too large");
                v = v * 10 + (s_[i_++] - '0');
            }
            if (i_ < s_.size() && s_[i_] == 'L') ++i_;   // Python 2 long literals
            shape.push_back(v);
            if (!peek(')')) expect(',');
        }
        ++i_;
        return shape;
    }
    void skipValue()
    {
        int depth = 0;
        for (skipSpace(); i_ < s_.size(); ++i_) {
            const char c = s_[i_];
            if (c == '\'' || c == '"') { quoted(); --i_; continue; }
            if (c == '(' || c == '[' || c == '{') ++depth;
            else if (c == ')' || c == ']' || c == '}') { if (depth == 0) return; --depth; }
            else if (c == ',' && depth == 0) return;
        }
    }

    std::string s_;
    const std::string& name_;
    size_t i_ = 0;
};

DataType typeFromDescr(const std::string& descr, const std::string& name)
{
    const std::string field = name + ": header field 'descr' is '" + descr + "'";
    if (descr.size() >= 2 && descr[1] == 'O') throw DataError(field + " (Python objects); only numeric arrays are supported");
    std::string normal = descr;
    if (!normal.empty() && normal[0] == '=') normal[0] = '<';   // native order on a little-endian host
    if (normal.size() == 3 && normal[2] == '1' && (normal[0] == '<' || normal[0] == '>')) normal[0] = '|';
    if (!normal.empty() && normal[0] == '>') throw DataError(field + " (big-endian); only little-endian data is supported");
    for (const auto& t : kNpyTypes)
        if (normal == t.descr) return t.type;
    throw DataError(field + "; supported dtypes: float32, float64, float16, int8, uint8, int16, uint16, int32, uint32, int64, uint64, bool");
}

const char* descrOf(DataType type)
{
    for (const auto& t : kNpyTypes)
        if (t.type == type) return t.descr;
    return nullptr;
}

std::string shapeLiteral(const Shape& shape)
{
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    if (shape.size() == 1) s += ",";
    return s + ")";
}

} // namespace

Tensor parseNpy(const uint8_t* bytes, size_t size, const std::string& name)
{
    if (size < kMagicSize + 2 || std::memcmp(bytes, kMagic, kMagicSize) != 0)
        throw DataError(name + ": not an NPY file (missing \\x93NUMPY magic)");
    const int major = bytes[6];
    size_t headerLength = 0, headerStart = 0;
    if (major == 1) {
        if (size < 10) throw DataError(name + ": truncated NPY header");
        headerLength = bytes[8] | size_t(bytes[9]) << 8;
        headerStart = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) throw DataError(name + ": truncated NPY header");
        headerLength = bytes[8] | size_t(bytes[9]) << 8 | size_t(bytes[10]) << 16 | size_t(bytes[11]) << 24;
        headerStart = 12;
    } else {
        throw DataError(name + ": unsupported NPY format version " + std::to_string(major) + "." + std::to_string(bytes[7]) +
                        " (supported: 1.0, 2.0, 3.0)");
    }
    if (headerLength > size - headerStart) throw DataError(name + ": truncated NPY header");
    const std::string text(reinterpret_cast<const char*>(bytes + headerStart), headerLength);
    const Header h = HeaderParser(text, name).parse();
    if (!h.descr) throw DataError(name + ": header has no field 'descr'");
    if (!h.fortranOrder) throw DataError(name + ": header has no field 'fortran_order'");
    if (!h.shape) throw DataError(name + ": header has no field 'shape'");
    const DataType type = typeFromDescr(*h.descr, name);
    const Shape& shape = *h.shape;
    // A Fortran-order array of at most one non-trivial dimension has the same bytes as C order,
    // but we follow NumPy's flag strictly so that files are never silently misread.
    if (*h.fortranOrder) throw DataError(name + ": header field 'fortran_order' is True; only C order is supported");

    const size_t available = size - headerStart - headerLength;
    uint64_t needed = elementSize(type);
    bool truncated = false;
    for (int64_t d : hasZeroDim(shape) ? Shape{0} : shape) {
        if (d != 0 && needed > available / static_cast<uint64_t>(d)) truncated = true;   // also guards overflow
        needed = truncated ? 0 : needed * static_cast<uint64_t>(d);
    }
    if (truncated || needed > available)
        throw DataError(name + ": data truncated: header field 'shape' is " + shapeLiteral(shape) + " of " +
                        dataTypeName(type) + " but the file holds only " + std::to_string(available) + " data bytes");
    Tensor t(type, shape);
    if (needed) std::memcpy(t.raw(), bytes + headerStart + headerLength, needed);
    if (type == DataType::Bool) {
        auto* p = static_cast<uint8_t*>(t.raw());
        for (size_t i = 0; i < needed; ++i) p[i] = p[i] ? 1 : 0;
    }
    return t;
}

Tensor readNpy(const std::string& path)
{
    const std::vector<uint8_t> bytes = readFileBytes(path);
    return parseNpy(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> encodeNpy(const Tensor& tensor, const std::string& name)
{
    const char* descr = descrOf(tensor.dtype());
    if (!descr) throw DataError(name + ": cannot store " + dataTypeName(tensor.dtype()) + " tensors in NPY");
    const std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " +
                             shapeLiteral(tensor.shape()) + ", }";
    // Pad with spaces and end with '\n' so that the data starts on a 64-byte boundary, as NumPy does.
    auto padded = [&](size_t prefix) {
        const size_t total = prefix + dict.size() + 1;
        return dict + std::string((64 - total % 64) % 64, ' ') + '\n';
    };
    std::vector<uint8_t> out(kMagic, kMagic + kMagicSize);
    std::string header = padded(10);
    if (header.size() <= 0xFFFF) {
        out.insert(out.end(), {1, 0, uint8_t(header.size() & 0xFF), uint8_t(header.size() >> 8)});
    } else {
        header = padded(12);
        const uint32_t n = static_cast<uint32_t>(header.size());
        out.insert(out.end(), {2, 0, uint8_t(n), uint8_t(n >> 8), uint8_t(n >> 16), uint8_t(n >> 24)});
    }
    out.insert(out.end(), header.begin(), header.end());
    const auto* data = static_cast<const uint8_t*>(tensor.raw());
    if (tensor.bytes()) out.insert(out.end(), data, data + tensor.bytes());
    return out;
}

void writeNpy(const std::string& path, const Tensor& tensor)
{
    const std::vector<uint8_t> bytes = encodeNpy(tensor, path);
    writeFileAtomically(path, bytes.data(), bytes.size());
}

std::map<std::string, Tensor> readNpz(const std::string& path)
{
    std::map<std::string, Tensor> arrays;
    for (const ZipMember& m : readZipArchive(path)) {
        std::string key = m.name;
        if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
        arrays[key] = parseNpy(m.bytes.data(), m.bytes.size(), path + ": member '" + m.name + "'");
    }
    return arrays;
}

} // namespace joule::data
