// The quantizer's QDQ output: structure, parameters, validity, and that it runs and stays accurate.
#include "eval/evaluator.h"
#include "quant/calibration.h"
#include "quant/quant_error.h"
#include "quant/quantizer.h"
#include "quant_test_data.h"
#include "runtime/qdq_lower.h"
#include "runtime/session.h"

#include <QtTest>
#include <cmath>
#include <random>

using namespace joule;
using namespace joule::quant;

namespace {

std::map<std::string, Range> littleRanges(const Graph& g)
{
    return chooseRanges(collectStatistics(g, quanttest::trainImages(), quanttest::cardPreprocessing(), {.count = 64}),
                        {.method = CalibrationMethod::MinMax});
}

int countOps(const Graph& g, const std::string& op)
{
    return static_cast<int>(std::count_if(g.nodes().begin(), g.nodes().end(), [&](const Node& n) { return n.opType == op; }));
}

const Node* nodeNamed(const Graph& g, const std::string& name)
{
    for (const Node& n : g.nodes())
        if (n.name == name) return &n;
    return nullptr;
}

} // namespace

class TestQuantQuantizer : public QObject {
    Q_OBJECT
private slots:
    void activationParamsCoverTheRangeWithAnExactZero()
    {
        const QuantParams u = activationParams({-1.0f, 3.0f}, ActivationType::UInt8);
        QCOMPARE(u.scale[0], 4.0f / 255);
        QCOMPARE(u.zeroPoint[0], 64);   // round(1 / (4/255)) = round(63.75)
        const QuantParams s = activationParams({-1.0f, 3.0f}, ActivationType::Int8);
        QCOMPARE(s.zeroPoint[0], -128 + 64);
        const QuantParams relu = activationParams({0.0f, 6.0f}, ActivationType::UInt8);
        QCOMPARE(relu.zeroPoint[0], 0);
        const QuantParams empty = activationParams({0.0f, 0.0f}, ActivationType::UInt8);
        QCOMPARE(empty.scale[0], 1.0f);   // guarded, never 0
    }

    void littleModelBecomesTheAgreedQdqGraph()
    {
        const Graph fp32 = quanttest::referenceModel("little");
        const QuantizedModel q = quantizeGraph(fp32, littleRanges(fp32));
        const Graph& g = q.graph;
        g.validate();
        // conv1, conv2, fc: three weight + three bias DequantizeLinear nodes.
        // Activations: input, two Relu outputs, Flatten output (logits stay fp32).
        QCOMPARE(countOps(g, "QuantizeLinear"), 4);
        QCOMPARE(countOps(g, "DequantizeLinear"), 4 + 6);
        QVERIFY(nodeNamed(g, "input_QuantizeLinear"));
        QVERIFY(nodeNamed(g, "/Relu_output_0_DequantizeLinear"));
        QVERIFY(!nodeNamed(g, "logits_QuantizeLinear"));
        QCOMPARE(g.outputs().front().name, std::string("logits"));
        QCOMPARE(g.nodes()[static_cast<size_t>(g.producerOf("logits"))].opType, std::string("Gemm"));
        // The Relu stays between Conv and its QuantizeLinear.
        const Node* relu = nodeNamed(g, "/Relu");
        QVERIFY(relu);
        QCOMPARE(relu->inputs[0], std::string("/conv1/Conv_output_0"));
        QCOMPARE(q.layers.size(), size_t{4});   // conv1, conv2, Flatten, fc
        for (const QuantizedLayer& l : q.layers) {
            if (l.op == "Flatten") continue;
            QCOMPARE(l.weightBits, 8);
            QVERIFY(!l.bias.empty());
        }
        for (const auto& [name, t] : g.initializers()) {
            QVERIFY2(t.dtype() != DataType::Float32 || name.ends_with("_scale"), name.c_str());
            if (name.ends_with("_scale"))
                for (float s : t.values<float>()) QVERIFY2(s > 0 && std::isfinite(s), name.c_str());
        }
    }

    void perChannelWeightScaleIsMaxAbsOver127()
    {
        const Graph fp32 = quanttest::referenceModel("little");
        const QuantizedModel q = quantizeGraph(fp32, littleRanges(fp32));
        const Node& conv = *nodeNamed(fp32, "/conv2/Conv");
        const Tensor& w = *fp32.initializer(conv.inputs[1]);
        const Tensor& scale = *q.graph.initializer(conv.inputs[1] + "_scale");
        const Tensor& codes = *q.graph.initializer(conv.inputs[1] + "_quantized");
        QCOMPARE(codes.dtype(), DataType::Int8);
        QCOMPARE(scale.numel(), w.dim(0));
        const int64_t per = w.numel() / w.dim(0);
        for (int64_t c = 0; c < w.dim(0); ++c) {
            float m = 0;
            for (int64_t k = 0; k < per; ++k) m = std::max(m, std::fabs(w.data<float>()[c * per + k]));
            QCOMPARE(scale.data<float>()[c], m / 127);
            for (int64_t k = 0; k < per; ++k) {
                const float back = codes.data<int8_t>()[c * per + k] * scale.data<float>()[c];
                QVERIFY(std::fabs(back - w.data<float>()[c * per + k]) <= scale.data<float>()[c] / 2 * 1.0001f);
            }
        }
        const Node* dq = nodeNamed(q.graph, conv.inputs[1] + "_DequantizeLinear");
        QCOMPARE(dq->attrInt("axis", -1), int64_t{0});
        // The bias: int32 with scale s_x * s_w per channel.
        const Tensor& bias = *q.graph.initializer(conv.inputs[2] + "_quantized");
        QCOMPARE(bias.dtype(), DataType::Int32);
        const float sx = q.graph.initializer("/Relu_output_0_scale")->data<float>()[0];
        QCOMPARE(q.graph.initializer(conv.inputs[2] + "_scale")->data<float>()[3], sx * scale.data<float>()[3]);
    }

