// Target profiles: every shipped profile loads; a broken one is rejected with one line naming the file
// and the field (missing field, wrong unit, bad source key, wrong type, out of range, unknown field).
#include "cost_test_util.h"

#include "cost/target_profile.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <functional>

using namespace joule::cost;

namespace {

QJsonObject readProfileJson(const QString& id)
{
    QFile f(targetsDir() + "/" + id + ".json");
    if (!f.open(QIODevice::ReadOnly)) qFatal("cannot read %s", qPrintable(f.fileName()));
    return QJsonDocument::fromJson(f.readAll()).object();
}

void writeJson(const QString& path, const QJsonObject& o)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) qFatal("cannot write %s", qPrintable(path));
    f.write(QJsonDocument(o).toJson());
}

// Edits the first cluster of a profile object.
QJsonObject withCluster0(QJsonObject profile, const std::function<void(QJsonObject&)>& edit)
{
    QJsonArray clusters = profile["clusters"].toArray();
    QJsonObject c = clusters[0].toObject();
    edit(c);
    clusters[0] = c;
    profile["clusters"] = clusters;
    return profile;
}

// Writes `profile` as DIR/<fileName> and returns the loader's error message ("" if it loaded).
QString loadError(const QTemporaryDir& dir, const QJsonObject& profile, const QString& fileName = "stm32l4r5.json")
{
    const QString path = dir.filePath(fileName);
    writeJson(path, profile);
    try {
        loadTargetProfile(path);
    } catch (const TargetProfileError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

void expectRejected(const QString& message, const QString& file, const QStringList& mustContain)
{
    QVERIFY2(!message.isEmpty(), "the profile was accepted");
    QVERIFY2(!message.contains('\n'), qPrintable("not one line: " + message));
    QVERIFY2(message.startsWith(file + ": "), qPrintable("does not start with the file: " + message));
    for (const QString& s : mustContain) QVERIFY2(message.contains(s), qPrintable("'" + s + "' not in: " + message));
}

} // namespace

class TargetProfiles : public QObject {
    Q_OBJECT
private slots:
    void everyShippedProfileLoads()
    {
        const QStringList files = QDir(targetsDir()).entryList({"*.json"}, QDir::Files);
        QVERIFY(files.size() >= 6);
        for (const QString& f : files) {
            try {
                const TargetProfile t = loadTargetProfile(targetsDir() + "/" + f);
                QCOMPARE(QString::fromStdString(t.id) + ".json", f);
                QVERIFY(!t.clusters.empty());
                for (const auto& c : t.clusters) {
                    QVERIFY(c.clockMhz.value > 0);
                    for (KernelClass k : {KernelClass::Conv, KernelClass::Depthwise, KernelClass::Pointwise, KernelClass::FullyConnected}) {
                        QVERIFY(c.macKernel(k, Precision::Fp32));
                        QVERIFY(c.macKernel(k, Precision::Int8));
                    }
                }
            } catch (const std::exception& e) {
                QFAIL(e.what());
            }
        }
    }

    void theIssueTargetsAreShippedWithTheirKinds()
    {
        const std::map<std::string, std::string> kinds = {{"stm32l4r5", "mcu"}, {"stm32u575", "mcu"}, {"stm32h7a3", "mcu"},
                                                          {"gap8", "multicore-mcu"}, {"esp32s3", "mcu"}, {"rk3399", "big-little"}};
        for (const auto& [id, kind] : kinds) {
            const TargetProfile t = loadTarget(QString::fromStdString(id));
            QCOMPARE(t.kind, kind);
        }
        const TargetProfile rk = loadTarget("rk3399");
        QCOMPARE(rk.clusters.size(), size_t(2));
        QCOMPARE(rk.clusters[0].id, std::string("a72"));
        QCOMPARE(rk.clusters[0].clockMhz.value, 1800.0);
        QCOMPARE(rk.clusters[1].id, std::string("a53"));
        const TargetProfile l4 = loadTarget("stm32l4r5");
        QCOMPARE(l4.clusters[0].macKernel(KernelClass::Conv, Precision::Int8)->cyclesPerMac.value, 1.5);
        QVERIFY(!l4.sources.at(l4.clusters[0].clockMhz.source).empty());
        QVERIFY(l4.anyClusterHasInt4());
        QVERIFY(!loadTarget("esp32s3").anyClusterHasInt4());
    }

    void missingFieldIsRejectedNamingFileAndField()
    {
        QTemporaryDir dir;
        const QString m = loadError(dir, withCluster0(readProfileJson("stm32l4r5"), [](QJsonObject& c) { c.remove("clock_mhz"); }));
        expectRejected(m, dir.filePath("stm32l4r5.json"), {"field 'clusters[0].clock_mhz' is missing"});
    }

    void missingNestedKernelFieldIsRejected()
    {
        QTemporaryDir dir;
        const QString m = loadError(dir, withCluster0(readProfileJson("stm32l4r5"), [](QJsonObject& c) {
            QJsonObject mac = c["mac_kernels"].toObject();
            QJsonObject conv = mac["conv"].toObject();
            QJsonObject int8 = conv["int8"].toObject();
            int8.remove("cycles_per_output");
            conv["int8"] = int8;
            mac["conv"] = conv;
            c["mac_kernels"] = mac;
        }));
        expectRejected(m, dir.filePath("stm32l4r5.json"), {"clusters[0].mac_kernels.conv.int8.cycles_per_output", "missing"});
    }

    void clockInGigahertzIsRejectedAsWrongUnit()
    {
        QTemporaryDir dir;
        const QString m = loadError(dir, withCluster0(readProfileJson("stm32l4r5"), [](QJsonObject& c) {
            QJsonObject clock = c.take("clock_mhz").toObject();
            clock["value"] = 0.12;
            c["clock_ghz"] = clock;
        }));
        expectRejected(m, dir.filePath("stm32l4r5.json"), {"field 'clusters[0].clock_ghz'", "wrong unit", "clusters[0].clock_mhz"});
    }

    void ramInMegabytesIsRejectedAsWrongUnit()
    {
        QTemporaryDir dir;
        QJsonObject p = readProfileJson("rk3399");
        QJsonObject mem = p["memory"].toObject();
        QJsonObject ram = mem.take("ram_bytes").toObject();
        ram["value"] = 1024;
        mem["ram_mb"] = ram;
        p["memory"] = mem;
        const QString m = loadError(dir, p, "rk3399.json");
        expectRejected(m, dir.filePath("rk3399.json"), {"field 'memory.ram_mb'", "wrong unit", "memory.ram_bytes"});
    }

    void negativeOrZeroClockIsRejected()
    {
        for (double clock : {-120.0, 0.0}) {
            QTemporaryDir dir;
            const QString m = loadError(dir, withCluster0(readProfileJson("stm32l4r5"), [clock](QJsonObject& c) {
                QJsonObject o = c["clock_mhz"].toObject();
                o["value"] = clock;
                c["clock_mhz"] = o;
            }));
            expectRejected(m, dir.filePath("stm32l4r5.json"), {"field 'clusters[0].clock_mhz.value'", "> 0"});
        }
    }

    void sourceKeyNotInSourcesIsRejected()
    {
        QTemporaryDir dir;
        QJsonObject p = readProfileJson("gap8");
        p = withCluster0(p, [](QJsonObject& c) {
            QJsonObject o = c["clock_mhz"].toObject();
            o["source"] = "nope";
            c["clock_mhz"] = o;
        });
        const QString m = loadError(dir, p, "gap8.json");
        expectRejected(m, dir.filePath("gap8.json"), {"field 'clusters[0].clock_mhz.source'", "\"nope\"", "'sources'"});
    }

    void unknownFieldIsRejected()
    {
        QTemporaryDir dir;
        const QString m = loadError(dir, withCluster0(readProfileJson("stm32l4r5"), [](QJsonObject& c) {
            c["turbo"] = QJsonObject{{"value", 1}, {"source", "cm4-trm"}};
        }));
        expectRejected(m, dir.filePath("stm32l4r5.json"), {"field 'clusters[0].turbo' is unknown"});
    }

    void numberGivenAsStringIsRejected()
    {
        QTemporaryDir dir;
        const QString m = loadError(dir, withCluster0(readProfileJson("stm32l4r5"), [](QJsonObject& c) {
            QJsonObject o = c["active_power_mw"].toObject();
            o["value"] = "44.58";
            c["active_power_mw"] = o;
        }));
        expectRejected(m, dir.filePath("stm32l4r5.json"), {"field 'clusters[0].active_power_mw.value'", "must be a number"});
    }

    void fractionalByteCountIsRejected()
    {
        QTemporaryDir dir;
        QJsonObject p = readProfileJson("stm32l4r5");
        QJsonObject mem = p["memory"].toObject();
        QJsonObject flash = mem["flash_bytes"].toObject();
        flash["value"] = 2097152.5;
        mem["flash_bytes"] = flash;
        p["memory"] = mem;
        expectRejected(loadError(dir, p), dir.filePath("stm32l4r5.json"), {"field 'memory.flash_bytes.value'", "integer"});
    }

    void idMustMatchTheFileName()
    {
        QTemporaryDir dir;
        expectRejected(loadError(dir, readProfileJson("stm32l4r5"), "other.json"), dir.filePath("other.json"),
                       {"field 'id'", "other.json"});
    }

    void hostIsReserved()
    {
        QTemporaryDir dir;
        QJsonObject p = readProfileJson("stm32l4r5");
        p["id"] = "host";
        expectRejected(loadError(dir, p, "host.json"), dir.filePath("host.json"), {"field 'id'", "reserved"});
    }

    void invalidJsonNamesTheFile()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("broken.json");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{\"schema\": ");
        f.close();
        try {
            loadTargetProfile(path);
            QFAIL("accepted");
        } catch (const TargetProfileError& e) {
            QVERIFY(QString(e.what()).startsWith(path + ": not valid JSON"));
        }
    }

    void targetPathEnvironmentAddsAndOverridesProfiles()
    {
        QTemporaryDir dir;
        QJsonObject p = readProfileJson("stm32l4r5");
        p["id"] = "myboard";
        writeJson(dir.filePath("myboard.json"), p);
        writeJson(dir.filePath("stm32u575.json"), withCluster0(readProfileJson("stm32u575"), [](QJsonObject& c) {
            c["clock_mhz"] = QJsonObject{{"value", 80}, {"source", c["clock_mhz"].toObject()["source"]}};
        }));
        qputenv("JOULE_TARGET_PATH", dir.path().toUtf8());
        const TargetProfile mine = loadTarget("myboard");
        const TargetProfile u5 = loadTarget("stm32u575");
        const TargetProfile l4 = loadTarget("stm32l4r5");
        qunsetenv("JOULE_TARGET_PATH");
        QCOMPARE(mine.file, dir.filePath("myboard.json"));
        QCOMPARE(u5.clusters[0].clockMhz.value, 80.0);   // the directory in JOULE_TARGET_PATH comes first
        QCOMPARE(l4.file, targetsDir() + "/stm32l4r5.json");
    }

    void unknownTargetListsTheKnownOnes()
    {
        try {
            loadTarget("nosuchboard");
            QFAIL("accepted");
        } catch (const TargetProfileError& e) {
            const QString m = e.what();
            QVERIFY(m.contains("unknown target 'nosuchboard'"));
            QVERIFY(m.contains("stm32l4r5"));
            QVERIFY(m.contains("host"));
        }
        // 'host' is measured, never a profile to estimate with: said so, with the boards to use instead.
        try {
            loadTarget("host");
            QFAIL("accepted");
        } catch (const TargetProfileError& e) {
            const QString m = e.what();
            QVERIFY2(m.contains("target 'host' is this machine, measured") && m.contains("stm32l4r5"), qPrintable(m));
            QVERIFY(!m.contains("unknown"));
        }
    }
};

QTEST_GUILESS_MAIN(TargetProfiles)
#include "tst_target_profile.moc"
