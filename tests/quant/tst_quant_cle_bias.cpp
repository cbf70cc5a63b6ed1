// Cross-layer equalization keeps the function and balances ranges; bias correction removes the
// mean output error it measures.
#include "quant/bias_correction.h"
#include "quant/cle.h"
#include "quant/pipeline.h"
#include "quant_test_data.h"
#include "runtime/session.h"

#include <QtTest>
#include <cmath>

using namespace joule;
using namespace joule::quant;

namespace {

// Largest |a - b| / max|a| over the logits of `count` test images.
double maxRelativeDifference(const Graph& a, const Graph& b, int64_t count)
{
    double worst = 0;
    std::vector<float> ra, rb;
    RunOptions run{.first = 0, .count = count, .batch = 1, .progress = {}, .cancel = nullptr};
    for (auto [g, out] : {std::pair{&a, &ra}, std::pair{&b, &rb}})
        runObserved(*g, quanttest::testImages(), quanttest::cardPreprocessing(), run, [&](const std::string& name, const Tensor& t) {
            if (name == "logits") out->insert(out->end(), t.data<float>(), t.data<float>() + t.numel());
        });
    double scale = 0;
    for (float x : ra) scale = std::max(scale, std::fabs(static_cast<double>(x)));
    for (size_t i = 0; i < ra.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(ra[i]) - rb[i]) / scale);
    return worst;
}

double maxAbsRow(const Tensor& w, int64_t row)
{
    const int64_t per = w.numel() / w.dim(0);
    double m = 0;
    for (int64_t k = 0; k < per; ++k) m = std::max(m, std::fabs(static_cast<double>(w.data<float>()[row * per + k])));
    return m;
}

} // namespace

class TestQuantCleBias : public QObject {
    Q_OBJECT
private slots:
    void equalizationThroughReluPreservesOutputs()
    {
        const Graph fp32 = quanttest::referenceModel("resnet8");
        CleReport report;
        const Graph eq = equalizeCrossLayer(fp32, {}, &report);
        // stage1..3: conv1 -> Relu -> conv2 (the stem's Relu output also feeds the residual Add).
        QCOMPARE(report.pairs.size(), size_t{3});
        for (const ClePair& p : report.pairs) QCOMPARE(p.activation, std::string("Relu"));
        QVERIFY(maxRelativeDifference(fp32, eq, 8) < 1e-4);
        // The input graph is untouched (Tensor copies share storage: the pass must clone).
        const Node& first = fp32.nodes()[static_cast<size_t>(fp32.producerOf("/stage1/conv1/Conv_output_0"))];
        QVERIFY(!fp32.initializer(first.inputs[1])->sameContents(*eq.initializer(first.inputs[1])));
    }

    void equalizedPairsHaveEqualChannelRanges()
    {
        const Graph fp32 = quanttest::referenceModel("resnet8");
        const Graph eq = equalizeCrossLayer(fp32);
        const Node& a = eq.nodes()[static_cast<size_t>(eq.producerOf("/stage1/conv1/Conv_output_0"))];
        const Node& b = eq.nodes()[static_cast<size_t>(eq.producerOf("/stage1/conv2/Conv_output_0"))];
        const Tensor& wa = *eq.initializer(a.inputs[1]);
        const Tensor& wb = *eq.initializer(b.inputs[1]);
        const int64_t kernel = wb.dim(2) * wb.dim(3);
        for (int64_t i = 0; i < wa.dim(0); ++i) {
            double r2 = 0;
            for (int64_t o = 0; o < wb.dim(0); ++o)
                for (int64_t k = 0; k < kernel; ++k)
                    r2 = std::max(r2, std::fabs(static_cast<double>(wb.data<float>()[(o * wb.dim(1) + i) * kernel + k])));
            QVERIFY2(std::fabs(maxAbsRow(wa, i) - r2) <= 1e-4 * r2, qPrintable(QString("channel %1").arg(i)));
        }
    }

    void equalizationThroughRelu6IsExactOnTheMeasuredImages()
    {
        const Graph fp32 = quanttest::referenceModel("dscnn");
        CleReport report;
        const CleOptions o{.clip = ClipHandling::ExactOnData, .data = &quanttest::testImages(),
                           .prep = quanttest::cardPreprocessing(), .first = 0, .samples = 16, .maxSweeps = 50};
        const Graph eq = equalizeCrossLayer(fp32, o, &report);
        QCOMPARE(report.pairs.size(), size_t{8});   // stem->dw0, dw0->pw0, pw0->dw1, ... dw3->pw3
        for (const ClePair& p : report.pairs) QCOMPARE(p.activation, std::string("Clip"));
        QVERIFY(maxRelativeDifference(fp32, eq, 16) < 1e-4);
        // Without images a Clip pair cannot be shown exact, so it is left alone.
        CleReport none;
        equalizeCrossLayer(fp32, {}, &none);
        QCOMPARE(none.pairs.size(), size_t{0});
    }

    void biasCorrectionRemovesTheMeasuredMeanError()
    {
        const Graph fp32 = quanttest::referenceModel("dscnn");
        PipelineOptions o;
        o.quantizer.weights = WeightGranularity::PerTensor;
        o.calibrationSamples = 32;
        o.sqnrSamples = 0;
        PipelineResult r = quantizeModel(fp32, quanttest::trainImages(), quanttest::cardPreprocessing(), o);
        const QuantizedModel before = r.model;
        const auto shifts = correctBias(fp32, r.model, quanttest::trainImages(), quanttest::cardPreprocessing(),
                                        {.first = 0, .count = 32, .batch = 1, .progress = {}, .cancel = nullptr});
        QCOMPARE(shifts.size(), size_t{10});
        double sumBefore = 0, sumAfter = 0;
        for (const BiasShift& s : shifts) {
            sumBefore += s.meanAbsShift;
            sumAfter += s.meanAbsAfter;
        }
        QVERIFY2(sumAfter < 0.5 * sumBefore, qPrintable(QString("before %1 after %2").arg(sumBefore).arg(sumAfter)));
        // Only bias codes changed.
        QCOMPARE(r.model.graph.nodes().size(), before.graph.nodes().size());
        const std::string bias = before.layers.front().bias;
        QVERIFY(!before.graph.initializer(bias)->sameContents(*r.model.graph.initializer(bias)));
        QVERIFY(r.model.graph.initializer(bias)->quant());
    }
};

QTEST_GUILESS_MAIN(TestQuantCleBias)
#include "tst_quant_cle_bias.moc"
