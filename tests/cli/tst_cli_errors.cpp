// Bad input to the CLI: exit code 1 and exactly one line on stderr that names the file and the
// node, op or field at fault (issue 2, acceptance 4).
#include "cli_test_util.h"

#include "data/npy.h"

#include <onnx/onnx_pb.h>

#include <QDir>
#include <QFile>
#include <QTemporaryDir>

namespace {

const QString kReluModel = "/usr/share/libonnx-testdata/data/node/test_relu/model.onnx";

void writeBytes(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    QCOMPARE(f.write(bytes), bytes.size());
}

QByteArray readBytes(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return f.readAll();
}

// x[2,3] float -> Relu -> (op_a) -> (op_b) -> y, with a 2x3 initializer `w` added to x first.
onnx::ModelProto modelWith(const std::vector<std::string>& extraOps)
{
    onnx::ModelProto m;
    m.set_ir_version(8);
    auto* opset = m.add_opset_import();
    opset->set_domain("");
    opset->set_version(13);
    auto* g = m.mutable_graph();
    g->set_name("g");
    auto addValue = [](onnx::ValueInfoProto* v, const std::string& name) {
        v->set_name(name);
        auto* t = v->mutable_type()->mutable_tensor_type();
        t->set_elem_type(onnx::TensorProto::FLOAT);
        t->mutable_shape()->add_dim()->set_dim_value(2);
        t->mutable_shape()->add_dim()->set_dim_value(3);
    };
    addValue(g->add_input(), "x");
    auto* relu = g->add_node();
    relu->set_op_type("Relu");
    relu->set_name("relu_1");
    relu->add_input("x");
    relu->add_output("r");
    std::string last = "r";
    int i = 0;
    for (const auto& op : extraOps) {
        auto* n = g->add_node();
        n->set_op_type(op);
        n->set_name("odd_" + std::to_string(i));
        n->add_input(last);
        last = "v" + std::to_string(i++);
        n->add_output(last);
    }
    addValue(g->add_output(), last);
    return m;
}

void writeModel(const onnx::ModelProto& m, const QString& path)
{
    writeBytes(path, QByteArray::fromStdString(m.SerializeAsString()));
}

void expectOneLineError(const CliResult& r, const QStringList& mustContain)
{
    QCOMPARE(r.exitCode, 1);
    QCOMPARE(r.errLines().size(), 1);
    for (const QString& s : mustContain)
        QVERIFY2(r.err.contains(s), qPrintable("stderr lacks '" + s + "': " + r.err));
}

} // namespace

class CliErrors : public QObject {
    Q_OBJECT
private slots:
    void truncatedModelNamesFileAndSaysTruncated()
    {
        QTemporaryDir dir;
        const QByteArray full = readBytes(kReluModel);
        QVERIFY(full.size() > 20);
        const QString path = dir.filePath("cut.onnx");
        writeBytes(path, full.left(full.size() / 2));
        for (const char* cmd : {"info", "bench"})
            expectOneLineError(runJoule({cmd, path}), {path, "truncated"});
    }

    void textFileIsNotAnOnnxModel()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("notes.onnx");
        writeBytes(path, "these are my notes, not a model\n");
        expectOneLineError(runJoule({"info", path}), {path, "not an ONNX model"});
        expectOneLineError(runJoule({"run", path, "--output-dir", dir.filePath("out")}), {path, "not an ONNX model"});
    }

    void unsupportedOpsAreAllListedWithTheirNodes()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("odd.onnx");
        writeModel(modelWith({"Det", "NonZero", "Det"}), path);
        const CliResult r = runJoule({"info", path});
        expectOneLineError(r, {"Det", "odd_0", "NonZero", "odd_1"});
        QVERIFY2(!r.err.contains("odd_2"), "each unsupported op is listed once, with its first node");
    }

    void externalDataOutsideTheModelDirectoryIsRejected()
    {
        QTemporaryDir dir;
        QVERIFY(QDir(dir.path()).mkdir("model"));
        writeBytes(dir.filePath("outside.bin"), QByteArray(24, '\0'));
        onnx::ModelProto m = modelWith({});
        auto* w = m.mutable_graph()->add_initializer();
        w->set_name("w");
        w->set_data_type(onnx::TensorProto::FLOAT);
        w->add_dims(2);
        w->add_dims(3);
        w->set_data_location(onnx::TensorProto::EXTERNAL);
        auto* kv = w->add_external_data();
        kv->set_key("location");
        kv->set_value("../outside.bin");
        const QString path = dir.filePath("model/m.onnx");
        writeModel(m, path);
        expectOneLineError(runJoule({"info", path}), {path, "initializer 'w'", "outside the model's directory"});
    }

    void externalDataInsideTheModelDirectoryLoads()
    {
        QTemporaryDir dir;
        writeBytes(dir.filePath("w.bin"), QByteArray(24, '\0'));
        onnx::ModelProto m = modelWith({});
        auto* w = m.mutable_graph()->add_initializer();
        w->set_name("w");
        w->set_data_type(onnx::TensorProto::FLOAT);
        w->add_dims(2);
        w->add_dims(3);
        w->set_data_location(onnx::TensorProto::EXTERNAL);
        auto* kv = w->add_external_data();
        kv->set_key("location");
        kv->set_value("w.bin");
        const QString path = dir.filePath("m.onnx");
        writeModel(m, path);
        const CliResult r = runJoule({"info", path, "--json"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("\"params\": 6"));
    }

    void inputShapeMismatchNamesTheNpyFileAndTheInput()
    {
        QTemporaryDir dir;
        const QString npy = dir.filePath("wrong.npy");
        joule::data::writeNpy(npy.toStdString(), joule::Tensor(joule::DataType::Float32, {4, 5}));
        const CliResult r = runJoule({"run", kReluModel, "--input", "x=" + npy, "--output-dir", dir.filePath("out")});
        expectOneLineError(r, {npy, "'x'", "[3,4,5]", "[4,5]"});
        QVERIFY2(!QDir(dir.filePath("out")).exists() || QDir(dir.filePath("out")).isEmpty(), "no output on error");
    }

    void inputTypeMismatchNamesTheNpyFile()
    {
        QTemporaryDir dir;
        const QString npy = dir.filePath("ints.npy");
        joule::data::writeNpy(npy.toStdString(), joule::Tensor(joule::DataType::Int32, {3, 4, 5}));
        expectOneLineError(runJoule({"run", kReluModel, "--input", "x=" + npy, "--output-dir", dir.filePath("out")}),
                           {npy, "float32", "int32"});
    }
};

QTEST_GUILESS_MAIN(CliErrors)
#include "tst_cli_errors.moc"
