// One integer engine per file: `joule run` and `joule eval` run an exported QDQ model on the same
// integer kernels, so they predict the same class for every image; `--fake-quant` selects the float
// simulation instead. The model is the quantize plugin's int8 export of the resnet8 recipe, made by
// the ctest fixture ort_export_qdq_fmnist_resnet8_int8 (JOULE_QDQ_MODEL names it).
#include "cli_test_util.h"

#include "data/dataset.h"
#include "data/npy.h"
#include "plugin/model_card.h"

#include <QFile>
#include <QTemporaryDir>

namespace {

constexpr int64_t kImages = 500;

QString qdqModel() { return qEnvironmentVariable("JOULE_QDQ_MODEL"); }
// The fp32 model the export came from: its card gives the preprocessing.
QString referenceModel() { return qEnvironmentVariable("JOULE_SOURCE_DIR") + "/resources/models/fmnist_resnet8.onnx"; }

std::vector<int64_t> argmaxRows(const joule::Tensor& scores)
{
    const int64_t rows = scores.dim(0), classes = scores.numel() / rows;
    std::vector<int64_t> best(static_cast<size_t>(rows), 0);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 1; c < classes; ++c)
            if (scores.data<float>()[r * classes + c] > scores.data<float>()[r * classes + best[static_cast<size_t>(r)]])
                best[static_cast<size_t>(r)] = c;
    return best;
}

} // namespace

class CliInt8 : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString inputs_;        // the first kImages test images, preprocessed as the model card says
    QStringList prepArgs_;  // the same preprocessing for joule eval (the export has no card beside it)

private slots:
    void initTestCase()
    {
        QVERIFY(tmp_.isValid());
        QVERIFY2(QFile::exists(qdqModel()), qPrintable("JOULE_QDQ_MODEL '" + qdqModel() + "' is missing (ctest runs its fixture first)"));
        const joule::data::Preprocessing prep = joule::plugin::preprocessingFromCard(referenceModel());
        const joule::data::LabeledImages ds = joule::data::loadDataset("fashion-mnist:test", prep);
        joule::Tensor x(joule::DataType::Float32, {kImages, 1, 28, 28});
        joule::data::fillBatch(ds, prep, 0, kImages, x.data<float>());
        prepArgs_ = {"--scale", QString::number(prep.scale, 'g', 9), "--mean", QString::number(prep.mean.at(0), 'g', 9),
                     "--std", QString::number(prep.std.at(0), 'g', 9)};
        inputs_ = tmp_.filePath("images.npy");
        joule::data::writeNpy(inputs_.toStdString(), x);
    }

    void runAndEvalGiveTheSameInt8Predictions()
    {
        const QString records = tmp_.filePath("records.csv");
        const CliResult eval = runJoule(QStringList{"eval", qdqModel(), "--dataset", "fashion-mnist:test", "--limit",
                                                    QString::number(kImages), "--records", records} + prepArgs_);
        QVERIFY2(eval.exitCode == 0, qPrintable(eval.err));
        QFile f(records);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), kImages + 1);

        const CliResult run = runJoule({"run", qdqModel(), "--input", inputs_, "--output-dir", tmp_.filePath("int")});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const std::vector<int64_t> predicted = argmaxRows(joule::data::readNpy(tmp_.filePath("int/logits.npy").toStdString()));
        QCOMPARE(static_cast<int64_t>(predicted.size()), kImages);
        for (int64_t i = 0; i < kImages; ++i) {
            const QStringList row = lines[static_cast<int>(i + 1)].split(',');
            QCOMPARE(row[0].toLongLong(), i);
            QVERIFY2(row[2].toLongLong() == predicted[static_cast<size_t>(i)],
                     qPrintable(QString("image %1: eval says %2, run says %3").arg(i).arg(row[2]).arg(predicted[static_cast<size_t>(i)])));
        }
    }

    void fakeQuantRunsTheFloatSimulationOfTheSameModel()
    {
        const CliResult run = runJoule({"run", qdqModel(), "--input", inputs_, "--output-dir", tmp_.filePath("fake"), "--fake-quant"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const joule::Tensor fake = joule::data::readNpy(tmp_.filePath("fake/logits.npy").toStdString());
        const CliResult integer = runJoule({"run", qdqModel(), "--input", inputs_, "--output-dir", tmp_.filePath("int2")});
        QVERIFY2(integer.exitCode == 0, qPrintable(integer.err));
        const joule::Tensor real = joule::data::readNpy(tmp_.filePath("int2/logits.npy").toStdString());
        QCOMPARE(fake.shape(), real.shape());
        // Both are dequantized int8 codes of the same output scale: they agree within a step or two,
        // and the predictions almost always.
        const std::vector<int64_t> a = argmaxRows(fake), b = argmaxRows(real);
        int64_t same = 0;
        for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
        QVERIFY2(same >= kImages * 99 / 100, qPrintable(QString("%1 of %2 agree").arg(same).arg(kImages)));

        const CliResult eval = runJoule(QStringList{"eval", qdqModel(), "--dataset", "fashion-mnist:test", "--limit", "64",
                                                    "--fake-quant", "--json"} + prepArgs_);
        QVERIFY2(eval.exitCode == 0, qPrintable(eval.err));
    }
};

QTEST_GUILESS_MAIN(CliInt8)
#include "tst_cli_int8.moc"
