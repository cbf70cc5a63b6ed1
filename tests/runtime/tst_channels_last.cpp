// The channels-last pass (runtime/channels_last.h) and the oneDNN kernels it puts in: which nodes it
// rewrites, where it changes layouts, and that the rewritten graph computes what the original does,
// on hand-built graphs that reach every rewrite and on the reference models.
#include "onnx/onnx_io.h"
#include "runtime/channels_last.h"
#include "runtime/session.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace joule;
using namespace joule::rt;

namespace {

Node op(const std::string& name, const std::string& type, std::vector<std::string> in, std::string out)
{
    Node n;
    n.name = name;
    n.opType = type;
    n.inputs = std::move(in);
    n.outputs = {std::move(out)};
    return n;
}

Attribute ints(std::vector<int64_t> v)
{
    Attribute a;
    a.kind = Attribute::Kind::Ints;
    a.ints = std::move(v);
    return a;
}

Attribute integer(int64_t v)
{
    Attribute a;
    a.kind = Attribute::Kind::Int;
    a.i = v;
    return a;
}

Tensor random(Shape shape, unsigned seed, float scale = 1.0f)
{
    Tensor t(DataType::Float32, std::move(shape));
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, scale);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = nd(rng);
    return t;
}

ValueInfo output(const std::string& name) { return {name, DataType::Float32, {}, {}, false}; }

int count(const Graph& g, const std::string& opType)
{
    return static_cast<int>(std::count_if(g.nodes().begin(), g.nodes().end(), [&](const Node& n) { return n.opType == opType; }));
}

// Largest |a - b| relative to the largest |a| (both the same shape).
double relativeError(const Tensor& a, const Tensor& b)
{
    if (a.shape() != b.shape()) return INFINITY;
    double diff = 0, mag = 1e-30;
    for (int64_t i = 0; i < a.numel(); ++i) {
        diff = std::max(diff, double(std::fabs(a.data<float>()[i] - b.data<float>()[i])));
        mag = std::max(mag, double(std::fabs(a.data<float>()[i])));
    }
    return diff / mag;
}

bool withOneDnn() { return KernelRegistry::builtin().hasOp("ConvNhwc", "ai.joule"); }

// x -> Conv 3x3 (3 -> 8) -> Relu -> MaxPool 3x3/2 (ceil_mode) -> Conv 3x3/2 group 2 (8 -> 8) -> Clip
//   -> Add (with a 1x1 stride-2 Conv of the pool's output) -> Concat (with the Add's input) on axis 1
//   -> GlobalAveragePool -> Flatten -> y
Graph chain()
{
    Graph g;
    g.opsetImports[""] = 13;
    g.addInput({"x", DataType::Float32, {2, 3, 13, 13}});
    g.setInitializer("w1", random({8, 3, 3, 3}, 1, 0.3f));
    g.setInitializer("b0", random({8}, 2));
    g.addNode(op("shared", "Identity", {"b0"}, "b1"));   // as exporters write shared biases
    g.setInitializer("w2", random({8, 4, 3, 3}, 3, 0.3f));
    g.setInitializer("w3", random({8, 8, 1, 1}, 4, 0.3f));
    g.setInitializer("b3", random({8}, 5));
    g.setInitializer("lo", Tensor::fromVector<float>(DataType::Float32, {}, {-0.25f}));
    g.setInitializer("hi", Tensor::fromVector<float>(DataType::Float32, {}, {0.5f}));
    Node c1 = op("c1", "Conv", {"x", "w1", "b1"}, "a");
    c1.attributes["pads"] = ints({1, 1, 1, 1});
    g.addNode(c1);
    g.addNode(op("r1", "Relu", {"a"}, "ar"));
    Node pool = op("pool", "MaxPool", {"ar"}, "p");
    pool.attributes["kernel_shape"] = ints({3, 3});
    pool.attributes["strides"] = ints({2, 2});
    pool.attributes["ceil_mode"] = integer(1);
    g.addNode(pool);
    Node c2 = op("c2", "Conv", {"p", "w2"}, "q");
    c2.attributes["pads"] = ints({1, 1, 1, 1});
    c2.attributes["strides"] = ints({2, 2});
    c2.attributes["group"] = integer(2);
    g.addNode(c2);
    g.addNode(op("clip", "Clip", {"q", "lo", "hi"}, "qc"));
    Node c3 = op("c3", "Conv", {"p", "w3", "b3"}, "s");
    c3.attributes["strides"] = ints({2, 2});
    g.addNode(c3);
    g.addNode(op("add", "Add", {"qc", "s"}, "t"));
    Node cat = op("cat", "Concat", {"t", "qc"}, "u");
    cat.attributes["axis"] = integer(-3);
    g.addNode(cat);
    g.addNode(op("gap", "GlobalAveragePool", {"u"}, "v"));
    g.addNode(op("flat", "Flatten", {"v"}, "y"));
    g.addOutput(output("y"));
    return g;
}


