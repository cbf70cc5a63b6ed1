// `joule plugins` and `joule optimize` as a user runs them.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>

namespace {

QString fixtureDir() { return QStringLiteral(JOULE_PLUGIN_FIXTURE_DIR); }
QString modelPath() { return qEnvironmentVariable("JOULE_SOURCE_DIR") + "/resources/models/fmnist_little.onnx"; }

struct Run {
    int exitCode = -1;
    QByteArray out;
    QString err;
};

Run joule(const QStringList& args, const QString& pluginPath = fixtureDir())
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("JOULE_PLUGIN_PATH", pluginPath);
    p.setProcessEnvironment(env);
    p.start(qEnvironmentVariable("JOULE_BUILD_DIR") + "/bin/joule", args);
    if (!p.waitForFinished(300000)) {
        p.kill();
        p.waitForFinished();
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(),
            QString::fromUtf8(p.readAllStandardError())};
}

QJsonObject pluginNamed(const QJsonArray& list, const QString& name)
{
    for (const auto& v : list)
        if (v.toObject().value("name").toString() == name) return v.toObject();
    return {};
}

QString writeRecipe(const QTemporaryDir& dir, const QJsonArray& steps)
{
    const QJsonObject r{{"model", modelPath()},
                        {"datasets", QJsonObject{{"test", QJsonObject{{"spec", "fashion-mnist:test"}, {"limit", 200}}}}},
                        {"target", "stm32l4r5"},
                        {"steps", steps}};
    const QString path = dir.filePath("recipe.json");
    QFile f(path);
    f.open(QIODevice::WriteOnly);
    f.write(QJsonDocument(r).toJson());
    return path;
}

} // namespace

class TestPluginCli : public QObject {
    Q_OBJECT
private slots:
    void pluginsJsonListsGoodAndBrokenPluginsWithReasons()
    {
        const Run r = joule({"plugins", "--json"});
        QCOMPARE(r.exitCode, 0);
        QJsonParseError error;
        const QJsonObject doc = QJsonDocument::fromJson(r.out, &error).object();
        QCOMPARE(error.error, QJsonParseError::NoError);
        QCOMPARE(doc.value("search_path").toArray().first().toString(), fixtureDir());
        const QJsonArray list = doc.value("plugins").toArray();

        const QJsonObject good = pluginNamed(list, "fixture-prune");
        QCOMPARE(good.value("ok").toBool(), true);
        QVERIFY(good.value("error").isNull());
        const QJsonArray params = good.value("parameters").toArray();
        QCOMPARE(params.size(), 4);
        QCOMPARE(params[0].toObject(), QJsonDocument::fromJson(R"({"key":"fraction","type":"double","default":0.1,"min":0,"max":1,
            "help":"fraction of each weight tensor to zero"})").object());

        const QJsonObject broken = pluginNamed(list, "fixture-bad-range");
        QCOMPARE(broken.value("ok").toBool(), false);
        QCOMPARE(broken.value("error").toString(),
                 QString("manifest: parameters[0]: parameter 'bits': field 'default': 12 is above the maximum 8"));
        QVERIFY(broken.value("path").toString().endsWith("libfixture_bad_range.so"));

        int notJoule = 0;
        for (const auto& v : list)
            if (v.toObject().value("error").toString().startsWith("not a Joule plugin")) ++notJoule;
        QCOMPARE(notJoule, 1);
    }

