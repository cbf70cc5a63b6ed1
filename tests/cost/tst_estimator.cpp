// The estimator: the MLPerf Tiny calibration point, the per-layer formulas of docs/cost-model.md §4 (the
// ResNet-8 table of §9.1), flash and arena at each precision, fits, int4, big.LITTLE mapping, and the
// measuring host profile.
#include "cost_test_util.h"

#include "cost/estimator.h"
#include "cost/host_profiler.h"
#include "onnx/onnx_io.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <cmath>

using namespace joule;
using namespace joule::cost;

namespace {

// MLPerf Tiny v1.0, closed division, STMicroelectronics on NUCLEO-L4R5ZI, image classification (ResNet-8, int8).
constexpr double kMeasuredMs = 226.8;
constexpr double kMeasuredUj = 10681.6;

const ModelStats& resnet8()
{
    static const ModelStats stats = analyzeModel(onnx::loadModel(modelPath("mlperf_resnet8.onnx")));
    return stats;
}

std::vector<const LayerEstimate*> costedLayers(const ModelEstimate& e)
{
    std::vector<const LayerEstimate*> out;
    for (const auto& l : e.layers)
        if (l.kernelClass != KernelClass::Free) out.push_back(&l);
    return out;
}

Graph twoTinyValues()
{
    Graph g;
    g.opsetImports[""] = 13;
    g.addInput({"x", DataType::Float32, {1, 10}});
    g.addNode({.name = "sig", .opType = "Sigmoid", .inputs = {"x"}, .outputs = {"y"}});
    g.addOutput({"y", DataType::Float32, {1, 10}});
    return g;
}

Graph bigFullyConnected()
{
    Graph g;
    g.opsetImports[""] = 13;
    g.addInput({"x", DataType::Float32, {1, 1024}});
    g.setInitializer("w", Tensor(DataType::Float32, {1024, 3072}));
    g.addNode({.name = "fc", .opType = "MatMul", .inputs = {"x", "w"}, .outputs = {"y"}});
    g.addOutput({"y", DataType::Float32, {1, 3072}});
    return g;
}

} // namespace

class EstimatorTest : public QObject {
    Q_OBJECT
private slots:
    void resnet8OnStm32l4r5Int8IsWithin20PercentOfMlperfTiny()
    {
        const ModelEstimate e = estimateModel(resnet8(), loadTarget("stm32l4r5"), {.precision = Precision::Int8});
        QCOMPARE(e.target, std::string("stm32l4r5"));
        QVERIFY(!e.measured);
        QVERIFY(e.energyUj.has_value());
        const double latencyError = e.latencyMs / kMeasuredMs - 1.0;
        const double energyError = *e.energyUj / kMeasuredUj - 1.0;
        qInfo("ResNet-8 int8 on stm32l4r5: %.2f ms (measured %.1f, %+.1f%%), %.1f uJ (measured %.1f, %+.1f%%)",
              e.latencyMs, kMeasuredMs, 100 * latencyError, *e.energyUj, kMeasuredUj, 100 * energyError);
        QVERIFY2(std::abs(latencyError) <= 0.20, "latency outside +-20% of the MLPerf Tiny measurement");
        QVERIFY2(std::abs(energyError) <= 0.20, "energy outside +-20% of the MLPerf Tiny measurement");
    }

    void resnet8ReproducesTheDocumentedPerLayerTable()
    {
        // docs/cost-model.md §9.1: 15 costed layers, est. cycles per layer, 12,501,632 MACs, 227.19 ms.
        const ModelEstimate e = estimateModel(resnet8(), loadTarget("stm32l4r5"), {.precision = Precision::Int8});
        QCOMPARE(e.macs, int64_t(12501632));
        const auto layers = costedLayers(e);
        const double cycles[] = {1242064, 5195728, 5195728, 493520, 2451408, 4736976, 416515.2, 247760,
                                 2295760, 4507600, 334595.2, 124880, 14288, 3944, 2300};
        const char* classes[] = {"conv", "conv", "conv", "elementwise", "conv", "conv", "pointwise", "elementwise",
                                 "conv", "conv", "pointwise", "elementwise", "pooling", "fc", "elementwise"};
        QCOMPARE(layers.size(), std::size(cycles));
        for (size_t i = 0; i < layers.size(); ++i) {
            QCOMPARE(QString(kernelClassName(layers[i]->kernelClass)), QString(classes[i]));
            if (std::abs(layers[i]->cycles - cycles[i]) > 0.5)
                QFAIL(qPrintable(QString("%1: %2 cycles, the documented table says %3")
                                     .arg(QString::fromStdString(layers[i]->name)).arg(layers[i]->cycles, 0, 'f', 1).arg(cycles[i])));
        }
        QVERIFY(std::abs(e.cycles - 27263066.4) < 1.0);
        QVERIFY(std::abs(e.latencyMs - 227.19) < 0.01);
        QVERIFY(std::abs(*e.energyUj - 227.1922 * 44.58) < 1.0);   // one cluster: power x time
    }

