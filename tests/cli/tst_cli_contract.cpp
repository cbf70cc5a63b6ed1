// The CLI contracts of docs/architecture.md that other people's scripts rely on.
#include "cli_test_util.h"

#include "data/npy.h"
#include "onnx/onnx_io.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

namespace {
const QString kCase = "/usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding";
QString referenceModel(const char* name) { return qEnvironmentVariable("JOULE_SOURCE_DIR") + "/resources/models/" + name + ".onnx"; }

// A model with free height and width: x[1,1,?,?] -> Conv 3x3 (4 filters, pad 1) -> y.
QString writeFreeSizeModel(const QString& path)
{
    joule::Graph g;
    g.opsetImports[""] = 13;
    g.addInput({.name = "x", .dtype = joule::DataType::Float32, .shape = {1, 1, -1, -1}, .hasShape = true});
    joule::Tensor w(joule::DataType::Float32, {4, 1, 3, 3});
    for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = 0.1f * static_cast<float>(i % 7);
    g.setInitializer("w", w);
    joule::Node conv{.name = "conv", .opType = "Conv", .inputs = {"x", "w"}, .outputs = {"y"}};
    joule::Attribute pads;
    pads.kind = joule::Attribute::Kind::Ints;
    pads.ints = {1, 1, 1, 1};
    conv.attributes["pads"] = pads;
    g.addNode(conv);
    g.addOutput({.name = "y", .dtype = joule::DataType::Float32, .shape = {1, 4, -1, -1}, .hasShape = true});
    joule::onnx::saveModel(g, path.toStdString());
    return path;
}

QJsonObject parseJson(const CliResult& r)
{
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(r.out.toUtf8(), &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject()) {
        qWarning("stdout is not one JSON object: %s", qPrintable(r.out.left(400)));
        return {};
    }
    return doc.object();
}
} // namespace

class CliContract : public QObject {
    Q_OBJECT
private slots:
    void helpExitsZeroForEveryCommand()
    {
        for (const char* cmd : {"info", "run", "bench"}) {
            const CliResult r = runJoule({cmd, "--help"});
            QCOMPARE(r.exitCode, 0);
            QVERIFY(r.out.contains("Usage"));
        }
    }