    void perTensorAndInt4Weights()
    {
        const Graph fp32 = quanttest::referenceModel("little");
        const QuantizedModel q = quantizeGraph(fp32, littleRanges(fp32),
                                               {.weights = WeightGranularity::PerTensor, .weightBits = {{"/fc/Gemm", 4}}});
        q.graph.validate();
        const Node& fc = *nodeNamed(fp32, "/fc/Gemm");
        const Tensor& scale = *q.graph.initializer(fc.inputs[1] + "_scale");
        QCOMPARE(scale.numel(), int64_t{1});
        QCOMPARE(scale.rank(), 0);
        const Node* dq = nodeNamed(q.graph, fc.inputs[1] + "_DequantizeLinear");
        QCOMPARE(dq->attrInt("joule.bits", 8), int64_t{4});
        QVERIFY(!dq->attribute("axis"));
        const Tensor& codes = *q.graph.initializer(fc.inputs[1] + "_quantized");
        int lo = 0, hi = 0;
        for (int8_t c : codes.values<int8_t>()) {
            lo = std::min<int>(lo, c);
            hi = std::max<int>(hi, c);
        }
        QVERIFY(lo >= -8 && hi <= 7);
        QVERIFY(hi == 7 || lo == -7);   // max|w| maps to +-7
        // Also recorded in the model metadata, which ONNX tools keep (onnx::checker rejects the
        // unknown attribute, so an exporter for other runtimes drops it and relies on this).
        QCOMPARE(q.graph.metadata.at("joule.int4_weights"), fc.inputs[1] + "_quantized");
        const double int8Bytes = weightMemoryBytes(quantizeGraph(fp32, littleRanges(fp32)));
        QCOMPARE(weightMemoryBytes(q), int8Bytes - codes.numel() / 2.0);
    }

    void quantizedGraphRunsAndKeepsAccuracy()
    {
        const Graph fp32 = quanttest::referenceModel("little");
        const QuantizedModel q = quantizeGraph(fp32, littleRanges(fp32));
        eval::EvalOptions o;
        o.limit = 500;
        const double a = eval::evaluate(fp32, quanttest::testImages(), quanttest::cardPreprocessing(), o).accuracy;
        const double b = eval::evaluate(q.graph, quanttest::testImages(), quanttest::cardPreprocessing(), o).accuracy;
        QVERIFY2(std::fabs(a - b) <= 0.02, qPrintable(QString("fp32 %1, int8 %2").arg(a).arg(b)));
        // And it survives an ONNX round trip (export + checker + shape inference).
        const Graph back = onnx::loadModelFromBytes(onnx::serializeModel(q.graph), "quantized little");
        rt::Session s(back);
        QCOMPARE(countOps(back, "QuantizeLinear"), 4);
    }

    void depthwiseAndClipModelQuantizes()
    {
        const Graph fp32 = quanttest::referenceModel("dscnn");
        const auto ranges = chooseRanges(
            collectStatistics(fp32, quanttest::trainImages(), quanttest::cardPreprocessing(), {.count = 8}), {});
        const QuantizedModel q = quantizeGraph(fp32, ranges, {.weights = WeightGranularity::PerTensor});
        q.graph.validate();
        // 9 convs + fc with weights; the Clip (ReLU6) output is what gets quantized.
        QCOMPARE(static_cast<int>(std::count_if(q.layers.begin(), q.layers.end(), [](const auto& l) { return l.weightBits == 8; })), 10);
        QVERIFY(nodeNamed(q.graph, "/act/Clip_output_0_QuantizeLinear"));
        QVERIFY(!nodeNamed(q.graph, "/stem/Conv_output_0_QuantizeLinear"));
    }

    void aLayerMappedToZeroBitsStaysFp32()
    {
        const Graph fp32 = quanttest::referenceModel("little");
        const QuantizedModel q = quantizeGraph(fp32, littleRanges(fp32), {.weightBits = {{"/fc/Gemm", 0}}});
        q.graph.validate();
        const Node& fc = *nodeNamed(q.graph, "/fc/Gemm");
        QCOMPARE(fc.inputs[1], nodeNamed(fp32, "/fc/Gemm")->inputs[1]);   // the float weight, as before
        QCOMPARE(q.graph.initializer(fc.inputs[1])->dtype(), DataType::Float32);
        QVERIFY(std::none_of(q.layers.begin(), q.layers.end(), [](const QuantizedLayer& l) { return l.node == "/fc/Gemm"; }));
        rt::Session s(q.graph);
        QVERIFY_THROWS_EXCEPTION(QuantError, quantizeGraph(fp32, littleRanges(fp32), {.weightBits = {{"/fc/Gemm", 3}}}));
    }

