// `joule eval` on the real Fashion-MNIST test set with the committed reference models (issue 3).
#include "cli_test_util.h"

#include "data/dataset.h"
#include "data/npy.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <cstring>

namespace {

QString modelsDir() { return qEnvironmentVariable("JOULE_SOURCE_DIR") + "/resources/models"; }
// Fashion-MNIST as the suite finds it: $JOULE_DATA when set, else Debian's copy.
const QString kFmnist = QString::fromStdString(joule::data::fashionMnistDirectory());

QJsonObject readJsonFile(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

QByteArray readBytes(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

void writeBytes(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    QCOMPARE(f.write(bytes), bytes.size());
}

QByteArray idxLabels(int count)
{
    QByteArray b;
    const unsigned char header[8] = {0, 0, 8, 1, static_cast<unsigned char>(count >> 24), static_cast<unsigned char>(count >> 16),
                                     static_cast<unsigned char>(count >> 8), static_cast<unsigned char>(count)};
    b.append(reinterpret_cast<const char*>(header), 8);
    b.append(QByteArray(count, '\1'));
    return b;
}

void expectOneLineError(const CliResult& r, const QStringList& mustContain)
{
    QCOMPARE(r.exitCode, 1);
    QCOMPARE(r.errLines().size(), 1);
    for (const QString& s : mustContain) QVERIFY2(r.err.contains(s), qPrintable("stderr lacks '" + s + "': " + r.err));
}

} // namespace

class CliEval : public QObject {
    Q_OBJECT
private slots:
    void accuracyMatchesPyTorchWithinTwoImages_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<double>("minAccuracy");
        QTest::newRow("big") << "fmnist_resnet8" << 0.910;
        QTest::newRow("little") << "fmnist_little" << 0.840;
        QTest::newRow("dscnn") << "fmnist_dscnn" << 0.890;
    }
    void accuracyMatchesPyTorchWithinTwoImages()
    {
        QFETCH(QString, model);
        QFETCH(double, minAccuracy);
        const QJsonObject card = readJsonFile(modelsDir() + "/" + model + ".card.json");
        QVERIFY2(!card.isEmpty(), "the model card is missing");
        const qint64 torchCorrect = card["pytorch"].toObject()["test_correct"].toInteger();
        QVERIFY(torchCorrect > 0);
        const CliResult r = runJoule({"eval", modelsDir() + "/" + model + ".onnx", "--dataset", "fashion-mnist:test", "--json"}, 600000);
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QCOMPARE(o["samples"].toInteger(), 10000);
        const qint64 correct = o["correct"].toInteger();
        qInfo("%s: joule %lld correct, PyTorch %lld, %.0f images/s", qPrintable(model), correct, torchCorrect,
              o["images_per_s"].toDouble());
        QVERIFY2(std::abs(correct - torchCorrect) <= 2, "joule and PyTorch disagree on more than 2 of 10,000 images");
        QVERIFY(o["accuracy"].toDouble() >= minAccuracy);
    }

    void recordsCsvAgreesWithJsonTotals()
    {
        QTemporaryDir dir;
        const QString csv = dir.filePath("records.csv");
        const CliResult r = runJoule({"eval", modelsDir() + "/fmnist_little.onnx", "--dataset", "fashion-mnist:test",
                                      "--records", csv, "--json"}, 600000);
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        const QStringList lines = QString::fromUtf8(readBytes(csv)).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 10001);
        QCOMPARE(lines[0], QString("index,label,prediction,correct,top1_probability,margin,entropy,stage,macs,latency_ms,energy_uj"));
        qint64 correct = 0;
        QVector<QVector<qint64>> confusion(10, QVector<qint64>(10, 0));
        for (int i = 1; i < lines.size(); ++i) {
            const QStringList f = lines[i].split(',');
            QCOMPARE(f.size(), 11);
            QCOMPARE(f[7], QString("0"));        // a plain model answers with stage 0
            QCOMPARE(f[8], QString("78400"));    // the little model's MACs, on every input
            QCOMPARE(f[9], QString());           // no target: latency and energy unknown, left empty
            QCOMPARE(f[10], QString());
            QCOMPARE(f[0].toInt(), i - 1);
            const int label = f[1].toInt(), pred = f[2].toInt();
            QCOMPARE(f[3].toInt(), label == pred ? 1 : 0);
            correct += f[3].toInt();
            confusion[label][pred] += 1;
            const double p = f[4].toDouble(), margin = f[5].toDouble(), entropy = f[6].toDouble();
            QVERIFY(p >= 0.1 - 1e-6 && p <= 1.0 + 1e-6);   // top-1 of 10 classes is at least 1/10
            QVERIFY(margin >= 0.0 && margin <= p + 1e-6);
            QVERIFY(entropy >= 0.0 && entropy <= std::log(10.0) + 1e-5);
        }
        QCOMPARE(correct, o["correct"].toInteger());
        QCOMPARE(static_cast<double>(correct) / 10000.0, o["accuracy"].toDouble());
        const QJsonArray jc = o["confusion"].toArray();
        for (int l = 0; l < 10; ++l)
            for (int p = 0; p < 10; ++p) QCOMPARE(jc[l].toArray()[p].toInteger(), confusion[l][p]);
        const QJsonArray perClass = o["per_class"].toArray();
        for (int l = 0; l < 10; ++l)
            QCOMPARE(perClass[l].toObject()["accuracy"].toDouble(),
                     static_cast<double>(confusion[l][l]) / static_cast<double>(perClass[l].toObject()["samples"].toInteger()));
    }

