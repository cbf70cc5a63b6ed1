// Calibration: histogram bookkeeping and the four range methods on known distributions.
#include "eval/evaluator.h"
#include "quant/calibration.h"
#include "quant/quant_error.h"
#include "quant_test_data.h"

#include <QtTest>
#include <algorithm>
#include <random>

using namespace joule;
using namespace joule::quant;

namespace {

TensorStats statsOf(const std::vector<float>& values)
{
    TensorStats s;
    s.min = *std::min_element(values.begin(), values.end());
    s.max = *std::max_element(values.begin(), values.end());
    s.count = static_cast<int64_t>(values.size());
    // In chunks, as batches arrive, so the histogram has to grow.
    for (size_t i = 0; i < values.size(); i += 1000)
        s.histogram.add(values.data() + i, static_cast<int64_t>(std::min<size_t>(1000, values.size() - i)));
    return s;
}

// Student's t with 4 degrees of freedom: a heavy tail of finite variance. 99% of the mass
// lies in [-4.6, 4.6], the extremes of 200000 samples are several times further out.
std::vector<float> heavyTailed()
{
    std::mt19937 rng(7);
    std::student_t_distribution<float> t(4.0f);
    std::vector<float> v(200000);
    for (float& x : v) x = t(rng);
    return v;
}

} // namespace

class TestQuantCalibration : public QObject {
    Q_OBJECT
private slots:
    void histogramGrowsWithoutLosingOrMisplacingCounts()
    {
        Histogram h;
        const std::vector<float> first{0.0f, 0.25f, 0.5f, 1.0f};
        const std::vector<float> later{9.0f, -5.0f, 0.5f};
        h.add(first.data(), 4);
        h.add(later.data(), 3);
        QCOMPARE(h.total(), 7.0);
        QVERIFY(h.lo() <= -5.0 && h.hi() > 9.0);
        for (float x : {0.0f, 0.25f, 0.5f, 1.0f, 9.0f, -5.0f}) {
            const int b = static_cast<int>((x - h.lo()) / h.width());
            QVERIFY2(h.bins()[static_cast<size_t>(b)] >= 1, qPrintable(QString("value %1 not in its bin").arg(x)));
        }
    }

    void minmaxGivesTheExactExtremes()
    {
        const TensorStats s = statsOf(heavyTailed());
        const Range r = chooseRange(s, {.method = CalibrationMethod::MinMax});
        QCOMPARE(r.lo, s.min);
        QCOMPARE(r.hi, s.max);
        QVERIFY(s.max >= 15.0f);
    }

    void rangesAlwaysContainZero()
    {
        const TensorStats s = statsOf({2.0f, 3.0f, 4.0f, 5.0f});
        for (auto m : {CalibrationMethod::MinMax, CalibrationMethod::Percentile, CalibrationMethod::Entropy, CalibrationMethod::Mse}) {
            const Range r = chooseRange(s, {.method = m});
            QCOMPARE(r.lo, 0.0f);
            QVERIFY(r.hi > 0.0f);
        }
    }

    void percentileMatchesTheSortedSample()
    {
        std::mt19937 rng(3);
        std::uniform_real_distribution<float> u(0.0f, 1.0f);
        std::vector<float> v(100000);
        for (float& x : v) x = u(rng);
        const Range r = chooseRange(statsOf(v), {.method = CalibrationMethod::Percentile, .percentile = 99.0});
        std::sort(v.begin(), v.end());
        QVERIFY2(std::fabs(r.hi - v[99000]) < 2e-3, qPrintable(QString("hi %1, expected %2").arg(r.hi).arg(v[99000])));
        QCOMPARE(r.lo, 0.0f);
    }