// Two residual blocks and a broadcast Add: x [2, 8, 9, 9]
//   a = Relu(Conv(x)); b = Conv(a); r1 = Relu(b + x)                       (identity shortcut)
//   c = Conv(Relu(Conv(r1))); d = Conv 1x1 (r1); r2 = Relu(c + d)         (the shortcut convolution last)
//   g = GlobalAveragePool(r2); e = Conv 1x1 (r2) + g                       (broadcast: [2, 8, 9, 9] + [2, 8, 1, 1])
//   y = Concat(e, r2)
Graph residualBlocks()
{
    Graph g;
    g.opsetImports[""] = 13;
    g.addInput({"x", DataType::Float32, {2, 8, 9, 9}});
    unsigned seed = 40;
    auto conv = [&](const std::string& name, const std::string& in, const std::string& out, int64_t k) {
        g.setInitializer(name + ".w", random({8, 8, k, k}, seed++, 0.2f));
        g.setInitializer(name + ".b", random({8}, seed++, 0.1f));
        Node c = op(name, "Conv", {in, name + ".w", name + ".b"}, out);
        if (k == 3) c.attributes["pads"] = ints({1, 1, 1, 1});
        g.addNode(c);
    };
    conv("c1", "x", "a0", 3);
    g.addNode(op("relu_a", "Relu", {"a0"}, "a"));
    conv("c2", "a", "b", 3);
    g.addNode(op("add1", "Add", {"b", "x"}, "s1"));
    g.addNode(op("relu1", "Relu", {"s1"}, "r1"));
    conv("c3", "r1", "c0", 3);
    g.addNode(op("relu_c", "Relu", {"c0"}, "c1r"));
    conv("c4", "c1r", "c", 3);
    conv("short", "r1", "d", 1);
    g.addNode(op("add2", "Add", {"c", "d"}, "s2"));
    g.addNode(op("relu2", "Relu", {"s2"}, "r2"));
    g.addNode(op("gap", "GlobalAveragePool", {"r2"}, "gp"));
    conv("c5", "r2", "e0", 1);
    g.addNode(op("add3", "Add", {"e0", "gp"}, "e"));
    Node cat = op("cat", "Concat", {"e", "r2"}, "y");
    cat.attributes["axis"] = integer(1);
    g.addNode(cat);
    g.addOutput(output("y"));
    return g;
}

} // namespace

