// lowerQdq(): QDQ graphs become integer ops (QLinearConv, QGemm, QLinearAdd, ...) that agree with
// the fake-quant QDQ graph within one quantization step on every quantized tensor, on real
// Fashion-MNIST images and on a hand-built graph covering conv+relu, depthwise+clip, add, pools
// and gemm.
#include "data/dataset.h"
#include "onnx/onnx_io.h"
#include "quant/pipeline.h"
#include "quant/minmax.h"
#include "runtime/qdq_lower.h"
#include "runtime/session.h"
#include "runtime/hand_built_graphs.h"

#include <QtTest>

#include <algorithm>

#include <cmath>
#include <cstdlib>
#include <random>

using namespace joule;
using namespace joule::test_graphs;

namespace {

std::string sourceDir() { return qEnvironmentVariable("JOULE_SOURCE_DIR", JOULE_TEST_SOURCE_DIR).toStdString(); }

// Every 8-bit tensor both graphs compute under the same name (the QuantizeLinear outputs of the
// QDQ graph are the integer ops' outputs in the lowered one).
using Captured = std::map<std::string, Tensor>;
Captured runCapturing(rt::Session& s, const std::map<std::string, Tensor>& feeds, std::map<std::string, Tensor>* outputs)
{
    Captured seen;
    s.setObserver([&](const Node& n, size_t o, const Tensor& v) {
        if (v.dtype() == DataType::UInt8 || v.dtype() == DataType::Int8) seen[n.outputs[o]] = v.clone();
    });
    *outputs = s.run(feeds);
    return seen;
}

int code(const Tensor& t, int64_t i) { return static_cast<int>(t.asInt64(i)); }

struct Agreement {
    int tensors = 0;
    int64_t elements = 0, offByOne = 0;
    int worst = 0;
    std::string worstTensor;
};

void compareQuantized(const Captured& fake, const Captured& lowered, Agreement& a)
{
    for (const auto& [name, l] : lowered) {
        auto it = fake.find(name);
        if (it == fake.end()) continue;
        QCOMPARE(shapeToString(l.shape()), shapeToString(it->second.shape()));
        ++a.tensors;
        for (int64_t i = 0; i < l.numel(); ++i) {
            const int d = std::abs(code(l, i) - code(it->second, i));
            ++a.elements;
            if (d == 1) ++a.offByOne;
            if (d > a.worst) {
                a.worst = d;
                a.worstTensor = name + "[" + std::to_string(i) + "]";
            }
        }
    }
}

// Each integer node of the lowered graph alone, fed the fake-quant graph's quantized inputs: the
// per-op agreement (end to end, an off-by-one upstream can grow downstream).
class NodeByNode {
public:
    explicit NodeByNode(const Graph& lowered)
    {
        for (const Node& n : lowered.nodes()) {
            if (n.opType == "QuantizeLinear" || n.outputs.empty()) continue;
            Step s;
            s.graph.opsetImports = lowered.opsetImports;
            for (const auto& in : n.inputs) {
                if (in.empty()) continue;
                if (const Tensor* t = lowered.initializer(in)) s.graph.setInitializer(in, *t);
                else s.inputs.push_back(in);
            }
            s.graph.addNode(n);
            s.graph.addOutput({.name = n.outputs[0], .dtype = DataType::Undefined, .shape = {}, .hasShape = false});
            s.output = n.outputs[0];
            steps_.push_back(std::move(s));
        }
    }

