// Every C kernel the export has, bit for bit against the studio's integer engine: hand-built graphs
// that lower to QLinearConv (plain and depthwise, fused Relu / Clip), QLinearAdd, MaxPool on codes,
// QClamp, QLookup, QLinearLeakyRelu, QLinearConcat, Concat on codes, QLinearAveragePool,
// QLinearGlobalAveragePool, QGemm (float and quantized output), QLinearMatMul, QLinearSigmoid and a
// float Relu, quantized with uint8 and with int8 activations, per channel
// and per tensor, compiled with the system C compiler and run on 200 random inputs.
#include "export_test_util.h"

#include "export/c_export.h"
#include "quant/minmax.h"
#include "runtime/hand_built_graphs.h"

#include <QTemporaryDir>

using namespace export_test;
using namespace joule;

class ExportKernels : public QObject {
    Q_OBJECT
private slots:
    void bitExact_data();
    void bitExact();
    void unsupportedIsRefusedByName();
};

void ExportKernels::bitExact_data()
{
    QTest::addColumn<int>("graph");   // 0 conv, 1 concat/pool/activations, 2 fully connected
    QTest::addColumn<bool>("int8");
    QTest::addColumn<bool>("perTensor");
    QTest::addColumn<QStringList>("ops");   // lowered ops the row must exercise
    const QStringList conv{"QLinearConv", "QLinearAdd", "MaxPool", "QLinearGlobalAveragePool", "QGemm"};
    const QStringList pool{"QLookup", "QLinearLeakyRelu", "QClamp", "QLinearConcat", "Concat", "QLinearAveragePool", "MaxPool"};
    const QStringList fc{"QGemm", "QLinearMatMul", "QLinearSigmoid", "Relu"};
    QTest::newRow("conv, depthwise, add, pools; uint8, per channel") << 0 << false << false << conv;
    QTest::newRow("conv, depthwise, add, pools; int8, per tensor") << 0 << true << true << conv;
    QTest::newRow("lookups, concat, average pool; uint8") << 1 << false << false << pool;
    QTest::newRow("lookups, concat, average pool; int8") << 1 << true << false << pool;
    QTest::newRow("gemm, matmul, sigmoid, float relu; uint8") << 2 << false << false << fc;
    QTest::newRow("gemm, matmul, sigmoid, float relu; int8, per tensor") << 2 << true << true << fc;
}

void ExportKernels::bitExact()
{
    QFETCH(int, graph);
    QFETCH(bool, int8);
    QFETCH(bool, perTensor);
    QFETCH(QStringList, ops);
    const Graph fp32 = graph == 0 ? test_graphs::handBuiltGraph()
                       : graph == 1 ? test_graphs::concatPoolActivationGraph()
                                    : test_graphs::fullyConnectedGraph();
    quant::QuantizerOptions q;
    q.activations = int8 ? quant::ActivationType::Int8 : quant::ActivationType::UInt8;
    q.weights = perTensor ? quant::WeightGranularity::PerTensor : quant::WeightGranularity::PerChannel;
    const Graph qdq = quant::quantizeMinMax(fp32, test_graphs::randomFeeds("x", {1, 3, 12, 12}, 8, 3), q);
    const Graph lowered = rt::lowerQdq(qdq);
    const auto counts = rt::loweredOpCounts(lowered);
    std::string have;
    for (const auto& [op, n] : counts) have += op + " ";
    for (const QString& op : ops) QVERIFY2(counts.count(op.toStdString()), qPrintable("the lowered graph has no " + op + ": " + QString::fromStdString(have)));

    const float outScale = 0.03f;
    const exporter::CModel c = exporter::generateC({qdq}, nullptr, {.name = "model", .outputScale = outScale, .outputZeroPoint = 3});
    QCOMPARE(c.inputSize, 3 * 12 * 12);
    QCOMPARE(c.outputSize, 5);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    for (const auto& [file, text] : {std::pair{"model.h", c.header}, std::pair{"model.c", c.source}}) {
        QFile f(tmp.filePath(file));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray::fromStdString(text));
    }
    const Run cc = run("cc", {"-std=c99", "-Wall", "-Werror", "-pedantic", "-O2", "-DJOULE_MODEL=model", "-DJOULE_MODEL_HEADER=\"model.h\"",
                              "-I" + tmp.path(), harnessSource(), tmp.filePath("model.c"), "-o", tmp.filePath("harness")});
    QVERIFY2(cc.exitCode == 0, qPrintable("cc failed: " + cc.output));

    const int n = 200;
    const auto feeds = test_graphs::randomFeeds("x", {1, 3, 12, 12}, n, 41);
    std::vector<float> inputs;
    for (const auto& f : feeds) inputs.insert(inputs.end(), f.at("x").data<float>(), f.at("x").data<float>() + 432);
    QVERIFY(writeFloats(tmp.filePath("input.bin"), inputs));
    const Run h = run(tmp.filePath("harness"), {tmp.filePath("input.bin"), tmp.filePath("output.bin")});
    QVERIFY2(h.exitCode == 0, qPrintable(h.output));
    const std::vector<Answer> got = readAnswers(tmp.filePath("output.bin"), 5);
    QCOMPARE(got.size(), size_t(n));

    rt::Session studio(lowered);
    int64_t differing = 0;
    for (int i = 0; i < n; ++i) {
        const Tensor y = studio.run(feeds[static_cast<size_t>(i)]).at("logits");
        std::vector<int8_t> codes;
        for (int k = 0; k < 5; ++k) codes.push_back(rt::quantizeValue<int8_t>(y.data<float>()[k], outScale, 3));
        const bool same = std::memcmp(got[static_cast<size_t>(i)].out.data(), y.data<float>(), 5 * sizeof(float)) == 0 &&
                          got[static_cast<size_t>(i)].out8 == codes && got[static_cast<size_t>(i)].stage == 0 && got[static_cast<size_t>(i)].stage8 == 0;
        differing += same ? 0 : 1;
    }
    qInfo("%d inputs, %lld differ; kernels: %s", n, static_cast<long long>(differing), [&] {
        std::string k;
        for (const std::string& s : c.kernels) k += s + " ";
        return k;
    }().c_str());
    QCOMPARE(differing, int64_t{0});
}

void ExportKernels::unsupportedIsRefusedByName()
{
    // A float graph: its first convolution has no C kernel.
    try {
        exporter::generateC({test_graphs::handBuiltGraph()}, nullptr);
        QFAIL("a float Conv was exported");
    } catch (const exporter::ExportError& e) {
        QVERIFY2(QString(e.what()).startsWith("node 'conv1' (Conv): the C export has no kernel for Conv"), e.what());
    }
    // A name that is no C identifier.
    try {
        exporter::generateC({test_graphs::handBuiltGraph()}, nullptr, {.name = "2fast"});
        QFAIL("'2fast' was accepted as a C name");
    } catch (const exporter::ExportError& e) {
        QVERIFY2(QString(e.what()).contains("'2fast' is not a C identifier"), e.what());
    }
}

QTEST_GUILESS_MAIN(ExportKernels)
#include "tst_export_kernels.moc"