    void pluginsTextNamesBrokenOnes()
    {
        const Run r = joule({"plugins"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("fixture-no-params  BROKEN"));
        QVERIFY(r.out.contains("manifest: field 'parameters' is missing"));
        QVERIFY(r.out.contains("fraction"));
    }

    void optimizePrintsEveryCandidateBaselineFirst()
    {
        QTemporaryDir dir;
        const QString recipe = writeRecipe(dir, QJsonArray{QJsonObject{{"plugin", "fixture-prune"},
                                                                      {"params", QJsonObject{{"fraction", 0.5}, {"copies", 2}}}}});
        const Run r = joule({"optimize", recipe, "--json"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QJsonParseError error;
        const QJsonObject doc = QJsonDocument::fromJson(r.out, &error).object();
        QCOMPARE(error.error, QJsonParseError::NoError);
        QCOMPARE(doc.value("target").toObject().value("id").toString(), QString("stm32l4r5"));
        const QJsonArray candidates = doc.value("candidates").toArray();
        QCOMPARE(candidates.size(), 3);
        const QJsonObject base = candidates[0].toObject();
        QCOMPARE(base.value("id").toString(), QString("baseline"));
        QVERIFY(base.value("plugin").isNull());
        for (const auto& v : candidates) {
            const QJsonObject c = v.toObject();
            for (const char* key : {"id", "label", "plugin", "params", "accuracy", "latency_ms", "energy_uj", "weight_bytes",
                                    "flash_bytes", "arena_bytes", "target"})
                QVERIFY2(c.contains(key), key);
            QCOMPARE(c.value("samples").toInt(), 200);
            QCOMPARE(c.value("target").toString(), QString("stm32l4r5"));
            QVERIFY(c.value("latency_ms").toDouble() > 0);
            QVERIFY(c.value("energy_uj").toDouble() > 0);
            QVERIFY(c.value("arena_bytes").toInteger() > 0);
        }
        const QJsonObject c2 = candidates[2].toObject();
        QCOMPARE(c2.value("plugin").toString(), QString("fixture-prune"));
        QCOMPARE(c2.value("params").toObject().value("fraction").toDouble(), 0.5);
        QCOMPARE(c2.value("parent").toString(), QString("baseline"));
        QVERIFY(base.value("accuracy").toDouble() > 0.8);
        QVERIFY(r.err.contains("joule optimize: evaluating c2"));   // progress on stderr
    }

    void aFailingStepIsOneStderrLineAndExitOne()
    {
        QTemporaryDir dir;
        const QString recipe = writeRecipe(dir, QJsonArray{QJsonObject{{"plugin", "fixture-invalid"}}});
        const Run r = joule({"optimize", recipe, "--json"});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.out.isEmpty());
        const QStringList errors = r.err.split('\n', Qt::SkipEmptyParts).filter("joule optimize: plugin");
        QCOMPARE(errors.size(), 1);
        QVERIFY2(errors[0].startsWith("joule optimize: plugin 'fixture-invalid': returned an invalid graph"), qPrintable(errors[0]));
        QVERIFY(r.err.trimmed().endsWith(errors[0]));   // the last line
    }

    void aStoreThatIsNotOneIsRefusedBeforeAnyWork()
    {
        // --store opens the store first: a file that is not a Joule store stops the run at once,
        // with the file named and left as it was.
        QTemporaryDir dir;
        const QString recipe = writeRecipe(dir, {});
        QFile notes(dir.filePath("notes.db"));
        QVERIFY(notes.open(QIODevice::WriteOnly));
        notes.write("my notes");
        notes.close();
        const Run r = joule({"optimize", recipe, "--store", dir.filePath("notes.db")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(dir.filePath("notes.db")) && r.err.contains("not a Joule store"), qPrintable(r.err));
        QVERIFY(!r.err.contains("evaluating"));
        QFile back(dir.filePath("notes.db"));
        QVERIFY(back.open(QIODevice::ReadOnly));
        QCOMPARE(back.readAll(), QByteArray("my notes"));
    }

    void ctrlCCancelsCleanly()
    {
        QTemporaryDir dir;
        QJsonObject r{{"model", modelPath()}, {"datasets", QJsonObject{{"test", "fashion-mnist:test"}}}, {"target", "stm32l4r5"},
                      {"steps", QJsonArray{QJsonObject{{"plugin", "fixture-prune"}, {"params", QJsonObject{{"wait_for_cancel_ms", 120000}}}}}}};
        QFile f(dir.filePath("r.json"));
        f.open(QIODevice::WriteOnly);
        f.write(QJsonDocument(r).toJson());
        f.close();
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("JOULE_PLUGIN_PATH", fixtureDir());
        p.setProcessEnvironment(env);
        p.start(qEnvironmentVariable("JOULE_BUILD_DIR") + "/bin/joule", {"optimize", f.fileName(), "--json"});
        QVERIFY(p.waitForStarted());
        // Wait until the step runs (it then waits up to 2 minutes for a cancel), then interrupt.
        QByteArray err;
        QElapsedTimer t;
        t.start();
        while (!err.contains("waiting for cancel") && t.elapsed() < 120000 && p.state() == QProcess::Running) {
            p.waitForReadyRead(200);
            err += p.readAllStandardError();
        }
        QVERIFY2(err.contains("waiting for cancel"), err.constData());
        ::kill(static_cast<pid_t>(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(60000));
        QVERIFY2(t.elapsed() < 60000, "the cancel was not noticed promptly");
        err += p.readAllStandardError();
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 130);
        QVERIFY(p.readAllStandardOutput().isEmpty());
        QVERIFY2(err.trimmed().endsWith("joule optimize: cancelled"), err.constData());
    }
};

QTEST_GUILESS_MAIN(TestPluginCli)
#include "tst_plugin_cli.moc"