    // Runs every node whose inputs `fake` has and compares with fake's value of its output. An
    // input fake does not compute (the codes between an op on codes and its QClamp) comes from the
    // step that produced it, so such a pair is compared as one op.
    void compare(const Captured& fake, Agreement& a)
    {
        Captured computed;
        for (auto& s : steps_) {
            std::map<std::string, Tensor> feeds;
            bool ready = true;
            for (const auto& in : s.inputs) {
                auto it = fake.find(in);
                if (it == fake.end() && (it = computed.find(in)) == computed.end()) ready = false;
                else feeds[in] = it->second;
            }
            if (!ready) continue;
            if (!s.session) {   // inputs declared with the types the fake-quant graph produced
                for (const auto& [name, t] : feeds) s.graph.addInput({.name = name, .dtype = t.dtype(), .shape = t.shape()});
                s.session = std::make_unique<rt::Session>(s.graph);
            }
            const Tensor mine = s.session->run(feeds).at(s.output);
            computed[s.output] = mine;
            if (auto out = fake.find(s.output); out != fake.end()) compareQuantized(Captured{{s.output, out->second}}, Captured{{s.output, mine}}, a);
        }
    }

private:
    struct Step {
        Graph graph;
        std::unique_ptr<rt::Session> session;
        std::vector<std::string> inputs;
        std::string output;
    };
    std::vector<Step> steps_;
};

int64_t argmax(const Tensor& t, int64_t row)
{
    const int64_t n = t.shape().back();
    const float* p = t.data<float>() + row * n;
    return std::max_element(p, p + n) - p;
}

} // namespace

class TestQdqLower : public QObject {
    Q_OBJECT

private slots:
    void handBuiltGraphLowersEveryPattern()
    {
        const Graph fp32 = handBuiltGraph();
        Graph qdq = quant::quantizeMinMax(fp32, randomFeeds("x", {1, 3, 12, 12}, 8, 1));
        // Min-max ranges put a Relu's zero point at 0, where the fused clamp is a no-op; move the
        // zero points and the Clip's scale so that the clamps bite: Relu at code 20 (conv1) and 30
        // (add), 6.0 at code 200 (dw).
        const auto u8 = [](uint8_t v) { return Tensor::fromVector(DataType::UInt8, {}, std::vector<uint8_t>{v}); };
        qdq.setInitializer("r1_zero_point", u8(20));
        qdq.setInitializer("r3_zero_point", u8(30));
        qdq.setInitializer("p_zero_point", u8(30));   // MaxPool keeps its input's parameters
        qdq.setInitializer("r2_scale", Tensor::fromVector(DataType::Float32, {}, std::vector<float>{6.0f / 200}));
        const Graph lowered = rt::lowerQdq(qdq);
        std::map<std::string, const Node*> byName;
        std::map<std::string, std::string> opOf;   // node name -> "domain:op"
        for (const Node& n : lowered.nodes()) {
            opOf[n.name] = n.domain + ":" + n.opType;
            byName[n.name] = &n;
        }
        QCOMPARE(opOf["conv1"], std::string("ai.joule:QLinearConv"));   // Relu fused
        QCOMPARE(opOf["dw"], std::string("ai.joule:QLinearConv"));      // Clip(0, 6) fused
        QCOMPARE(opOf["add"], std::string("ai.joule:QLinearAdd"));      // Relu fused
        QCOMPARE(opOf["pool"], std::string(":MaxPool"));                // on uint8 directly
        QCOMPARE(opOf["gap"], std::string("com.microsoft:QLinearGlobalAveragePool"));
        QCOMPARE(opOf["flat"], std::string(":Flatten"));
        QCOMPARE(opOf["fc"], std::string("com.microsoft:QGemm"));       // fp32 logits
        const auto counts = rt::loweredOpCounts(lowered);
        QCOMPARE(counts.count("Relu") + counts.count("Clip") + counts.count("Conv") + counts.count("Add") + counts.count("Gemm"), size_t{0});
        QCOMPARE(counts.at("QuantizeLinear"), 1);   // only the model input
        QVERIFY(!counts.count("DequantizeLinear"));
        QCOMPARE(byName["conv1"]->attrInt("activation_min", -1), int64_t{20});
        QCOMPARE(byName["conv1"]->attrInt("activation_max", -1), int64_t{255});
        QCOMPARE(byName["dw"]->attrInt("activation_min", -1), int64_t{0});   // quantizeValue(0.0) with zp 0
        QCOMPARE(byName["dw"]->attrInt("activation_max", -1), int64_t{200});
        QCOMPARE(byName["add"]->attrInt("activation_min", -1), int64_t{30});

        rt::Session fake(qdq), integer(lowered);
        Agreement a;
        for (const auto& feeds : randomFeeds("x", {1, 3, 12, 12}, 20, 99)) {
            std::map<std::string, Tensor> yf, yl;
            const Captured cf = runCapturing(fake, feeds, &yf);
            const Captured cl = runCapturing(integer, feeds, &yl);
            compareQuantized(cf, cl, a);
            // logits: |difference| within one step of the Gemm's input times the weights' L1 norm.
            const Tensor& lf = yf.at("logits");
            const Tensor& ll = yl.at("logits");
            for (int64_t i = 0; i < lf.numel(); ++i) QVERIFY2(std::fabs(lf.data<float>()[i] - ll.data<float>()[i]) < 0.05f, "logits differ");
        }
        qInfo("hand-built: %d tensors, %lld elements compared, %lld off by one, worst %d at %s", a.tensors,
              static_cast<long long>(a.elements), static_cast<long long>(a.offByOne), a.worst, a.worstTensor.c_str());
        QCOMPARE(a.tensors, 7 * 20);   // x, r1, r2, r3, p, m, f
        QVERIFY2(a.worst <= 1, a.worstTensor.c_str());
        QVERIFY(a.offByOne * 100 < a.elements);
    }

