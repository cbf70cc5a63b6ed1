// `joule profile` and `joule targets` as a user runs them: the JSON contract of docs/architecture.md,
// labels (estimated vs measured), the big.LITTLE mapping, and one-line errors with exit code 1.
#include "cli/cli_test_util.h"
#include "cost_test_util.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

namespace {

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

void expectOneLineError(const CliResult& r, const QStringList& mustContain)
{
    QCOMPARE(r.exitCode, 1);
    QCOMPARE(r.errLines().size(), 1);
    QVERIFY(r.out.isEmpty());
    for (const QString& s : mustContain) QVERIFY2(r.err.contains(s), qPrintable("'" + s + "' not in: " + r.err));
}

QString resnet8() { return modelsDir() + "/mlperf_resnet8.onnx"; }

} // namespace

class CostCli : public QObject {
    Q_OBJECT
private slots:
    void helpExitsZero()
    {
        for (const char* cmd : {"profile", "targets"}) {
            const CliResult r = runJoule({cmd, "--help"});
            QCOMPARE(r.exitCode, 0);
            QVERIFY(r.out.contains("Usage"));
        }
    }

    void targetsJsonListsHostAndEveryProfile()
    {
        const CliResult r = runJoule({"targets", "--json"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QJsonArray list = parseJson(r)["targets"].toArray();
        QStringList ids;
        for (const auto& v : list) {
            const QJsonObject t = v.toObject();
            ids << t["id"].toString();
            for (const char* key : {"name", "kind", "clock_mhz", "flash_bytes", "ram_bytes"}) QVERIFY(t.contains(key));
        }
        for (const char* id : {"host", "stm32l4r5", "stm32u575", "stm32h7a3", "gap8", "esp32s3", "rk3399"})
            QVERIFY2(ids.contains(id), id);
        const QJsonObject l4 = list[ids.indexOf("stm32l4r5")].toObject();
        QCOMPARE(l4["clock_mhz"].toDouble(), 120.0);
        QCOMPARE(l4["flash_bytes"].toInteger(), 2097152);
        QCOMPARE(l4["kind"].toString(), QString("mcu"));
        QVERIFY(list[ids.indexOf("host")].toObject()["measured"].toBool());
    }

    void targetsTextIsATable()
    {
        const CliResult r = runJoule({"targets"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("stm32l4r5"));
        QVERIFY(r.out.contains("1800/1512 MHz"));
    }

    void profileJsonHasTheContractFields()
    {
        const CliResult r = runJoule({"profile", resnet8(), "--target", "stm32l4r5", "--precision", "int8", "--json"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QJsonObject o = parseJson(r);
        QCOMPARE(o["target"].toString(), QString("stm32l4r5"));
        QCOMPARE(o["precision"].toString(), QString("int8"));
        QCOMPARE(o["estimated"].toBool(), true);
        QCOMPARE(o["measured"].toBool(), false);
        QCOMPARE(o["macs"].toInteger(), 12501632);
        QVERIFY(std::abs(o["latency_ms"].toDouble() - 227.19) < 0.01);
        QVERIFY(o["energy_uj"].toDouble() > 0);
        QVERIFY(o["arena_bytes"].toInteger() >= o["arena_lower_bound_bytes"].toInteger());
        QCOMPARE(o["flash_bytes"].toInteger(), 77360 + 346 * 12);
        QCOMPARE(o["fits"].toBool(), true);
        const QJsonArray layers = o["layers"].toArray();
        QVERIFY(!layers.isEmpty());
        for (const auto& v : layers)
            for (const char* key : {"name", "op", "macs", "latency_ms", "energy_uj"}) QVERIFY2(v.toObject().contains(key), key);
        QVERIFY(!o.contains("mapping"));
    }

    void profileOnBigLittleReportsTheMapping()
    {
        const CliResult r = runJoule({"profile", resnet8(), "--target", "rk3399", "--precision", "int8",
                                      "--latency-budget-ms", "2.0", "--json"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QJsonObject o = parseJson(r);
        const QJsonObject m = o["mapping"].toObject();
        QCOMPARE(m["budget_ms"].toDouble(), 2.0);
        QVERIFY(m.contains("meets_budget"));
        QVERIFY(m["all_on_cluster"].toObject().contains("a72"));
        QVERIFY(m["all_on_cluster"].toObject().contains("a53"));
        for (const auto& v : o["layers"].toArray()) {
            const QString c = v.toObject()["cluster"].toString();
            QVERIFY2(c == "a72" || c == "a53", qPrintable(c));
            QCOMPARE(v.toObject()["per_cluster"].toArray().size(), 2);
        }
        QCOMPARE(m["meets_budget"].toBool(), o["latency_ms"].toDouble() <= 2.0 + 1e-9);
    }

    void profileTextShowsTheTableAndTheSource()
    {
        const CliResult r = runJoule({"profile", resnet8(), "--target", "stm32l4r5", "--precision", "int8"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("ESTIMATED"));
        QVERIFY(r.out.contains("stm32l4r5.json"));
        QVERIFY(r.out.contains("/stack1/conv1/Conv"));
        QVERIFY(r.out.contains("fits"));
    }

    void hostIsLabelledMeasured()
    {
        const CliResult r = runJoule({"profile", resnet8(), "--target", "host", "--runs", "3", "--warmup", "1", "--json"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QJsonObject o = parseJson(r);
        QCOMPARE(o["target"].toString(), QString("host"));
        QCOMPARE(o["measured"].toBool(), true);
        QCOMPARE(o["estimated"].toBool(), false);
        QVERIFY(o["energy_uj"].isNull());
        QVERIFY(o["latency_ms"].toDouble() > 0);
        QVERIFY(!o["measured_on"].toString().isEmpty());
    }

    void errorsAreOneLineWithExitCodeOne()
    {
        expectOneLineError(runJoule({"profile", resnet8(), "--target", "nosuchboard", "--json"}),
                           {"unknown target 'nosuchboard'", "stm32l4r5"});
        expectOneLineError(runJoule({"profile", resnet8()}), {"--target"});
        expectOneLineError(runJoule({"profile", resnet8(), "--target", "stm32l4r5", "--precision", "fp16"}), {"--precision"});
        expectOneLineError(runJoule({"profile", resnet8(), "--target", "esp32s3", "--precision", "int4"}), {"esp32s3", "int4"});
        expectOneLineError(runJoule({"profile", resnet8(), "--target", "stm32l4r5", "--latency-budget-ms", "5"}),
                           {"several clusters"});
        expectOneLineError(runJoule({"profile", resnet8(), "--target", "rk3399", "--latency-budget-ms", "-1"}),
                           {"--latency-budget-ms"});
        expectOneLineError(runJoule({"profile", "/nonexistent/model.onnx", "--target", "stm32l4r5"}), {"/nonexistent/model.onnx"});
    }

    void aBrokenProfileOnTheSearchPathNamesFileAndField()
    {
        QTemporaryDir dir;
        QFile in(targetsDir() + "/stm32l4r5.json");
        QVERIFY(in.open(QIODevice::ReadOnly));
        QJsonObject p = QJsonDocument::fromJson(in.readAll()).object();
        QJsonObject mem = p["memory"].toObject();
        mem.remove("ram_bytes");
        p["memory"] = mem;
        p["id"] = "broken";
        QFile out(dir.filePath("broken.json"));
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(QJsonDocument(p).toJson());
        out.close();
        qputenv("JOULE_TARGET_PATH", dir.path().toUtf8());
        const CliResult list = runJoule({"targets", "--json"});
        const CliResult profile = runJoule({"profile", resnet8(), "--target", "broken"});
        qunsetenv("JOULE_TARGET_PATH");
        expectOneLineError(list, {dir.filePath("broken.json"), "field 'memory.ram_bytes' is missing"});
        expectOneLineError(profile, {dir.filePath("broken.json"), "field 'memory.ram_bytes' is missing"});
    }
};

QTEST_GUILESS_MAIN(CostCli)
#include "tst_cost_cli.moc"