    void wrongIdxMagicIsRejected()
    {
        QTemporaryDir dir;
        QByteArray bad = idxLabels(10);
        bad[3] = 0x07;
        writeBytes(dir.filePath("bad-labels"), bad);
        const QString images = kFmnist + "/t10k-images-idx3-ubyte.gz";
        expectOneLineError(runJoule({"eval", modelsDir() + "/fmnist_little.onnx", "--dataset",
                                     "idx:" + images + "," + dir.filePath("bad-labels")}),
                           {dir.filePath("bad-labels"), "magic"});
    }

    void truncatedGzipIsRejected()
    {
        QTemporaryDir dir;
        const QByteArray gz = readBytes(kFmnist + "/t10k-images-idx3-ubyte.gz");
        QVERIFY(gz.size() > 1000);
        writeBytes(dir.filePath("cut-images.gz"), gz.left(gz.size() / 2));
        expectOneLineError(runJoule({"eval", modelsDir() + "/fmnist_little.onnx", "--dataset",
                                     "idx:" + dir.filePath("cut-images.gz") + "," + kFmnist + "/t10k-labels-idx1-ubyte.gz"}),
                           {dir.filePath("cut-images.gz"), "truncated"});
    }

    void differingImageAndLabelCountsAreRejected()
    {
        QTemporaryDir dir;
        writeBytes(dir.filePath("labels-9999"), idxLabels(9999));
        expectOneLineError(runJoule({"eval", modelsDir() + "/fmnist_little.onnx", "--dataset",
                                     "idx:" + kFmnist + "/t10k-images-idx3-ubyte.gz," + dir.filePath("labels-9999")}),
                           {"10000", "9999"});
    }

    void npyWhoseShapeDoesNotFitTheModelIsRejected()
    {
        QTemporaryDir dir;
        joule::data::writeNpy(dir.filePath("x.npy").toStdString(), joule::Tensor(joule::DataType::Float32, {5, 3, 3}));
        joule::data::writeNpy(dir.filePath("y.npy").toStdString(), joule::Tensor(joule::DataType::Int64, {5}));
        expectOneLineError(runJoule({"eval", modelsDir() + "/fmnist_little.onnx", "--dataset",
                                     "npy:" + dir.filePath("x.npy") + "," + dir.filePath("y.npy")}),
                           {"[3,3]", "input"});
    }

    void aSubsetWithoutTheTopClassEvaluatesWithTheModelsClasses()
    {
        // 40 test images whose labels stop at class 4: the model still has 10 classes.
        QTemporaryDir dir;
        const joule::data::LabeledImages ds = joule::data::loadDataset("fashion-mnist:test");
        joule::Tensor x(joule::DataType::UInt8, {40, 28, 28});
        joule::Tensor y(joule::DataType::Int64, {40});
        int64_t kept = 0;
        for (int64_t i = 0; i < ds.size() && kept < 40; ++i) {
            if (ds.labels[static_cast<size_t>(i)] >= 5) continue;
            std::memcpy(x.data<uint8_t>() + kept * 784, ds.images.data<uint8_t>() + i * 784, 784);
            y.data<int64_t>()[kept++] = ds.labels[static_cast<size_t>(i)];
        }
        QCOMPARE(kept, int64_t(40));
        joule::data::writeNpy(dir.filePath("x.npy").toStdString(), x);
        joule::data::writeNpy(dir.filePath("y.npy").toStdString(), y);
        const CliResult r = runJoule({"eval", modelsDir() + "/fmnist_little.onnx", "--dataset",
                                      "npy:" + dir.filePath("x.npy") + "," + dir.filePath("y.npy"), "--json"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QCOMPARE(o["samples"].toInteger(), 40);
        QCOMPARE(o["per_class"].toArray().size(), 10);
        QCOMPARE(o["confusion"].toArray().size(), 10);
        QCOMPARE(o["confusion"].toArray()[0].toArray().size(), 10);
        QCOMPARE(o["per_class"].toArray()[9].toObject()["samples"].toInteger(), 0);
        QVERIFY(o["accuracy"].toDouble() > 0.5);
    }

    void aLabelOutsideTheOutputWidthNamesTheDatasetAndTheIndex()
    {
        QTemporaryDir dir;
        joule::Tensor x(joule::DataType::UInt8, {8, 28, 28});
        joule::Tensor y(joule::DataType::Int64, {8});
        for (int64_t i = 0; i < 8; ++i) y.data<int64_t>()[i] = i;
        y.data<int64_t>()[3] = 12;
        joule::data::writeNpy(dir.filePath("x.npy").toStdString(), x);
        joule::data::writeNpy(dir.filePath("y.npy").toStdString(), y);
        const QString spec = "npy:" + dir.filePath("x.npy") + "," + dir.filePath("y.npy");
        expectOneLineError(runJoule({"eval", modelsDir() + "/fmnist_little.onnx", "--dataset", spec}),
                           {spec, "input 3", "label 12", "10 classes"});
    }

    void emptyImageFolderIsRejected()
    {
        QTemporaryDir dir;
        QVERIFY(QDir(dir.path()).mkdir("images"));
        expectOneLineError(runJoule({"eval", modelsDir() + "/fmnist_little.onnx", "--dataset", "folder:" + dir.filePath("images")}),
                           {dir.filePath("images"), "no images"});
    }
};

QTEST_GUILESS_MAIN(CliEval)
#include "tst_cli_eval.moc"
