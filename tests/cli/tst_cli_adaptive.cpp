// Adaptive inference as a user runs it: `joule optimize` on the cascade, int8-cascade and early-exit
// recipes (thresholds tuned on train [50000, 60000), reported on the 10,000 test images), the
// per-input records, `joule whatif`, and bad input named in one line.
#include "cli_test_util.h"

#include "onnx/onnx_io.h"
#include "store/store.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

namespace {

QString sourceDir() { return qEnvironmentVariable("JOULE_SOURCE_DIR"); }
QString recipe(const char* name) { return sourceDir() + "/resources/recipes/" + name + ".json"; }
QString model(const char* name) { return sourceDir() + "/resources/models/" + name + ".onnx"; }

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

QJsonObject candidate(const QJsonObject& run, const QString& plugin)
{
    for (const auto& v : run["candidates"].toArray())
        if (v.toObject()["plugin"].toString() == plugin) return v.toObject();
    return {};
}

void expectOneLineError(const CliResult& r, const QStringList& mustContain)
{
    QCOMPARE(r.exitCode, 1);
    QCOMPARE(r.errLines().filter("joule").size() >= 1, true);
    const QString last = r.errLines().isEmpty() ? QString() : r.errLines().last();
    for (const QString& s : mustContain) QVERIFY2(last.contains(s), qPrintable("the error lacks '" + s + "': " + r.err));
}

} // namespace

class CliAdaptive : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QJsonObject cascade_, int8_, exits_;

    QJsonObject optimize(const QString& recipeFile, const QString& recordsDir)
    {
        // Recorded in the test's own store (never beside the repository's recipes).
        const CliResult r = runJoule({"optimize", recipeFile, "--records-dir", recordsDir, "--store", tmp_.filePath("joule.db"), "--json"}, 900000);
        if (r.exitCode != 0) qWarning("%s", qPrintable(r.err));
        return QJsonDocument::fromJson(r.out.toUtf8()).object();
    }

    QString writeRecipe(const QString& name, const QJsonObject& body)
    {
        const QString path = tmp_.filePath(name + ".json");
        QFile f(path);
        if (f.open(QIODevice::WriteOnly)) f.write(QJsonDocument(body).toJson());
        return path;
    }

    QJsonObject cascadeRecipe(const QString& little, const QString& big, bool validation = true)
    {
        QJsonObject datasets{{"test", QJsonObject{{"spec", "fashion-mnist:test"}, {"limit", 200}}}};
        if (validation) datasets["validation"] = QJsonObject{{"spec", "fashion-mnist:train"}, {"offset", 50000}, {"limit", 500}};
        return QJsonObject{{"model", big},
                           {"models", QJsonObject{{"little", little}, {"big", big}}},
                           {"datasets", datasets},
                           {"target", "stm32l4r5"},
                           {"steps", QJsonArray{QJsonObject{{"plugin", "cascade"}, {"params", QJsonObject{{"stages", "little,big"}}}}}}};
    }

