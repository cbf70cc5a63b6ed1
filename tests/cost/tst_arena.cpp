// The activation arena of real models (docs/cost-model.md §5): the greedy planner stays within 5% of the
// lower bound on the three reference models, MLPerf's ResNet-8, MobileNetV2 and ResNet-18, at fp32 and int8,
// and never places two buffers that are alive at the same step over each other.
#include "cost_test_util.h"

#include "cost/estimator.h"
#include "onnx/onnx_io.h"

#include <QFileInfo>

using namespace joule;
using namespace joule::cost;

namespace {

// Independent of the planner's own check: every pair of buffers alive at a common step is disjoint.
QString overlappingPair(const MemoryEstimate& m)
{
    const auto& b = m.buffers;
    for (size_t i = 0; i < b.size(); ++i)
        for (size_t j = i + 1; j < b.size(); ++j) {
            if (b[i].firstStep > b[j].lastStep || b[j].firstStep > b[i].lastStep) continue;
            const size_t ai = m.plan.offsets[i], aj = m.plan.offsets[j];
            if (ai < aj + b[j].bytes && aj < ai + b[i].bytes)
                return QString("buffers %1 [%2,+%3) and %4 [%5,+%6)").arg(i).arg(ai).arg(b[i].bytes).arg(j).arg(aj).arg(b[j].bytes);
        }
    return {};
}

QString testModelsDir() { return qEnvironmentVariable("JOULE_TEST_MODELS"); }

} // namespace

class ArenaTest : public QObject {
    Q_OBJECT
private slots:
    void arenaIsWithinFivePercentOfTheLowerBound_data()
    {
        QTest::addColumn<QString>("path");
        for (const char* m : {"fmnist_resnet8.onnx", "fmnist_little.onnx", "fmnist_dscnn.onnx", "mlperf_resnet8.onnx"})
            QTest::newRow(m) << modelsDir() + "/" + m;
        for (const char* m : {"mobilenetv2.onnx", "resnet18.onnx"})
            QTest::newRow(m) << testModelsDir() + "/" + m;
    }

    void arenaIsWithinFivePercentOfTheLowerBound()
    {
        QFETCH(QString, path);
        QVERIFY2(!testModelsDir().isEmpty(), "JOULE_TEST_MODELS is not set (run through ctest)");
        QVERIFY2(QFileInfo::exists(path), qPrintable(path + " does not exist"));
        const ModelStats stats = analyzeModel(onnx::loadModel(path.toStdString()));
        for (Precision p : {Precision::Fp32, Precision::Int8}) {
            const MemoryEstimate m = planActivations(stats, p);
            const double ratio = static_cast<double>(m.arenaBytes) / static_cast<double>(m.arenaLowerBoundBytes);
            qInfo("%s %s: arena %lld bytes, lower bound %lld, ratio %.4f (%zu buffers)", qPrintable(QFileInfo(path).fileName()),
                  precisionName(p), static_cast<long long>(m.arenaBytes), static_cast<long long>(m.arenaLowerBoundBytes),
                  ratio, m.buffers.size());
            const QString overlap = overlappingPair(m);
            QVERIFY2(overlap.isEmpty(), qPrintable("live buffers overlap: " + overlap));
            QVERIFY(!rt::planHasOverlap(m.buffers, m.plan));
            QVERIFY(m.arenaBytes >= m.arenaLowerBoundBytes);
            QVERIFY2(ratio <= 1.05, qPrintable(QString("%1 %2: arena / lower bound = %3 > 1.05")
                                                   .arg(QFileInfo(path).fileName(), precisionName(p)).arg(ratio, 0, 'f', 4)));
        }
    }
};

QTEST_GUILESS_MAIN(ArenaTest)
#include "tst_arena.moc"
