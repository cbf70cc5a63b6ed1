// Reads bounded by what the file holds: a model of a few hundred bytes that declares a huge tensor,
// or asks an op for one, is refused with exit 1 and one line naming the tensor or node, quickly and
// without allocating what it declares (measured: wall time and the child's peak resident memory).
#include "cli_test_util.h"

#include "data/npy.h"

#include <onnx/onnx_pb.h>

#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <unistd.h>

extern char** environ;

namespace {

struct Measured {
    int exitCode = -1;
    QString err;
    double seconds = 0;
    long peakRssKb = 0;
};

// Runs build/bin/joule with `args`, stdout to /dev/null, stderr to a file; wall time and peak RSS
// come from wait4(), for this child alone.
Measured runMeasured(const QStringList& args, const QString& errFile)
{
    std::vector<std::string> argv{jouleBinary().toStdString()};
    for (const QString& a : args) argv.push_back(a.toStdString());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    const std::string err = errFile.toStdString();
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    Measured m;
    QElapsedTimer timer;
    timer.start();
    pid_t pid = 0;
    if (posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, cargv.data(), environ) != 0) return m;
    int status = 0;
    rusage ru{};
    wait4(pid, &status, 0, &ru);
    m.seconds = static_cast<double>(timer.nsecsElapsed()) / 1e9;
    posix_spawn_file_actions_destroy(&fa);
    m.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    m.peakRssKb = ru.ru_maxrss;
    QFile f(errFile);
    if (f.open(QIODevice::ReadOnly)) m.err = QString::fromUtf8(f.readAll());
    return m;
}

onnx::ModelProto emptyModel(int opset = 13)
{
    onnx::ModelProto m;
    m.set_ir_version(8);
    auto* o = m.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    m.mutable_graph()->set_name("g");
    return m;
}

void declareValue(onnx::ValueInfoProto* v, const std::string& name, int type, std::initializer_list<int64_t> dims)
{
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(type);
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

onnx::NodeProto* addNode(onnx::ModelProto& m, const std::string& op, const std::string& name,
                         std::initializer_list<std::string> inputs, const std::string& output)
{
    auto* n = m.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    n->add_output(output);
    return n;
}

void addInt64Initializer(onnx::ModelProto& m, const std::string& name, std::initializer_list<int64_t> values)
{
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(values.size()));
    for (int64_t v : values) t->add_int64_data(v);
}

// A weight that declares 10^12 float elements but holds 4 bytes: W -> Identity -> y.
onnx::ModelProto hugeInitializerModel()
{
    onnx::ModelProto m = emptyModel();
    auto* w = m.mutable_graph()->add_initializer();
    w->set_name("W");
    w->set_data_type(onnx::TensorProto::FLOAT);
    w->add_dims(1000000);
    w->add_dims(1000000);
    w->set_raw_data(std::string(4, '\0'));
    addNode(m, "Identity", "copy", {"W"}, "y");
    declareValue(m.mutable_graph()->add_output(), "y", onnx::TensorProto::FLOAT, {1000000, 1000000});
    return m;
}

// ConstantOfShape asked for [10^6, 10^6] float zeros.
onnx::ModelProto hugeConstantOfShapeModel()
{
    onnx::ModelProto m = emptyModel();
    addInt64Initializer(m, "shape", {1000000, 1000000});
    addNode(m, "ConstantOfShape", "zeros", {"shape"}, "y");
    declareValue(m.mutable_graph()->add_output(), "y", onnx::TensorProto::FLOAT, {1000000, 1000000});
    return m;
}

// x[1] expanded to [10^6, 10^6].
onnx::ModelProto hugeExpandModel()
{
    onnx::ModelProto m = emptyModel();
    declareValue(m.mutable_graph()->add_input(), "x", onnx::TensorProto::FLOAT, {1});
    addInt64Initializer(m, "shape", {1000000, 1000000});
    addNode(m, "Expand", "grow", {"x", "shape"}, "y");
    declareValue(m.mutable_graph()->add_output(), "y", onnx::TensorProto::FLOAT, {1000000, 1000000});
    return m;
}

} // namespace

