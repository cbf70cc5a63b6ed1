// Per-layer counts: MACs of Conv, depthwise Conv, Gemm and MatMul equal hand-computed values and the
// PyTorch forward-hook counts in every resources/models/*.card.json; classes, patch elements, pooling
// reads, fusion of BatchNormalization/Relu into their producer, and free layers.
#include "cost_test_util.h"

#include "cost/estimator.h"
#include "onnx/onnx_io.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace joule;
using namespace joule::cost;

namespace {

// x[1,8,16,16] -> conv1(+BN+Relu) -> maxpool -> relu -> depthwise -> pointwise -> grouped conv
// -> depthwise x2 -> (relu, add) -> global avg pool -> flatten -> gemm
Graph smallCnn()
{
    Graph g;
    g.opsetImports[""] = 13;
    g.addInput({"x", DataType::Float32, {1, 8, 16, 16}});
    auto init = [&](const std::string& n, Shape s) { g.setInitializer(n, randomWeights(std::move(s))); };
    init("w1", {16, 8, 3, 3});
    init("b1", {16});
    for (const char* n : {"bn_s", "bn_b", "bn_m"}) init(n, {16});
    Tensor var(DataType::Float32, {16});
    for (int i = 0; i < 16; ++i) var.data<float>()[i] = 1.0f;
    g.setInitializer("bn_v", var);
    init("wd", {16, 1, 3, 3});
    init("wp", {32, 16, 1, 1});
    init("wg", {32, 16, 3, 3});
    init("wm", {64, 1, 3, 3});
    init("wf", {10, 64});
    init("bf", {10});
    const auto pads1 = intsAttr({1, 1, 1, 1});
    g.addNode({.name = "conv1", .opType = "Conv", .inputs = {"x", "w1", "b1"}, .outputs = {"c1"}, .attributes = {{"pads", pads1}}});
    g.addNode({.name = "bn1", .opType = "BatchNormalization", .inputs = {"c1", "bn_s", "bn_b", "bn_m", "bn_v"}, .outputs = {"n1"}});
    g.addNode({.name = "relu1", .opType = "Relu", .inputs = {"n1"}, .outputs = {"r1"}});
    g.addNode({.name = "pool", .opType = "MaxPool", .inputs = {"r1"}, .outputs = {"p1"},
               .attributes = {{"kernel_shape", intsAttr({3, 3})}, {"strides", intsAttr({2, 2})}, {"pads", pads1}}});
    g.addNode({.name = "relu2", .opType = "Relu", .inputs = {"p1"}, .outputs = {"r2"}});
    g.addNode({.name = "dw", .opType = "Conv", .inputs = {"r2", "wd"}, .outputs = {"d"},
               .attributes = {{"pads", pads1}, {"group", intAttr(16)}}});
    g.addNode({.name = "pw", .opType = "Conv", .inputs = {"d", "wp"}, .outputs = {"e"}});
    g.addNode({.name = "grp", .opType = "Conv", .inputs = {"e", "wg"}, .outputs = {"gg"},
               .attributes = {{"pads", pads1}, {"group", intAttr(2)}}});
    g.addNode({.name = "dm", .opType = "Conv", .inputs = {"gg", "wm"}, .outputs = {"h"},
               .attributes = {{"pads", pads1}, {"group", intAttr(32)}}});
    g.addNode({.name = "relu3", .opType = "Relu", .inputs = {"h"}, .outputs = {"hr"}});
    g.addNode({.name = "add", .opType = "Add", .inputs = {"h", "hr"}, .outputs = {"s"}});
    g.addNode({.name = "gap", .opType = "GlobalAveragePool", .inputs = {"s"}, .outputs = {"q"}});
    g.addNode({.name = "flat", .opType = "Flatten", .inputs = {"q"}, .outputs = {"f"}});
    g.addNode({.name = "fc", .opType = "Gemm", .inputs = {"f", "wf", "bf"}, .outputs = {"y"},
               .attributes = {{"transB", intAttr(1)}}});
    g.addOutput({"y", DataType::Float32, {1, 10}});
    g.validate();
    return g;
}

// a[2,3,4,5] x B[5,6] (weights); p[2,4,5] x q[2,5,3] (two activations); ConvTranspose 4->2 channels.
Graph matmulsAndTranspose()
{
    Graph g;
    g.opsetImports[""] = 13;
    g.addInput({"a", DataType::Float32, {2, 3, 4, 5}});
    g.addInput({"p", DataType::Float32, {2, 4, 5}});
    g.addInput({"q", DataType::Float32, {2, 5, 3}});
    g.addInput({"t", DataType::Float32, {1, 4, 5, 5}});
    g.setInitializer("B", randomWeights({5, 6}));
    g.setInitializer("wt", randomWeights({4, 2, 3, 3}));
    g.addNode({.name = "mm_weights", .opType = "MatMul", .inputs = {"a", "B"}, .outputs = {"m1"}});
    g.addNode({.name = "mm_acts", .opType = "MatMul", .inputs = {"p", "q"}, .outputs = {"m2"}});
    g.addNode({.name = "deconv", .opType = "ConvTranspose", .inputs = {"t", "wt"}, .outputs = {"ct"}});
    g.addOutput({"m1", DataType::Float32, {2, 3, 4, 6}});
    g.addOutput({"m2", DataType::Float32, {2, 4, 3}});
    g.addOutput({"ct", DataType::Float32, {1, 2, 7, 7}});
    g.validate();
    return g;
}

// QDQ: x -> QuantizeLinear -> DequantizeLinear -> Conv, whose weight is int8 behind a DequantizeLinear.
Graph qdqConv()
{
    Graph g;
    g.opsetImports[""] = 13;
    g.addInput({"x", DataType::Float32, {1, 4, 8, 8}});
    g.setInitializer("s", Tensor::fromVector<float>(DataType::Float32, {}, {0.05f}));
    g.setInitializer("zp", Tensor::fromVector<int8_t>(DataType::Int8, {}, {0}));
    g.setInitializer("wq", Tensor(DataType::Int8, {8, 4, 3, 3}));
    g.addNode({.name = "q", .opType = "QuantizeLinear", .inputs = {"x", "s", "zp"}, .outputs = {"xq"}});
    g.addNode({.name = "dq", .opType = "DequantizeLinear", .inputs = {"xq", "s", "zp"}, .outputs = {"xd"}});
    g.addNode({.name = "dqw", .opType = "DequantizeLinear", .inputs = {"wq", "s", "zp"}, .outputs = {"w"}});
    g.addNode({.name = "conv", .opType = "Conv", .inputs = {"xd", "w"}, .outputs = {"y"}});
    g.addOutput({"y", DataType::Float32, {1, 8, 6, 6}});
    g.validate();
    return g;
}

QJsonObject readCard(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) qFatal("cannot read %s", qPrintable(path));
    return QJsonDocument::fromJson(f.readAll()).object();
}

} // namespace