    void entropyAndMseClipAHeavyTail()
    {
        const TensorStats s = statsOf(heavyTailed());
        for (auto m : {CalibrationMethod::Entropy, CalibrationMethod::Mse}) {
            const Range r = chooseRange(s, {.method = m});
            qInfo("%s on t(4), min %g max %g: [%g, %g]", calibrationMethodName(m), s.min, s.max, r.lo, r.hi);
            // The body is kept, the far tail clipped.
            QVERIFY2(r.hi > 4.6f && r.hi < 0.9f * s.max, qPrintable(QString("%1: hi %2").arg(calibrationMethodName(m)).arg(r.hi)));
            QVERIFY2(r.lo < -4.6f && r.lo > 0.9f * s.min, qPrintable(QString("%1: lo %2").arg(calibrationMethodName(m)).arg(r.lo)));
        }
    }

    void mseRangeHasLessErrorThanMinmaxOnTheSampleItself()
    {
        const std::vector<float> v = heavyTailed();
        const TensorStats s = statsOf(v);
        auto sampleError = [&](Range r) {   // 256 levels over [lo, hi], round to nearest, clamp
            const double step = (static_cast<double>(r.hi) - r.lo) / 255;
            double e = 0;
            for (float x : v) {
                const double q = std::clamp(std::nearbyint((x - r.lo) / step), 0.0, 255.0) * step + r.lo;
                e += (x - q) * (x - q);
            }
            return e;
        };
        const double mse = sampleError(chooseRange(s, {.method = CalibrationMethod::Mse}));
        const double minmax = sampleError(chooseRange(s, {.method = CalibrationMethod::MinMax}));
        QVERIFY2(mse < 0.8 * minmax, qPrintable(QString("mse %1, minmax %2").arg(mse).arg(minmax)));
    }

    void mseKeepsTheFullRangeOfAUniformSample()
    {
        std::vector<float> v(50000);
        for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) / v.size();
        const Range r = chooseRange(statsOf(v), {.method = CalibrationMethod::Mse});
        QVERIFY2(r.hi > 0.97f, qPrintable(QString("hi %1").arg(r.hi)));
    }

    void unknownMethodNameIsAnError()
    {
        QCOMPARE(calibrationMethodFromName("entropy"), CalibrationMethod::Entropy);
        QVERIFY_THROWS_EXCEPTION(QuantError, calibrationMethodFromName("kl"));
    }

    void collectsEveryComputedTensorOfAModel()
    {
        const Graph g = quanttest::referenceModel("little");
        const CalibrationStats stats =
            collectStatistics(g, quanttest::trainImages(), quanttest::cardPreprocessing(), {.count = 16});
        QVERIFY(stats.count("input"));
        QCOMPARE(stats.at("input").count, 16 * 28 * 28);
        QVERIFY(std::fabs(stats.at("input").min - (0 - 0.286f) / 0.353f) < 1e-5);
        int relus = 0;
        for (const Node& n : g.nodes()) {
            QVERIFY2(stats.count(n.outputs[0]), n.outputs[0].c_str());
            if (n.opType != "Relu") continue;
            ++relus;
            QVERIFY2(stats.at(n.outputs[0]).min >= 0.0f, n.outputs[0].c_str());
        }
        QVERIFY(relus > 0);   // the little model has ReLUs, so the check above ran
    }

    void progressIsReportedAndCancelStops()
    {
        const Graph g = quanttest::referenceModel("little");
        std::vector<double> fractions;
        collectStatistics(g, quanttest::trainImages(), quanttest::cardPreprocessing(),
                          {.count = 100, .progress = [&](double f) { fractions.push_back(f); }});
        // The little model's batch dimension is free: batches of 32, so 32, 64, 96, 100 of 100.
        QCOMPARE(fractions, (std::vector<double>{0.32, 0.64, 0.96, 1.0}));
        std::atomic<bool> cancel{true};
        QVERIFY_THROWS_EXCEPTION(eval::Cancelled, collectStatistics(g, quanttest::trainImages(), quanttest::cardPreprocessing(),
                                                                    {.count = 4, .cancel = &cancel}));
    }
};

QTEST_GUILESS_MAIN(TestQuantCalibration)
#include "tst_quant_calibration.moc"