    // What PyTorch exports do: one bias initializer read by several convolutions, directly and
    // through an Identity, and int64 shape arithmetic (Shape -> Gather -> Add) beside the tensors.
    // Every convolution gets an int32 bias of its own (its scale is its own input scale times its
    // weight scale), so all three lower to QLinearConv; the int64 Add is left alone.
    void sharedBiasesAndShapeArithmeticQuantize()
    {
        std::mt19937 rng(3);
        auto random = [&](Shape shape) {
            Tensor t(DataType::Float32, std::move(shape));
            std::normal_distribution<float> d(0.0f, 0.3f);
            for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
            return t;
        };
        Attribute k3;
        k3.kind = Attribute::Kind::Ints;
        k3.ints = {3, 3};
        Attribute p1 = k3;
        p1.ints = {1, 1, 1, 1};
        const std::map<std::string, Attribute> conv = {{"kernel_shape", k3}, {"pads", p1}};
        Graph g;
        g.opsetImports[""] = 13;
        g.addInput({"x", DataType::Float32, {1, 4, 6, 6}});
        for (const char* w : {"wa", "wb", "wc"}) g.setInitializer(w, random({4, 4, 3, 3}));
        g.setInitializer("bias", random({4}));
        g.setInitializer("one", Tensor::fromVector(DataType::Int64, {}, std::vector<int64_t>{1}));
        g.addNode({.name = "alias", .opType = "Identity", .inputs = {"bias"}, .outputs = {"bias_c"}});
        g.addNode({.name = "conv_a", .opType = "Conv", .inputs = {"x", "wa", "bias"}, .outputs = {"ca"}, .attributes = conv});
        g.addNode({.name = "relu_a", .opType = "Relu", .inputs = {"ca"}, .outputs = {"ra"}});
        g.addNode({.name = "conv_b", .opType = "Conv", .inputs = {"ra", "wb", "bias"}, .outputs = {"cb"}, .attributes = conv});
        g.addNode({.name = "relu_b", .opType = "Relu", .inputs = {"cb"}, .outputs = {"rb"}});
        g.addNode({.name = "conv_c", .opType = "Conv", .inputs = {"rb", "wc", "bias_c"}, .outputs = {"cc"}, .attributes = conv});
        g.addNode({.name = "relu_c", .opType = "Relu", .inputs = {"cc"}, .outputs = {"rc"}});
        g.addNode({.name = "gap", .opType = "GlobalAveragePool", .inputs = {"rc"}, .outputs = {"y"}});
        g.addNode({.name = "shape", .opType = "Shape", .inputs = {"rb"}, .outputs = {"s"}});
        g.addNode({.name = "gather", .opType = "Gather", .inputs = {"s", "one"}, .outputs = {"channels"}});
        g.addNode({.name = "plus_one", .opType = "Add", .inputs = {"channels", "one"}, .outputs = {"n"}});
        g.addOutput({"y", DataType::Float32, {1, 4, 1, 1}});
        g.addOutput({"n", DataType::Int64, {}});
        g.validate();
        std::map<std::string, Range> ranges;
        for (const char* t : {"x", "ca", "ra", "cb", "rb", "cc", "rc", "y"}) ranges[t] = {-3.0f, 3.0f};

        const QuantizedModel q = quantizeGraph(g, ranges);
        q.graph.validate();
        for (const char* c : {"conv_a", "conv_b", "conv_c"}) {
            const auto l = std::find_if(q.layers.begin(), q.layers.end(), [&](const QuantizedLayer& x) { return x.node == c; });
            QVERIFY2(l != q.layers.end() && !l->bias.empty(), c);
            QCOMPARE(q.graph.initializer(l->bias)->dtype(), DataType::Int32);
        }
        QVERIFY(q.graph.initializer("bias"));   // the Identity still reads the float bias
        QVERIFY(std::none_of(q.layers.begin(), q.layers.end(), [](const QuantizedLayer& l) { return l.node == "plus_one"; }));
        const Graph lowered = rt::lowerQdq(q.graph);
        QCOMPARE(rt::loweredOpCounts(lowered)["QLinearConv"], 3);
        rt::Session s(lowered);
        const auto out = s.run({{"x", random({1, 4, 6, 6})}});
        QCOMPARE(out.at("n").data<int64_t>()[0], int64_t{5});
    }

    void missingRangeNamesTheTensor()
    {
        const Graph fp32 = quanttest::referenceModel("little");
        auto ranges = littleRanges(fp32);
        ranges.erase("/Relu_1_output_0");
        try {
            quantizeGraph(fp32, ranges);
            QFAIL("expected QuantError");
        } catch (const QuantError& e) {
            QVERIFY2(std::string(e.what()).find("/Relu_1_output_0") != std::string::npos, e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestQuantQuantizer)
#include "tst_quant_quantizer.moc"