class LayerStatsTest : public QObject {
    Q_OBJECT
private slots:
    void convolutionsHaveHandComputedMacsAndClasses()
    {
        const ModelStats s = analyzeModel(smallCnn());
        struct Expect { const char* name; KernelClass cls; int64_t macs, outputs, patch; };
        const Expect expected[] = {
            // Cout*Hout*Wout*(Cin/g)*Kh*Kw ; patch = MACs / (Cout/g)
            {"conv1", KernelClass::Conv, 16 * 16 * 16 * 8 * 9, 16 * 16 * 16, 16 * 16 * 8 * 9},
            {"dw", KernelClass::Depthwise, 16 * 8 * 8 * 1 * 9, 16 * 8 * 8, 16 * 8 * 8 * 9},
            {"pw", KernelClass::Pointwise, 32 * 8 * 8 * 16, 32 * 8 * 8, 8 * 8 * 16},
            {"grp", KernelClass::Conv, 32 * 8 * 8 * 16 * 9, 32 * 8 * 8, 32 * 8 * 8 * 16 * 9 / 16},
            {"dm", KernelClass::Conv, 64 * 8 * 8 * 1 * 9, 64 * 8 * 8, 64 * 8 * 8 * 9 / 2},   // depthwise x2 is "conv"
            {"fc", KernelClass::FullyConnected, 64 * 10, 10, 64},
        };
        for (const auto& e : expected) {
            const LayerStats* l = findLayer(s, e.name);
            QVERIFY2(l, e.name);
            QCOMPARE(l->kernelClass, e.cls);
            QCOMPARE(l->macs, e.macs);
            QCOMPARE(l->outputs, e.outputs);
            QCOMPARE(l->patchElements, e.patch);
            QVERIFY(l->weightsConstant);
        }
        QCOMPARE(s.macs, int64_t(294912 + 9216 + 32768 + 294912 + 36864 + 640));
        QCOMPARE(findLayer(s, "conv1")->outChannels, int64_t(16));
        QCOMPARE(findLayer(s, "conv1")->weightElements, int64_t(16 * 8 * 9));
        QCOMPARE(findLayer(s, "fc")->outChannels, int64_t(10));
        QVERIFY(findLayer(s, "fc")->hasBias);
        QVERIFY(!findLayer(s, "pw")->hasBias);
    }