    void concatPoolAndStandaloneActivationsLower()
    {
        const Graph qdq = quant::quantizeMinMax(concatPoolActivationGraph(), randomFeeds("x", {1, 3, 12, 12}, 8, 2));
        const Graph lowered = rt::lowerQdq(qdq);
        std::map<std::string, std::string> opOf;   // node name -> "domain:op"
        for (const Node& n : lowered.nodes()) opOf[n.name] = n.domain + ":" + n.opType;
        QCOMPARE(opOf["leaky"], std::string("com.microsoft:QLinearLeakyRelu"));
        QCOMPARE(opOf["relu"], std::string("ai.joule:QLookup"));       // min-max gives Relu a new scale
        QCOMPARE(opOf["cat"], std::string("com.microsoft:QLinearConcat"));
        QCOMPARE(opOf["avg"], std::string("com.microsoft:QLinearAveragePool"));
        QCOMPARE(opOf["dup"], std::string(":Concat"));                  // same parameters: codes joined as is
        QCOMPARE(opOf["maxpool"], std::string(":MaxPool"));             // on codes, then
        QCOMPARE(opOf["relu_after_pool"], std::string("ai.joule:QClamp"));   // clamp at c1's zero point
        const auto counts = rt::loweredOpCounts(lowered);
        QCOMPARE(counts.at("QuantizeLinear"), 1);   // only the model input
        QVERIFY(!counts.count("DequantizeLinear"));
        for (const char* gone : {"LeakyRelu", "Relu", "AveragePool"}) QVERIFY2(!counts.count(gone), gone);

        rt::Session fake(qdq), integer(lowered);
        NodeByNode perOp(lowered);
        Agreement a, op;
        for (const auto& feeds : randomFeeds("x", {1, 3, 12, 12}, 20, 17)) {
            std::map<std::string, Tensor> yf, yl;
            const Captured cf = runCapturing(fake, feeds, &yf);
            const Captured cl = runCapturing(integer, feeds, &yl);
            compareQuantized(cf, cl, a);
            perOp.compare(cf, op);
            const Tensor& lf = yf.at("logits");
            const Tensor& ll = yl.at("logits");
            for (int64_t i = 0; i < lf.numel(); ++i) QVERIFY2(std::fabs(lf.data<float>()[i] - ll.data<float>()[i]) < 0.05f, "logits differ");
        }
        qInfo("concat/pool/activations: per op %d tensors, %lld of %lld off by one, worst %d; end to end %d tensors, "
              "%lld of %lld off by one, worst %d at %s", op.tensors, static_cast<long long>(op.offByOne),
              static_cast<long long>(op.elements), op.worst, a.tensors, static_cast<long long>(a.offByOne),
              static_cast<long long>(a.elements), a.worst, a.worstTensor.c_str());
        QCOMPARE(a.tensors, 11 * 20);    // x, c1, l1, c2, r2, mr, k, a, d, m, f
        QCOMPARE(op.tensors, 10 * 20);   // every integer op's output but the MaxPool's unquantized codes
        QVERIFY2(op.worst <= 1, op.worstTensor.c_str());   // each op: within one step of fake quant
        // End to end an off-by-one in c2 reaches r2 scaled by c2_scale / r2_scale (about 2: the Relu
        // drops the negative half of the range), so a few codes differ by up to 3.
        QVERIFY2(a.worst <= 3, a.worstTensor.c_str());
        QVERIFY(a.offByOne * 100 < a.elements);
    }

