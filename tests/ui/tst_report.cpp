// joule report on a real project: a small int8 quantize run and a small big/little cascade recorded in
// a store. The HTML has a row per stored candidate, names the Pareto front `joule pareto` prints, and
// embeds real PNG plots (trade-off; per layer for plain candidates; per input for all); nothing else is
// left in the folder. A missing store and a store without runs are exit 1 naming the file.
//
//   QT_QPA_PLATFORM=offscreen JOULE_SOURCE_DIR=. JOULE_BUILD_DIR=build build/tests/tst_report
#include "cli/cli_test_util.h"
#include "store/store.h"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

namespace {

QString source(const QString& relative) { return qEnvironmentVariable("JOULE_SOURCE_DIR") + "/" + relative; }

constexpr int kTimeoutMs = 600000;

QString writeJson(const QTemporaryDir& dir, const QString& name, const QJsonObject& o)
{
    const QString path = dir.filePath(name);
    QFile f(path);
    f.open(QIODevice::WriteOnly);
    f.write(QJsonDocument(o).toJson());
    return path;
}

} // namespace

class TestReport : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    QString db_;

private slots:
    void initTestCase()
    {
        QVERIFY(tmp_.isValid());
        db_ = tmp_.filePath("joule.db");
        const QString resnet8 = source("resources/models/fmnist_resnet8.onnx"), little = source("resources/models/fmnist_little.onnx");
        const QJsonObject quantize{
            {"model", resnet8},
            {"datasets", QJsonObject{{"calibration", QJsonObject{{"spec", "fashion-mnist:train"}, {"limit", 64}}},
                                     {"test", QJsonObject{{"spec", "fashion-mnist:test"}, {"limit", 300}}}}},
            {"target", "stm32l4r5"},
            {"steps", QJsonArray{QJsonObject{{"plugin", "quantize"}, {"params", QJsonObject{{"calibration_samples", 64}, {"sqnr_samples", 8}}}}}}};
        const QJsonObject cascade{
            {"model", resnet8},
            {"models", QJsonObject{{"little", little}, {"big", resnet8}}},
            {"datasets", QJsonObject{{"validation", QJsonObject{{"spec", "fashion-mnist:train"}, {"offset", 50000}, {"limit", 500}}},
                                     {"test", QJsonObject{{"spec", "fashion-mnist:test"}, {"limit", 300}}}}},
            {"target", "stm32l4r5"},
            {"steps", QJsonArray{QJsonObject{{"plugin", "cascade"}, {"params", QJsonObject{{"stages", "little,big"}}}}}}};
        for (const auto& [name, recipe] : {std::pair{"quantize.json", quantize}, std::pair{"cascade.json", cascade}}) {
            const CliResult r = runJoule({"optimize", writeJson(tmp_, name, recipe), "--store", db_}, kTimeoutMs);
            QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        }
    }

    void theReportShowsEveryCandidateTheFrontAndRealPlots()
    {
        const QString out = tmp_.filePath("report");
        const CliResult r = runJoule({"report", "--store", db_, "--out", out}, kTimeoutMs);
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(r.out.trimmed(), QDir(out).filePath("index.html"));
        QCOMPARE(QDir(out).entryList(QDir::Files | QDir::NoDotAndDotDot), QStringList{"index.html"});   // self-contained
        QFile f(QDir(out).filePath("index.html"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString html = QString::fromUtf8(f.readAll());

        const joule::store::Store db(db_);
        const auto candidates = db.candidates();
        QCOMPARE(candidates.size(), size_t(4));   // two runs: baseline + int8, baseline + cascade
        std::map<int64_t, QString> keyOf;
        for (const auto& c : candidates) {
            keyOf[c.id] = QString::number(c.runId) + "/" + c.cid;
            QVERIFY2(html.contains("<td>" + keyOf[c.id] + "</td>"), qPrintable(keyOf[c.id]));
        }
        // The front it names is joule pareto's, in order.
        const CliResult pareto = runJoule({"pareto", "--store", db_, "--x", "energy_uj", "--y", "accuracy", "--json"}, kTimeoutMs);
        QVERIFY2(pareto.exitCode == 0, qPrintable(pareto.err));
        QStringList front;
        for (const auto& v : QJsonDocument::fromJson(pareto.out.toUtf8()).object()["front"].toArray())
            front << keyOf[v.toObject()["id"].toInteger()];
        QVERIFY(!front.isEmpty());
        QVERIFY2(html.contains("Pareto front, cheapest first: " + front.join(", ") + "."), qPrintable(front.join(", ")));

        // Every plot is a real picture; the plain candidates have their layers, the cascade its per-input cost.
        const QRegularExpression img(R"re(<img alt="([^"]*)" width="\d+" src="data:image/png;base64,([^"]+)")re");
        QStringList alts;
        for (auto it = img.globalMatch(html); it.hasNext();) {
            const auto m = it.next();
            QImage picture;
            QVERIFY2(picture.loadFromData(QByteArray::fromBase64(m.captured(2).toLatin1()), "PNG"), qPrintable(m.captured(1)));
            QVERIFY(picture.width() > 300 && picture.height() > 200);
            alts << m.captured(1);
        }
        QCOMPARE(alts.count("accuracy against energy per input, every candidate, Pareto front"), 1);
        QCOMPARE(alts.count("confusion matrix"), 4);          // every candidate has its per-input section
        QCOMPARE(alts.count("energy per layer"), 3);          // the plain ones
        QCOMPARE(alts.count("energy per input"), 1);          // the cascade
        QCOMPARE(alts.count("per-layer SQNR"), 1);            // the int8 candidate reports SQNR
    }

    void aMissingOrEmptyStoreIsAnError()
    {
        const CliResult missing = runJoule({"report", "--store", tmp_.filePath("nothing.db"), "--out", tmp_.filePath("r1")}, kTimeoutMs);
        QCOMPARE(missing.exitCode, 1);
        QVERIFY2(missing.err.contains("nothing.db") && missing.err.contains("no such store"), qPrintable(missing.err));
        const QString empty = tmp_.filePath("empty.db");
        { joule::store::Store make(empty); }
        const CliResult none = runJoule({"report", "--store", empty, "--out", tmp_.filePath("r2")}, kTimeoutMs);
        QCOMPARE(none.exitCode, 1);
        QVERIFY2(none.err.contains("empty.db") && none.err.contains("no recorded runs"), qPrintable(none.err));
        QVERIFY(!QFile::exists(tmp_.filePath("r2/index.html")));
    }
};

QTEST_MAIN(TestReport)
#include "tst_report.moc"