    void matmulWithBatchAndConvTransposeHaveHandComputedMacs()
    {
        const ModelStats s = analyzeModel(matmulsAndTranspose());
        const LayerStats* w = findLayer(s, "mm_weights");
        QVERIFY(w);
        QCOMPARE(w->kernelClass, KernelClass::FullyConnected);
        QCOMPARE(w->macs, int64_t(2 * 3 * 4 * 6 * 5));   // batch*M*N*K
        QCOMPARE(w->patchElements, int64_t(2 * 3 * 4 * 5));
        QVERIFY(w->weightsConstant);
        QCOMPARE(w->weightElements, int64_t(30));
        const LayerStats* a = findLayer(s, "mm_acts");
        QCOMPARE(a->macs, int64_t(2 * 4 * 3 * 5));
        QVERIFY(!a->weightsConstant);
        const LayerStats* t = findLayer(s, "deconv");
        QCOMPARE(t->kernelClass, KernelClass::Conv);
        QCOMPARE(t->macs, int64_t(5 * 5 * 4 * 3 * 3 * 2));   // Hin*Win*Cin*Kh*Kw*(Cout/g)
        QCOMPARE(t->outputs, int64_t(2 * 7 * 7));
    }

    void poolingCountsInputReads()
    {
        const ModelStats s = analyzeModel(smallCnn());
        QCOMPARE(findLayer(s, "pool")->kernelClass, KernelClass::Pooling);
        QCOMPARE(findLayer(s, "pool")->elements, int64_t(16 * 8 * 8 * 9));   // outputs x window
        QCOMPARE(findLayer(s, "gap")->kernelClass, KernelClass::Pooling);
        QCOMPARE(findLayer(s, "gap")->elements, int64_t(64 * 8 * 8));      // every input element
        QCOMPARE(findLayer(s, "add")->elements, int64_t(64 * 8 * 8));
    }

    void batchNormAndReluAfterConvAreFusedOthersAreNot()
    {
        const ModelStats s = analyzeModel(smallCnn());
        auto index = [&](const char* n) { return static_cast<int>(findLayer(s, n) - s.layers.data()); };
        QCOMPARE(findLayer(s, "bn1")->fusedInto, index("conv1"));
        QCOMPARE(findLayer(s, "relu1")->fusedInto, index("conv1"));
        QCOMPARE(findLayer(s, "bn1")->kernelClass, KernelClass::Free);
        QVERIFY(findLayer(s, "conv1")->hasBias);
        QCOMPARE(findLayer(s, "relu2")->fusedInto, -1);   // after a pool: a real layer
        QCOMPARE(findLayer(s, "relu2")->kernelClass, KernelClass::Elementwise);
        QCOMPARE(findLayer(s, "relu3")->fusedInto, -1);   // its input is also read by the Add
        QCOMPARE(findLayer(s, "flat")->kernelClass, KernelClass::Free);
    }

    void freeAndFusedLayersShareTheirInputBuffer()
    {
        const ModelStats s = analyzeModel(smallCnn());
        auto value = [&](const std::string& n) -> const ActivationValue& {
            for (const auto& v : s.values) if (v.name == n) return v;
            qFatal("no value %s", n.c_str());
        };
        auto indexOf = [&](const std::string& n) { return static_cast<int>(&value(n) - s.values.data()); };
        QCOMPARE(value("f").aliasOf, indexOf("q"));    // Flatten
        QCOMPARE(value("n1").aliasOf, indexOf("c1"));  // fused BN
        QCOMPARE(value("r1").aliasOf, indexOf("n1"));  // fused Relu
        QCOMPARE(value("r2").aliasOf, -1);
        QCOMPARE(value("x").firstStep, 0);
        QCOMPARE(value("y").lastStep, static_cast<int>(s.layers.size()));   // graph outputs live to the end
        QCOMPARE(value("h").lastStep, static_cast<int>(findLayer(s, "add") - s.layers.data()));
    }