class CliLimits : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;

    QString write(const onnx::ModelProto& m, const QString& name)
    {
        const QString path = tmp_.filePath(name);
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly)) return {};
        f.write(QByteArray::fromStdString(m.SerializeAsString()));
        return path;
    }

    // Exit 1, one stderr line naming `mustName`, under 1 s and 100 MB.
    void expectRefusedQuickly(const QStringList& args, const QStringList& mustName)
    {
        const Measured r = runMeasured(args, tmp_.filePath("stderr.txt"));
        qInfo("%s: exit %d in %.3f s, peak RSS %ld KB: %s", qPrintable(args.join(' ')), r.exitCode, r.seconds, r.peakRssKb,
              qPrintable(r.err.trimmed()));
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.err.split('\n', Qt::SkipEmptyParts).size(), 1);
        for (const QString& s : mustName) QVERIFY2(r.err.contains(s), qPrintable("stderr lacks '" + s + "': " + r.err));
        QVERIFY2(r.seconds < 1.0, qPrintable(QString("took %1 s").arg(r.seconds)));
        QVERIFY2(r.peakRssKb < 100 * 1024, qPrintable(QString("peak RSS %1 KB").arg(r.peakRssKb)));
    }

    // W (float, `dims`) in external data described by `fields` -> Identity -> y, with the data file
    // (the location's value) written beside the model holding `fileBytes` zero bytes.
    onnx::ModelProto externalWeightModel(std::initializer_list<int64_t> dims,
                                         std::initializer_list<std::pair<const char*, const char*>> fields, int fileBytes)
    {
        onnx::ModelProto m = emptyModel();
        auto* w = m.mutable_graph()->add_initializer();
        w->set_name("W");
        w->set_data_type(onnx::TensorProto::FLOAT);
        for (int64_t d : dims) w->add_dims(d);
        w->set_data_location(onnx::TensorProto::EXTERNAL);
        for (const auto& [key, value] : fields) {
            auto* kv = w->add_external_data();
            kv->set_key(key);
            kv->set_value(value);
            if (std::string(key) == "location") {
                QFile bin(tmp_.filePath(value));
                if (bin.open(QIODevice::WriteOnly)) bin.write(QByteArray(fileBytes, '\0'));
            }
        }
        addNode(m, "Identity", "copy", {"W"}, "y");
        declareValue(m.mutable_graph()->add_output(), "y", onnx::TensorProto::FLOAT, dims);
        return m;
    }

    // A float32 [n] .npy of ones.
    QString onesNpy(int64_t n)
    {
        const QString path = tmp_.filePath("ones" + QString::number(n) + ".npy");
        joule::Tensor t(joule::DataType::Float32, {n});
        for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = 1.0f;
        joule::data::writeNpy(path.toStdString(), t);
        return path;
    }

