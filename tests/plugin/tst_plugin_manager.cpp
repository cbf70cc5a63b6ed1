// Finding plugins and reading their manifests without loading them; broken ones are listed, not fatal.
#include "plugin/plugin_manager.h"

#include <QDir>
#include <QFile>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

using namespace joule::plugin;

namespace {

QString fixtureDir() { return QStringLiteral(JOULE_PLUGIN_FIXTURE_DIR); }

const PluginInfo* byFile(const PluginManager& m, const QString& stem)
{
    for (const PluginInfo& p : m.plugins())
        if (QFileInfo(p.path).fileName().contains(stem)) return &p;
    return nullptr;
}

} // namespace

class TestPluginManager : public QObject {
    Q_OBJECT
private slots:
    void readsAGoodManifestWithoutLoading()
    {
        const PluginManager m({fixtureDir()});
        const PluginInfo* p = m.find("fixture-prune");
        QVERIFY(p);
        QVERIFY(p->ok);
        QCOMPARE(p->version, QString("1.0"));
        QCOMPARE(p->summary, QString("test fixture: zeroes the smallest weights"));
        QCOMPARE(p->params.size(), size_t(4));
        QCOMPARE(p->params[0].key, QString("fraction"));
        QCOMPARE(p->params[0].type, ParamSpec::Type::Double);
        QCOMPARE(p->params[0].defaultValue.toDouble(), 0.1);
        QCOMPARE(*p->params[1].max, 5.0);
        QCOMPARE(p->params[2].type, ParamSpec::Type::Bool);
        // Reading metadata did not load the library.
        QVERIFY(!QLibrary(p->path).isLoaded());
    }

