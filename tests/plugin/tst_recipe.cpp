// Recipes: every mistake names the recipe file and the JSON field; a good one runs end to end.
#include "plugin/plugin_manager.h"
#include "plugin/recipe_runner.h"

#include "onnx/onnx_io.h"

#include <QTemporaryDir>
#include <cstring>
#include <QtTest>

using namespace joule;
using namespace joule::plugin;

namespace {

QString fixtureDir() { return QStringLiteral(JOULE_PLUGIN_FIXTURE_DIR); }
QString modelPath() { return qEnvironmentVariable("JOULE_SOURCE_DIR") + "/resources/models/fmnist_little.onnx"; }

// A valid recipe with `patch` (a JSON object's members) merged over it.
QByteArray recipe(const QString& patch = "{}")
{
    QJsonObject r{{"model", modelPath()},
                  {"datasets", QJsonObject{{"calibration", QJsonObject{{"spec", "fashion-mnist:train"}, {"limit", 100}}},
                                           {"validation", QJsonObject{{"spec", "fashion-mnist:train"}, {"limit", 200}}},
                                           {"test", QJsonObject{{"spec", "fashion-mnist:test"}, {"limit", 300}}}}},
                  {"target", "stm32l4r5"},
                  {"steps", QJsonArray{QJsonObject{{"plugin", "fixture-prune"}, {"params", QJsonObject{{"fraction", 0.4}}}}}}};
    const QJsonObject p = QJsonDocument::fromJson(patch.toUtf8()).object();
    for (auto it = p.begin(); it != p.end(); ++it) {
        if (it.value().isNull()) r.remove(it.key());
        else r[it.key()] = it.value();
    }
    return QJsonDocument(r).toJson();
}

QString parseError(const QByteArray& json)
{
    try {
        parseRecipe(json, "/recipes/r.json");
    } catch (const RecipeError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TestRecipe : public QObject {
    Q_OBJECT
private slots:
    void parsesAGoodRecipe()
    {
        const Recipe r = parseRecipe(recipe(), "/recipes/r.json");
        QCOMPARE(r.model, modelPath());
        QCOMPARE(r.name, QString("r"));
        QCOMPARE(r.test.spec, QString("fashion-mnist:test"));
        QCOMPARE(r.test.limit, int64_t(300));
        QCOMPARE(r.calibration->limit, int64_t(100));
        QCOMPARE(r.target, QString("stm32l4r5"));
        QCOMPARE(r.steps.size(), size_t(1));
        QCOMPARE(r.steps[0].plugin, QString("fixture-prune"));
        QCOMPARE(r.steps[0].params.value("fraction").toDouble(), 0.4);
    }

    void theModelPathIsRelativeToTheRecipe()
    {
        QTemporaryDir dir;
        QVERIFY(QFile::copy(modelPath(), dir.filePath("m.onnx")));
        QDir(dir.path()).mkdir("recipes");
        const Recipe r = parseRecipe(recipe(R"({"model": "../m.onnx"})"), dir.filePath("recipes/x.json"));
        QCOMPARE(r.model, QDir::cleanPath(dir.filePath("m.onnx")));
    }

    void mistakesNameTheFileAndTheField_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("expected");
        QTest::newRow("not JSON") << QByteArray("{\"model\": ") << "/recipes/r.json: not valid JSON at offset";
        QTest::newRow("unknown field") << recipe(R"({"stepz": []})") << "/recipes/r.json: field 'stepz': unknown field";
        QTest::newRow("no model") << recipe(R"({"model": null})") << "/recipes/r.json: field 'model': missing";
        QTest::newRow("model not found") << recipe(R"({"model": "nope.onnx"})") << "/recipes/r.json: field 'model': file not found: /recipes/nope.onnx";
        QTest::newRow("no test set") << recipe(R"({"datasets": {"calibration": "fashion-mnist:train"}})")
                                     << "/recipes/r.json: field 'datasets.test': missing";
        QTest::newRow("bad limit") << recipe(R"({"datasets": {"test": {"spec": "fashion-mnist:test", "limit": -5}}})")
                                   << "/recipes/r.json: field 'datasets.test.limit': must be a positive integer";
        QTest::newRow("bad offset") << recipe(R"({"datasets": {"test": {"spec": "fashion-mnist:test", "offset": 1.5}}})")
                                    << "/recipes/r.json: field 'datasets.test.offset': must be a non-negative integer";
        QTest::newRow("not a spec") << recipe(R"({"datasets": {"test": "test.npy"}})")
                                    << "/recipes/r.json: field 'datasets.test': 'test.npy' is not a dataset spec";
        QTest::newRow("no target") << recipe(R"({"target": null})") << "/recipes/r.json: field 'target': missing";
        QTest::newRow("steps not array") << recipe(R"({"steps": {"plugin": "x"}})") << "/recipes/r.json: field 'steps': must be an array";
        QTest::newRow("step without plugin") << recipe(R"({"steps": [{"params": {}}]})") << "/recipes/r.json: field 'steps[0].plugin': missing";
        QTest::newRow("param is an array") << recipe(R"({"steps": [{"plugin": "p", "params": {"a": [1]}}]})")
                                           << "/recipes/r.json: field 'steps[0].params.a': must be a number, string or bool";
    }
    void mistakesNameTheFileAndTheField()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, expected);
        const QString error = parseError(json);
        QVERIFY2(error.startsWith(expected), qPrintable(error));
    }