class TestChannelsLast : public QObject {
    Q_OBJECT
private slots:
    void aChainChangesLayoutOnlyAtItsEnds()
    {
        const Graph g = chain();
        const Graph cl = toChannelsLast(g, KernelRegistry::builtin());
        if (!withOneDnn()) {   // a build without oneDNN: the pass leaves every graph alone
            QCOMPARE(cl.nodes().size(), g.nodes().size());
            QCOMPARE(channelsLastNodeCount(cl), 0);
            return;
        }
        QCOMPARE(count(cl, "ConvNhwc"), 3);   // c1's bias comes through an Identity
        QCOMPARE(count(cl, "MaxPoolNhwc"), 1);
        QCOMPARE(count(cl, "GlobalAveragePoolNhwc"), 1);
        QCOMPARE(count(cl, "Conv"), 0);
        // One Transpose into channels-last (x) and one back (the pooled vector, for Flatten).
        QCOMPARE(count(cl, "Transpose"), 2);
        QCOMPARE(std::count_if(cl.nodes().begin(), cl.nodes().end(), isLayoutChange), 2L);
        for (const Node& n : cl.nodes())
            if (n.opType == "Concat") QCOMPARE(n.attrInt("axis", 0), int64_t(3));
        // Nodes keep their names, so errors still name the user's node.
        QVERIFY(std::any_of(cl.nodes().begin(), cl.nodes().end(), [](const Node& n) { return n.name == "c2" && n.opType == "ConvNhwc"; }));

        const Tensor x = random({2, 3, 13, 13}, 9);
        for (int threads : {1, 2}) {
            Session plain(g, {.threads = threads});
            Session fast(g, {.threads = threads, .fuseActivations = true, .channelsLast = true});
            QCOMPARE(channelsLastNodeCount(fast.graph()), 5);
            const Tensor expected = plain.run({{"x", x}}).at("y");
            const Tensor got = fast.run({{"x", x}}).at("y");
            QCOMPARE(got.shape(), (Shape{2, 16}));
            QVERIFY2(relativeError(expected, got) < 1e-5, std::to_string(relativeError(expected, got)).c_str());
            // The Relu and the Clip were folded into their convolutions.
            QVERIFY(fast.steps().size() < fast.graph().nodes().size());
        }
    }

    void poolsAgreeWithTheNchwKernels()
    {
        // Conv -> each pool variant, every one a graph output (so each is transposed back by name).
        Graph g;
        g.opsetImports[""] = 13;
        g.addInput({"x", DataType::Float32, {1, 4, 10, 11}});
        g.setInitializer("w", random({6, 4, 3, 3}, 11, 0.3f));
        g.addNode(op("conv", "Conv", {"x", "w"}, "c"));
        struct Variant { const char* op; std::vector<int64_t> pads; int64_t ceil, includePad; };
        const Variant variants[] = {{"MaxPool", {1, 0, 1, 1}, 1, 0}, {"MaxPool", {0, 0, 0, 0}, 0, 0},
                                    {"AveragePool", {1, 1, 1, 1}, 0, 0}, {"AveragePool", {1, 1, 1, 1}, 0, 1},
                                    {"AveragePool", {0, 1, 2, 0}, 0, 0}};
        int i = 0;
        for (const Variant& v : variants) {
            const std::string y = "y" + std::to_string(i);
            Node p = op("pool" + std::to_string(i++), v.op, {"c"}, y);
            p.attributes["kernel_shape"] = ints({3, 3});
            p.attributes["strides"] = ints({2, 2});
            p.attributes["pads"] = ints(v.pads);
            p.attributes["ceil_mode"] = integer(v.ceil);
            if (std::string(v.op) == "AveragePool") p.attributes["count_include_pad"] = integer(v.includePad);
            g.addNode(p);
            g.addOutput(output(y));
        }
        g.addNode(op("gap", "GlobalAveragePool", {"c"}, "g"));
        g.addOutput(output("g"));
        g.addOutput(output("c"));   // the convolution's own output, also read by the pools

        Session plain(g);
        Session fast(g, {.channelsLast = true});
        if (withOneDnn()) QCOMPARE(channelsLastNodeCount(fast.graph()), 7);
        const Tensor x = random({1, 4, 10, 11}, 12);
        const auto expected = plain.run({{"x", x}});
        const auto got = fast.run({{"x", x}});
        QCOMPARE(got.size(), expected.size());
        for (const auto& [name, t] : expected) {
            QVERIFY2(got.count(name), name.c_str());
            const double err = relativeError(t, got.at(name));
            QVERIFY2(err < 1e-5, (name + ": " + std::to_string(err) + " " + shapeToString(got.at(name).shape())).c_str());
        }
    }

