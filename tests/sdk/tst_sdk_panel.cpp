// Run by run_sdk_test.sh, never alone: the studio's optimize panel offers the plugin named by
// $JOULE_EXPECT_PLUGIN (found through $JOULE_PLUGIN_PATH), with a field per declared parameter.
#include "main_window.h"

#include "views/optimize_panel.h"
#include "views/param_form.h"

#include <QComboBox>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

class TestSdkPanel : public QObject {
    Q_OBJECT
private slots:
    void theOptimizePanelOffersThePlugin()
    {
        const QString name = qEnvironmentVariable("JOULE_EXPECT_PLUGIN");
        QVERIFY2(!name.isEmpty(), "JOULE_EXPECT_PLUGIN is not set: run this from tests/sdk/run_sdk_test.sh");
        QTemporaryDir settings;   // the user's own settings stay out of it
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, settings.path());
        joule::ui::MainWindow w;
        w.show();
        const joule::plugin::PluginInfo* info = w.plugins()->find(name);
        QVERIFY2(info, qPrintable(name + " not found in " + w.plugins()->dirs().join(":")));
        QComboBox* box = w.optimizePanel()->findChild<QComboBox*>("plugin");
        QVERIFY(box);
        QVERIFY2(box->findData(name) >= 0, qPrintable(name + " is not in the optimize panel"));
        QVERIFY(w.optimizePanel()->selectPlugin(name));
        QCOMPARE(w.optimizePanel()->currentPlugin(), name);
        for (const joule::plugin::ParamSpec& p : info->params)
            QVERIFY2(w.optimizePanel()->form()->findChild<QWidget*>(p.key), qPrintable("no field for parameter " + p.key));
    }
};

QTEST_MAIN(TestSdkPanel)
#include "tst_sdk_panel.moc"