    void stepsAreCheckedAgainstTheManifests_data()
    {
        QTest::addColumn<QString>("steps");
        QTest::addColumn<QString>("expected");
        QTest::newRow("unknown plugin") << R"([{"plugin": "fixture-prune"}, {"plugin": "nope"}])"
                                        << "/recipes/r.json: field 'steps[1].plugin': no plugin named 'nope'";
        QTest::newRow("broken plugin") << R"([{"plugin": "fixture-bad-range"}])"
                                       << "/recipes/r.json: field 'steps[0].plugin': plugin 'fixture-bad-range' is broken: manifest:";
        QTest::newRow("out of range") << R"([{"plugin": "fixture-prune", "params": {"copies": 9}}])"
                                      << "/recipes/r.json: field 'steps[0].params': plugin 'fixture-prune': parameter 'copies': 9 is above the maximum 5";
        QTest::newRow("unknown key") << R"([{"plugin": "fixture-prune", "params": {"fractoin": 0.5}}])"
                                     << "/recipes/r.json: field 'steps[0].params': plugin 'fixture-prune': parameter 'fractoin': unknown parameter";
    }
    void stepsAreCheckedAgainstTheManifests()
    {
        QFETCH(QString, steps);
        QFETCH(QString, expected);
        const Recipe r = parseRecipe(recipe(R"({"steps": )" + steps + "}"), "/recipes/r.json");
        const PluginManager m({fixtureDir()});
        try {
            resolveStepParams(r, m);
            QFAIL("no error");
        } catch (const RecipeError& e) {
            QVERIFY2(QString(e.what()).startsWith(expected), e.what());
        }
    }

    void anUnknownTargetNamesTheField()
    {
        PluginManager m({fixtureDir()});
        const Recipe r = parseRecipe(recipe(R"({"target": "no-such-board"})"), "/recipes/r.json");
        try {
            runRecipe(r, m);
            QFAIL("no error");
        } catch (const RecipeError& e) {
            QVERIFY2(QString(e.what()).startsWith("/recipes/r.json: field 'target': "), e.what());
        }
    }

    void anUnreadableDatasetNamesTheField()
    {
        PluginManager m({fixtureDir()});
        const Recipe r = parseRecipe(recipe(R"({"datasets": {"test": "fashion-mnist:test", "validation": "npy:/nonexistent/x.npy,/nonexistent/y.npy"}})"),
                                     "/recipes/r.json");
        try {
            runRecipe(r, m);
            QFAIL("no error");
        } catch (const RecipeError& e) {
            QVERIFY2(QString(e.what()).startsWith("/recipes/r.json: field 'datasets.validation': "), e.what());
            QVERIFY2(QString(e.what()).contains("/nonexistent/"), e.what());
        }
    }

    void anOffsetSelectsLaterInputs()
    {
        const Recipe r = parseRecipe(recipe(R"({"datasets": {"test": {"spec": "fashion-mnist:test", "offset": 9990}}})"), "/recipes/r.json");
        QCOMPARE(r.test.offset, int64_t(9990));
        QCOMPARE(r.test.limit, int64_t(-1));
        const data::LabeledImages all = data::loadDataset("fashion-mnist:test");
        const data::LabeledImages tail = inputRange(all, 9990, -1);
        QCOMPARE(tail.size(), int64_t(10));
        QCOMPARE(tail.labels.front(), all.labels[9990]);
        QCOMPARE(std::memcmp(tail.images.raw(), static_cast<const uint8_t*>(all.images.raw()) + 9990 * 28 * 28, 10 * 28 * 28), 0);
        QCOMPARE(inputRange(all, 100, 5).labels, std::vector<int64_t>(all.labels.begin() + 100, all.labels.begin() + 105));

        PluginManager m({fixtureDir()});
        const Recipe past = parseRecipe(recipe(R"({"datasets": {"test": {"spec": "fashion-mnist:test", "offset": 10000}}})"), "/recipes/r.json");
        try {
            runRecipe(past, m);
            QFAIL("no error");
        } catch (const RecipeError& e) {
            QCOMPARE(QString(e.what()), QString("/recipes/r.json: field 'datasets.test.offset': offset 10000 is past the end (10000 inputs)"));
        }
    }