    void convolutionsWithComputedWeightsStayAsTheyAre()
    {
        Graph g;
        g.opsetImports[""] = 13;
        g.addInput({"x", DataType::Float32, {1, 2, 5, 5}});
        g.setInitializer("w0", random({3, 2, 3, 3}, 21));
        g.addNode(op("neg", "Neg", {"w0"}, "w"));   // folded while preparing, but computed as far as the graph says
        g.addNode(op("conv", "Conv", {"x", "w"}, "y"));
        g.addOutput(output("y"));
        const Graph cl = toChannelsLast(g, KernelRegistry::builtin());
        QCOMPARE(channelsLastNodeCount(cl), 0);
        QCOMPARE(cl.nodes().size(), g.nodes().size());
    }

    void residualAddsJoinTheConvolutionBeforeThem()
    {
        const Graph g = residualBlocks();
        const Tensor x = random({2, 8, 9, 9}, 77);
        Session plain(g);
        const Tensor expected = plain.run({{"x", x}}).at("y");
        for (int threads : {1, 2}) {
            Session fast(g, {.threads = threads, .fuseActivations = true, .channelsLast = true});
            const Tensor got = fast.run({{"x", x}}).at("y");
            const double err = relativeError(expected, got);
            QVERIFY2(err < 1e-5, std::to_string(err).c_str());
            if (!withOneDnn()) continue;
            // Both residual Adds (and the Relus after them) run inside the convolutions before them,
            // in place (nothing reads their other inputs later; chain() covers one that is read
            // again, which the kernel copies); the broadcast Add stays a step of its own.
            int adds = 0, relus = 0, withResidual = 0;
            for (const auto& step : fast.steps()) {
                const Node& n = fast.graph().nodes()[static_cast<size_t>(step.node)];
                adds += n.opType == "Add";
                relus += n.opType == "Relu";
                withResidual += !step.fusedInputs.empty();
            }
            QCOMPARE(adds, 1);
            QCOMPARE(relus, 0);
            QCOMPARE(withResidual, 2);
        }
        // With an observer every value is computed by its own node, and the result is the same.
        Session observed(g, {.threads = 1, .fuseActivations = true, .channelsLast = true});
        int adds = 0;
        observed.setObserver([&](const Node& n, size_t, const Tensor&) { adds += n.opType == "Add"; });
        QVERIFY(relativeError(expected, observed.run({{"x", x}}).at("y")) < 1e-5);
        QCOMPARE(adds, 3);
    }

    void referenceModelsAgreeOnABatch()
    {
        for (const char* name : {"fmnist_resnet8", "fmnist_dscnn", "mlperf_resnet8"}) {
            const std::string path = std::string(JOULE_TEST_SOURCE_DIR) + "/resources/models/" + name + ".onnx";
            const Graph g = onnx::loadModel(path);
            const ValueInfo in = g.requiredInputs().front();
            Shape shape = in.shape;
            if (shape[0] <= 0) shape[0] = 4;   // a batch where the model allows one
            const Tensor x = random(shape, 31);
            Session plain(g);
            const Tensor expected = plain.run({{in.name, x}}).begin()->second;
            for (int threads : {1, 2}) {
                Session fast(g, {.threads = threads, .fuseActivations = true, .channelsLast = true});
                if (withOneDnn()) QVERIFY2(channelsLastNodeCount(fast.graph()) >= 3, name);
                const Tensor got = fast.run({{in.name, x}}).begin()->second;
                const double err = relativeError(expected, got);
                QVERIFY2(err < 1e-4, (std::string(name) + ": " + std::to_string(err)).c_str());
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestChannelsLast)
#include "tst_channels_last.moc"