    void listsBrokenLibrariesWithTheReason_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("reason");
        QTest::newRow("default out of range") << "fixture_bad_range" << "fixture-bad-range"
                                              << "manifest: parameters[0]: parameter 'bits': field 'default': 12 is above the maximum 8";
        QTest::newRow("no parameters field") << "fixture_no_params" << "fixture-no-params"
                                             << "manifest: field 'parameters' is missing";
        QTest::newRow("other application's plugin") << "fixture_other_iid" << ""
                                                    << "not a Joule plugin: interface 'org.example.Other/1', expected 'org.joule-studio.Plugin/1'";
        QTest::newRow("not a Qt plugin") << "fixture_not_qt" << "" << "not a Qt plugin (no plugin metadata)";
        QTest::newRow("another plugin API version") << "fixture_other_api" << "fixture-other-api"
                                                   << "built for Joule plugin API 2, but this Joule provides API 1 "
                                                      "(interface 'org.joule-studio.Plugin/2', expected 'org.joule-studio.Plugin/1'): "
                                                      "rebuild it against this Joule's SDK";
    }
    void listsBrokenLibrariesWithTheReason()
    {
        QFETCH(QString, file);
        QFETCH(QString, name);
        QFETCH(QString, reason);
        const PluginManager m({fixtureDir()});
        const PluginInfo* p = byFile(m, file);
        QVERIFY2(p, qPrintable(file + " not listed"));
        QVERIFY(!p->ok);
        QCOMPARE(p->name, name);
        QVERIFY2(p->error.startsWith(reason), qPrintable(p->error));
        QVERIFY(p->params.empty());
        QVERIFY2(name.isEmpty() || m.find(name) == nullptr, qPrintable(name + " is broken, yet find() returns it"));
    }

    void aPluginOfAnotherApiVersionIsNeverLoaded()
    {
        PluginManager m({fixtureDir()});
        const PluginInfo* p = byFile(m, "fixture_other_api");
        QVERIFY(p);
        QCOMPARE(p->version, QString("2.0"));
        QVERIFY(m.find("fixture-other-api") == nullptr);
        try {
            m.createPass("fixture-other-api");
            QFAIL("createPass should have thrown");
        } catch (const PluginError& e) {
            QVERIFY2(QString(e.what()).startsWith("plugin 'fixture-other-api': broken: built for Joule plugin API 2"), e.what());
        }
        QVERIFY(!QLibrary(p->path).isLoaded());
    }

    void aPluginThatCannotBeInstantiatedBecomesBroken()
    {
        PluginManager m({fixtureDir()});
        QVERIFY(m.find("fixture-unloadable"));   // the manifest alone is fine
        try {
            m.createPass("fixture-unloadable");
            QFAIL("createPass should have thrown");
        } catch (const PluginError& e) {
            const QString what = e.what();
            QVERIFY2(what.startsWith("plugin 'fixture-unloadable': cannot load "), qPrintable(what));
            QVERIFY2(what.contains("joule_fixture_symbol_nobody_defines"), qPrintable(what));
        }
        QVERIFY(m.find("fixture-unloadable") == nullptr);
        const PluginInfo* p = byFile(m, "fixture_unloadable");
        QVERIFY(!p->ok);
        QVERIFY(p->error.startsWith("cannot load "));
    }

    void aManifestWhosePluginReturnsNoPassIsAnError()
    {
        // fixture-bad-range is broken already; ask for a missing and a broken one.
        PluginManager m({fixtureDir()});
        try {
            m.createPass("nope");
            QFAIL("no throw");
        } catch (const PluginError& e) {
            QVERIFY2(QString(e.what()).startsWith("plugin 'nope': not found"), e.what());
        }
        try {
            m.createPass("fixture-bad-range");
            QFAIL("no throw");
        } catch (const PluginError& e) {
            QVERIFY2(QString(e.what()).startsWith("plugin 'fixture-bad-range': broken: manifest:"), e.what());
        }
    }

    void createsAWorkingPass()
    {
        PluginManager m({fixtureDir()});
        auto pass = m.createPass("fixture-prune");
        QVERIFY(pass);
    }

    void theFirstOfTwoSameNamedPluginsWins()
    {
        QTemporaryDir second;
        QVERIFY(second.isValid());
        const PluginManager first({fixtureDir()});
        const QString original = byFile(first, "fixture_prune")->path;
        QVERIFY(QFile::copy(original, second.filePath("libfixture_prune_copy.so")));
        const PluginManager m({fixtureDir(), second.path()});
        const PluginInfo* winner = m.find("fixture-prune");
        QVERIFY(winner);
        QCOMPARE(winner->path, original);
        const PluginInfo* loser = byFile(m, "fixture_prune_copy");
        QVERIFY(loser);
        QVERIFY(!loser->ok);
        QCOMPARE(loser->error, "duplicate: a plugin named 'fixture-prune' was found first at " + original);
    }

    void searchesTheEnvironmentFirstThenBuildInstallUserAndSettingsDirs()
    {
        QTemporaryDir home;
        QVERIFY(home.isValid());
        qputenv("XDG_DATA_HOME", home.filePath("data").toUtf8());
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, home.filePath("config"));
        PluginManager::setSettingsDirs({"/opt/team/plugins"});
        qputenv("JOULE_PLUGIN_PATH", "/tmp/a:/tmp/b");
        const QStringList dirs = PluginManager::defaultDirs();
        qunsetenv("JOULE_PLUGIN_PATH");
        const QString exeDir = QCoreApplication::applicationDirPath();
        QCOMPARE(dirs, QStringList({"/tmp/a", "/tmp/b", QDir::cleanPath(exeDir + "/../plugins"),
                                    QDir::cleanPath(exeDir + "/../lib/joule/plugins"), home.filePath("data") + "/joule/plugins",
                                    "/opt/team/plugins"}));
        PluginManager::setSettingsDirs({});
        QVERIFY(!PluginManager::defaultDirs().contains("/opt/team/plugins"));
        qunsetenv("XDG_DATA_HOME");
    }

    void findsAPluginInTheUsersFolder()
    {
        QTemporaryDir home;
        QVERIFY(home.isValid());
        qputenv("XDG_DATA_HOME", home.path().toUtf8());
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, home.filePath("config"));
        QVERIFY(PluginManager().find("fixture-prune") == nullptr);   // the build tree's plugins only
        QVERIFY(QDir().mkpath(home.filePath("joule/plugins")));
        const QString original = byFile(PluginManager({fixtureDir()}), "fixture_prune")->path;
        QVERIFY(QFile::copy(original, home.filePath("joule/plugins/libfixture_prune.so")));
        PluginManager m;
        const PluginInfo* p = m.find("fixture-prune");
        QVERIFY(p);
        QCOMPARE(p->path, home.filePath("joule/plugins/libfixture_prune.so"));
        QVERIFY(m.createPass("fixture-prune"));
        qunsetenv("XDG_DATA_HOME");
    }

    void missingDirectoriesAreSkipped()
    {
        const PluginManager m({"/nonexistent/joule/plugins"});
        QVERIFY(m.plugins().empty());
    }
};

QTEST_GUILESS_MAIN(TestPluginManager)
#include "tst_plugin_manager.moc"