    void runsStepsInOrderOnEveryCandidateAndEvaluatesAll()
    {
        // Two steps: 2 candidates, then each of them pruned again (2 x 1): baseline + 2 finals.
        PluginManager m({fixtureDir()});
        const Recipe r = parseRecipe(
            recipe(R"({"steps": [{"plugin": "fixture-prune", "params": {"fraction": 0.2, "copies": 2}},
                                 {"plugin": "fixture-prune", "params": {"fraction": 0.6, "evaluate_validation": true}}]})"),
            "/recipes/r.json");
        QStringList log;
        const OptimizeResult result = runRecipe(r, m, {.log = [&](const QString& l) { log << l; }});
        QCOMPARE(result.target, QString("stm32l4r5"));
        QVERIFY(result.cardPath.endsWith("fmnist_little.card.json"));
        QCOMPARE(result.candidates.size(), size_t(3));
        const CandidateResult& base = result.candidates[0];
        QCOMPARE(base.candidate.id, QString("baseline"));
        QCOMPARE(base.step, 0);
        QCOMPARE(base.test.samples, int64_t(300));
        QCOMPARE(result.candidates[1].candidate.id, QString("c3"));
        QCOMPARE(result.candidates[1].candidate.parentId, QString("c1"));
        QCOMPARE(result.candidates[2].candidate.id, QString("c4"));
        QCOMPARE(result.candidates[2].candidate.parentId, QString("c2"));
        QCOMPARE(result.candidates[2].step, 2);
        QVERIFY(result.candidates[1].candidate.notes.contains("validation_accuracy"));

        // The baseline's accuracy is the evaluator's on the same 300 images with the card's preprocessing.
        data::Preprocessing prep;
        prep.mean = {0.2860f};
        prep.std = {0.3530f};
        const eval::EvalResult direct = eval::evaluate(onnx::loadModel(modelPath().toStdString()),
                                                       firstInputs(data::loadDataset("fashion-mnist:test"), 300), prep);
        QCOMPARE(base.test.correct, direct.correct);
        QVERIFY2(base.test.accuracy > 0.8, qPrintable(QString::number(base.test.accuracy)));
        // Estimates are on the recipe's target, and real numbers.
        for (const auto& c : result.candidates) {
            QCOMPARE(c.estimate.target, std::string("stm32l4r5"));
            QVERIFY(c.estimate.latencyMs > 0);
            QVERIFY(c.estimate.memory.arenaBytes > 0);
            QVERIFY(c.estimate.memory.flashBytes > 0);
        }
        // Pruning 60 % on top of 20 / 40 % hurts: accuracy drops below the baseline's.
        QVERIFY(result.candidates[2].test.accuracy < base.test.accuracy);
        QVERIFY(log.filter("step 2/2 (fixture-prune) on c2").size() >= 1);
    }

    void weightMemoryCountsInt4WeightsAtHalfAByte()
    {
        Graph g;
        ValueInfo x;
        x.name = "x";
        x.dtype = DataType::Float32;
        x.shape = {1, 5};
        g.addInput(x);
        g.setInitializer("w4", Tensor(DataType::Int8, {5}));      // 5 int4 values: 3 bytes
        g.setInitializer("w8", Tensor(DataType::Int8, {4}));      // 4 bytes
        g.setInitializer("s", Tensor(DataType::Float32, {}));     // 4 bytes, shared scale
        g.setInitializer("b", Tensor(DataType::Float32, {3}));    // 12 bytes
        auto dq = [](const std::string& w) {
            Node n;
            n.name = w + "_DequantizeLinear";
            n.opType = "DequantizeLinear";
            n.inputs = {w, "s"};
            n.outputs = {w + "f"};
            return n;
        };
        Node dq4 = dq("w4");
        Attribute bits;
        bits.kind = Attribute::Kind::Int;
        bits.i = 4;
        dq4.attributes["joule.bits"] = bits;
        g.addNode(dq4);
        g.addNode(dq("w8"));
        QCOMPARE(weightMemoryBytes(g), int64_t(3 + 4 + 4 + 12));
    }

    void theShippedRecipesAreValid()
    {
        // resources/recipes/*.json against the plugins of this build tree (build/plugins).
        const QDir dir(qEnvironmentVariable("JOULE_SOURCE_DIR") + "/resources/recipes");
        const QStringList files = dir.entryList({"*.json"}, QDir::Files);
        QVERIFY2(!files.isEmpty(), qPrintable(dir.path() + ": no recipes (*.json)"));
        const PluginManager m({qEnvironmentVariable("JOULE_BUILD_DIR") + "/plugins"});
        for (const QString& f : files) {
            const Recipe r = loadRecipe(dir.filePath(f));
            QCOMPARE(resolveStepParams(r, m).size(), r.steps.size());
            QVERIFY2(!r.steps.empty(), qPrintable(f));
        }
    }

    void aFailingStepNamesThePlugin()
    {
        PluginManager m({fixtureDir()});
        const Recipe r = parseRecipe(recipe(R"({"steps": [{"plugin": "fixture-throws"}]})"), "/recipes/r.json");
        try {
            runRecipe(r, m);
            QFAIL("no error");
        } catch (const PluginError& e) {
            QCOMPARE(QString(e.what()), QString("plugin 'fixture-throws': calibration exploded at node 'conv1'"));
        }
    }
};

QTEST_GUILESS_MAIN(TestRecipe)
#include "tst_recipe.moc"
