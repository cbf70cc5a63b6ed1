#include "onnx/tensor_proto.h"
#include "onnx/onnx_io.h"

#include <onnx/onnx-data_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace joule::onnx {

using ::onnx::TensorProto;
namespace fs = std::filesystem;

DataType dataTypeFromOnnx(int32_t t)
{
    switch (t) {
    case TensorProto::FLOAT: return DataType::Float32;
    case TensorProto::DOUBLE: return DataType::Float64;
    case TensorProto::FLOAT16: return DataType::Float16;
    case TensorProto::BFLOAT16: return DataType::BFloat16;
    case TensorProto::INT8: return DataType::Int8;
    case TensorProto::UINT8: return DataType::UInt8;
    case TensorProto::INT16: return DataType::Int16;
    case TensorProto::UINT16: return DataType::UInt16;
    case TensorProto::INT32: return DataType::Int32;
    case TensorProto::UINT32: return DataType::UInt32;
    case TensorProto::INT64: return DataType::Int64;
    case TensorProto::UINT64: return DataType::UInt64;
    case TensorProto::BOOL: return DataType::Bool;
    case TensorProto::STRING: return DataType::String;
    case 22: return DataType::Int4;    // INT4 (ONNX 1.16)
    case 21: return DataType::UInt4;   // UINT4
    default: return DataType::Undefined;
    }
}

int32_t dataTypeToOnnx(DataType t)
{
    switch (t) {
    case DataType::Float32: return TensorProto::FLOAT;
    case DataType::Float64: return TensorProto::DOUBLE;
    case DataType::Float16: return TensorProto::FLOAT16;
    case DataType::BFloat16: return TensorProto::BFLOAT16;
    case DataType::Int8: return TensorProto::INT8;
    case DataType::UInt8: return TensorProto::UINT8;
    case DataType::Int16: return TensorProto::INT16;
    case DataType::UInt16: return TensorProto::UINT16;
    case DataType::Int32: return TensorProto::INT32;
    case DataType::UInt32: return TensorProto::UINT32;
    case DataType::Int64: return TensorProto::INT64;
    case DataType::UInt64: return TensorProto::UINT64;
    case DataType::Bool: return TensorProto::BOOL;
    case DataType::String: return TensorProto::STRING;
    case DataType::Int4: return 22;
    case DataType::UInt4: return 21;
    case DataType::Undefined: break;
    }
    return TensorProto::UNDEFINED;
}

