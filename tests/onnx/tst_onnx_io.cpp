// ONNX import and export: every initializer storage form, path and format errors, and round trips
// (hand-built graph, Relu outputs, the project's models and conformance models).
#include "onnx/onnx_io.h"
#include "runtime/session.h"

#include <onnx/onnx_pb.h>

#include <QtTest>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

using namespace joule;
namespace fs = std::filesystem;
using joule::onnx::ModelError;

namespace {

const char* kTestData = "/usr/share/libonnx-testdata/data";

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void writeFile(const std::string& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

template <typename F> std::string modelErrorOf(F&& f)
{
    try {
        f();
    } catch (const ModelError& e) {
        return e.what();
    }
    return "(no ModelError)";
}

void addValue(google::protobuf::RepeatedPtrField<::onnx::ValueInfoProto>* list, const std::string& name, int elemType,
              const std::vector<int64_t>& dims)
{
    auto* v = list->Add();
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elemType);
    auto* shape = tt->mutable_shape();
    for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

// A model "y = Identity(w)" whose initializer 'w' is filled by `fill` (name, type and dims are set).
::onnx::ModelProto identityModel(int elemType, const std::function<void(::onnx::TensorProto*)>& fill,
                                 const std::string& initializer = "w")
{
    ::onnx::ModelProto m;
    m.set_ir_version(8);
    m.set_producer_name("tst_onnx_io");
    auto* opset = m.add_opset_import();
    opset->set_domain("");
    opset->set_version(17);
    auto* g = m.mutable_graph();
    g->set_name("identity");
    auto* t = g->add_initializer();
    t->set_name(initializer);
    t->set_data_type(elemType);
    t->add_dims(2);
    t->add_dims(3);
    fill(t);
    auto* n = g->add_node();
    n->set_name("id");
    n->set_op_type("Identity");
    n->add_input(initializer);
    n->add_output("y");
    addValue(g->mutable_output(), "y", elemType, {2, 3});
    return m;
}

const std::vector<float> kValues = {-3.0f, -1.0f, 0.0f, 2.0f, 5.0f, 1000000.0f};

std::string floatBytes()
{
    std::string bytes(kValues.size() * sizeof(float), '\0');
    std::memcpy(bytes.data(), kValues.data(), bytes.size());
    return bytes;
}

std::vector<double> asDoubles(const Tensor& t)
{
    std::vector<double> out;
    for (int64_t i = 0; i < t.numel(); ++i) out.push_back(t.asDouble(i));
    return out;
}

std::vector<double> expectedDoubles() { return {kValues.begin(), kValues.end()}; }

// ---- Graph comparison ---------------------------------------------------------------------

std::string describeValue(const ValueInfo& v)
{
    std::string s = v.name + ":" + dataTypeName(v.dtype) + (v.hasShape ? shapeToString(v.shape) : "(no shape)");
    for (const auto& d : v.dimNames) s += "|" + d;
    return s;
}

bool sameValue(const ValueInfo& a, const ValueInfo& b)
{
    return a.name == b.name && a.dtype == b.dtype && a.hasShape == b.hasShape && (!a.hasShape || a.shape == b.shape) &&
           a.dimNames == b.dimNames;
}

bool bitwiseEqual(const Tensor& a, const Tensor& b)
{
    return a.dtype() == b.dtype() && a.shape() == b.shape() && a.bytes() == b.bytes() &&
           (a.bytes() == 0 || std::memcmp(a.raw(), b.raw(), a.bytes()) == 0);
}

std::string attributeDiff(const Attribute& a, const Attribute& b)
{
    using K = Attribute::Kind;
    if (a.kind != b.kind) return "kind " + std::to_string(int(a.kind)) + " vs " + std::to_string(int(b.kind));
    switch (a.kind) {
    case K::Int: return a.i == b.i ? "" : "int value";
    case K::Float: return std::memcmp(&a.f, &b.f, sizeof(float)) == 0 ? "" : "float value";
    case K::String: return a.s == b.s ? "" : "string value";
    case K::Tensor: return bitwiseEqual(a.t, b.t) ? "" : "tensor value";
    case K::Ints: return a.ints == b.ints ? "" : "ints value";
    case K::Floats:
        return a.floats.size() == b.floats.size() &&
                       (a.floats.empty() || std::memcmp(a.floats.data(), b.floats.data(), a.floats.size() * sizeof(float)) == 0)
                   ? "" : "floats value";
    case K::Strings: return a.strings == b.strings ? "" : "strings value";
    case K::Graph: {
        ::onnx::GraphProto ga, gb;
        ga.ParseFromString(a.graphBytes);
        gb.ParseFromString(b.graphBytes);
        // Compare the subgraphs' nodes and interfaces; shape inference may add value_info to either.
        ga.clear_value_info();
        gb.clear_value_info();
        return ga.SerializeAsString() == gb.SerializeAsString() ? "" : "subgraph";
    }
    }
    return "unknown kind";
}

// First difference between two graphs, or "" when they are equal.
std::string graphDiff(const Graph& a, const Graph& b, bool compareValueInfos)
{
    if (a.name != b.name) return "graph name '" + a.name + "' vs '" + b.name + "'";
    if (a.docString != b.docString) return "graph doc_string";
    if (a.opsetImports != b.opsetImports) return "opset imports";
    if (a.irVersion != b.irVersion) return "ir_version " + std::to_string(a.irVersion) + " vs " + std::to_string(b.irVersion);
    if (a.producerName != b.producerName) return "producer_name '" + a.producerName + "' vs '" + b.producerName + "'";
    if (a.producerVersion != b.producerVersion) return "producer_version";
    if (a.metadata != b.metadata) return "metadata_props";

    if (a.inputs().size() != b.inputs().size()) return "input count";
    for (size_t i = 0; i < a.inputs().size(); ++i)
        if (!sameValue(a.inputs()[i], b.inputs()[i]))
            return "input " + describeValue(a.inputs()[i]) + " vs " + describeValue(b.inputs()[i]);
    if (a.outputs().size() != b.outputs().size()) return "output count";
    for (size_t i = 0; i < a.outputs().size(); ++i)
        if (!sameValue(a.outputs()[i], b.outputs()[i]))
            return "output " + describeValue(a.outputs()[i]) + " vs " + describeValue(b.outputs()[i]);

    if (a.initializers().size() != b.initializers().size()) return "initializer count";
    for (const auto& [name, t] : a.initializers()) {
        const Tensor* other = b.initializer(name);
        if (!other) return "initializer '" + name + "' missing";
        if (!bitwiseEqual(t, *other)) return "initializer '" + name + "' differs";
    }

    if (a.nodes().size() != b.nodes().size()) return "node count";
    for (size_t i = 0; i < a.nodes().size(); ++i) {
        const Node& x = a.nodes()[i];
        const Node& y = b.nodes()[i];
        const std::string where = "node " + std::to_string(i) + " (" + x.describe() + "): ";
        if (x.name != y.name || x.opType != y.opType || x.domain != y.domain) return where + "identity vs " + y.describe();
        if (x.inputs != y.inputs) return where + "inputs";
        if (x.outputs != y.outputs) return where + "outputs";
        if (x.docString != y.docString) return where + "doc_string";
        if (x.attributes.size() != y.attributes.size()) return where + "attribute count";
        for (const auto& [key, attr] : x.attributes) {
            const Attribute* other = y.attribute(key);
            if (!other) return where + "attribute '" + key + "' missing";
            const std::string d = attributeDiff(attr, *other);
            if (!d.empty()) return where + "attribute '" + key + "': " + d;
        }
    }

    if (compareValueInfos) {
        if (a.valueInfos().size() != b.valueInfos().size())
            return "value_info count " + std::to_string(a.valueInfos().size()) + " vs " + std::to_string(b.valueInfos().size());
        for (const auto& [name, v] : a.valueInfos()) {
            auto it = b.valueInfos().find(name);
            if (it == b.valueInfos().end()) return "value_info '" + name + "' missing";
            if (!sameValue(v, it->second)) return "value_info " + describeValue(v) + " vs " + describeValue(it->second);
        }
    }
    return {};
}

// ---- A hand-built graph using every attribute kind ------------------------------------------

Attribute intAttr(int64_t v) { Attribute a; a.kind = Attribute::Kind::Int; a.i = v; return a; }
Attribute floatAttr(float v) { Attribute a; a.kind = Attribute::Kind::Float; a.f = v; return a; }
Attribute stringAttr(std::string v) { Attribute a; a.kind = Attribute::Kind::String; a.s = std::move(v); return a; }
Attribute intsAttr(std::vector<int64_t> v) { Attribute a; a.kind = Attribute::Kind::Ints; a.ints = std::move(v); return a; }
Attribute floatsAttr(std::vector<float> v) { Attribute a; a.kind = Attribute::Kind::Floats; a.floats = std::move(v); return a; }
Attribute stringsAttr(std::vector<std::string> v) { Attribute a; a.kind = Attribute::Kind::Strings; a.strings = std::move(v); return a; }

std::string constantBranch(const std::string& name, float value)
{
    ::onnx::GraphProto g;
    g.set_name(name);
    auto* n = g.add_node();
    n->set_op_type("Constant");
    n->set_name(name + "_const");
    n->add_output(name + "_out");
    auto* a = n->add_attribute();
    a->set_name("value");
    a->set_type(::onnx::AttributeProto::TENSOR);
    auto* t = a->mutable_t();
    t->set_data_type(::onnx::TensorProto::FLOAT);
    t->add_dims(1);
    t->add_float_data(value);
    addValue(g.mutable_output(), name + "_out", ::onnx::TensorProto::FLOAT, {1});
    return g.SerializeAsString();
}

Tensor seededFloats(Shape shape, unsigned seed)
{
    Tensor t(DataType::Float32, std::move(shape));
    uint32_t s = seed;
    for (int64_t i = 0; i < t.numel(); ++i) {
        s = s * 1664525u + 1013904223u;
        t.data<float>()[i] = static_cast<float>(static_cast<int32_t>(s >> 8) % 2001 - 1000) / 997.0f;
    }
    return t;
}

Graph handBuiltGraph()
{
    Graph g;
    g.name = "round_trip";
    g.docString = "every attribute kind";
    g.irVersion = 8;
    g.producerName = "tst_onnx_io";
    g.producerVersion = "1.2.3";
    g.opsetImports = {{"", 17}, {"com.joule.test", 1}};
    g.metadata = {{"author", "tests"}, {"license", "MIT"}};

    g.addInput({"x", DataType::Float32, {-1, 3, 8, 8}, {"N", "", "", ""}});
    g.addInput({"cond", DataType::Bool, {}});
    g.setInitializer("conv_w", seededFloats({4, 3, 3, 3}, 7));
    g.setInitializer("conv_b", seededFloats({4}, 8));
    g.setInitializer("shape", Tensor::fromVector<int64_t>(DataType::Int64, {2}, {-1, 256}));
    g.setInitializer("q8", Tensor::fromVector<int8_t>(DataType::Int8, {5}, {-128, -1, 0, 1, 127}));
    g.setInitializer("u8", Tensor::fromVector<uint8_t>(DataType::UInt8, {3}, {0, 128, 255}));
    g.setInitializer("mask", Tensor::fromVector<bool>(DataType::Bool, {2}, {true, false}));
    g.setInitializer("wide", Tensor::fromVector<double>(DataType::Float64, {2}, {1e-300, -2.5}));
    g.setInitializer("half", Tensor::fromVector<uint16_t>(DataType::Float16, {3}, {0x3c00, 0xc000, 0x7bff}));
    Tensor q4(DataType::Int4, {5});   // -8, 7, -1, 0, 3 packed low nibble first
    const uint8_t packed[] = {0x78, 0x0F, 0x03};
    std::memcpy(q4.raw(), packed, sizeof packed);
    g.setInitializer("q4", q4);

    Node conv{.name = "conv1", .opType = "Conv", .inputs = {"x", "conv_w", "conv_b"}, .outputs = {"c1"}};
    conv.attributes = {{"kernel_shape", intsAttr({3, 3})}, {"pads", intsAttr({1, 1, 1, 1})},
                       {"strides", intsAttr({1, 1})}, {"dilations", intsAttr({1, 1})},
                       {"group", intAttr(1)}, {"auto_pad", stringAttr("NOTSET")}};
    conv.docString = "first layer";
    g.addNode(conv);
    Node leaky{.name = "lrelu", .opType = "LeakyRelu", .inputs = {"c1"}, .outputs = {"l1"}};
    leaky.attributes = {{"alpha", floatAttr(0.125f)}};
    g.addNode(leaky);
    Node reshape{.name = "flat", .opType = "Reshape", .inputs = {"l1", "shape"}, .outputs = {"r1"}};
    reshape.attributes = {{"allowzero", intAttr(0)}};
    g.addNode(reshape);
    Node constant{.name = "k", .opType = "Constant", .outputs = {"kval"}};
    Attribute value;
    value.kind = Attribute::Kind::Tensor;
    value.t = Tensor::fromVector<float>(DataType::Float32, {2}, {0.5f, -2.5f});
    constant.attributes = {{"value", value}};
    g.addNode(constant);
    Node custom{.name = "custom", .opType = "Fancy", .domain = "com.joule.test", .inputs = {"r1", "kval", "", "q8"},
                .outputs = {"f1"}};
    custom.attributes = {{"scales", floatsAttr({1.5f, -0.25f})}, {"tags", stringsAttr({"a", "bc"})},
                         {"mode", stringAttr("hello")}, {"axes", intsAttr({0, -1})}};
    g.addNode(custom);
    Node branch{.name = "branch", .opType = "If", .inputs = {"cond"}, .outputs = {"ifo"}};
    Attribute thenBranch;
    thenBranch.kind = Attribute::Kind::Graph;
    thenBranch.graphBytes = constantBranch("then", 1.0f);
    Attribute elseBranch = thenBranch;
    elseBranch.graphBytes = constantBranch("else", -1.0f);
    branch.attributes = {{"then_branch", thenBranch}, {"else_branch", elseBranch}};
    g.addNode(branch);

    g.addOutput({"f1", DataType::Float32, {-1, 256}, {"N", ""}});
    g.addOutput({"ifo", DataType::Float32, {1}});
    return g;
}

Graph reluGraph()
{
    Graph g;
    g.name = "relu";
    g.producerName = "tst_onnx_io";
    g.opsetImports[""] = 14;
    g.addInput({"x", DataType::Float32, {2, 5}});
    g.addNode(Node{.name = "r", .opType = "Relu", .inputs = {"x"}, .outputs = {"y"}});
    g.addOutput({"y", DataType::Float32, {2, 5}});
    return g;
}

} // namespace

class TestOnnxIo : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        GOOGLE_PROTOBUF_VERIFY_VERSION;
        QVERIFY(dir_.isValid());
    }

    // ---- Initializer storage forms ----

    void initializerAsRawData()
    {
        const auto m = identityModel(::onnx::TensorProto::FLOAT, [](::onnx::TensorProto* t) { t->set_raw_data(floatBytes()); });
        const Graph g = joule::onnx::loadModelFromBytes(m.SerializeAsString(), path("raw.onnx"));
        QVERIFY(g.initializer("w"));
        QCOMPARE(g.initializer("w")->dtype(), DataType::Float32);
        QCOMPARE(g.initializer("w")->shape(), (Shape{2, 3}));
        QCOMPARE(asDoubles(*g.initializer("w")), expectedDoubles());
    }

    void initializerAsFloatData()
    {
        const auto m = identityModel(::onnx::TensorProto::FLOAT, [](::onnx::TensorProto* t) {
            for (float v : kValues) t->add_float_data(v);
        });
        const Graph g = joule::onnx::loadModelFromBytes(m.SerializeAsString(), path("floats.onnx"));
        QCOMPARE(asDoubles(*g.initializer("w")), expectedDoubles());
        // Bitwise the same tensor as the raw_data form.
        const auto raw = identityModel(::onnx::TensorProto::FLOAT, [](::onnx::TensorProto* t) { t->set_raw_data(floatBytes()); });
        const Graph r = joule::onnx::loadModelFromBytes(raw.SerializeAsString(), path("raw.onnx"));
        QVERIFY(bitwiseEqual(*g.initializer("w"), *r.initializer("w")));
    }

    void initializerAsInt64Data()
    {
        const auto m = identityModel(::onnx::TensorProto::INT64, [](::onnx::TensorProto* t) {
            for (float v : kValues) t->add_int64_data(static_cast<int64_t>(v));
        });
        const Graph g = joule::onnx::loadModelFromBytes(m.SerializeAsString(), path("int64.onnx"));
        QCOMPARE(g.initializer("w")->dtype(), DataType::Int64);
        QCOMPARE(asDoubles(*g.initializer("w")), expectedDoubles());
        QCOMPARE(g.initializer("w")->toInt64Vector(), (std::vector<int64_t>{-3, -1, 0, 2, 5, 1000000}));

        const auto raw = identityModel(::onnx::TensorProto::INT64, [](::onnx::TensorProto* t) {
            std::vector<int64_t> v = {-3, -1, 0, 2, 5, 1000000};
            t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(int64_t)));
        });
        const Graph r = joule::onnx::loadModelFromBytes(raw.SerializeAsString(), path("int64raw.onnx"));
        QVERIFY(bitwiseEqual(*g.initializer("w"), *r.initializer("w")));
    }

    void initializerAsExternalDataBesideTheModel()
    {
        // weights.bin: 16 bytes of something else, then the six floats.
        writeFile(path("weights.bin"), std::string(16, '\x7f') + floatBytes());
        const auto m = identityModel(::onnx::TensorProto::FLOAT, [](::onnx::TensorProto* t) {
            t->set_data_location(::onnx::TensorProto::EXTERNAL);
            auto add = [t](const char* k, const std::string& v) {
                auto* kv = t->add_external_data();
                kv->set_key(k);
                kv->set_value(v);
            };
            add("location", "weights.bin");
            add("offset", "16");
            add("length", "24");
        });
        writeFile(path("external.onnx"), m.SerializeAsString());
        // Loaded from another working directory than the model's.
        QVERIFY(fs::current_path() != fs::path(dir_.path().toStdString()));
        Graph g;
        try {
            g = joule::onnx::loadModel(path("external.onnx"));
        } catch (const std::exception& e) {
            QFAIL(e.what());
        }
        QVERIFY(g.initializer("w"));
        QCOMPARE(asDoubles(*g.initializer("w")), expectedDoubles());
    }

    void externalDataOutsideTheModelDirectoryIsRejected_data()
    {
        QTest::addColumn<QString>("location");
        QTest::addColumn<bool>("checker");
        const QString absolute = QString::fromStdString(path("escaped.bin"));
        for (bool checker : {true, false}) {
            const char* suffix = checker ? " (checker on)" : " (checker off)";
            QTest::newRow((std::string("parent dir") + suffix).c_str()) << "../outside.bin" << checker;
            QTest::newRow((std::string("parent dir, neutral name") + suffix).c_str()) << "../escaped.bin" << checker;
            QTest::newRow((std::string("down and up") + suffix).c_str()) << "data/../../escaped.bin" << checker;
            QTest::newRow((std::string("absolute") + suffix).c_str()) << absolute << checker;
        }
    }

    void externalDataOutsideTheModelDirectoryIsRejected()
    {
        QFETCH(QString, location);
        QFETCH(bool, checker);
        // Both files exist, so only the location rule can reject them.
        writeFile(path("outside.bin"), floatBytes());
        writeFile(path("escaped.bin"), floatBytes());
        QVERIFY(QDir(dir_.path()).mkpath("sub/data"));
        const auto m = identityModel(::onnx::TensorProto::FLOAT, [&](::onnx::TensorProto* t) {
            t->set_data_location(::onnx::TensorProto::EXTERNAL);
            auto* kv = t->add_external_data();
            kv->set_key("location");
            kv->set_value(location.toStdString());
        }, "conv_weight");
        const std::string model = path("sub/escape.onnx");
        writeFile(model, m.SerializeAsString());
        const std::string msg = modelErrorOf([&] {
            joule::onnx::loadModel(model, {.runChecker = checker, .inferShapes = checker});
        });
        QVERIFY2(contains(msg, model), msg.c_str());
        QVERIFY2(contains(msg, "conv_weight"), msg.c_str());
        // "outside" in the explanation, not just inside the location's own name.
        std::string explanation = msg;
        for (size_t at; (at = explanation.find(location.toStdString())) != std::string::npos;)
            explanation.erase(at, location.size());
        QVERIFY2(contains(explanation, "outside"), msg.c_str());
    }

    // ---- Files that are not (whole) models ----

    void truncatedFileSaysTruncated()
    {
        Graph g = reluGraph();
        g.setInitializer("big", seededFloats({64, 64}, 3));
        g.addInput({"big", DataType::Float32, {64, 64}});
        const std::string bytes = joule::onnx::serializeModel(g);
        const std::string file = path("truncated.onnx");
        writeFile(file, bytes.substr(0, bytes.size() / 2));
        const std::string msg = modelErrorOf([&] { joule::onnx::loadModel(file); });
        QVERIFY2(contains(msg, "truncated"), msg.c_str());
        QVERIFY2(contains(msg, file), msg.c_str());
    }

    void textFileIsNotAnOnnxModel_data()
    {
        QTest::addColumn<QString>("text");
        QTest::newRow("prose") << "hello, this is not a model\n";
        QTest::newRow("onnx text format") << "ir_version: 8\ngraph {\n  node { op_type: \"Relu\" }\n}\n";
        QTest::newRow("csv") << "label,prediction\n1,2\n";
        QTest::newRow("notes starting with r") << "resnet8 training notes: 92% after 10 epochs\n";
        QTest::newRow("json") << "{\"model\": \"resnet8\"}\n";
    }

    void textFileIsNotAnOnnxModel()
    {
        QFETCH(QString, text);
        const std::string file = path("notes.txt");
        writeFile(file, text.toStdString());
        const std::string msg = modelErrorOf([&] { joule::onnx::loadModel(file); });
        QVERIFY2(contains(msg, "not an ONNX model"), msg.c_str());
        QVERIFY2(contains(msg, file), msg.c_str());
    }

    void emptyAndMissingFilesNameTheFile()
    {
        const std::string empty = path("empty.onnx");
        writeFile(empty, "");
        std::string msg = modelErrorOf([&] { joule::onnx::loadModel(empty); });
        QVERIFY2(contains(msg, empty) && contains(msg, "empty"), msg.c_str());
        const std::string missing = path("missing.onnx");
        msg = modelErrorOf([&] { joule::onnx::loadModel(missing); });
        QVERIFY2(contains(msg, missing), msg.c_str());
    }

    // ---- Export ----

    void exportImportRoundTripKeepsTheGraph()
    {
        const Graph original = handBuiltGraph();
        original.validate();
        const std::string bytes = joule::onnx::serializeModel(original);
        Graph back;
        try {
            back = joule::onnx::loadModelFromBytes(bytes, path("roundtrip.onnx"));   // checker + shape inference on
        } catch (const std::exception& e) {
            QFAIL(e.what());
        }
        const std::string diff = graphDiff(original, back, false);
        QVERIFY2(diff.empty(), diff.c_str());
        // Shape inference found the intermediate shapes; a second trip keeps them too.
        QVERIFY(back.valueInfo("c1"));
        QCOMPARE(back.valueInfo("c1")->shape, (Shape{-1, 4, 8, 8}));
        const Graph again = joule::onnx::loadModelFromBytes(joule::onnx::serializeModel(back), path("roundtrip2.onnx"));
        const std::string diff2 = graphDiff(back, again, true);
        QVERIFY2(diff2.empty(), diff2.c_str());
    }

    void graphComparisonSeesEveryKindOfChange()
    {
        // The round-trip tests are only as good as graphDiff: each edit below must be reported.
        const Graph base = handBuiltGraph();
        QVERIFY(graphDiff(base, base, true).empty());
        const std::vector<std::function<void(Graph&)>> edits = {
            [](Graph& g) { g.opsetImports[""] = 16; },
            [](Graph& g) { g.metadata["author"] = "someone else"; },
            [](Graph& g) { g.inputs()[0].dimNames[0] = "batch"; },
            [](Graph& g) { g.outputs()[1].shape = {2}; },
            [](Graph& g) { Tensor w = g.initializer("conv_w")->clone(); w.data<uint8_t>()[5] ^= 1; g.setInitializer("conv_w", w); },
            [](Graph& g) { g.nodes()[1].attributes["alpha"].f = 0.25f; },
            [](Graph& g) { g.nodes()[4].attributes["tags"].strings[1] = "bd"; },
            [](Graph& g) {
                Tensor& t = g.nodes()[3].attributes["value"].t;
                t = t.clone();
                t.data<float>()[0] = 0.75f;
            },
            [](Graph& g) { g.nodes()[5].attributes["else_branch"].graphBytes = constantBranch("else", -2.0f); },
            [](Graph& g) { g.nodes()[4].inputs[2] = "r1"; },
            [](Graph& g) { g.setValueInfo({"c1", DataType::Float32, {1, 4, 8, 8}}); },
        };
        for (size_t i = 0; i < edits.size(); ++i) {
            Graph changed = base;
            changed.setInitializer("conv_w", base.initializer("conv_w")->clone());   // copies alias tensors
            edits[i](changed);
            QVERIFY2(!graphDiff(base, changed, true).empty(), ("edit " + std::to_string(i) + " went unnoticed").c_str());
        }
    }

    void exportedReluModelGivesSameOutputs()
    {
        const Graph original = reluGraph();
        const Graph back = joule::onnx::loadModelFromBytes(joule::onnx::serializeModel(original), path("relu.onnx"));
        QVERIFY2(graphDiff(original, back, false).empty(), graphDiff(original, back, false).c_str());
        const Tensor x = seededFloats({2, 5}, 11);
        rt::Session a(original), b(back);
        const Tensor ya = a.run({{"x", x}}).at("y");
        const Tensor yb = b.run({{"x", x}}).at("y");
        QVERIFY(bitwiseEqual(ya, yb));
        for (int64_t i = 0; i < x.numel(); ++i) QCOMPARE(ya.data<float>()[i], std::max(x.data<float>()[i], 0.0f));
    }

    void saveModelWritesALoadableFile()
    {
        const std::string file = path("saved.onnx");
        joule::onnx::saveModel(handBuiltGraph(), file);
        const Graph back = joule::onnx::loadModel(file);
        const std::string diff = graphDiff(handBuiltGraph(), back, false);
        QVERIFY2(diff.empty(), diff.c_str());
        QCOMPARE(readFile(file), joule::onnx::serializeModel(handBuiltGraph()));
        const std::string bad = path("no/such/dir/saved.onnx");
        const std::string msg = modelErrorOf([&] { joule::onnx::saveModel(reluGraph(), bad); });
        QVERIFY2(contains(msg, bad), msg.c_str());
    }

    // ---- TensorProto files of the backend test suite ----

    void loadTensorProtoReadsBackendTestData()
    {
        const std::string file = std::string(kTestData) + "/node/test_relu/test_data_set_0/input_0.pb";
        QVERIFY2(fs::exists(file), (file + " is missing: install libonnx-testdata").c_str());
        std::string name;
        const Tensor t = joule::onnx::loadTensorProto(file, &name);
        QCOMPARE(t.dtype(), DataType::Float32);
        QCOMPARE(t.shape(), (Shape{3, 4, 5}));
        QCOMPARE(name, std::string("x"));
        // Same bytes as the proto's own payload.
        ::onnx::TensorProto proto;
        QVERIFY(proto.ParseFromString(readFile(file)));
        const std::string payload = proto.has_raw_data() ? proto.raw_data()
            : std::string(reinterpret_cast<const char*>(proto.float_data().data()), proto.float_data_size() * sizeof(float));
        QCOMPARE(payload.size(), t.bytes());
        QVERIFY(std::memcmp(payload.data(), t.raw(), t.bytes()) == 0);
    }

    void sequenceAndOptionalTypesSurviveARoundTrip()
    {
        // The suite's optional(sequence(float [5])) Identity model and its OptionalProto data.
        const std::string dir = std::string(kTestData) + "/node/test_identity_opt";
        const Graph g = joule::onnx::loadModel(dir + "/model.onnx");
        QCOMPARE(g.inputs().size(), size_t(1));
        QVERIFY(g.inputs()[0].containers == (std::vector<ValueKind>{ValueKind::Optional, ValueKind::Sequence}));
        QCOMPARE(g.inputs()[0].dtype, DataType::Float32);
        QCOMPARE(g.inputs()[0].shape, (Shape{5}));
        const Graph back = joule::onnx::loadModelFromBytes(joule::onnx::serializeModel(g), path("opt.onnx"));
        QVERIFY(back.outputs()[0].containers == g.outputs()[0].containers);
        const Value v = joule::onnx::loadValueProto(dir + "/test_data_set_0/input_0.pb", g.inputs()[0]);
        QVERIFY(v.hasElement());
        QCOMPARE(v.elements[0].kind, ValueKind::Sequence);
        QVERIFY(!v.elements[0].elements.empty());
        QCOMPARE(v.elements[0].elements[0].tensor.shape(), (Shape{5}));
        // Read as the wrong kind: an error naming the file.
        ValueInfo asSequence = g.inputs()[0];
        asSequence.containers = {ValueKind::Sequence};
        try {
            const Value wrong = joule::onnx::loadValueProto(dir + "/test_data_set_0/input_0.pb", asSequence);
            QVERIFY2(wrong.elements.empty(), "an OptionalProto read as a sequence must not yield elements");
        } catch (const joule::onnx::ModelError& e) {
            QVERIFY2(std::string(e.what()).find("input_0.pb") != std::string::npos, e.what());
        }
    }

    void stringInitializerSurvivesARoundTrip()
    {
        Graph g;
        g.opsetImports[""] = 13;
        Tensor words(DataType::String, {3});
        words.data<std::string>()[0] = "joule";
        words.data<std::string>()[1] = "";
        words.data<std::string>()[2] = std::string("a\0b", 3);
        g.addInput({"x", DataType::String, {3}});
        g.setInitializer("w", words);
        g.addNode({.name = "c", .opType = "Cast", .inputs = {"x"}, .outputs = {"y"}, .attributes = {{"to", [] { Attribute a; a.i = 1; return a; }()}}});
        g.addOutput({"y", DataType::Float32, {3}});
        const Graph back = joule::onnx::loadModelFromBytes(joule::onnx::serializeModel(g), path("strings.onnx"));
        QVERIFY(back.initializer("w"));
        QVERIFY(back.initializer("w")->sameContents(words));
        QVERIFY(back.initializer("w")->clone().sameContents(words));
        QCOMPARE(back.inputs()[0].dtype, DataType::String);
    }

    void int4MarkTravelsInMetadataNotAsAnAttribute()
    {
        // x -> Conv(w = DequantizeLinear(wq, joule.bits = 4)) -> y
        Graph g;
        g.opsetImports[""] = 13;
        g.addInput({"x", DataType::Float32, {1, 1, 4, 4}});
        g.setInitializer("wq", Tensor::fromVector<int8_t>(DataType::Int8, {1, 1, 2, 2}, {-8, 7, 3, 0}));
        g.setInitializer("ws", Tensor::fromVector<float>(DataType::Float32, {}, {0.5f}));
        Attribute bits;
        bits.i = 4;
        g.addNode({.name = "dqw", .opType = "DequantizeLinear", .inputs = {"wq", "ws"}, .outputs = {"w"},
                   .attributes = {{"joule.bits", bits}}});
        g.addNode({.name = "conv", .opType = "Conv", .inputs = {"x", "w"}, .outputs = {"y"}});
        g.addOutput({"y", DataType::Float32, {1, 1, 3, 3}});
        const std::string bytes = joule::onnx::serializeModel(g);
        ::onnx::ModelProto proto;
        QVERIFY(proto.ParseFromString(bytes));
        for (const auto& n : proto.graph().node())
            for (const auto& a : n.attribute()) QVERIFY2(a.name().rfind("joule.", 0) != 0, a.name().c_str());
        bool listed = false;
        for (const auto& kv : proto.metadata_props()) listed = listed || (kv.key() == "joule.int4_weights" && kv.value() == "wq");
        QVERIFY(listed);
        // The checker accepts the file, and the mark is back on the node.
        const Graph back = joule::onnx::loadModelFromBytes(bytes, path("int4.onnx"));
        const Node* dq = nullptr;
        for (const Node& n : back.nodes())
            if (n.name == "dqw") dq = &n;
        QVERIFY(dq);
        QCOMPARE(dq->attrInt("joule.bits", 8), int64_t(4));
    }

    void loadTensorProtoRejectsGarbage()
    {
        const std::string file = path("garbage.pb");
        writeFile(file, std::string("\xff\xff\xff\xff garbage", 12));
        const std::string msg = modelErrorOf([&] { joule::onnx::loadTensorProto(file); });
        QVERIFY2(contains(msg, file), msg.c_str());
    }

    // ---- Round trip over real models ----

    void realModelsRoundTrip()
    {
        std::vector<std::string> models;
        const char* source = std::getenv("JOULE_SOURCE_DIR");
        QVERIFY2(source, "JOULE_SOURCE_DIR is not set (run the test through ctest)");
        const fs::path dir = fs::path(source) / "resources" / "models";
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir, ec))
            if (entry.path().extension() == ".onnx") models.push_back(entry.path().string());
        QVERIFY2(models.size() >= 4, (dir.string() + ": the reference models are missing").c_str());
        for (const char* c : {"node/test_conv_with_strides_padding", "node/test_gemm_default_matrix_bias",
                              "node/test_maxpool_2d_pads",
                              // Old exporters' models with weights (IR 3, initializers listed as inputs).
                              "pytorch-converted/test_Conv2d", "pytorch-converted/test_BatchNorm2d_eval"})
            models.push_back(std::string(kTestData) + "/" + c + "/model.onnx");

        int compared = 0;
        for (const auto& file : models) {
            QVERIFY2(fs::exists(file), (file + " is missing: install libonnx-testdata").c_str());
            Graph original;
            try {
                original = joule::onnx::loadModel(file);
            } catch (const std::exception& e) {
                QFAIL(e.what());
            }
            const std::string bytes = joule::onnx::serializeModel(original);
            Graph back;
            try {
                back = joule::onnx::loadModelFromBytes(bytes, file);
            } catch (const std::exception& e) {
                QFAIL((file + ": re-import failed: " + e.what()).c_str());
            }
            const std::string diff = graphDiff(original, back, true);
            QVERIFY2(diff.empty(), (file + ": " + diff).c_str());
            qInfo("round trip ok: %s (%zu nodes, %zu initializers)", file.c_str(), original.nodes().size(),
                  original.initializers().size());
            ++compared;
        }
        QVERIFY2(compared >= 3, ("only " + std::to_string(compared) + " models compared").c_str());
    }

private:
    std::string path(const std::string& name) const { return (dir_.path() + "/" + QString::fromStdString(name)).toStdString(); }
    QTemporaryDir dir_;
};

QTEST_GUILESS_MAIN(TestOnnxIo)
#include "tst_onnx_io.moc"
