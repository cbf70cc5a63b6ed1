// Pruning as a user runs it (issue 15): the prune plugin from a recipe, then pruned-and-quantized
// candidates in a sweep next to pruned-only and quantized-only ones; the combination is on the Pareto
// front of accuracy against energy on stm32l4r5, below both in energy. Bad parameters name the layer.
#include "cli_test_util.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

namespace {
QString recipe(const QString& name) { return qEnvironmentVariable("JOULE_SOURCE_DIR") + "/resources/recipes/" + name + ".json"; }
} // namespace

class CliPrune : public QObject {
    Q_OBJECT
private slots:
    void prunedAndQuantizedIsOnTheFront()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString store = dir.filePath("joule.db");
        for (const QString& r : {QString("fmnist_resnet8_prune"), QString("fmnist_resnet8_int8")}) {
            const CliResult run = runJoule({"optimize", recipe(r), "--store", store}, 600000);
            QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        }
        const CliResult sweep = runJoule({"sweep", recipe("fmnist_resnet8_prune_int8"), "--grid", "prune.amount=0.1,0.2", "--store", store}, 900000);
        QVERIFY2(sweep.exitCode == 0, qPrintable(sweep.err));

        const CliResult list = runJoule({"runs", "list", "--store", store, "--json"});
        QCOMPARE(list.exitCode, 0);
        double pruned = 0, quantized = 0;
        for (const QJsonValue& run : QJsonDocument::fromJson(list.out.toUtf8()).object()["runs"].toArray())
            for (const QJsonValue& c : run["candidates"].toArray()) {
                if (run["name"].toString() == "fmnist_resnet8_prune" && c["plugin"].toString() == "prune") pruned = c["energy_uj"].toDouble();
                if (run["name"].toString() == "fmnist_resnet8_int8" && c["plugin"].toString() == "quantize") quantized = c["energy_uj"].toDouble();
            }
        QVERIFY(pruned > 0 && quantized > 0);

        const CliResult pareto = runJoule({"pareto", "--store", store, "--x", "energy_uj", "--y", "accuracy", "--json"});
        QCOMPARE(pareto.exitCode, 0);
        const QJsonArray front = QJsonDocument::fromJson(pareto.out.toUtf8()).object()["front"].toArray();
        int both = 0;
        for (const QJsonValue& c : front) {
            // A quantize step whose parent is a prune step's candidate: pruned, then quantized.
            if (c["plugin"].toString() != "quantize" || c["parent"].toString() == "baseline") continue;
            ++both;
            qInfo("on the front: run %lld %s, %.2f %% at %.0f uJ (pruned only: %.0f uJ, quantized only: %.0f uJ)",
                  static_cast<long long>(c["run"].toInteger()), qPrintable(c["candidate"].toString()), 100 * c["accuracy"].toDouble(),
                  c["energy_uj"].toDouble(), pruned, quantized);
            QVERIFY(c["energy_uj"].toDouble() < pruned);
            QVERIFY(c["energy_uj"].toDouble() < quantized);
        }
        QVERIFY2(both >= 1, qPrintable(pareto.out));
    }

    void badParametersNameTheLayer()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const auto write = [&](const QString& name, const QJsonObject& params) {
            QJsonObject r{{"model", qEnvironmentVariable("JOULE_SOURCE_DIR") + "/resources/models/fmnist_resnet8.onnx"},
                          {"datasets", QJsonObject{{"calibration", QJsonObject{{"spec", "fashion-mnist:train"}, {"limit", 32}}},
                                                   {"test", QJsonObject{{"spec", "fashion-mnist:test"}, {"limit", 32}}}}},
                          {"target", "stm32l4r5"},
                          {"steps", QJsonArray{QJsonObject{{"plugin", "prune"}, {"params", params}}}}};
            QFile f(dir.filePath(name));
            f.open(QIODevice::WriteOnly);
            f.write(QJsonDocument(r).toJson());
            return f.fileName();
        };
        const CliResult every = runJoule({"optimize", write("every.json", {{"amount", 0.99}, {"recovery", false}}), "--no-store"});
        QCOMPARE(every.exitCode, 1);
        QVERIFY2(every.errLines().last().contains("would remove every channel of layer '/stem/Conv' (16 channels)"), qPrintable(every.err));
        const CliResult unknown = runJoule({"optimize", write("unknown.json", {{"exclude", "/stem/Conv,/stage9/Conv"}}), "--no-store"});
        QCOMPARE(unknown.exitCode, 1);
        QVERIFY2(unknown.errLines().last().contains("exclude: the model has no layer or op '/stage9/Conv'"), qPrintable(unknown.err));
    }
};

QTEST_GUILESS_MAIN(CliPrune)
#include "tst_cli_prune.moc"