    void infoJsonHasTheContractFields()
    {
        const CliResult r = runJoule({"info", kCase + "/model.onnx", "--json"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject o = parseJson(r);
        QCOMPARE(o["nodes"].toInt(), 1);
        const QJsonArray inputs = o["inputs"].toArray();
        QCOMPARE(inputs.size(), 2);   // x and the weight W are both fed in this test model
        QCOMPARE(inputs[0].toObject()["name"].toString(), QString("x"));
        QCOMPARE(inputs[0].toObject()["dtype"].toString(), QString("float32"));
        QCOMPARE(inputs[0].toObject()["shape"].toArray().size(), 4);
        QCOMPARE(o["outputs"].toArray().size(), 1);
        // Conv 1x1x7x5 input, 1x1x3x3 kernel, stride 2, pad 1 -> 1x1x4x3 output: 12 outputs * 9 MACs.
        QCOMPARE(o["macs"].toInteger(), 108);
        const QJsonArray layers = o["layers"].toArray();
        QCOMPARE(layers.size(), 1);
        QCOMPARE(layers[0].toObject()["op"].toString(), QString("Conv"));
        QCOMPARE(layers[0].toObject()["macs"].toInteger(), 108);
        QVERIFY(o.contains("params"));
    }

    void runWritesEveryOutputAsNpy()
    {
        QTemporaryDir dir;
        const std::string inX = (kCase + "/test_data_set_0/input_0.pb").toStdString();
        const std::string inW = (kCase + "/test_data_set_0/input_1.pb").toStdString();
        joule::data::writeNpy(dir.filePath("x.npy").toStdString(), joule::onnx::loadTensorProto(inX));
        joule::data::writeNpy(dir.filePath("w.npy").toStdString(), joule::onnx::loadTensorProto(inW));
        const CliResult r = runJoule({"run", kCase + "/model.onnx", "--input", "x=" + dir.filePath("x.npy"), "--input",
                                      "W=" + dir.filePath("w.npy"), "--output-dir", dir.filePath("out")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const joule::Tensor y = joule::data::readNpy(dir.filePath("out/y.npy").toStdString());
        const joule::Tensor expected =
            joule::onnx::loadTensorProto((kCase + "/test_data_set_0/output_0.pb").toStdString());
        QCOMPARE(y.shape(), expected.shape());
        for (int64_t i = 0; i < y.numel(); ++i) QCOMPARE(y.data<float>()[i], expected.data<float>()[i]);
    }

    void benchJsonHasTheContractFields()
    {
        const CliResult r = runJoule({"bench", kCase + "/model.onnx", "--runs", "3", "--warmup", "1", "--json"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QJsonObject o = parseJson(r);
        QCOMPARE(o["runs"].toInt(), 3);
        QCOMPARE(o["threads"].toInt(), 1);
        QVERIFY(o["median_ms"].toDouble() > 0.0);
        QVERIFY(o["min_ms"].toDouble() > 0.0);
        QVERIFY(o["min_ms"].toDouble() <= o["median_ms"].toDouble());
        QCOMPARE(o["measured"].toBool(), true);
    }

    void noCommandPrintsTheUsageOnStderr()
    {
        const CliResult r = runJoule({});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.out.isEmpty(), qPrintable(r.out));
        QVERIFY(r.err.contains("usage: joule COMMAND"));
    }

    void aBadOptionFailsWithOneLinePointingAtHelp()
    {
        const CliResult r = runJoule({"info", "--no-such-option"});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.errLines().size(), 1);
        QVERIFY2(r.err.contains("no-such-option") && r.err.contains("--help"), qPrintable(r.err));
    }

    void helpOffersNoOptionThatOnlyFails()
    {
        // Every option optimize's help lists does something: --store records into a real store.
        const CliResult r = runJoule({"optimize", "--help"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("--store"));
        QVERIFY(!r.out.contains("not yet available"));
    }

    void warmupMustBeAnIntegerOfAtLeastZero_data()
    {
        QTest::addColumn<QString>("value");
        QTest::newRow("negative") << "-1";
        QTest::newRow("text") << "abc";
    }
    void warmupMustBeAnIntegerOfAtLeastZero()
    {
        QFETCH(QString, value);
        for (const QStringList& args : {QStringList{"bench", referenceModel("fmnist_little"), "--warmup", value},
                                        QStringList{"profile", referenceModel("fmnist_little"), "--target", "host", "--warmup", value}}) {
            const CliResult r = runJoule(args);
            QCOMPARE(r.exitCode, 1);
            QCOMPARE(r.errLines().size(), 1);
            QVERIFY2(r.err.contains("--warmup") && r.err.contains(value), qPrintable(r.err));
        }
    }

    void unknownEnergyIsPrintedAsADashNotZero()
    {
        const CliResult r = runJoule({"profile", referenceModel("fmnist_little"), "--target", "host", "--runs", "2"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains(", - uJ (measured)"), qPrintable(r.out));
        // Every layer row ends in "<ms> - <%ms>": the energy column says "-", never a number.
        int rows = 0;
        for (const QString& line : r.out.split('\n')) {
            const QStringList f = line.split(' ', Qt::SkipEmptyParts);
            if (f.size() < 7 || (f[3] != "fp32" && f[3] != "int8")) continue;
            ++rows;
            QVERIFY2(f[f.size() - 2] == "-", qPrintable(line));
        }
        QVERIFY(rows >= 4);
    }

    void inputShapeFixesFreeDimensions()
    {
        QTemporaryDir dir;
        const QString model = writeFreeSizeModel(dir.filePath("free.onnx"));
        // Conv 3x3 with 4 filters on 1x1x224x160: 4 * 224 * 160 outputs of 9 MACs each.
        const CliResult info = runJoule({"info", model, "--input-shape", "x=1,1,224,160", "--json"});
        QVERIFY2(info.exitCode == 0, qPrintable(info.err));
        QCOMPARE(parseJson(info)["macs"].toInteger(), 4LL * 224 * 160 * 9);
        const CliResult profile = runJoule({"profile", model, "--target", "stm32l4r5", "--input-shape", "x=1,1,224,160", "--json"});
        QVERIFY2(profile.exitCode == 0, qPrintable(profile.err));
        QCOMPARE(parseJson(profile)["macs"].toInteger(), 4LL * 224 * 160 * 9);
        const CliResult bench = runJoule({"bench", model, "--input-shape", "x=1,1,64,32", "--runs", "2", "--json"});
        QVERIFY2(bench.exitCode == 0, qPrintable(bench.err));
        QVERIFY(parseJson(bench)["arena_bytes"].toInteger() >= 4LL * 4 * 64 * 32);   // the arena holds the 4x64x32 output
        // Without it, free dimensions are 1.
        QCOMPARE(parseJson(runJoule({"info", model, "--json"}))["macs"].toInteger(), 4LL * 9);

        joule::data::writeNpy(dir.filePath("x.npy").toStdString(), joule::Tensor(joule::DataType::Float32, {1, 1, 8, 6}));
        const CliResult run = runJoule({"run", model, "--input", "x=" + dir.filePath("x.npy"), "--input-shape", "x=1,1,8,6",
                                        "--output-dir", dir.filePath("out")});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QCOMPARE(joule::data::readNpy(dir.filePath("out/y.npy").toStdString()).shape(), (joule::Shape{1, 4, 8, 6}));
        const CliResult other = runJoule({"run", model, "--input", "x=" + dir.filePath("x.npy"), "--input-shape", "x=1,1,9,6",
                                          "--output-dir", dir.filePath("out")});
        QCOMPARE(other.exitCode, 1);
        QVERIFY2(other.err.contains("x.npy") && other.err.contains("[1,1,9,6]"), qPrintable(other.err));
    }

    void inputShapeErrorsNameTheInputAndTheDimension_data()
    {
        QTest::addColumn<QString>("spec");
        QTest::addColumn<QString>("says");
        QTest::newRow("no such input") << "y=1,1,4,4" << "no input 'y'";
        QTest::newRow("rank") << "x=1,4,4" << "rank 4";
        QTest::newRow("fixed dimension") << "x=2,1,4,4" << "dimension 0";
        QTest::newRow("zero") << "x=1,1,0,4" << "'0'";
        QTest::newRow("no name") << "1,1,4,4" << "NAME=";
    }
    void inputShapeErrorsNameTheInputAndTheDimension()
    {
        QFETCH(QString, spec);
        QFETCH(QString, says);
        QTemporaryDir dir;
        const CliResult r = runJoule({"info", writeFreeSizeModel(dir.filePath("free.onnx")), "--input-shape", spec});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.errLines().size(), 1);
        QVERIFY2(r.err.contains("--input-shape") && r.err.contains(says), qPrintable(r.err));
    }

    void unknownCommandFailsWithOneLine()
    {
        const CliResult r = runJoule({"frobnicate"});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.errLines().size(), 1);
        QVERIFY(r.err.contains("frobnicate"));
    }
};

QTEST_GUILESS_MAIN(CliContract)
#include "tst_cli_contract.moc"
