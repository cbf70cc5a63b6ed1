// The experiment store as a user runs it: a sweep killed with SIGKILL at random moments keeps every
// finished run intact and resumes without duplicates; a second process reads while a sweep writes;
// runs list/show/export and pareto over what was stored.
#include "cli_test_util.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QThread>

#include "store/store.h"

#include <csignal>
#include <set>

namespace {

QString model(const char* name) { return qEnvironmentVariable("JOULE_SOURCE_DIR") + "/resources/models/" + name + ".onnx"; }

QJsonObject runJson(const QStringList& args)
{
    const CliResult r = runJoule(args);
    if (r.exitCode != 0) qWarning("%s: %s", qPrintable(args.join(' ')), qPrintable(r.err));
    return QJsonDocument::fromJson(r.out.toUtf8()).object();
}

const QStringList kGrids{"--grid", "quantize.calibration=minmax,mse,percentile", "--grid", "quantize.weights=per_channel,per_tensor"};

} // namespace

class CliStore : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString recipe_;

    QStringList sweepArgs(const QString& store) const { return QStringList{"sweep", recipe_} + kGrids + QStringList{"--store", store}; }

    // Every recorded run is whole: its two candidates (baseline and int8), each with all its records.
    void expectIntact(const QString& path, std::set<QString>* points)
    {
        joule::store::Store s(path);
        QCOMPARE(s.integrityCheck(), QString("ok"));
        for (const auto& run : s.runs()) {
            QCOMPARE(run.candidates, int64_t(2));
            QVERIFY2(points->insert(run.pointKey).second, qPrintable("point recorded twice: " + run.pointKey));
            for (const auto& c : s.candidates(run.id)) QCOMPARE(static_cast<int64_t>(s.records(c.id).size()), c.samples);
        }
    }

