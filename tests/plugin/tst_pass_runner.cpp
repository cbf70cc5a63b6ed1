// Running a pass: failures name the plugin, invalid graphs are rejected, the input stays untouched.
#include "plugin/pass_runner.h"
#include "plugin/plugin_manager.h"

#include "cost/target_profile.h"
#include "onnx/onnx_io.h"

#include <QtTest>

using namespace joule;
using namespace joule::plugin;

namespace {

QString fixtureDir() { return QStringLiteral(JOULE_PLUGIN_FIXTURE_DIR); }

std::string modelPath()
{
    return qEnvironmentVariable("JOULE_SOURCE_DIR").toStdString() + "/resources/models/fmnist_little.onnx";
}

Candidate baseline()
{
    Candidate c;
    c.id = "baseline";
    c.label = "fp32";
    c.graphs.push_back(onnx::loadModel(modelPath()));
    return c;
}

// Everything a candidate holds, as bytes (graphs via ONNX serialization).
QByteArray fingerprint(const Candidate& c)
{
    QByteArray b = (c.id + "|" + c.label + "|" + c.plugin + "|" + c.parentId + "|").toUtf8();
    b += QJsonDocument(c.policy).toJson() + QJsonDocument(c.notes).toJson();
    for (const Graph& g : c.graphs) b += QByteArray::fromStdString(onnx::serializeModel(g));
    return b;
}

QString failureOf(Pass& pass, const QString& name, const Candidate& in, const QVariantMap& params)
{
    PassContext ctx;
    try {
        runPass(pass, name, in, params, ctx);
    } catch (const PluginError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TestPassRunner : public QObject {
    Q_OBJECT
private slots:
    void aThrowingPassIsReportedWithThePluginNameAndTheInputIsUntouched()
    {
        PluginManager m({fixtureDir()});
        auto pass = m.createPass("fixture-throws");
        const Candidate in = baseline();
        const QByteArray before = fingerprint(in);
        QVERIFY(before.size() > 30000);   // the model's weights are in it
        const QString error = failureOf(*pass, "fixture-throws", in, {});
        QCOMPARE(error, QString("plugin 'fixture-throws': calibration exploded at node 'conv1'"));
        QVERIFY(fingerprint(in) == before);   // the pass scribbled on its (const) input: a copy
    }

    void aDanglingInputIsRejectedWithThePluginName()
    {
        PluginManager m({fixtureDir()});
        auto pass = m.createPass("fixture-invalid");
        const Candidate in = baseline();
        const QByteArray before = fingerprint(in);
        const QString error = failureOf(*pass, "fixture-invalid", in, {{"mode", "dangling"}});
        QVERIFY2(error.startsWith("plugin 'fixture-invalid': returned an invalid graph (candidate 0 'broken', graph 0): "), qPrintable(error));
        QVERIFY2(error.contains("no_such_value"), qPrintable(error));
        QVERIFY(fingerprint(in) == before);
    }

    void aGraphThatCannotBePreparedIsRejected()
    {
        PluginManager m({fixtureDir()});
        auto pass = m.createPass("fixture-invalid");
        const Candidate in = baseline();
        const QByteArray before = fingerprint(in);
        const QString error = failureOf(*pass, "fixture-invalid", in, {{"mode", "shape"}});
        QVERIFY2(error.startsWith("plugin 'fixture-invalid': returned an invalid graph (candidate 0 'broken', graph 0): "), qPrintable(error));
        QVERIFY(fingerprint(in) == before);
    }

    void aWorkingPassReturnsNewCandidatesWithProvenance()
    {
        PluginManager m({fixtureDir()});
        auto pass = m.createPass("fixture-prune");
        const Candidate in = baseline();
        const QByteArray before = fingerprint(in);
        const QVariantMap params = resolveParams(m.find("fixture-prune")->params, {{"fraction", 0.5}, {"copies", 2}}, "t");
        const cost::TargetProfile target = cost::loadTarget("stm32l4r5");
        std::vector<std::pair<double, QString>> progress;
        PassContext ctx({.target = &target, .progress = [&](double f, const QString& s) { progress.push_back({f, s}); }});
        const std::vector<Candidate> out = runPass(*pass, "fixture-prune", in, params, ctx);
        QCOMPARE(out.size(), size_t(2));
        for (const Candidate& c : out) {
            QCOMPARE(c.plugin, QString("fixture-prune"));
            QCOMPARE(c.parentId, QString("baseline"));
            QCOMPARE(c.params, params);
            QCOMPARE(c.policy.value("kind").toString(), QString("plain"));
            QVERIFY(c.notes.value("latency_ms").toDouble() > 0);
        }
        QCOMPARE(out[0].label, QString("pruned 25.0 %"));
        QCOMPARE(out[1].label, QString("pruned 50.0 %"));
        // About a quarter / a half of the MAC weights are zero now.
        const qint64 z0 = out[0].notes.value("zeroed_weights").toInteger();
        const qint64 z1 = out[1].notes.value("zeroed_weights").toInteger();
        QVERIFY2(z0 > 1000 && z1 > 1.8 * z0, qPrintable(QString("%1 %2").arg(z0).arg(z1)));
        QVERIFY(fingerprint(in) == before);
        QCOMPARE(progress.size(), size_t(2));
        QCOMPARE(progress.back().first, 1.0);
    }

    void cancellationPassesThrough()
    {
        PluginManager m({fixtureDir()});
        auto pass = m.createPass("fixture-prune");
        std::atomic<bool> cancel{true};
        PassContext ctx({.cancel = &cancel});
        const QVariantMap params = resolveParams(m.find("fixture-prune")->params, {}, "t");
        QVERIFY_THROWS_EXCEPTION(Cancelled, runPass(*pass, "fixture-prune", baseline(), params, ctx));
    }

    void theContextEvaluatesWithItsPreprocessing()
    {
        const data::LabeledImages test = data::loadDataset("fashion-mnist:test");
        data::LabeledImages first200;
        first200.images = test.images;   // evaluate() takes a limit: the first 200 inputs
        first200.labels = test.labels;
        first200.classNames = test.classNames;
        data::Preprocessing prep;
        prep.mean = {0.2860f};
        prep.std = {0.3530f};
        PassContext ctx({.preprocessing = prep});
        const Graph g = onnx::loadModel(modelPath());
        const eval::EvalResult r = ctx.evaluate(g, first200, 200);
        QCOMPARE(r.samples, int64_t(200));
        QVERIFY2(r.accuracy > 0.8, qPrintable(QString::number(r.accuracy)));
        QVERIFY_THROWS_EXCEPTION(PluginError, ctx.estimate(g));   // no target in this context
    }
};

QTEST_GUILESS_MAIN(TestPassRunner)
#include "tst_pass_runner.moc"