private slots:
    void initTestCase()
    {
        QVERIFY(tmp_.isValid());
        cascade_ = optimize(recipe("fmnist_cascade"), tmp_.filePath("cascade"));
        int8_ = optimize(recipe("fmnist_cascade_int8"), tmp_.filePath("int8"));
        exits_ = optimize(recipe("fmnist_early_exit"), tmp_.filePath("exits"));
        QVERIFY(!candidate(cascade_, "cascade").isEmpty());
        QVERIFY(!candidate(int8_, "cascade").isEmpty());
        QVERIFY(!candidate(exits_, "early_exit").isEmpty());
    }

    void bigLittleKeepsTheBigModelsAccuracyAtAtMostFortyPercentOfItsEnergy()
    {
        const QJsonObject big = cascade_["candidates"].toArray()[0].toObject();
        const QJsonObject c = candidate(cascade_, "cascade");
        qInfo("cascade: %.2f%% (big %.2f%%), %.1f uJ (big %.1f uJ, %.1f%%), escalated %.1f%%", 100 * c["accuracy"].toDouble(),
              100 * big["accuracy"].toDouble(), c["energy_uj"].toDouble(), big["energy_uj"].toDouble(),
              100 * c["energy_uj"].toDouble() / big["energy_uj"].toDouble(), 100 * c["stages"].toArray()[1].toObject()["answered"].toDouble());
        QCOMPARE(c["policy"].toObject()["kind"].toString(), QString("cascade"));
        QCOMPARE(c["expected"].toBool(), true);
        QVERIFY(c["accuracy"].toDouble() >= big["accuracy"].toDouble() - 0.002);
        QVERIFY(c["energy_uj"].toDouble() <= 0.40 * big["energy_uj"].toDouble());
        // The little model's cost is counted on every input.
        const QJsonArray stages = c["stages"].toArray();
        QCOMPARE(stages[0].toObject()["executed"].toInt(), 10000);
        QVERIFY(c["energy_uj"].toDouble() >= stages[0].toObject()["energy_uj"].toDouble());
        QVERIFY(stages[1].toObject()["executed"].toInt() < 10000);   // big ran only on what little left
    }

    void bothStagesInt8StayWithinThreePointsTenthsOfTheInt8BigAtFortyPercent()
    {
        const QJsonObject fp32 = int8_["candidates"].toArray()[0].toObject();
        const QJsonObject c = candidate(int8_, "cascade");
        const QJsonObject big = c["stages"].toArray()[1].toObject();   // the int8 ResNet-8, on every input alone
        qInfo("int8 cascade: %.2f%% (int8 big %.2f%%), %.1f uJ (int8 big %.1f uJ: %.1f%%; fp32 big %.1f uJ: %.1f%% saved)",
              100 * c["accuracy"].toDouble(), 100 * big["accuracy_alone"].toDouble(), c["energy_uj"].toDouble(),
              big["energy_uj"].toDouble(), 100 * c["energy_uj"].toDouble() / big["energy_uj"].toDouble(), fp32["energy_uj"].toDouble(),
              100 * (1 - c["energy_uj"].toDouble() / fp32["energy_uj"].toDouble()));
        QCOMPARE(c["precision"].toString(), QString("int8"));
        QVERIFY(c["accuracy"].toDouble() >= big["accuracy_alone"].toDouble() - 0.003);
        QVERIFY(c["energy_uj"].toDouble() <= 0.40 * big["energy_uj"].toDouble());
    }

    void earlyExitsSaveThirtyPercentWithinHalfAPoint()
    {
        const QJsonObject full = exits_["candidates"].toArray()[0].toObject();
        const QJsonObject c = candidate(exits_, "early_exit");
        qInfo("early exits: %.2f%% (full %.2f%%), %.1f uJ (%.1f%% saved)", 100 * c["accuracy"].toDouble(),
              100 * full["accuracy"].toDouble(), c["energy_uj"].toDouble(), 100 * (1 - c["energy_uj"].toDouble() / full["energy_uj"].toDouble()));
        QCOMPARE(c["policy"].toObject()["kind"].toString(), QString("early_exit"));
        QVERIFY(c["accuracy"].toDouble() >= full["accuracy"].toDouble() - 0.005);
        QVERIFY(c["energy_uj"].toDouble() <= 0.70 * full["energy_uj"].toDouble());
        const QJsonArray stages = c["stages"].toArray();
        QVERIFY(stages.size() >= 2);
        for (qsizetype s = 1; s < stages.size(); ++s)   // later segments really run on fewer inputs
            QVERIFY(stages[s].toObject()["executed"].toInt() < stages[s - 1].toObject()["executed"].toInt());
    }

    void dynamicPrecisionSharesWeightsAndSaysWhetherItPays()
    {
        const QJsonObject run = optimize(recipe("fmnist_dynamic_precision"), tmp_.filePath("precision"));
        const QJsonObject c = candidate(run, "cascade");
        const QJsonArray stages = c["stages"].toArray();
        QCOMPARE(stages.size(), 2);
        QCOMPARE(stages[0].toObject()["name"].toString(), QString("model:first"));   // the mostly-int4 end
        QCOMPARE(stages[1].toObject()["name"].toString(), QString("model:last"));    // all int8
        QVERIFY(c["shared_weight_bytes"].toInteger() > 0);
        // stm32l4r5 has no int4 MAC kernel faster than its int8 one: the int4 stage costs more, so the
        // cascade costs more per input than all-int8 alone, and the report says so.
        const double int4 = stages[0].toObject()["energy_uj"].toDouble(), int8 = stages[1].toObject()["energy_uj"].toDouble();
        qInfo("dynamic precision on stm32l4r5: int4 stage %.1f uJ, int8 stage %.1f uJ, cascade %.1f uJ at %.2f%%; %lld weight bytes shared",
              int4, int8, c["energy_uj"].toDouble(), 100 * c["accuracy"].toDouble(), c["shared_weight_bytes"].toInteger());
        QVERIFY(int4 > int8);
        QVERIFY(c["energy_uj"].toDouble() > int8);
    }

    void theSameInputAlwaysTakesTheSamePath()
    {
        const QJsonObject again = optimize(recipe("fmnist_cascade"), tmp_.filePath("cascade_again"));
        const QString id = candidate(cascade_, "cascade")["id"].toString();
        const QByteArray first = readAll(tmp_.filePath("cascade/" + id + ".csv"));
        QVERIFY(first.size() > 100000);
        QCOMPARE(readAll(tmp_.filePath("cascade_again/" + id + ".csv")), first);
        QCOMPARE(readAll(tmp_.filePath("cascade_again/" + id + ".stages.json")), readAll(tmp_.filePath("cascade/" + id + ".stages.json")));
        QCOMPARE(candidate(again, "cascade")["energy_uj"].toDouble(), candidate(cascade_, "cascade")["energy_uj"].toDouble());
    }

    void theRecordsCarryStageMacsLatencyAndEnergyPerInput_data()
    {
        QTest::addColumn<QString>("run");
        QTest::newRow("cascade") << "cascade";
        QTest::newRow("early exits") << "exits";
    }
    void theRecordsCarryStageMacsLatencyAndEnergyPerInput()
    {
        QFETCH(QString, run);
        const QJsonObject c = candidate(run == "cascade" ? cascade_ : exits_, run == "cascade" ? "cascade" : "early_exit");
        const QJsonArray stages = c["stages"].toArray();
        std::vector<qint64> macs;
        std::vector<double> energy;
        for (const auto& s : stages) {
            macs.push_back((macs.empty() ? 0 : macs.back()) + s.toObject()["macs"].toInteger());
            energy.push_back((energy.empty() ? 0 : energy.back()) + s.toObject()["energy_uj"].toDouble());
        }
        const QStringList lines = QString::fromUtf8(readAll(tmp_.filePath(run + "/" + c["id"].toString() + ".csv"))).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 10001);
        QCOMPARE(lines[0], QString("index,label,prediction,correct,top1_probability,margin,entropy,stage,macs,latency_ms,energy_uj"));
        std::vector<qint64> perStage(static_cast<size_t>(stages.size()), 0);
        double energySum = 0;
        qint64 correct = 0;
        for (int i = 1; i < lines.size(); ++i) {
            const QStringList f = lines[i].split(',');
            QCOMPARE(f.size(), 11);
            const int stage = f[7].toInt();
            QVERIFY(stage >= 0 && stage < stages.size());
            perStage[static_cast<size_t>(stage)] += 1;
            QCOMPARE(f[8].toLongLong(), macs[static_cast<size_t>(stage)]);
            QVERIFY(std::fabs(f[10].toDouble() - energy[static_cast<size_t>(stage)]) <= 1e-4 * energy[static_cast<size_t>(stage)]);
            QVERIFY(!f[9].isEmpty());
            energySum += f[10].toDouble();
            correct += f[3].toInt();
        }
        for (qsizetype s = 0; s < stages.size(); ++s)
            QCOMPARE(static_cast<double>(perStage[static_cast<size_t>(s)]) / 10000.0, stages[s].toObject()["answered"].toDouble());
        QCOMPARE(static_cast<double>(correct) / 10000.0, c["accuracy"].toDouble());
        QVERIFY(std::fabs(energySum / 10000.0 - c["energy_uj"].toDouble()) <= 1e-4 * c["energy_uj"].toDouble());
    }

    void whatifRecomputesTheCandidateAndSweepsThousandThresholds()
    {
        const QJsonObject c = candidate(cascade_, "cascade");
        const QString stages = tmp_.filePath("cascade/" + c["id"].toString() + ".stages.json");
        const CliResult same = runJoule({"whatif", stages, "--json"});
        QVERIFY2(same.exitCode == 0, qPrintable(same.err));
        const QJsonObject o = QJsonDocument::fromJson(same.out.toUtf8()).object();
        QCOMPARE(o["accuracy"].toDouble(), c["accuracy"].toDouble());
        QVERIFY(std::fabs(o["energy_uj"].toDouble() - c["energy_uj"].toDouble()) <= 1e-9 * c["energy_uj"].toDouble());
        // Another threshold, without running a model: stricter means more escalated and more energy.
        const double t = c["policy"].toObject()["thresholds"].toArray()[0].toDouble();
        const CliResult stricter = runJoule({"whatif", stages, "--thresholds", QString::number(std::min(1.0, t + 0.05)), "--json"});
        QVERIFY2(stricter.exitCode == 0, qPrintable(stricter.err));
        QVERIFY(QJsonDocument::fromJson(stricter.out.toUtf8()).object()["energy_uj"].toDouble() > o["energy_uj"].toDouble());
        const CliResult sweep = runJoule({"whatif", stages, "--sweep", "1000", "--json"});
        QVERIFY2(sweep.exitCode == 0, qPrintable(sweep.err));
        const QJsonObject s = QJsonDocument::fromJson(sweep.out.toUtf8()).object();
        QCOMPARE(s["points"].toInt(), 1000);
        QVERIFY(s["front"].toArray().size() >= 10);
        qInfo("what-if: 1000 thresholds over 10000 records in %.2f ms", s["sweep_ms"].toDouble());
    }

    // The store keeps every stage's answers of an adaptive candidate: what-if from the store gives
    // what it gives from the records directory; a plain candidate has none and says so.
    void whatifReadsTheStageOutputsFromTheStore()
    {
        const QJsonObject c = candidate(cascade_, "cascade");
        const QJsonObject where = cascade_["store"].toObject();
        QVERIFY2(!where.isEmpty(), "the optimize run was not recorded in a store");
        const QString file = where["file"].toString();
        int64_t id = 0, baseline = 0;
        for (const auto& s : joule::store::Store(file).candidates(where["run"].toInteger())) {
            if (s.cid == c["id"].toString()) id = s.id;
            if (s.cid == "baseline") baseline = s.id;
        }
        QVERIFY(id > 0 && baseline > 0);
        const QString stages = tmp_.filePath("cascade/" + c["id"].toString() + ".stages.json");
        for (const QStringList& extra : {QStringList{}, QStringList{"--thresholds", "0.8"}, QStringList{"--sweep", "200"}}) {
            const CliResult fromFile = runJoule(QStringList{"whatif", stages, "--json"} + extra);
            const CliResult fromStore = runJoule(QStringList{"whatif", "--store", file, "--candidate", QString::number(id), "--json"} + extra);
            QVERIFY2(fromFile.exitCode == 0 && fromStore.exitCode == 0, qPrintable(fromFile.err + fromStore.err));
            QJsonObject a = QJsonDocument::fromJson(fromFile.out.toUtf8()).object();
            QJsonObject b = QJsonDocument::fromJson(fromStore.out.toUtf8()).object();
            QCOMPARE(b["candidate"].toInteger(), static_cast<qint64>(id));
            QCOMPARE(b["file"].toString(), file);
            for (const char* key : {"file", "candidate", "sweep_ms"}) {
                a.remove(key);
                b.remove(key);
            }
            QCOMPARE(b, a);
        }
        // A merged store keeps them too.
        const QString merged = tmp_.filePath("merged.db");
        const CliResult merge = runJoule({"store", "merge", file, "--into", merged});
        QVERIFY2(merge.exitCode == 0, qPrintable(merge.err));
        int64_t mergedId = 0;
        for (const auto& s : joule::store::Store(merged).candidates())
            if (s.cid == c["id"].toString() && s.plugin == "cascade" && s.policy == c["policy"].toObject()) mergedId = s.id;
        QVERIFY(mergedId > 0);
        const CliResult a = runJoule({"whatif", stages, "--json"});
        const CliResult b = runJoule({"whatif", "--store", merged, "--candidate", QString::number(mergedId), "--json"});
        QVERIFY2(b.exitCode == 0, qPrintable(b.err));
        QCOMPARE(QJsonDocument::fromJson(b.out.toUtf8()).object()["energy_uj"].toDouble(),
                 QJsonDocument::fromJson(a.out.toUtf8()).object()["energy_uj"].toDouble());

        const CliResult plain = runJoule({"whatif", "--store", file, "--candidate", QString::number(baseline)});
        expectOneLineError(plain, {"candidate " + QString::number(baseline), "not adaptive"});
        const CliResult missing = runJoule({"whatif", "--store", file, "--candidate", "999999"});
        expectOneLineError(missing, {"no candidate 999999"});
    }

    void classThresholdsReportedAgainstTheBestSingleThreshold()
    {
        // Both tuned on validation; on the test set the class-dependent policy is compared with the
        // single-threshold front at its own accuracy (what-if over the same stored test outputs).
        QJsonObject body = QJsonDocument::fromJson(readAll(recipe("fmnist_cascade"))).object();
        body["model"] = model("fmnist_resnet8");
        body["models"] = QJsonObject{{"little", model("fmnist_little")}, {"big", model("fmnist_resnet8")}};
        QJsonArray steps = body["steps"].toArray();
        QJsonObject step = steps[0].toObject();
        QJsonObject params = step["params"].toObject();
        params["rule"] = "class_max_prob";
        step["params"] = params;
        steps[0] = step;
        body["steps"] = steps;
        const QJsonObject run = optimize(writeRecipe("class", body), tmp_.filePath("class"));
        const QJsonObject c = candidate(run, "cascade");
        QCOMPARE(c["policy"].toObject()["thresholds"].toArray()[0].toArray().size(), 10);
        const QJsonObject single = candidate(cascade_, "cascade");
        qInfo("class thresholds: %.2f%% at %.1f uJ; single threshold: %.2f%% at %.1f uJ", 100 * c["accuracy"].toDouble(),
              c["energy_uj"].toDouble(), 100 * single["accuracy"].toDouble(), single["energy_uj"].toDouble());
        QVERIFY(c["accuracy"].toDouble() >= c["stages"].toArray()[1].toObject()["accuracy_alone"].toDouble() - 0.005);
    }

    void badInputIsOneLineNamingTheStageOrParameter()
    {
        // Stages with different input shapes: MLPerf's ResNet-8 takes 3x32x32.
        expectOneLineError(runJoule({"optimize", writeRecipe("shapes", cascadeRecipe(model("mlperf_resnet8"), model("fmnist_resnet8")))}),
                           {"stage 'big'", "[1,3,32,32]", "same input"});
        // Different class counts: a 5-class head on the same input.
        joule::Graph five;
        five.opsetImports[""] = 13;
        five.addInput({.name = "input", .dtype = joule::DataType::Float32, .shape = {-1, 1, 28, 28}});
        joule::Tensor w(joule::DataType::Float32, {5, 784});
        five.setInitializer("w", w);
        five.addNode({.name = "flat", .opType = "Flatten", .inputs = {"input"}, .outputs = {"f"}});
        joule::Node fc{.name = "fc", .opType = "Gemm", .inputs = {"f", "w"}, .outputs = {"logits"}};
        joule::Attribute transB;
        transB.kind = joule::Attribute::Kind::Int;
        transB.i = 1;
        fc.attributes["transB"] = transB;
        five.addNode(fc);
        five.addOutput({.name = "logits", .dtype = joule::DataType::Float32, .shape = {-1, 5}});
        joule::onnx::saveModel(five, tmp_.filePath("five.onnx").toStdString());
        expectOneLineError(runJoule({"optimize", writeRecipe("classes", cascadeRecipe(tmp_.filePath("five.onnx"), model("fmnist_resnet8")))}),
                           {"stage 'big' has 10 classes", "stage 'little' has 5"});
        // No validation set to tune on.
        expectOneLineError(runJoule({"optimize", writeRecipe("noval", cascadeRecipe(model("fmnist_little"), model("fmnist_resnet8"), false))}),
                           {"plugin 'cascade'", "validation"});
        // A max-probability threshold outside [0, 1].
        const QString stages = tmp_.filePath("cascade/" + candidate(cascade_, "cascade")["id"].toString() + ".stages.json");
        expectOneLineError(runJoule({"whatif", stages, "--thresholds", "1.5"}), {"--thresholds", "max_prob threshold 1.5 is outside [0, 1]"});
        // An exit tensor that does not exist.
        QJsonObject body = QJsonDocument::fromJson(readAll(recipe("fmnist_early_exit"))).object();
        body["model"] = model("fmnist_resnet8");
        body["steps"] = QJsonArray{QJsonObject{{"plugin", "early_exit"}, {"params", QJsonObject{{"exits", "no_such_tensor"}}}}};
        expectOneLineError(runJoule({"optimize", writeRecipe("exit", body)}), {"parameter 'exits'", "'no_such_tensor' does not exist"});
        // A stage name the recipe does not have.
        QJsonObject unknown = cascadeRecipe(model("fmnist_little"), model("fmnist_resnet8"));
        unknown["steps"] = QJsonArray{QJsonObject{{"plugin", "cascade"}, {"params", QJsonObject{{"stages", "little,huge"}}}}};
        expectOneLineError(runJoule({"optimize", writeRecipe("unknown", unknown)}), {"'huge'", "little"});
    }
};

QTEST_GUILESS_MAIN(CliAdaptive)
#include "tst_cli_adaptive.moc"
