// The CLI contracts of ../shared/DESIGN.md §4 that other people's scripts rely on.
#include "cli_test_util.h"

#include "data/npy.h"
#include "onnx/onnx_io.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

namespace {
const QString kCase = "/usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding";

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