private slots:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void theModelsAreTiny()
    {
        for (const auto& m : {hugeInitializerModel(), hugeConstantOfShapeModel(), hugeExpandModel()})
            QVERIFY(m.ByteSizeLong() < 400);
    }

    void aHugeDeclaredInitializerIsRefusedBeforeAllocation_data()
    {
        QTest::addColumn<QString>("command");
        QTest::newRow("info") << "info";
        QTest::newRow("run") << "run";
    }
    void aHugeDeclaredInitializerIsRefusedBeforeAllocation()
    {
        QFETCH(QString, command);
        const QString model = write(hugeInitializerModel(), "huge_initializer.onnx");
        QStringList args{command, model};
        if (command == "run") args << "--output-dir" << tmp_.filePath("out");
        expectRefusedQuickly(args, {model, "initializer 'W'", "raw_data", "4 bytes"});
    }

    void aConstantOfShapeAskingForTooMuchNamesTheNode_data() { aHugeDeclaredInitializerIsRefusedBeforeAllocation_data(); }
    void aConstantOfShapeAskingForTooMuchNamesTheNode()
    {
        QFETCH(QString, command);
        const QString model = write(hugeConstantOfShapeModel(), "huge_constant_of_shape.onnx");
        QStringList args{command, model};
        if (command == "run") args << "--output-dir" << tmp_.filePath("out");
        expectRefusedQuickly(args, {"zeros", "ConstantOfShape", "memory limit"});
    }

    void anExpandAskingForTooMuchNamesTheNode_data() { aHugeDeclaredInitializerIsRefusedBeforeAllocation_data(); }
    void anExpandAskingForTooMuchNamesTheNode()
    {
        QFETCH(QString, command);
        const QString model = write(hugeExpandModel(), "huge_expand.onnx");
        QStringList args{command, model};
        if (command == "run") {
            args << "--input" << "x=" + onesNpy(1) << "--output-dir" << tmp_.filePath("out");
        }
        expectRefusedQuickly(args, {"grow", "Expand", "memory limit"});
    }

    void aBadNumberInAnExternalDataFieldNamesTheField()
    {
        const QString model = write(externalWeightModel({2}, {{"location", "weights.bin"}, {"offset", "12abc"}}, 64),
                                    "bad_offset.onnx");
        expectRefusedQuickly({"info", model}, {model, "initializer 'W'", "'offset'", "12abc"});
    }

    void externalDataShorterThanDeclaredIsRefusedBeforeAllocation()
    {
        const QString model = write(externalWeightModel({1000000, 1000000}, {{"location", "small.bin"}}, 16),
                                    "short_external.onnx");
        expectRefusedQuickly({"info", model}, {model, "initializer 'W'", "small.bin", "too short"});
    }

    void anOpsetBelowSevenWithAChangedOpIsRefusedWithTheRange()
    {
        // Add-6 aligning b [3] at axis 0 of a [3,4] (legacy broadcasting): numpy would align it with
        // the last axis instead, so this node cannot run as written.
        onnx::ModelProto m = emptyModel(6);
        declareValue(m.mutable_graph()->add_input(), "a", onnx::TensorProto::FLOAT, {3, 4});
        declareValue(m.mutable_graph()->add_input(), "b", onnx::TensorProto::FLOAT, {3});
        auto* add = addNode(m, "Add", "plus", {"a", "b"}, "y");
        auto* broadcast = add->add_attribute();
        broadcast->set_name("broadcast");
        broadcast->set_type(onnx::AttributeProto::INT);
        broadcast->set_i(1);
        auto* axis = add->add_attribute();
        axis->set_name("axis");
        axis->set_type(onnx::AttributeProto::INT);
        axis->set_i(0);
        declareValue(m.mutable_graph()->add_output(), "y", onnx::TensorProto::FLOAT, {3, 4});
        const QString model = write(m, "opset6_add.onnx");
        expectRefusedQuickly({"info", model}, {model, "opset 6", "7 to 18", "'plus' (Add)"});
    }

    void anOpsetBelowSevenWhoseOpsAreUnchangedLoads()
    {
        onnx::ModelProto m = emptyModel(6);
        declareValue(m.mutable_graph()->add_input(), "x", onnx::TensorProto::FLOAT, {2});
        addNode(m, "Relu", "rect", {"x"}, "r");   // Relu-6 is the definition opset 7 uses
        addNode(m, "Add", "twice", {"r", "r"}, "y");   // Add-6 without a legacy axis broadcasts as today
        declareValue(m.mutable_graph()->add_output(), "y", onnx::TensorProto::FLOAT, {2});
        const CliResult r = runJoule({"run", write(m, "opset6_relu.onnx"), "--input", "x=" + onesNpy(2), "--output-dir",
                                      tmp_.filePath("relu_out")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(CliLimits)
#include "tst_cli_limits.moc"
