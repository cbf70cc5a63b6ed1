// The quantize plugin as the framework sees it: manifest, parameters, pass, candidates.
#include "plugin/parameter.h"
#include "plugin/pass_runner.h"
#include "plugin/plugin_interface.h"
#include "quant_test_data.h"

#include <QJsonArray>
#include <QPluginLoader>
#include <QtTest>

using namespace joule;

class TestQuantizePlugin : public QObject {
    Q_OBJECT
private:
    QString pluginPath() const
    {
        return qEnvironmentVariable("JOULE_BUILD_DIR", QString(JOULE_TEST_PLUGIN_DIR) + "/..") + "/plugins/libquantize.so";
    }
    std::vector<plugin::ParamSpec> specs(QPluginLoader& loader) const
    {
        std::vector<plugin::ParamSpec> out;
        for (const auto v : loader.metaData().value("MetaData").toObject().value("parameters").toArray())
            out.push_back(plugin::parseParamSpec(v.toObject(), "plugin 'quantize'"));
        return out;
    }

private slots:
    void manifestDeclaresTheParameters()
    {
        QPluginLoader loader(pluginPath());
        const QJsonObject meta = loader.metaData().value("MetaData").toObject();
        QCOMPARE(meta.value("name").toString(), QString("quantize"));
        QVERIFY(!loader.isLoaded());   // read without loading
        const auto s = specs(loader);
        QStringList keys;
        for (const auto& p : s) keys << p.key;
        for (const char* k : {"activations", "weights", "calibration", "percentile", "calibration_samples", "cle",
                              "bias_correction", "mixed_precision", "max_candidates"})
            QVERIFY2(keys.contains(k), k);
        QVERIFY_THROWS_EXCEPTION(plugin::PluginError,
                                 plugin::resolveParams(s, {{"calibration", "kl"}}, "plugin 'quantize'"));
    }

    void passQuantizesACandidateAndLeavesItsInputAlone()
    {
        QPluginLoader loader(pluginPath());
        auto* iface = qobject_cast<plugin::PluginInterface*>(loader.instance());
        QVERIFY2(iface, qPrintable(loader.errorString()));
        const QVariantMap params = plugin::resolveParams(
            specs(loader), {{"calibration", "minmax"}, {"calibration_samples", 32}, {"sqnr_samples", 8}}, "plugin 'quantize'");
        plugin::Candidate input{.id = "baseline", .graphs = {quanttest::referenceModel("little")}};
        const size_t nodesBefore = input.graphs[0].nodes().size();
        plugin::PassContext ctx({.calibration = &quanttest::trainImages(), .preprocessing = quanttest::cardPreprocessing()});
        const auto out = iface->createPass()->run(input, params, ctx);
        QCOMPARE(out.size(), size_t{1});
        const Graph& g = out[0].graphs.at(0);
        g.validate();
        QVERIFY(std::any_of(g.nodes().begin(), g.nodes().end(), [](const Node& n) { return n.opType == "QuantizeLinear"; }));
        QCOMPARE(out[0].notes.value("calibration").toString(), QString("minmax"));
        QCOMPARE(out[0].notes.value("sqnr").toArray().size(), 4);
        QCOMPARE(input.graphs[0].nodes().size(), nodesBefore);
        const double acc = ctx.evaluate(g, quanttest::testImages(), 300).accuracy;
        QVERIFY2(acc > 0.8, qPrintable(QString::number(acc)));
    }

    void mixedPrecisionWithoutValidationDataIsAnErrorNamingThePlugin()
    {
        QPluginLoader loader(pluginPath());
        auto* iface = qobject_cast<plugin::PluginInterface*>(loader.instance());
        QVERIFY(iface);
        const QVariantMap params = plugin::resolveParams(specs(loader), {{"mixed_precision", true}}, "plugin 'quantize'");
        plugin::Candidate input{.id = "baseline", .graphs = {quanttest::referenceModel("little")}};
        plugin::PassContext ctx({.calibration = &quanttest::trainImages(), .preprocessing = quanttest::cardPreprocessing()});
        // Through the pass runner, as joule optimize runs it: the error names the plugin.
        try {
            auto pass = iface->createPass();
            plugin::runPass(*pass, "quantize", input, params, ctx);
            QFAIL("expected PluginError");
        } catch (const plugin::PluginError& e) {
            QVERIFY2(std::string(e.what()).rfind("plugin 'quantize': ", 0) == 0, e.what());
            QVERIFY2(std::string(e.what()).find("quantize") != std::string::npos, e.what());
            QVERIFY2(std::string(e.what()).find("validation") != std::string::npos, e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestQuantizePlugin)
#include "tst_quantize_plugin.moc"
