// Per-layer SQNR on a known error, and the mixed-precision search's Pareto front.
#include "quant/mixed_precision.h"
#include "quant/sqnr.h"
#include "quant_test_data.h"

#include <QtTest>
#include <cmath>

using namespace joule;
using namespace joule::quant;

namespace {

// input -> Mul(input, k) -> y
Graph scaleGraph(float k)
{
    Graph g;
    g.name = "scale";
    g.opsetImports[""] = 13;
    g.addInput({.name = "input", .dtype = DataType::Float32, .shape = {1, 1, 28, 28}});
    Tensor c(DataType::Float32, {});
    c.data<float>()[0] = k;
    g.setInitializer("k", c);
    g.addNode({.name = "mul", .opType = "Mul", .inputs = {"input", "k"}, .outputs = {"y"}});
    g.addOutput({.name = "y", .dtype = DataType::Float32, .shape = {1, 1, 28, 28}});
    return g;
}

PrecisionConfiguration point(double accuracy, double bytes, double energy)
{
    PrecisionConfiguration p;
    p.accuracy = accuracy;
    p.weightBytes = bytes;
    p.energyUj = energy;
    return p;
}

} // namespace

class TestQuantSqnrMixed : public QObject {
    Q_OBJECT
private slots:
    void sqnrOfAOnePercentGainErrorIs40Db()
    {
        QCOMPARE(sqnrDb(100.0, 1.0), 20.0);
        QVERIFY(std::isinf(sqnrDb(1.0, 0.0)));
        QuantizedModel noisy{.graph = scaleGraph(1.01f), .layers = {}};
        noisy.layers.push_back({.node = "mul", .op = "Mul", .output = "y", .dequantized = "y"});
        const auto r = layerSqnr(scaleGraph(1.0f), noisy, quanttest::testImages(), quanttest::cardPreprocessing(),
                                 {.first = 0, .count = 4, .batch = 1, .progress = {}, .cancel = nullptr});
        QCOMPARE(r.size(), size_t{1});
        QVERIFY2(std::fabs(r[0].sqnrDb - 40.0) < 1e-3, qPrintable(QString::number(r[0].sqnrDb)));
    }

    void paretoFrontKeepsExactlyTheNonDominatedPoints()
    {
        const std::vector<PrecisionConfiguration> pts{point(0.90, 100, 10), point(0.89, 60, 10), point(0.88, 70, 10),
                                                      point(0.85, 50, 10), point(0.90, 100, 9)};
        const std::vector<size_t> front = paretoFront(pts);
        // [2] is worse than [1] in accuracy and memory; [0] is worse than [4] in energy only.
        QCOMPARE(front, (std::vector<size_t>{3, 1, 4}));
    }

    void searchReturnsAnOrderedSequenceAndItsFront()
    {
        const Graph fp32 = quanttest::referenceModel("little");
        const auto ranges = chooseRanges(
            collectStatistics(fp32, quanttest::trainImages(), quanttest::cardPreprocessing(), {.count = 32}), {});
        MixedPrecisionOptions o;
        o.validation = &quanttest::trainImages();   // the first images: enough to rank three layers
        o.prep = quanttest::cardPreprocessing();
        o.validationSamples = 300;
        const MixedPrecisionResult r = searchMixedPrecision(fp32, ranges, {}, o);
        QCOMPARE(r.sensitivity.size(), size_t{3});
        QCOMPARE(r.configurations.size(), size_t{4});
        QCOMPARE(r.configurations.front().int4Layers, 0);
        for (size_t k = 1; k < r.configurations.size(); ++k) {
            QVERIFY(r.configurations[k].weightBytes < r.configurations[k - 1].weightBytes);
            QCOMPARE(r.configurations[k].weightBits.at(r.sensitivity[k - 1].node), 4);
        }
        // Every configuration off the front is dominated by one on it; none on it is dominated.
        auto dominates = [](const PrecisionConfiguration& a, const PrecisionConfiguration& b) {
            return a.accuracy >= b.accuracy && a.weightBytes <= b.weightBytes &&
                   (a.accuracy > b.accuracy || a.weightBytes < b.weightBytes);
        };
        for (size_t i = 0; i < r.configurations.size(); ++i) {
            const bool onFront = std::find(r.front.begin(), r.front.end(), i) != r.front.end();
            bool dominated = false;
            for (size_t j = 0; j < r.configurations.size(); ++j)
                dominated = dominated || (j != i && dominates(r.configurations[j], r.configurations[i]));
            QCOMPARE(onFront, !dominated);
        }
        // The all-int4 end always has the least memory, so it is on the front.
        QCOMPARE(r.front.front(), r.configurations.size() - 1);
    }
};

QTEST_GUILESS_MAIN(TestQuantSqnrMixed)
#include "tst_quant_sqnr_mixed.moc"