    void reluKeepingParametersBecomesClampOnCodes()
    {
        // The Relu's Q given the parameters of its input (as a quantizer that shares them would):
        // the lowering clamps codes at the zero point instead of building a table; bit-exact.
        Graph qdq = quant::quantizeMinMax(concatPoolActivationGraph(), randomFeeds("x", {1, 3, 12, 12}, 8, 2));
        qdq.setInitializer("r2_scale", qdq.initializer("c2_scale")->clone());
        qdq.setInitializer("r2_zero_point", qdq.initializer("c2_zero_point")->clone());
        const Graph lowered = rt::lowerQdq(qdq);
        const Node* relu = nullptr;
        for (const Node& n : lowered.nodes())
            if (n.name == "relu") relu = &n;
        QVERIFY(relu);
        QCOMPARE(relu->domain + ":" + relu->opType, std::string("ai.joule:QClamp"));
        QCOMPARE(relu->attrInt("activation_min", -1), static_cast<int64_t>(qdq.initializer("c2_zero_point")->asInt64(0)));
        QVERIFY(!relu->attribute("activation_max"));
        rt::Session fake(qdq), integer(lowered);
        const int zp = static_cast<int>(qdq.initializer("c2_zero_point")->asInt64(0));
        int64_t clamped = 0;
        for (const auto& feeds : randomFeeds("x", {1, 3, 12, 12}, 5, 23)) {
            std::map<std::string, Tensor> yf, yl;
            const Captured cf = runCapturing(fake, feeds, &yf);
            const Captured cl = runCapturing(integer, feeds, &yl);
            // r2 = max(c2, zero point) code by code, in the fake-quant graph and in the integer one.
            for (const Captured* c : {&cf, &cl}) {
                const Tensor& c2 = c->at("c2_quantized");
                const Tensor& r2 = c->at("r2_quantized");
                for (int64_t i = 0; i < c2.numel(); ++i) {
                    QCOMPARE(code(r2, i), std::max(code(c2, i), zp));
                    clamped += code(c2, i) < zp;
                }
            }
        }
        QVERIFY(clamped > 100);
    }