private slots:
    void initTestCase()
    {
        QVERIFY(tmp_.isValid());
        recipe_ = tmp_.filePath("dscnn_sweep.json");
        QFile f(recipe_);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QJsonDocument(QJsonObject{
                                  {"name", "dscnn_sweep"},
                                  {"model", model("fmnist_dscnn")},
                                  {"datasets", QJsonObject{{"calibration", QJsonObject{{"spec", "fashion-mnist:train"}, {"limit", 128}}},
                                                           {"test", QJsonObject{{"spec", "fashion-mnist:test"}, {"limit", 500}}}}},
                                  {"target", "stm32l4r5"},
                                  {"steps", QJsonArray{QJsonObject{{"plugin", "quantize"},
                                                                   {"params", QJsonObject{{"calibration_samples", 128}, {"sqnr_samples", 0}}}}}}})
                    .toJson());
    }

    void aSweepKilledAtRandomMomentsKeepsFinishedRunsAndResumesWithoutDuplicates()
    {
        const QString path = tmp_.filePath("killed.db");
        QRandomGenerator rng(20261201);
        for (int kill = 0; kill < 3; ++kill) {
            QProcess p;
            p.start(jouleBinary(), sweepArgs(path));
            QVERIFY(p.waitForStarted());
            const int ms = 200 + static_cast<int>(rng.bounded(2300));
            QThread::msleep(static_cast<unsigned long>(ms));
            ::kill(static_cast<pid_t>(p.processId()), SIGKILL);
            p.waitForFinished();
            std::set<QString> points;
            if (QFile::exists(path)) expectIntact(path, &points);
            qInfo("kill %d after %d ms: %zu points recorded", kill + 1, ms, points.size());
        }
        const CliResult resumed = runJoule(sweepArgs(path), 600000);
        QVERIFY2(resumed.exitCode == 0, qPrintable(resumed.err));
        std::set<QString> points;
        expectIntact(path, &points);
        QCOMPARE(points.size(), size_t(6));   // 3 calibrations x 2 granularities, each once
        const CliResult again = runJoule(sweepArgs(path));
        QVERIFY2(again.err.contains("0 points run, 6 already"), qPrintable(again.err));
    }

    void aSecondProcessReadsWhileASweepWrites()
    {
        const QString path = tmp_.filePath("read.db");
        QProcess sweep;
        sweep.start(jouleBinary(), sweepArgs(path));
        QVERIFY(sweep.waitForStarted());
        int reads = 0, readsWithRuns = 0;
        QElapsedTimer t;
        t.start();
        // waitForFinished() also lets QProcess notice that the sweep ended.
        while (!sweep.waitForFinished(50) && t.elapsed() < 300000) {
            if (!QFile::exists(path)) continue;
            const CliResult r = runJoule({"runs", "list", "--store", path, "--json"});
            QVERIFY2(r.exitCode == 0, qPrintable(r.err));
            const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
            QVERIFY(o.contains("runs"));
            ++reads;
            if (!o["runs"].toArray().isEmpty() && sweep.state() != QProcess::NotRunning) ++readsWithRuns;
        }
        QCOMPARE(sweep.exitCode(), 0);
        qInfo("%d reads during the sweep, %d of them saw recorded runs", reads, readsWithRuns);
        QVERIFY(readsWithRuns >= 1);
    }

    void runsAndParetoReportWhatWasStored()
    {
        const QString path = tmp_.filePath("killed.db");   // the finished sweep above
        const QJsonObject list = runJson({"runs", "list", "--store", path, "--json"});
        QCOMPARE(list["schema_version"].toInt(), joule::store::kSchemaVersion);
        const QJsonArray runs = list["runs"].toArray();
        QCOMPARE(runs.size(), 6);
        // The front computed here from the listed candidates (energy down, accuracy up).
        std::vector<QJsonObject> all;
        for (const auto& r : runs)
            for (const auto& c : r.toObject()["candidates"].toArray()) all.push_back(c.toObject());
        std::set<qint64> expected;
        for (const auto& a : all) {
            bool dominated = false;
            for (const auto& b : all)
                dominated = dominated || (b["energy_uj"].toDouble() <= a["energy_uj"].toDouble() && b["accuracy"].toDouble() >= a["accuracy"].toDouble() &&
                                          (b["energy_uj"].toDouble() < a["energy_uj"].toDouble() || b["accuracy"].toDouble() > a["accuracy"].toDouble()));
            if (!dominated) expected.insert(a["id"].toInteger());
        }
        const QJsonObject pareto = runJson({"pareto", "--store", path, "--x", "energy_uj", "--y", "accuracy", "--json"});
        std::set<qint64> front;
        for (const auto& c : pareto["front"].toArray()) front.insert(c.toObject()["id"].toInteger());
        QCOMPARE(pareto["candidates"].toInt(), 12);
        QVERIFY(!front.empty());
        for (qint64 id : front) QVERIFY2(expected.count(id), qPrintable(QString("front holds dominated candidate %1").arg(id)));
        // Every candidate's records export as the records CSV.
        const qint64 id = all.front()["id"].toInteger();
        const CliResult csv = runJoule({"runs", "export", QString::number(id), "--store", path, "--csv"});
        QVERIFY2(csv.exitCode == 0, qPrintable(csv.err));
        const QStringList lines = csv.out.split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 501);
        QCOMPARE(lines[0], QString("index,label,prediction,correct,top1_probability,margin,entropy,stage,macs,latency_ms,energy_uj"));
        const QJsonObject show = runJson({"runs", "show", "1", "--store", path, "--json"});
        QCOMPARE(show["candidates"].toArray().size(), 2);
        // A stored int8 candidate rebuilt from its recipe and sweep point: same metrics, same graph bytes.
        qint64 int8 = 0;
        for (const auto& c : all) if (c["plugin"].toString() == "quantize") int8 = c["id"].toInteger();
        QVERIFY(int8 > 0);
        const QJsonObject rebuilt = runJson({"runs", "rebuild", QString::number(int8), "--store", path, "--json"});
        QVERIFY2(rebuilt["same"].toBool(), qPrintable(QJsonDocument(rebuilt).toJson()));
        QCOMPARE(rebuilt["differences"].toArray().size(), 0);
        // Bad input: a store that is not one, a metric that does not exist.
        const CliResult notStore = runJoule({"runs", "list", "--store", recipe_});
        QCOMPARE(notStore.exitCode, 1);
        QVERIFY2(notStore.err.contains("not a Joule store"), qPrintable(notStore.err));
        const CliResult badMetric = runJoule({"pareto", "--store", path, "--x", "speed"});
        QCOMPARE(badMetric.exitCode, 1);
        QVERIFY2(badMetric.err.contains("unknown metric 'speed'"), qPrintable(badMetric.err));
    }

    void optimizeRecordsIntoTheStoreItIsGiven()
    {
        const QString path = tmp_.filePath("optimize.db");
        const QJsonObject o = runJson({"optimize", recipe_, "--store", path, "--json"});
        QCOMPARE(o["store"].toObject()["file"].toString(), path);
        QCOMPARE(o["store"].toObject()["run"].toInt(), 1);
        const QJsonObject show = runJson({"runs", "show", "1", "--store", path, "--json"});
        const QJsonArray stored = show["candidates"].toArray();
        QCOMPARE(stored.size(), o["candidates"].toArray().size());
        for (qsizetype i = 0; i < stored.size(); ++i) {
            QCOMPARE(stored[i].toObject()["accuracy"].toDouble(), o["candidates"].toArray()[i].toObject()["accuracy"].toDouble());
            QCOMPARE(stored[i].toObject()["energy_uj"].toDouble(), o["candidates"].toArray()[i].toObject()["energy_uj"].toDouble());
        }
    }
};

QTEST_GUILESS_MAIN(CliStore)
#include "tst_cli_store.moc"