    void flashCountsWeightsBiasAndRequantizationAtThePrecision()
    {
        const TargetProfile l4 = loadTarget("stm32l4r5");
        // 77,360 weights, 346 output channels (9 convs + fc, all with bias after folding BN).
        QCOMPARE(estimateModel(resnet8(), l4, {.precision = Precision::Int8}).memory.flashBytes, int64_t(77360 + 346 * (4 + 8)));
        QCOMPARE(estimateModel(resnet8(), l4, {.precision = Precision::Fp32}).memory.flashBytes, int64_t(77360 * 4 + 346 * 4));
        QCOMPARE(estimateModel(resnet8(), l4, {.precision = Precision::Int4}).memory.flashBytes, int64_t(77360 / 2 + 346 * (4 + 8)));
    }

    void arenaIsReplannedWithThePrecisionsElementSize()
    {
        // Two live float values of 10 elements: fp32 40 -> 48 bytes each (16-byte aligned), int8 10 -> 16 each.
        const ModelStats s = analyzeModel(twoTinyValues());
        const MemoryEstimate fp32 = planActivations(s, Precision::Fp32);
        const MemoryEstimate int8 = planActivations(s, Precision::Int8);
        QCOMPARE(fp32.arenaBytes, int64_t(96));
        QCOMPARE(int8.arenaBytes, int64_t(32));   // not 96 / 4 = 24
        QCOMPARE(int8.arenaLowerBoundBytes, int64_t(32));
        const TargetProfile l4 = loadTarget("stm32l4r5");
        const ModelEstimate r8 = estimateModel(resnet8(), l4, {.precision = Precision::Int8});
        const ModelEstimate r32 = estimateModel(resnet8(), l4, {.precision = Precision::Fp32});
        QVERIFY(r32.memory.arenaBytes >= 4 * r8.memory.arenaBytes - 16 * static_cast<int64_t>(r8.memory.buffers.size()));
        qInfo("ResNet-8 arena: int8 %lld (lower bound %lld), fp32 %lld (lower bound %lld)",
              static_cast<long long>(r8.memory.arenaBytes), static_cast<long long>(r8.memory.arenaLowerBoundBytes),
              static_cast<long long>(r32.memory.arenaBytes), static_cast<long long>(r32.memory.arenaLowerBoundBytes));
    }

    void aModelTooBigForFlashDoesNotFitAndSaysWhy()
    {
        const ModelEstimate e = estimateModel(analyzeModel(bigFullyConnected()), loadTarget("stm32l4r5"),
                                              {.precision = Precision::Fp32});
        QCOMPARE(e.memory.flashBytes, int64_t(1024 * 3072 * 4));
        QVERIFY(!e.fit.flashFits());
        QVERIFY(e.fit.ramFits());
        QVERIFY(!e.fit.fits());
        QCOMPARE(e.fit.flashNeeded, int64_t(1024 * 3072 * 4 + 32768));
        QVERIFY(estimateModel(resnet8(), loadTarget("stm32l4r5"), {.precision = Precision::Int8}).fit.fits());
    }

    void weightsSharingRamCountAgainstRam()
    {
        // gap8 keeps weights in its 512 kB L2 with the arena: 3 MB of int8 weights cannot fit.
        const ModelEstimate e = estimateModel(analyzeModel(bigFullyConnected()), loadTarget("gap8"), {.precision = Precision::Int8});
        QVERIFY(e.fit.flashFits());
        QVERIFY(!e.fit.ramFits());
        QCOMPARE(e.fit.ramNeeded, e.memory.arenaBytes + 16384 + e.memory.flashBytes);
    }

    void int4IsRejectedWhereTheTargetHasNoInt4Kernels()
    {
        try {
            estimateModel(resnet8(), loadTarget("esp32s3"), {.precision = Precision::Int4});
            QFAIL("accepted");
        } catch (const TargetProfileError& e) {
            QVERIFY(QString(e.what()).contains("esp32s3"));
            QVERIFY(QString(e.what()).contains("int4"));
        }
    }

    void int4FallsBackToTheInt8KernelOfAClusterWithoutInt4()
    {
        QFile f(targetsDir() + "/stm32l4r5.json");
        QVERIFY(f.open(QIODevice::ReadOnly));
        QJsonObject p = QJsonDocument::fromJson(f.readAll()).object();
        QJsonArray clusters = p["clusters"].toArray();
        QJsonObject c = clusters[0].toObject();
        QJsonObject mac = c["mac_kernels"].toObject();
        QJsonObject conv = mac["conv"].toObject();
        conv.remove("int4");
        mac["conv"] = conv;
        c["mac_kernels"] = mac;
        clusters[0] = c;
        p["clusters"] = clusters;
        const TargetProfile t = parseTargetProfile(QJsonDocument(p).toJson(), "stm32l4r5.json");
        const ModelEstimate e = estimateModel(resnet8(), t, {.precision = Precision::Int4});
        const auto layers = costedLayers(e);
        QCOMPARE(layers[0]->kernelClass, KernelClass::Conv);
        QCOMPARE(layers[0]->precision, Precision::Int4);
        QCOMPARE(layers[0]->perCluster[0].kernelPrecision, Precision::Int8);
        QCOMPARE(layers[6]->kernelClass, KernelClass::Pointwise);
        QCOMPARE(layers[6]->perCluster[0].kernelPrecision, Precision::Int4);
        QCOMPARE(e.memory.flashBytes, int64_t(77360 / 2 + 346 * 12));   // still 4 bits in flash
    }

