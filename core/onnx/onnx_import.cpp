#include "onnx/onnx_io.h"
#include "onnx/tensor_proto.h"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace joule::onnx {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMinOpset = 7;   // the kernels implement each op as defined from opset 7 on
constexpr int64_t kMaxOpset = 18;

const ::onnx::AttributeProto* findAttribute(const ::onnx::NodeProto& np, const std::string& name)
{
    for (const auto& a : np.attribute())
        if (a.name() == name) return &a;
    return nullptr;
}

// The definitions before opset 7 of these ops differ from opset 7 only in ways the kernels cover:
// `broadcast` = 1 without `axis` is numpy's trailing alignment, Gemm's broadcast flag, AveragePool's
// count_include_pad default, PRelu's slope broadcast, `consumed_inputs` (a hint), and a legacy `axis`
// that puts B where numpy's trailing alignment puts it (axis = rank(A) - rank(B)). Two forms do not
// run as today: arithmetic aligned at any other `axis`, and BatchNormalization in training mode
// (is_test = 0, its default before opset 7). `ranks` holds the ranks known after shape inference.
bool legacyFormRunsAsToday(const ::onnx::NodeProto& np, const std::map<std::string, int>& ranks)
{
    const std::string& op = np.op_type();
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow") {
        const auto* axis = findAttribute(np, "axis");
        if (!axis) return true;
        if (np.input_size() != 2) return false;
        const auto a = ranks.find(np.input(0)), b = ranks.find(np.input(1));
        return a != ranks.end() && b != ranks.end() && axis->i() == a->second - b->second;
    }
    if (op == "BatchNormalization") {
        const auto* isTest = findAttribute(np, "is_test");
        return isTest && isTest->i() != 0;
    }
    return op == "Gemm" || op == "PRelu" || op == "AveragePool";
}

// A model of opset 1 to 6 runs only where every default-domain op is defined as at opset 7 (Relu,
// Not, GlobalAveragePool, ...) or in a legacy form that runs the same (above). Any other node is
// refused with the supported range, naming the node.
void checkOldOpset(const ::onnx::GraphProto& gp, int64_t opset, const std::string& origin)
{
    std::map<std::string, int> ranks;
    for (const auto& t : gp.initializer()) ranks[t.name()] = t.dims_size();
    for (const auto* values : {&gp.input(), &gp.value_info(), &gp.output()})
        for (const auto& v : *values)
            if (v.type().has_tensor_type() && v.type().tensor_type().has_shape())
                ranks[v.name()] = v.type().tensor_type().shape().dim_size();
    const auto* registry = ::onnx::OpSchemaRegistry::Instance();
    for (const auto& np : gp.node()) {
        if (!np.domain().empty() && np.domain() != "ai.onnx") continue;
        const auto* old = registry->GetSchema(np.op_type(), static_cast<int>(opset), "");
        const auto* now = registry->GetSchema(np.op_type(), static_cast<int>(kMinOpset), "");
        if (old && now && (old->since_version() == now->since_version() || legacyFormRunsAsToday(np, ranks))) continue;
        throw UnsupportedFeature(origin + ": field 'opset_import': default-domain opset " + std::to_string(opset) +
                                 " is older than the supported " + std::to_string(kMinOpset) + " to " +
                                 std::to_string(kMaxOpset) + ", and node '" + np.name() + "' (" + np.op_type() +
                                 ") is defined differently there (convert the model to opset " +
                                 std::to_string(kMinOpset) + " or newer)");
    }
}

std::string firstLine(const std::string& text)
{
    std::string line = text.substr(0, text.find('\n'));
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    return line;
}

// First byte of a serialized ModelProto is the tag of one of its fields.
bool plausibleModelStart(const std::string& bytes)
{
    if (bytes.empty()) return false;
    const unsigned char tag = static_cast<unsigned char>(bytes[0]);
    switch (tag) {
    case 0x08: case 0x12: case 0x1a: case 0x22: case 0x28: case 0x32: case 0x3a: case 0x42: case 0x72: case 0x7a:
        return true;
    default:
        return false;
    }
}