    void qdqPairsAreFreeAndInt8WeightsMakeAnInt8Layer()
    {
        const ModelStats s = analyzeModel(qdqConv());
        QCOMPARE(s.layers.size(), size_t(3));   // the weight's DequantizeLinear is folded at prepare time
        QCOMPARE(findLayer(s, "q")->kernelClass, KernelClass::Free);
        QCOMPARE(findLayer(s, "dq")->fusedInto, 0);
        const LayerStats* conv = findLayer(s, "conv");
        QCOMPARE(conv->kernelClass, KernelClass::Conv);
        QCOMPARE(conv->weightType, DataType::Int8);
        QCOMPARE(conv->macs, int64_t(8 * 6 * 6 * 4 * 9));
        QCOMPARE(modelPrecision(s), Precision::Int8);
        QCOMPARE(layerPrecision(*conv, Precision::Fp32), Precision::Int8);   // stored int8 stays int8
    }

    void weightMarkedFourBitIsAnInt4LayerWithHalfTheFlash()
    {
        // The same conv, its weight DequantizeLinear marked "joule.bits" = 4 (int4 values in int8 storage).
        Graph g = qdqConv();
        for (Node& n : g.nodes())
            if (n.name == "dqw") {
                Attribute bits;
                bits.i = 4;
                n.attributes["joule.bits"] = bits;
            }
        const ModelStats s4 = analyzeModel(g);
        const ModelStats s8 = analyzeModel(qdqConv());
        const LayerStats* conv4 = findLayer(s4, "conv");
        QCOMPARE(conv4->weightType, DataType::Int4);
        QCOMPARE(layerPrecision(*conv4, Precision::Fp32), Precision::Int4);
        const int64_t flash4 = layerFlashBytes(*conv4, Precision::Int4);
        const int64_t flash8 = layerFlashBytes(*findLayer(s8, "conv"), Precision::Int8);
        QVERIFY2(flash4 < flash8, qPrintable(QString("int4 %1 B, int8 %2 B").arg(flash4).arg(flash8)));
        QCOMPARE(flash8 - flash4, int64_t(8 * 4 * 9 / 2));   // 288 weights, half a byte saved on each
    }

    void macsEqualPyTorchHookCountsOfEveryModelCard()
    {
        const QStringList cards = QDir(modelsDir()).entryList({"*.card.json"}, QDir::Files, QDir::Name);
        QVERIFY2(cards.contains("mlperf_resnet8.card.json"), "resources/models/mlperf_resnet8.card.json is missing");
        int compared = 0;
        for (const QString& cardFile : cards) {
            const QJsonObject card = readCard(modelsDir() + "/" + cardFile);
            const QString model = modelsDir() + "/" + card["file"].toString();
            const ModelStats s = analyzeModel(onnx::loadModel(model.toStdString()));
            const QJsonArray layers = card["layers"].toArray();
            QVERIFY2(!layers.isEmpty(), qPrintable(cardFile));
            for (const auto& v : layers) {
                const QJsonObject l = v.toObject();
                const QString op = l["op"].toString();
                if (op != "Conv" && op != "Gemm" && op != "MatMul") continue;
                const LayerStats* ours = findLayer(s, l["name"].toString().toStdString());
                QVERIFY2(ours, qPrintable(cardFile + ": no layer " + l["name"].toString()));
                if (ours->macs != l["macs"].toInteger())
                    QFAIL(qPrintable(QString("%1: %2 (%3, %4): %5 MACs, PyTorch hooks counted %6").arg(cardFile, l["name"].toString(), op)
                                         .arg(kernelClassName(ours->kernelClass)).arg(ours->macs).arg(l["macs"].toInteger())));
                ++compared;
            }
            qInfo("%s: %lld layers, %lld MACs (card: %lld)", qPrintable(cardFile), static_cast<long long>(layers.size()),
                  static_cast<long long>(s.macs), static_cast<long long>(card["macs"].toInteger()));
        }
        QVERIFY(compared >= 10);
    }
};

QTEST_GUILESS_MAIN(LayerStatsTest)
#include "tst_layer_stats.moc"
