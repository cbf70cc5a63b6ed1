// Pruning as a user runs it (issue 15): the prune plugin from a recipe, then pruned-and-quantized
// candidates in a sweep next to pruned-only and quantized-only ones; the combination is on the Pareto
// front of accuracy against energy on stm32l4r5, below both in energy. Bad parameters name the layer.
#include "cli_test_util.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <cmath>

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

    // Unstructured magnitude pruning with its per-layer sensitivity scan: every layer scored alone,
    // and the estimate shows what zeros save on the board when weights are stored dense: nothing.
    void unstructuredWithSensitivityScan()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QJsonObject r{{"model", qEnvironmentVariable("JOULE_SOURCE_DIR") + "/resources/models/fmnist_resnet8.onnx"},
                      {"datasets", QJsonObject{{"calibration", QJsonObject{{"spec", "fashion-mnist:train"}, {"limit", 300}}},
                                               {"test", QJsonObject{{"spec", "fashion-mnist:test"}, {"limit", 500}}}}},
                      {"target", "stm32l4r5"},
                      {"steps", QJsonArray{QJsonObject{{"plugin", "prune"},
                                                       {"params", QJsonObject{{"mode", "unstructured"}, {"amount", 0.6}, {"scope", "global"},
                                                                              {"sensitivity_scan", true}, {"scan_samples", 300}}}}}}};
        QFile f(dir.filePath("r.json"));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QJsonDocument(r).toJson());
        f.close();
        const CliResult run = runJoule({"optimize", f.fileName(), "--no-store", "--json"}, 600000);
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const QJsonArray cands = QJsonDocument::fromJson(run.out.toUtf8()).object()["candidates"].toArray();
        QCOMPARE(cands.size(), 2);
        const QJsonObject base = cands[0].toObject(), pruned = cands[1].toObject();
        const QJsonObject scan = pruned["notes"]["sensitivity"].toObject();
        const QJsonArray layers = scan["layers"].toArray();
        QCOMPARE(layers.size(), 10);   // 9 convolutions and the classifier
        double worst = 0;
        for (const QJsonValue& l : layers) {
            QVERIFY2(l["accuracy"].isDouble(), qPrintable(QJsonDocument(l.toObject()).toJson()));
            worst = std::max(worst, l["drop"].toDouble());
        }
        qInfo("60 %% of weights zeroed, each layer alone: worst drop %.3f of %.3f; all layers together: %.3f", worst, scan["accuracy"].toDouble(),
              pruned["accuracy"].toDouble());
        QVERIFY(worst > 0.0);   // some layer is sensitive to losing 60 % of its weights
        QVERIFY(std::fabs(pruned["notes"]["weights_zeroed"].toDouble() / pruned["notes"]["weights"].toDouble() - 0.6) < 1e-4);
        QCOMPARE(pruned["macs"].toInteger(), base["macs"].toInteger());
        QCOMPARE(pruned["energy_uj"].toDouble(), base["energy_uj"].toDouble());
        QCOMPARE(pruned["flash_bytes"].toInteger(), base["flash_bytes"].toInteger());
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