    void referenceModelsAgreeWithFakeQuantOnRealImages_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<int>("images");
        QTest::addColumn<QStringList>("integerOps");   // op=count after lowering
        QTest::addColumn<int>("quantizedTensors");      // 8-bit tensors both graphs compute, per image
        QTest::newRow("little") << "fmnist_little" << 300 << QStringList{"QLinearConv=2", "QGemm=1", "Flatten=1"} << 4;
        QTest::newRow("resnet8") << "fmnist_resnet8" << 100
                                 << QStringList{"QLinearConv=9", "QLinearAdd=3", "QLinearGlobalAveragePool=1", "Flatten=1", "QGemm=1"} << 15;
        QTest::newRow("dscnn") << "fmnist_dscnn" << 100
                               << QStringList{"QLinearConv=9", "QLinearGlobalAveragePool=1", "Flatten=1", "QGemm=1"} << 12;
    }

    void referenceModelsAgreeWithFakeQuantOnRealImages()
    {
        QFETCH(QString, model);
        QFETCH(int, images);
        QFETCH(QStringList, integerOps);
        QFETCH(int, quantizedTensors);
        const Graph fp32 = onnx::loadModel(sourceDir() + "/resources/models/" + model.toStdString() + ".onnx");
        data::LabeledImages ds;
        try {
            ds = data::loadDataset("fashion-mnist:test");
        } catch (const std::exception& e) {
            QFAIL(e.what());   // names the missing file: the project's install provides it
        }
        data::Preprocessing prep;
        prep.mean = {0.2860f};
        prep.std = {0.3530f};
        auto batchOf = [&](int64_t begin) {
            Tensor t(DataType::Float32, {1, 1, 28, 28});
            data::fillBatch(ds, prep, begin, 1, t.data<float>());
            return std::map<std::string, Tensor>{{"input", t}};
        };
        std::vector<std::map<std::string, Tensor>> calibration;
        for (int64_t i = 0; i < 32; ++i) calibration.push_back(batchOf(9000 + i));   // not among the compared images
        const Graph qdq = quant::quantizeMinMax(fp32, calibration);
        const Graph lowered = rt::lowerQdq(qdq);
        const auto counts = rt::loweredOpCounts(lowered);
        for (const QString& entry : integerOps) {
            const auto parts = entry.split('=');
            QCOMPARE(counts.count(parts[0].toStdString()) ? counts.at(parts[0].toStdString()) : 0, parts[1].toInt());
        }
        QCOMPARE(counts.at("QuantizeLinear"), 1);   // the model input only
        for (const char* gone : {"Conv", "Relu", "Clip", "Add", "Gemm", "DequantizeLinear"}) QVERIFY2(!counts.count(gone), gone);

        rt::Session fake(qdq), integer(lowered);
        NodeByNode perOp(lowered);
        Agreement a, op;
        int samePrediction = 0, correct = 0;
        for (int64_t i = 0; i < images; ++i) {
            const auto feeds = batchOf(i);
            std::map<std::string, Tensor> yf, yl;
            const Captured cf = runCapturing(fake, feeds, &yf);
            const Captured cl = runCapturing(integer, feeds, &yl);
            compareQuantized(cf, cl, a);
            perOp.compare(cf, op);
            const int64_t pf = argmax(yf.at("logits"), 0), pl = argmax(yl.at("logits"), 0);
            samePrediction += pf == pl;
            correct += pl == ds.labels[static_cast<size_t>(i)];
        }
        qInfo("%s per op: %d tensors, %lld elements, %lld off by one, worst %d", qPrintable(model), op.tensors,
              static_cast<long long>(op.elements), static_cast<long long>(op.offByOne), op.worst);
        qInfo("%s end to end: %d tensors, %lld elements, %lld off by one, worst %d; same prediction %d/%d, int8 accuracy %.2f %%",
              qPrintable(model), a.tensors, static_cast<long long>(a.elements), static_cast<long long>(a.offByOne), a.worst,
              samePrediction, images, 100.0 * correct / images);
        QCOMPARE(a.tensors, images * quantizedTensors);
        QCOMPARE(op.tensors, images * (quantizedTensors - 1));   // every integer op's output (not the input's)
        QVERIFY2(op.worst <= 1, op.worstTensor.c_str());         // each op: within one step of fake quant
        QVERIFY(op.offByOne * 1000 < op.elements);
        QVERIFY(a.offByOne * 100 < a.elements);                  // end to end: rare, small differences
        QCOMPARE(samePrediction, images);
        QVERIFY(correct > images * 80 / 100);   // fp32: 88.74 / 92.64 / 91.59 %
    }

    void quantizerPipelineOutputLowersFully_data()
    {
        // The project's quantizer (core/quant) in the configurations its plugin offers: the QDQ
        // graphs it writes lower completely and agree op by op with their fake quantization.
        QTest::addColumn<QString>("model");
        QTest::addColumn<bool>("int8Activations");
        QTest::addColumn<bool>("perTensorWeights");
        QTest::addColumn<QString>("int4Node");
        QTest::newRow("resnet8 uint8 per-channel") << "fmnist_resnet8" << false << false << "";
        QTest::newRow("resnet8 int8 per-tensor") << "fmnist_resnet8" << true << true << "";
        QTest::newRow("dscnn uint8, int4 conv") << "fmnist_dscnn" << false << false << "/blocks/blocks.2/pw/Conv";
        QTest::newRow("dscnn int8 per-channel") << "fmnist_dscnn" << true << false << "";
    }

    void quantizerPipelineOutputLowersFully()
    {
        QFETCH(QString, model);
        QFETCH(bool, int8Activations);
        QFETCH(bool, perTensorWeights);
        QFETCH(QString, int4Node);
        const Graph fp32 = onnx::loadModel(sourceDir() + "/resources/models/" + model.toStdString() + ".onnx");
        data::LabeledImages ds;
        try {
            ds = data::loadDataset("fashion-mnist:test");
        } catch (const std::exception& e) {
            QFAIL(e.what());   // names the missing file: the project's install provides it
        }
        data::Preprocessing prep;
        prep.mean = {0.2860f};
        prep.std = {0.3530f};
        quant::PipelineOptions o;
        o.calibrationFirst = 9000;
        o.calibrationSamples = 64;
        o.sqnrSamples = 0;
        o.quantizer.activations = int8Activations ? quant::ActivationType::Int8 : quant::ActivationType::UInt8;
        o.quantizer.weights = perTensorWeights ? quant::WeightGranularity::PerTensor : quant::WeightGranularity::PerChannel;
        if (!int4Node.isEmpty()) o.quantizer.weightBits[int4Node.toStdString()] = 4;
        const Graph qdq = quant::quantizeModel(fp32, ds, prep, o).model.graph;
        const Graph lowered = rt::lowerQdq(qdq);
        const auto counts = rt::loweredOpCounts(lowered);
        for (const char* gone : {"Conv", "Relu", "Clip", "Add", "Gemm", "DequantizeLinear"})
            QVERIFY2(!counts.count(gone), qPrintable(QString("%1 left after lowering").arg(gone)));
        QCOMPARE(counts.at("QuantizeLinear"), 1);

        rt::Session fake(qdq), integer(lowered);
        NodeByNode perOp(lowered);
        Agreement op;
        int same = 0;
        const int images = 30;
        for (int64_t i = 0; i < images; ++i) {
            Tensor t(DataType::Float32, {1, 1, 28, 28});
            data::fillBatch(ds, prep, i, 1, t.data<float>());
            const std::map<std::string, Tensor> feeds{{"input", t}};
            std::map<std::string, Tensor> yf, yl;
            const Captured cf = runCapturing(fake, feeds, &yf);
            runCapturing(integer, feeds, &yl);
            perOp.compare(cf, op);
            same += argmax(yf.at("logits"), 0) == argmax(yl.at("logits"), 0);
        }
        qInfo("%s: per op %d tensors, %lld off by one of %lld, worst %d; same prediction %d/%d", qPrintable(QTest::currentDataTag()),
              op.tensors, static_cast<long long>(op.offByOne), static_cast<long long>(op.elements), op.worst, same, images);
        QVERIFY(op.tensors > 0);
        QVERIFY2(op.worst <= 1, op.worstTensor.c_str());
        QVERIFY(same >= images - 1);
    }

    void int4WeightsLowerAndRunAsInt8()
    {
        // Mixed precision: a weight DequantizeLinear with "joule.bits" = 4 holds values in [-8, 7]
        // in int8 storage; it lowers like any int8 weight and agrees with fake quantization.
        Graph qdq = quant::quantizeMinMax(handBuiltGraph(), randomFeeds("x", {1, 3, 12, 12}, 8, 1));
        Tensor w4 = qdq.initializer("w1_quantized")->clone();
        for (int64_t i = 0; i < w4.numel(); ++i)
            w4.data<int8_t>()[i] = static_cast<int8_t>(std::clamp(static_cast<int>(std::lround(w4.data<int8_t>()[i] / 16.0)), -8, 7));
        qdq.setInitializer("w1_quantized", w4);
        Tensor s4 = qdq.initializer("w1_scale")->clone();
        for (int64_t i = 0; i < s4.numel(); ++i) s4.data<float>()[i] *= 16.0f;
        qdq.setInitializer("w1_scale", s4);
        // The bias scale follows the weight scale (x_scale * w_scale).
        const float sx = qdq.initializer("x_scale")->data<float>()[0];
        Tensor bs = qdq.initializer("b1_scale")->clone();
        for (int64_t i = 0; i < bs.numel(); ++i) bs.data<float>()[i] = static_cast<float>(static_cast<double>(sx) * s4.data<float>()[i]);
        qdq.setInitializer("b1_scale", bs);
        Tensor bq = qdq.initializer("b1_quantized")->clone();
        for (int64_t i = 0; i < bq.numel(); ++i) bq.data<int32_t>()[i] /= 16;
        qdq.setInitializer("b1_quantized", bq);
        for (Node& n : qdq.nodes())
            if (n.name == "w1_DequantizeLinear") n.attributes["joule.bits"] = one(4);
        const Graph lowered = rt::lowerQdq(qdq);
        bool lowered4 = false;
        for (const Node& n : lowered.nodes()) lowered4 |= n.name == "conv1" && n.opType == "QLinearConv";
        QVERIFY(lowered4);
        rt::Session fake(qdq), integer(lowered);
        Agreement a;
        for (const auto& feeds : randomFeeds("x", {1, 3, 12, 12}, 5, 21)) {
            std::map<std::string, Tensor> yf, yl;
            const Captured cf = runCapturing(fake, feeds, &yf);
            const Captured cl = runCapturing(integer, feeds, &yl);
            compareQuantized(cf, cl, a);
        }
        QVERIFY(a.tensors > 0);
        QVERIFY2(a.worst <= 1, a.worstTensor.c_str());
    }

    void unsupportedPatternStaysFakeQuant()
    {
        // A Conv whose bias scale is not x_scale * w_scale cannot become QLinearConv: left as is.
        Graph qdq = quant::quantizeMinMax(handBuiltGraph(), randomFeeds("x", {1, 3, 12, 12}, 4, 3));
        Tensor wrong = Tensor::fromVector(DataType::Float32, {8}, std::vector<float>(8, 0.5f));
        qdq.setInitializer("b1_scale", wrong);
        const Graph lowered = rt::lowerQdq(qdq);
        bool convKept = false;
        for (const Node& n : lowered.nodes()) convKept |= n.name == "conv1" && n.opType == "Conv";
        QVERIFY(convKept);
        rt::Session fake(qdq), integer(lowered);
        const auto feeds = randomFeeds("x", {1, 3, 12, 12}, 1, 5).front();
        const Tensor yf = fake.run(feeds).at("logits"), yl = integer.run(feeds).at("logits");
        for (int64_t i = 0; i < yf.numel(); ++i) QVERIFY(std::fabs(yf.data<float>()[i] - yl.data<float>()[i]) < 0.05f);
    }

    void loweredGraphSavesAndReloads()
    {
        // The second graph carries QLinearConcat, QLinearAveragePool, QLinearLeakyRelu and QLookup.
        for (const Graph& fp32 : {handBuiltGraph(), concatPoolActivationGraph()}) {
            const Graph lowered = rt::lowerQdq(quant::quantizeMinMax(fp32, randomFeeds("x", {1, 3, 12, 12}, 4, 3)));
            const QString path = QDir::temp().filePath("joule_tst_qdq_lower.onnx");
            onnx::saveModel(lowered, path.toStdString());
            const Graph back = onnx::loadModel(path.toStdString());
            QFile::remove(path);
            QCOMPARE(back.nodes().size(), lowered.nodes().size());
            const auto feeds = randomFeeds("x", {1, 3, 12, 12}, 1, 11).front();
            rt::Session a(lowered), b(back);
            QVERIFY(a.run(feeds).at("logits").sameContents(b.run(feeds).at("logits")));
        }
    }
};

QTEST_GUILESS_MAIN(TestQdqLower)
#include "tst_qdq_lower.moc"