namespace {

std::string elemTypeName(int32_t t)
{
    return TensorProto::DataType_IsValid(t) ? TensorProto::DataType_Name(static_cast<TensorProto::DataType>(t))
                                            : "type " + std::to_string(t);
}

// The field's value count was checked against the shape before `out` was allocated (tensorFromProto).
template <typename Src>
void storeTyped(Tensor& out, const Src& field)
{
    const int64_t n = out.numel();
    const int64_t expected = (out.dtype() == DataType::Int4 || out.dtype() == DataType::UInt4) ? (n + 1) / 2 : n;
    for (int64_t i = 0; i < expected; ++i) {
        const auto v = field.Get(static_cast<int>(i));
        switch (out.dtype()) {
        case DataType::Float32: out.data<float>()[i] = static_cast<float>(v); break;
        case DataType::Float64: out.data<double>()[i] = static_cast<double>(v); break;
        case DataType::Float16: case DataType::BFloat16: out.data<uint16_t>()[i] = static_cast<uint16_t>(v); break;
        case DataType::Int8: out.data<int8_t>()[i] = static_cast<int8_t>(v); break;
        case DataType::UInt8: case DataType::Int4: case DataType::UInt4: out.data<uint8_t>()[i] = static_cast<uint8_t>(v); break;
        case DataType::Int16: out.data<int16_t>()[i] = static_cast<int16_t>(v); break;
        case DataType::UInt16: out.data<uint16_t>()[i] = static_cast<uint16_t>(v); break;
        case DataType::Int32: out.data<int32_t>()[i] = static_cast<int32_t>(v); break;
        case DataType::UInt32: out.data<uint32_t>()[i] = static_cast<uint32_t>(v); break;
        case DataType::Int64: out.data<int64_t>()[i] = static_cast<int64_t>(v); break;
        case DataType::UInt64: out.data<uint64_t>()[i] = static_cast<uint64_t>(v); break;
        case DataType::Bool: out.data<bool>()[i] = v != 0; break;
        case DataType::Undefined: break;
        }
    }
}

// A non-negative decimal integer of an external_data entry, else a ModelError naming the field.
int64_t externalNumber(const std::string& value, const std::string& key, const std::string& where)
{
    int64_t v = 0;
    bool ok = !value.empty() && value.size() <= 18;
    for (char c : value) {
        if (c < '0' || c > '9') { ok = false; break; }
        v = v * 10 + (c - '0');
    }
    if (!ok)
        throw ModelError(where + ": external_data field '" + key + "' must be a non-negative integer of at most 18 digits, got '" +
                         value + "'");
    return v;
}

// The external file behind `proto`, checked to hold the declared bytes before anything is allocated.
struct ExternalSource {
    fs::path file;
    std::string location;
    int64_t offset = 0;
};

ExternalSource locateExternal(const TensorProto& proto, const std::string& baseDir, const std::string& where, int64_t want)
{
    ExternalSource src;
    int64_t length = -1;
    for (const auto& kv : proto.external_data()) {
        if (kv.key() == "location") src.location = kv.value();
        else if (kv.key() == "offset") src.offset = externalNumber(kv.value(), "offset", where);
        else if (kv.key() == "length") length = externalNumber(kv.value(), "length", where);
    }
    const std::string& location = src.location;
    if (location.empty()) throw ModelError(where + ": external_data has no 'location'");
    if (baseDir.empty()) throw ModelError(where + ": external data '" + location + "' cannot be resolved without a model directory");
    std::error_code ec;
    const fs::path dir = fs::weakly_canonical(fs::path(baseDir), ec);
    const fs::path file = fs::weakly_canonical(fs::path(baseDir) / location, ec);
    const auto rel = file.lexically_relative(dir);
    if (fs::path(location).is_absolute() || rel.empty() || *rel.begin() == "..")
        throw ModelError(where + ": external data location '" + location + "' lies outside the model's directory");
    if (length >= 0 && length != want)
        throw ModelError(where + ": external data length " + std::to_string(length) + " does not match the shape (" +
                         std::to_string(want) + " bytes)");
    const auto size = fs::file_size(file, ec);
    if (ec) throw ModelError(where + ": cannot open external data file '" + location + "'");
    if (static_cast<uintmax_t>(src.offset) > size || size - static_cast<uintmax_t>(src.offset) < static_cast<uintmax_t>(want))
        throw ModelError(where + ": external data file '" + location + "' is too short (" + std::to_string(size) +
                         " bytes; offset " + std::to_string(src.offset) + ", need " + std::to_string(want) + " bytes)");
    src.file = file;
    return src;
}

void readExternal(Tensor& out, const ExternalSource& src, const std::string& where)
{
    std::ifstream in(src.file, std::ios::binary);
    if (!in) throw ModelError(where + ": cannot open external data file '" + src.location + "'");
    in.seekg(src.offset);
    in.read(static_cast<char*>(out.raw()), static_cast<std::streamsize>(out.bytes()));
    if (static_cast<size_t>(in.gcount()) != out.bytes())
        throw ModelError(where + ": external data file '" + src.location + "' is too short (offset " +
                         std::to_string(src.offset) + ", need " + std::to_string(out.bytes()) + " bytes)");
}

// How many values the typed field that holds `type` has, and its name.
std::pair<int64_t, const char*> typedFieldSize(const TensorProto& proto, DataType type)
{
    switch (type) {
    case DataType::Float32: return {proto.float_data_size(), "float_data"};
    case DataType::Float64: return {proto.double_data_size(), "double_data"};
    case DataType::Int64: return {proto.int64_data_size(), "int64_data"};
    case DataType::UInt32: case DataType::UInt64: return {proto.uint64_data_size(), "uint64_data"};
    case DataType::String: return {proto.string_data_size(), "string_data"};
    default: return {proto.int32_data_size(), "int32_data"};
    }
}

} // namespace