    void bigLittleMapsLayersForLeastEnergyWithinTheBudget()
    {
        const TargetProfile rk = loadTarget("rk3399");
        const ModelEstimate free = estimateModel(resnet8(), rk, {.precision = Precision::Int8});
        QVERIFY(free.mapping.has_value());
        QCOMPARE(free.mapping->method, std::string("min-energy"));
        QCOMPARE(free.mapping->allOn.size(), size_t(2));
        const ClusterTotals a72 = free.mapping->allOn[0];
        const ClusterTotals a53 = free.mapping->allOn[1];
        QCOMPARE(a72.cluster, std::string("a72"));
        QVERIFY(a72.latencyMs < a53.latencyMs);   // big is faster
        QVERIFY(a72.energyUj > a53.energyUj);     // little is cheaper
        QVERIFY(*free.energyUj <= a53.energyUj + 1e-9);
        for (const auto& l : free.layers) QCOMPARE(l.perCluster.size(), size_t(2));

        const double budget = 0.5 * (a72.latencyMs + free.latencyMs);
        const ModelEstimate bounded = estimateModel(resnet8(), rk, {.precision = Precision::Int8, .latencyBudgetMs = budget});
        qInfo("ResNet-8 int8 on rk3399: all-A72 %.3f ms %.1f uJ, all-A53 %.3f ms %.1f uJ, min-energy %.3f ms %.1f uJ, "
              "budget %.3f ms -> %.3f ms %.1f uJ (%d layers on a72, %d switches)",
              a72.latencyMs, a72.energyUj, a53.latencyMs, a53.energyUj, free.latencyMs, *free.energyUj, budget,
              bounded.latencyMs, *bounded.energyUj, bounded.mapping->layersOnCluster[0], bounded.mapping->switches);
        QVERIFY(bounded.mapping->meetsBudget);
        QVERIFY(bounded.latencyMs <= budget);
        QVERIFY(*bounded.energyUj >= *free.energyUj);
        QVERIFY(*bounded.energyUj <= a72.energyUj);
        QVERIFY(bounded.mapping->layersOnCluster[0] > 0);

        const ModelEstimate impossible = estimateModel(resnet8(), rk, {.precision = Precision::Int8, .latencyBudgetMs = 0.5 * a72.latencyMs});
        QVERIFY(!impossible.mapping->meetsBudget);
        QCOMPARE(impossible.mapping->method, std::string("min-latency"));
        QVERIFY(std::abs(impossible.latencyMs - a72.latencyMs) < 1e-9);
    }

    void aBudgetOnASingleClusterTargetIsAnError()
    {
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 estimateModel(resnet8(), loadTarget("stm32l4r5"), {.latencyBudgetMs = 100.0}));
    }

    void defaultPrecisionIsTheModelsOwn()
    {
        const ModelEstimate e = estimateModel(resnet8(), loadTarget("stm32h7a3"));
        QCOMPARE(e.precision, Precision::Fp32);   // float weights
        QCOMPARE(e.target, std::string("stm32h7a3"));
    }

    void hostMeasuresPerLayerLatencyOfOurRuntime()
    {
        const Graph g = onnx::loadModel(modelPath("mlperf_resnet8.onnx"));
        const ModelEstimate m = measureOnHost(g, resnet8(), {.threads = 1, .runs = 5, .warmup = 1});
        QCOMPARE(m.target, std::string("host"));
        QVERIFY(m.measured);
        QVERIFY(!m.energyUj.has_value());
        QVERIFY(!m.measuredOn.empty());
        QCOMPARE(m.layers.size(), resnet8().layers.size());
        QVERIFY(m.latencyMs > 0);
        double sum = 0;
        for (const auto& l : m.layers) {
            QVERIFY(l.latencyMs >= 0);
            sum += l.latencyMs;
        }
        QVERIFY(sum > 0.5 * m.latencyMs && sum < 2.0 * m.latencyMs);
        // The convolutions dominate the measured time, as they dominate the MACs.
        double convMs = 0;
        for (const auto& l : m.layers) if (l.op == "Conv") convMs += l.latencyMs;
        QVERIFY(convMs > 0.5 * sum);
        QCOMPARE(m.memory.arenaBytes, planActivations(resnet8(), Precision::Fp32).arenaBytes);
        qInfo("ResNet-8 on host (%s): %.3f ms measured, conv layers %.3f ms", m.measuredOn.c_str(), m.latencyMs, convMs);
    }
};

QTEST_GUILESS_MAIN(EstimatorTest)
#include "tst_estimator.moc"
