// k-means finds known clusters; the built plugin, found and loaded as Joule does it, leaves at most k
// values in every clustered weight of the reference model and touches nothing else.
#include "kmeans.h"

#include "onnx/onnx_io.h"
#include "plugin/plugin_manager.h"

#include <QtTest>

#include <cmath>
#include <random>
#include <set>

using namespace joule;

class TestWeightClustering : public QObject {
    Q_OBJECT
private slots:
    void findsFourSeparatedClusters_data()
    {
        QTest::addColumn<int>("init");
        QTest::newRow("linear") << int(weight_clustering::Init::Linear);
        QTest::newRow("density") << int(weight_clustering::Init::Density);
    }
    void findsFourSeparatedClusters()
    {
        QFETCH(int, init);
        const std::vector<double> means = {-1.0, -0.2, 0.3, 2.0};
        std::mt19937 rng(7);
        std::normal_distribution<double> noise(0.0, 0.02);
        std::vector<float> w;
        for (int i = 0; i < 4000; ++i) w.push_back(static_cast<float>(means[static_cast<size_t>(i % 4)] + noise(rng)));
        const auto c = weight_clustering::kmeans1d(w, 4, static_cast<weight_clustering::Init>(init), 100);
        QCOMPARE(c.centroids.size(), size_t(4));
        for (size_t j = 0; j < 4; ++j) QVERIFY2(std::fabs(c.centroids[j] - means[j]) < 0.01, qPrintable(QString::number(c.centroids[j])));
        for (size_t i = 0; i < w.size(); ++i) QCOMPARE(int(c.assignment[i]), int(i % 4));
        // Lloyd's algorithm never increases the error, and it stopped because nothing moved.
        for (size_t i = 1; i < c.errorPerIteration.size(); ++i) QVERIFY(c.errorPerIteration[i] <= c.errorPerIteration[i - 1] * (1 + 1e-12));
        QVERIFY(c.iterations < 100);
        QVERIFY(c.sumSquaredError < 4000 * 0.02 * 0.02 * 1.2);
    }

    void rejectsImpossibleCounts()
    {
        const std::vector<float> w = {1, 2, 3};
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, weight_clustering::kmeans1d(w, 0, weight_clustering::Init::Linear, 10));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, weight_clustering::kmeans1d(w, 257, weight_clustering::Init::Linear, 10));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, weight_clustering::kmeans1d({}, 4, weight_clustering::Init::Linear, 10));
    }

    void thePluginClustersTheReferenceModel()
    {
        plugin::PluginManager plugins({QStringLiteral(PLUGIN_DIR)});
        const plugin::PluginInfo* info = plugins.find("weight-clustering");
        QVERIFY2(info, "weight-clustering is not listed in " PLUGIN_DIR);
        QCOMPARE(info->params.size(), size_t(4));
        const Graph model = onnx::loadModel(MODEL);
        plugin::Candidate in;
        in.graphs = {model};
        QVariantMap params;
        for (const plugin::ParamSpec& p : info->params) params[p.key] = p.defaultValue;
        params["clusters"] = "16";
        auto pass = plugins.createPass("weight-clustering");
        plugin::PassContext ctx;
        const std::vector<plugin::Candidate> out = pass->run(in, params, ctx);
        QCOMPARE(out.size(), size_t(1));
        const Graph& g = out.front().graphs.front();
        g.validate();

        std::set<std::string> weights;
        for (const Node& n : model.nodes())
            if ((n.opType == "Conv" || n.opType == "Gemm") && model.initializer(n.inputs[1])->numel() >= 256) weights.insert(n.inputs[1]);
        QVERIFY(weights.size() >= 5);
        QCOMPARE(out.front().notes.value("layers_clustered").toInt(), int(weights.size()));
        for (const auto& [name, before] : model.initializers()) {
            const Tensor* after = g.initializer(name);
            QVERIFY(after);
            QCOMPARE(after->numel(), before.numel());
            if (!weights.count(name)) {
                QVERIFY2(after->sameContents(before), qPrintable(QString::fromStdString(name) + " changed"));
                continue;
            }
            const float* a = after->data<float>();
            const float* b = before.data<float>();
            std::set<float> distinct(a, a + after->numel());
            {
                QVERIFY2(distinct.size() <= 16, qPrintable(QString::fromStdString(name) + ": " + QString::number(distinct.size())));
                QVERIFY(distinct.size() >= 8);
                // Every value moved to its nearest centroid only: never further than half the range.
                const auto [lo, hi] = std::minmax_element(b, b + before.numel());
                for (int64_t i = 0; i < before.numel(); ++i) QVERIFY(std::fabs(a[i] - b[i]) <= 0.5f * (*hi - *lo));
            }
        }
        const double sqnr = out.front().notes.value("sqnr_db").toDouble();
        QVERIFY2(sqnr > 15.0 && sqnr < 60.0, qPrintable(QString::number(sqnr)));
        const double compression = out.front().notes.value("compression").toDouble();
        QVERIFY2(compression > 7.0 && compression < 8.0, qPrintable(QString::number(compression)));
    }
};

QTEST_GUILESS_MAIN(TestWeightClustering)
#include "tst_weight_clustering.moc"