Tensor tensorFromProto(const TensorProto& proto, const std::string& baseDir, const std::string& where)
{
    const DataType type = dataTypeFromOnnx(proto.data_type());
    if (type == DataType::Undefined)
        throw UnsupportedFeature(where + ": data type " + elemTypeName(proto.data_type()) + " is not supported");
    Shape shape(proto.dims().begin(), proto.dims().end());
    for (int64_t d : shape)
        if (d < 0) throw ModelError(where + ": field 'dims' has a negative dimension " + shapeToString(shape));

    // The declared size must match what the file holds before anything of that size is allocated.
    const std::optional<int64_t> declaredBytes = checkedStorageBytes(type, shape);
    if (!declaredBytes)
        throw ModelError(where + ": field 'dims' " + shapeToString(shape) + " declares more elements than fit in 64 bits");
    const int64_t count = elementCount(shape);
    std::optional<ExternalSource> external;
    if (type != DataType::String && proto.data_location() == TensorProto::EXTERNAL) {
        external = locateExternal(proto, baseDir, where, *declaredBytes);
    } else if (type != DataType::String && proto.has_raw_data()) {
        if (static_cast<int64_t>(proto.raw_data().size()) != *declaredBytes)
            throw ModelError(where + ": field 'raw_data' has " + std::to_string(proto.raw_data().size()) +
                             " bytes, the shape " + shapeToString(shape) + " of " + dataTypeName(type) + " needs " +
                             std::to_string(*declaredBytes));
    } else if (!(type == DataType::String && (proto.data_location() == TensorProto::EXTERNAL || proto.has_raw_data()))) {
        const auto [values, field] = typedFieldSize(proto, type);
        const int64_t expected = (type == DataType::Int4 || type == DataType::UInt4) ? (count + 1) / 2 : count;
        if (values != expected)
            throw ModelError(where + ": field '" + field + "' has " + std::to_string(values) + " values, the shape " +
                             shapeToString(shape) + " needs " + std::to_string(expected));
    }
    Tensor out(type, shape);

    if (type == DataType::String) {
        // Strings live only in string_data (raw_data and external data cannot hold them).
        if (proto.data_location() == TensorProto::EXTERNAL || proto.has_raw_data())
            throw ModelError(where + ": a STRING tensor must keep its values in field 'string_data'");
        for (int64_t i = 0; i < out.numel(); ++i) out.data<std::string>()[i] = proto.string_data(static_cast<int>(i));
        return out;
    }
    if (external) {
        readExternal(out, *external, where);
    } else if (proto.has_raw_data()) {
        if (out.bytes()) std::memcpy(out.raw(), proto.raw_data().data(), out.bytes());
    } else {
        switch (type) {
        case DataType::Float32: storeTyped(out, proto.float_data()); break;
        case DataType::Float64: storeTyped(out, proto.double_data()); break;
        case DataType::Int64: storeTyped(out, proto.int64_data()); break;
        case DataType::UInt32: case DataType::UInt64: storeTyped(out, proto.uint64_data()); break;
        default: storeTyped(out, proto.int32_data()); break;
        }
    }
    return out;
}

