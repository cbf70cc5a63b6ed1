#include "onnx/onnx_io.h"
#include "onnx/tensor_proto.h"

#include <onnx/onnx_pb.h>

#include <QSaveFile>
#include <QString>

#include <map>

namespace joule::onnx {

namespace {

void valueInfoToProto(const ValueInfo& v, ::onnx::ValueInfoProto* p)
{
    p->set_name(v.name);
    if (v.dtype == DataType::Undefined && !v.hasShape && v.containers.empty()) return;
    ::onnx::TypeProto* type = p->mutable_type();
    for (ValueKind kind : v.containers)
        type = kind == ValueKind::Sequence ? type->mutable_sequence_type()->mutable_elem_type()
                                           : type->mutable_optional_type()->mutable_elem_type();
    auto* tt = type->mutable_tensor_type();
    tt->set_elem_type(dataTypeToOnnx(v.dtype));
    if (!v.hasShape) return;
    auto* shape = tt->mutable_shape();
    for (size_t i = 0; i < v.shape.size(); ++i) {
        auto* d = shape->add_dim();
        if (i < v.dimNames.size() && !v.dimNames[i].empty()) d->set_dim_param(v.dimNames[i]);
        else if (v.shape[i] >= 0) d->set_dim_value(v.shape[i]);
    }
}

void attributeToProto(const std::string& name, const Attribute& a, ::onnx::AttributeProto* p)
{
    using A = ::onnx::AttributeProto;
    p->set_name(name);
    switch (a.kind) {
    case Attribute::Kind::Int: p->set_type(A::INT); p->set_i(a.i); break;
    case Attribute::Kind::Float: p->set_type(A::FLOAT); p->set_f(a.f); break;
    case Attribute::Kind::String: p->set_type(A::STRING); p->set_s(a.s); break;
    case Attribute::Kind::Tensor: p->set_type(A::TENSOR); tensorToProto(a.t, "", p->mutable_t()); break;
    case Attribute::Kind::Ints: p->set_type(A::INTS); for (auto v : a.ints) p->add_ints(v); break;
    case Attribute::Kind::Floats: p->set_type(A::FLOATS); for (auto v : a.floats) p->add_floats(v); break;
    case Attribute::Kind::Strings: p->set_type(A::STRINGS); for (const auto& v : a.strings) p->add_strings(v); break;
    case Attribute::Kind::Graph: p->set_type(A::GRAPH); p->mutable_g()->ParseFromString(a.graphBytes); break;
    }
}

} // namespace

std::string serializeModel(const Graph& g)
{
    ::onnx::ModelProto model;
    model.set_ir_version(g.irVersion > 0 ? g.irVersion : 8);
    model.set_producer_name(g.producerName.empty() ? "joule" : g.producerName);
    model.set_producer_version(g.producerVersion);
    for (const auto& [domain, version] : g.opsetImports) {
        auto* op = model.add_opset_import();
        op->set_domain(domain);
        op->set_version(version);
    }
    // Joule's own node attributes ("joule.*", e.g. joule.bits = 4 on the DequantizeLinear of an int4
    // weight) are not ONNX: checkers and ONNX Runtime reject them. They travel in the model metadata
    // instead (docs/quantization.md), and the importer puts them back.
    std::map<std::string, std::string> metadata = g.metadata;
    std::string int4;
    for (const auto& n : g.nodes())
        if (n.domain.empty() && n.opType == "DequantizeLinear" && n.attrInt("joule.bits", 8) == 4 && n.hasInput(0))
            int4 += (int4.empty() ? "" : ",") + n.inputs[0];
    if (!int4.empty()) metadata["joule.int4_weights"] = int4;
    for (const auto& [k, v] : metadata) {
        auto* kv = model.add_metadata_props();
        kv->set_key(k);
        kv->set_value(v);
    }
    auto* gp = model.mutable_graph();
    gp->set_name(g.name.empty() ? "graph" : g.name);
    gp->set_doc_string(g.docString);
    for (const auto& [name, t] : g.initializers()) tensorToProto(t, name, gp->add_initializer());
    for (const auto& v : g.inputs()) valueInfoToProto(v, gp->add_input());
    for (const auto& v : g.outputs()) valueInfoToProto(v, gp->add_output());
    for (const auto& [name, v] : g.valueInfos()) valueInfoToProto(v, gp->add_value_info());
    for (const auto& n : g.nodes()) {
        auto* np = gp->add_node();
        np->set_name(n.name);
        np->set_op_type(n.opType);
        np->set_domain(n.domain);
        np->set_doc_string(n.docString);
        for (const auto& i : n.inputs) np->add_input(i);
        for (const auto& o : n.outputs) np->add_output(o);
        for (const auto& [name, a] : n.attributes)
            if (name.rfind("joule.", 0) != 0) attributeToProto(name, a, np->add_attribute());
    }
    return model.SerializeAsString();
}

void saveModel(const Graph& graph, const std::string& path)
{
    const std::string bytes = serializeModel(graph);
    QSaveFile file(QString::fromStdString(path));
    if (!file.open(QIODevice::WriteOnly))
        throw ModelError(path + ": cannot write: " + file.errorString().toStdString());
    if (file.write(bytes.data(), static_cast<qint64>(bytes.size())) != static_cast<qint64>(bytes.size()) || !file.commit())
        throw ModelError(path + ": cannot write: " + file.errorString().toStdString());
}

} // namespace joule::onnx