ValueInfo valueInfoFromProto(const ::onnx::ValueInfoProto& v, const std::string& origin, const char* role)
{
    ValueInfo info;
    info.name = v.name();
    if (!v.has_type()) {
        info.hasShape = false;
        return info;
    }
    // Unwrap sequence(...) and optional(...) down to the tensor type.
    const ::onnx::TypeProto* type = &v.type();
    while (type->has_sequence_type() || type->has_optional_type()) {
        if (type->has_sequence_type()) {
            info.containers.push_back(ValueKind::Sequence);
            type = &type->sequence_type().elem_type();
        } else {
            info.containers.push_back(ValueKind::Optional);
            type = &type->optional_type().elem_type();
        }
    }
    if (!type->has_tensor_type())
        throw UnsupportedFeature(origin + ": " + role + " '" + v.name() + "' is " +
                                 (type->has_map_type() ? "a map" : type->has_sparse_tensor_type() ? "a sparse tensor" : "of an unknown kind") +
                                 " (tensors, and sequences / optionals of tensors, are supported)");
    const auto& tt = type->tensor_type();
    info.dtype = dataTypeFromOnnx(tt.elem_type());
    if (info.dtype == DataType::Undefined && tt.elem_type() != 0)
        throw UnsupportedFeature(origin + ": " + role + " '" + v.name() + "' has unsupported element type " +
                                 std::to_string(tt.elem_type()));
    info.hasShape = tt.has_shape();
    bool named = false;
    for (const auto& d : tt.shape().dim()) {
        info.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
        info.dimNames.push_back(d.has_dim_param() ? d.dim_param() : std::string());
        named = named || d.has_dim_param();
    }
    if (!named) info.dimNames.clear();
    return info;
}

Attribute attributeFromProto(const ::onnx::AttributeProto& a, const std::string& baseDir, const std::string& where)
{
    using A = ::onnx::AttributeProto;
    Attribute out;
    switch (a.type()) {
    case A::INT: out.kind = Attribute::Kind::Int; out.i = a.i(); break;
    case A::FLOAT: out.kind = Attribute::Kind::Float; out.f = a.f(); break;
    case A::STRING: out.kind = Attribute::Kind::String; out.s = a.s(); break;
    case A::TENSOR: out.kind = Attribute::Kind::Tensor; out.t = tensorFromProto(a.t(), baseDir, where); break;
    case A::INTS: out.kind = Attribute::Kind::Ints; out.ints.assign(a.ints().begin(), a.ints().end()); break;
    case A::FLOATS: out.kind = Attribute::Kind::Floats; out.floats.assign(a.floats().begin(), a.floats().end()); break;
    case A::STRINGS: out.kind = Attribute::Kind::Strings; out.strings.assign(a.strings().begin(), a.strings().end()); break;
    case A::GRAPH: out.kind = Attribute::Kind::Graph; out.graphBytes = a.g().SerializeAsString(); break;
    default:
        throw UnsupportedFeature(where + ": attribute type " + A::AttributeType_Name(a.type()) + " is not supported");
    }
    return out;
}

Graph graphFromModel(const ::onnx::ModelProto& model, const std::string& origin, const std::string& baseDir)
{
    Graph g;
    const auto& gp = model.graph();
    g.name = gp.name();
    g.docString = gp.doc_string();
    g.irVersion = model.ir_version();
    g.producerName = model.producer_name();
    g.producerVersion = model.producer_version();
    for (const auto& kv : model.metadata_props()) g.metadata[kv.key()] = kv.value();
    for (const auto& op : model.opset_import()) {
        const std::string domain = op.domain() == "ai.onnx" ? std::string() : op.domain();
        g.opsetImports[domain] = op.version();
    }
    if (!g.opsetImports.count("")) g.opsetImports[""] = 1;   // IR: an absent default domain means opset 1
    const int64_t opset = g.opset("");
    if (opset > kMaxOpset)
        throw UnsupportedFeature(origin + ": field 'opset_import': default-domain opset " + std::to_string(opset) +
                                 " is newer than the supported " + std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset));
    if (opset < kMinOpset) checkOldOpset(gp, opset, origin);

    for (const auto& t : gp.initializer()) {
        const std::string where = origin + ": initializer '" + t.name() + "'";
        g.setInitializer(t.name(), tensorFromProto(t, baseDir, where));
    }
    if (gp.sparse_initializer_size())
        throw UnsupportedFeature(origin + ": field 'sparse_initializer' (sparse tensors) is not supported");
    for (const auto& v : gp.input()) g.addInput(valueInfoFromProto(v, origin, "input"));
    for (const auto& v : gp.output()) g.addOutput(valueInfoFromProto(v, origin, "output"));
    for (const auto& v : gp.value_info()) {
        if (!v.type().has_tensor_type()) continue;
        g.setValueInfo(valueInfoFromProto(v, origin, "value"));
    }
    // Initializer-backed inputs take type and shape from the initializer when the input has none.
    for (auto& in : g.inputs())
        if (const Tensor* t = g.initializer(in.name); t && (in.dtype == DataType::Undefined || !in.hasShape)) {
            in.dtype = t->dtype();
            in.shape = t->shape();
            in.hasShape = true;
        }

    for (const auto& np : gp.node()) {
        Node n;
        n.name = np.name();
        n.opType = np.op_type();
        n.domain = np.domain() == "ai.onnx" ? std::string() : np.domain();
        n.docString = np.doc_string();
        n.inputs.assign(np.input().begin(), np.input().end());
        n.outputs.assign(np.output().begin(), np.output().end());
        const std::string where = origin + ": node " + n.describe();
        for (const auto& a : np.attribute()) {
            if (!a.ref_attr_name().empty()) continue;
            n.attributes[a.name()] = attributeFromProto(a, baseDir, where + " attribute '" + a.name() + "'");
        }
        g.addNode(std::move(n));
    }
    // int4 weights (int8 storage) listed in the metadata get their joule.bits = 4 back (see onnx_export.cpp).
    if (auto it = g.metadata.find("joule.int4_weights"); it != g.metadata.end()) {
        std::set<std::string> int4;
        std::string name;
        for (char c : it->second + ",") {
            if (c == ',') {
                if (!name.empty()) int4.insert(name);
                name.clear();
            } else {
                name += c;
            }
        }
        for (Node& n : g.nodes())
            if (n.domain.empty() && n.opType == "DequantizeLinear" && n.hasInput(0) && int4.count(n.inputs[0])) {
                Attribute bits;
                bits.kind = Attribute::Kind::Int;
                bits.i = 4;
                n.attributes["joule.bits"] = bits;
            }
    }
    try {
        g.validate();
    } catch (const GraphError& e) {
        throw ModelError(origin + ": " + e.what());
    }
    return g;
}