void tensorToProto(const Tensor& tensor, const std::string& name, TensorProto* proto)
{
    proto->set_name(name);
    proto->set_data_type(dataTypeToOnnx(tensor.dtype()));
    for (int64_t d : tensor.shape()) proto->add_dims(d);
    if (tensor.dtype() == DataType::String) {
        for (const std::string& v : tensor.values<std::string>()) proto->add_string_data(v);
        return;
    }
    proto->set_raw_data(std::string(static_cast<const char*>(tensor.raw()), tensor.bytes()));
}

Tensor loadTensorProto(const std::string& path, std::string* name)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ModelError(path + ": cannot open file");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    TensorProto proto;
    if (!proto.ParseFromString(bytes)) throw ModelError(path + ": not a serialized onnx.TensorProto");
    if (name) *name = proto.name();
    return tensorFromProto(proto, fs::path(path).parent_path().string(), path);
}

namespace {

Value valueFromSequence(const ::onnx::SequenceProto& seq, const std::vector<ValueKind>& containers, size_t level,
                        const std::string& where);

// The value at containers[level...] (a tensor when level == containers.size()) from an
// OptionalProto / SequenceProto's alternatives.
Value valueFromOptional(const ::onnx::OptionalProto& opt, const std::vector<ValueKind>& containers, size_t level,
                        const std::string& where)
{
    using O = ::onnx::OptionalProto;
    if (opt.elem_type() == O::UNDEFINED) return Value::optional(std::nullopt);
    const bool innerTensor = level + 1 == containers.size();
    if (innerTensor) {
        if (opt.elem_type() != O::TENSOR || !opt.has_tensor_value())
            throw ModelError(where + ": the optional should hold a tensor");
        return Value::optional(Value::fromTensor(tensorFromProto(opt.tensor_value(), {}, where)));
    }
    if (containers[level + 1] == ValueKind::Sequence) {
        if (opt.elem_type() != O::SEQUENCE || !opt.has_sequence_value())
            throw ModelError(where + ": the optional should hold a sequence");
        return Value::optional(valueFromSequence(opt.sequence_value(), containers, level + 1, where));
    }
    if (opt.elem_type() != O::OPTIONAL || !opt.has_optional_value())
        throw ModelError(where + ": the optional should hold an optional");
    return Value::optional(valueFromOptional(opt.optional_value(), containers, level + 1, where));
}

Value valueFromSequence(const ::onnx::SequenceProto& seq, const std::vector<ValueKind>& containers, size_t level,
                        const std::string& where)
{
    std::vector<Value> elements;
    const bool innerTensor = level + 1 == containers.size();
    if (innerTensor) {
        for (int i = 0; i < seq.tensor_values_size(); ++i)
            elements.push_back(Value::fromTensor(tensorFromProto(seq.tensor_values(i), {}, where + " element " + std::to_string(i))));
    } else if (containers[level + 1] == ValueKind::Sequence) {
        for (int i = 0; i < seq.sequence_values_size(); ++i)
            elements.push_back(valueFromSequence(seq.sequence_values(i), containers, level + 1, where));
    } else {
        for (int i = 0; i < seq.optional_values_size(); ++i)
            elements.push_back(valueFromOptional(seq.optional_values(i), containers, level + 1, where));
    }
    return Value::sequence(std::move(elements));
}

} // namespace

Value loadValueProto(const std::string& path, const ValueInfo& type, std::string* name)
{
    if (type.containers.empty()) return Value::fromTensor(loadTensorProto(path, name));
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ModelError(path + ": cannot open file");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (type.containers.front() == ValueKind::Sequence) {
        ::onnx::SequenceProto seq;
        if (!seq.ParseFromString(bytes)) throw ModelError(path + ": not a serialized onnx.SequenceProto");
        if (name) *name = seq.name();
        return valueFromSequence(seq, type.containers, 0, path);
    }
    ::onnx::OptionalProto opt;
    if (!opt.ParseFromString(bytes)) throw ModelError(path + ": not a serialized onnx.OptionalProto");
    if (name) *name = opt.name();
    return valueFromOptional(opt, type.containers, 0, path);
}

} // namespace joule::onnx