// External data must lie inside the model's directory; checked before anything opens such a file.
void checkExternalDataLocations(const ::onnx::GraphProto& graph, const std::string& origin, const std::string& baseDir)
{
    for (const auto& t : graph.initializer()) {
        if (t.data_location() != ::onnx::TensorProto::EXTERNAL) continue;
        for (const auto& kv : t.external_data()) {
            if (kv.key() != "location") continue;
            const fs::path location(kv.value());
            const fs::path resolved = (fs::path(baseDir) / location).lexically_normal();
            const auto rel = resolved.lexically_relative(fs::path(baseDir).lexically_normal());
            if (baseDir.empty() || location.is_absolute() || rel.empty() || *rel.begin() == "..")
                throw ModelError(origin + ": initializer '" + t.name() + "': external data location '" + kv.value() +
                                 "' lies outside the model's directory");
        }
    }
}

} // namespace

Graph loadModelFromBytes(const std::string& bytes, const std::string& origin, const LoadOptions& options)
{
    ::onnx::ModelProto model;
    if (bytes.empty()) throw ModelError(origin + ": the file is empty, not an ONNX model");
    if (!plausibleModelStart(bytes))
        throw ModelError(origin + ": not an ONNX model (the content is not an onnx.ModelProto)");
    if (!model.ParseFromString(bytes)) {
        // Serializers write ir_version (field 1) first: a file that starts like a model but does not
        // parse was cut short or damaged; anything else is not a model at all.
        if (bytes[0] == 0x08)
            throw ModelError(origin + ": truncated or corrupt ONNX file (" + std::to_string(bytes.size()) +
                             " bytes; the protobuf data ends inside a field)");
        throw ModelError(origin + ": not an ONNX model (the content is not an onnx.ModelProto)");
    }
    if (!model.has_graph()) throw ModelError(origin + ": not an ONNX model (field 'graph' is missing)");
    if (model.ir_version() <= 0) throw ModelError(origin + ": not an ONNX model (field 'ir_version' is missing)");

    std::error_code ec;
    const std::string baseDir = origin.empty() ? std::string() : fs::absolute(fs::path(origin), ec).parent_path().string();
    checkExternalDataLocations(model.graph(), origin, baseDir);
    if (options.runChecker) {
        try {
            // The path form resolves external data against the model's directory.
            if (!origin.empty() && fs::is_regular_file(origin, ec)) ::onnx::checker::check_model(origin);
            else ::onnx::checker::check_model(model);
        } catch (const std::exception& e) {
            throw ModelError(origin + ": ONNX checker: " + firstLine(e.what()));
        }
    }
    if (options.inferShapes) {
        try {
            ::onnx::shape_inference::InferShapes(model);
        } catch (const std::exception&) {
            // Shape inference is advisory: the runtime computes every shape itself when it prepares.
        }
    }
    return graphFromModel(model, origin, baseDir);
}

Graph loadModel(const std::string& path, const LoadOptions& options)
{
    std::error_code ec;
    if (fs::is_directory(path, ec)) throw ModelError(path + ": is a directory, not an ONNX file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ModelError(path + ": cannot open file");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return loadModelFromBytes(buffer.str(), path, options);
}

} // namespace joule::onnx
