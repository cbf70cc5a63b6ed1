// Session: runs hand-built graphs through the planned arena, reports what it cannot run, checks
// feeds, shows every computed tensor to an observer, and re-plans only when input shapes change.
//
// The built-in Relu is the only shipped kernel these tests rely on. A few test-only ops in the
// domain "test" (registered in a copy of the built-in registry) give every node a distinct result,
// so a wrong buffer placement shows up as wrong numbers.
#include "runtime/session.h"

#include <QtTest>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace joule;
using namespace joule::rt;

namespace {

// ---- Test-only kernels --------------------------------------------------------------------

// y = x + c (attribute c).
class AddConst final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        if (ctx.input(0).dtype != DataType::Float32) throw UnsupportedError("AddConst takes float32");
        c_ = ctx.attrFloat("c", 0.0f);
        ctx.setOutput(0, DataType::Float32, ctx.input(0).shape);
    }
    void eval(EvalContext& ctx) override
    {
        const float* x = ctx.input(0).data<float>();
        float* y = ctx.output(0).data<float>();
        for (int64_t i = 0, n = ctx.output(0).numel(); i < n; ++i) y[i] = x[i] + c_;
    }
private:
    float c_ = 0;
};

// y = sum of all inputs (same shapes).
class Sum final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        for (size_t i = 1; i < ctx.inputCount(); ++i)
            if (ctx.input(i).shape != ctx.input(0).shape) throw KernelError("Sum inputs differ in shape");
        ctx.setOutput(0, DataType::Float32, ctx.input(0).shape);
    }
    void eval(EvalContext& ctx) override
    {
        float* y = ctx.output(0).data<float>();
        const int64_t n = ctx.output(0).numel();
        for (int64_t i = 0; i < n; ++i) y[i] = 0;
        for (size_t k = 0; k < ctx.inputCount(); ++k) {
            const float* x = ctx.input(k).data<float>();
            for (int64_t i = 0; i < n; ++i) y[i] += x[i];
        }
    }
};

// Relu that counts how often it is prepared and evaluated.
struct TallyCounts { int prepares = 0; int evals = 0; };
TallyCounts tally;
class Tally final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        ++tally.prepares;
        ctx.setOutput(0, ctx.input(0).dtype, ctx.input(0).shape);
    }
    void eval(EvalContext& ctx) override
    {
        ++tally.evals;
        const float* x = ctx.input(0).data<float>();
        float* y = ctx.output(0).data<float>();
        for (int64_t i = 0, n = ctx.output(0).numel(); i < n; ++i) y[i] = x[i] > 0 ? x[i] : 0;
    }
};

// Uses scratch memory: y = x * 2, staged through scratch.
class Double final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        ctx.setOutput(0, DataType::Float32, ctx.input(0).shape);
        ctx.requestScratch(static_cast<size_t>(ctx.input(0).numel()) * sizeof(float));
    }
    void eval(EvalContext& ctx) override
    {
        float* s = static_cast<float*>(ctx.scratch());
        const float* x = ctx.input(0).data<float>();
        const int64_t n = ctx.output(0).numel();
        for (int64_t i = 0; i < n; ++i) s[i] = x[i] * 2;
        for (int64_t i = 0; i < n; ++i) ctx.output(0).data<float>()[i] = s[i];
    }
};

const KernelRegistry& testRegistry()
{
    static const KernelRegistry registry = [] {
        KernelRegistry r = KernelRegistry::builtin();
        r.add("AddConst", "test", {DataType::Float32}, make<AddConst>);
        r.add("Sum", "test", {DataType::Float32}, make<Sum>);
        r.add("Tally", "test", {DataType::Float32}, make<Tally>);
        r.add("Double", "test", {DataType::Float32}, make<Double>);
        return r;
    }();
    return registry;
}

// ---- Graph building -------------------------------------------------------------------------

Node op(const std::string& name, const std::string& type, std::vector<std::string> in, const std::string& out,
        const std::string& domain = "")
{
    return Node{.name = name, .opType = type, .domain = domain, .inputs = std::move(in), .outputs = {out}};
}

Node addConst(const std::string& name, const std::string& in, const std::string& out, float c)
{
    Node n = op(name, "AddConst", {in}, out, "test");
    Attribute a;
    a.kind = Attribute::Kind::Float;
    a.f = c;
    n.attributes["c"] = a;
    return n;
}

// "v3" for ("v", 3). (Spelled out: GCC 12 warns falsely on indexed("v", i) at -O3.)
std::string indexed(const char* prefix, int i)
{
    std::string s(prefix);
    s.append(std::to_string(i));
    return s;
}

ValueInfo anyShape(const std::string& name) { return {name, DataType::Float32, {}, {}, false}; }

Graph reluChain(int length, Shape inputShape, const std::string& opType = "Relu", const std::string& domain = "")
{
    Graph g;
    g.opsetImports[""] = 17;
    g.addInput({"x", DataType::Float32, std::move(inputShape)});
    std::string prev = "x";
    for (int i = 0; i < length; ++i) {
        const std::string out = i == length - 1 ? "y" : indexed("v", i);
        g.addNode(op(indexed("r", i), opType, {prev}, out, domain));
        prev = out;
    }
    g.addOutput(anyShape("y"));
    return g;
}

Tensor floats(Shape shape, std::vector<float> values) { return Tensor::fromVector<float>(DataType::Float32, std::move(shape), values); }

Tensor ramp(Shape shape, float start, float step)
{
    Tensor t(DataType::Float32, std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + step * static_cast<float>(i);
    return t;
}

float relu(float v) { return v > 0 ? v : 0; }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

template <typename E, typename F> std::string messageOf(F&& f)
{
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "(no exception)";
}

// Buffer requests of a session's current plan, rebuilt from the graph: each computed value lives
// from the step that writes it to the last step reading it (graph outputs: past the last step);
// scratch lives for its step. Same order as the session's memoryPlan().offsets.
std::vector<BufferRequest> requestsOf(const Session& s)
{
    std::vector<BufferRequest> req;
    std::map<std::string, size_t> index;
    const auto& steps = s.steps();
    const int count = static_cast<int>(steps.size());
    for (int k = 0; k < count; ++k) {
        const Node& node = s.graph().nodes()[static_cast<size_t>(steps[static_cast<size_t>(k)].node)];
        for (const auto& in : node.inputs)
            if (auto it = index.find(in); it != index.end()) req[it->second].lastStep = k;
        for (size_t o = 0; o < node.outputs.size(); ++o) {
            if (node.outputs[o].empty()) continue;
            const TensorInfo& info = steps[static_cast<size_t>(k)].outputs[o];
            index[node.outputs[o]] = req.size();
            req.push_back({storageBytes(info.dtype, info.numel()), k, k});
        }
        if (steps[static_cast<size_t>(k)].scratchBytes) req.push_back({steps[static_cast<size_t>(k)].scratchBytes, k, k});
    }
    for (const auto& out : s.graph().outputs())
        if (auto it = index.find(out.name); it != index.end()) req[it->second].lastStep = count;
    return req;
}

// What an observer saw during one run: node name -> (address, bytes, copy of the value).
struct Seen {
    const void* address = nullptr;
    size_t bytes = 0;
    Tensor value;
    int step = 0;
};

} // namespace

class TestSession : public QObject {
    Q_OBJECT

private slots:
    void reluChainRuns()
    {
        Session s(reluChain(3, {2, 3}));
        const Tensor x = floats({2, 3}, {-1.5f, 0.0f, 2.5f, -0.25f, 7.0f, -100.0f});
        const auto out = s.run({{"x", x}});
        QCOMPARE(out.size(), size_t(1));
        const Tensor& y = out.at("y");
        QCOMPARE(y.dtype(), DataType::Float32);
        QCOMPARE(y.shape(), (Shape{2, 3}));
        const std::vector<float> expected = {0.0f, 0.0f, 2.5f, 0.0f, 7.0f, 0.0f};
        for (size_t i = 0; i < expected.size(); ++i) QCOMPARE(y.data<float>()[i], expected[i]);
        QVERIFY(y.ownsData());
        QCOMPARE(s.steps().size(), size_t(3));
    }

    void resultsAreOwningCopiesUnaffectedByLaterRuns()
    {
        Session s(reluChain(2, {4}));
        const auto first = s.run({{"x", floats({4}, {1, 2, 3, 4})}});
        const auto second = s.run({{"x", floats({4}, {5, 6, 7, 8})}});
        QCOMPARE(first.at("y").data<float>()[0], 1.0f);
        QCOMPARE(first.at("y").data<float>()[3], 4.0f);
        QCOMPARE(second.at("y").data<float>()[0], 5.0f);
    }

    void runsWithTwoThreadsLikeOne()
    {
        const Tensor x = ramp({1 << 16}, -30000.0f, 1.0f);
        Session one(reluChain(2, {1 << 16}), {.threads = 1});
        Session two(reluChain(2, {1 << 16}), {.threads = 2});
        QCOMPARE(two.threads(), 2);
        const Tensor a = one.run({{"x", x}}).at("y");
        const Tensor b = two.run({{"x", x}}).at("y");
        QVERIFY(a.sameContents(b));
        QCOMPARE(a.data<float>()[0], 0.0f);
        QCOMPARE(a.data<float>()[(1 << 16) - 1], 35535.0f);
    }

    void unsupportedOpsAreAllListedWithTheirNodes()
    {
        Graph g;
        g.addInput({"x", DataType::Float32, {2}});
        g.addNode(op("ok", "Relu", {"x"}, "a"));
        g.addNode(op("foo1", "FrobnicateOp", {"a"}, "b"));
        g.addNode(op("bar1", "WibbleOp", {"b"}, "c"));
        g.addNode(op("foo2", "FrobnicateOp", {"c"}, "d"));
        g.addNode(op("acme1", "Baz", {"d"}, "y", "com.acme"));
        g.addOutput(anyShape("y"));
        try {
            Session s(g);
            QFAIL("Session accepted unknown ops");
        } catch (const UnsupportedOpsError& e) {
            const std::string msg = e.what();
            QVERIFY2(contains(msg, "FrobnicateOp") && contains(msg, "'foo1'"), msg.c_str());
            QVERIFY2(contains(msg, "WibbleOp") && contains(msg, "'bar1'"), msg.c_str());
            QVERIFY2(contains(msg, "com.acme.Baz") && contains(msg, "'acme1'"), msg.c_str());
            QVERIFY2(!contains(msg, "Relu"), msg.c_str());
            QCOMPARE(e.ops(), (std::vector<std::string>{"FrobnicateOp", "WibbleOp", "com.acme.Baz"}));
        }
    }

    void unsupportedOpsErrorIsAnUnsupportedError()
    {
        Graph g = reluChain(1, {2});
        g.nodes()[0].opType = "NoSuchOp";
        QVERIFY_THROWS_EXCEPTION(UnsupportedError, Session{g});
    }

    void unsupportedOpOnUnnamedNodeNamesItsOutput()
    {
        Graph g = reluChain(2, {2});
        g.nodes()[1].opType = "NoSuchOp";
        g.nodes()[1].name.clear();
        const std::string msg = messageOf<UnsupportedOpsError>([&] { Session s(g); });
        QVERIFY2(contains(msg, "NoSuchOp") && contains(msg, "'y'"), msg.c_str());
    }

    void feedWithWrongShapeNamesTheInput()
    {
        Graph g = twoInputGraph();
        Session s(g);
        std::string msg = messageOf<KernelError>([&] {
            s.run({{"image", ramp({1, 5}, 0, 1)}, {"bias", ramp({1, 4}, 0, 1)}});
        });
        QVERIFY2(contains(msg, "'image'") && contains(msg, "[1,4]") && contains(msg, "[1,5]"), msg.c_str());
        msg = messageOf<KernelError>([&] { s.run({{"image", ramp({1, 4}, 0, 1)}, {"bias", ramp({4}, 0, 1)}}); });
        QVERIFY2(contains(msg, "'bias'"), msg.c_str());
    }

    void feedWithWrongTypeNamesTheInput()
    {
        Session s(twoInputGraph());
        Tensor wrong(DataType::Int32, {1, 4});
        const std::string msg = messageOf<KernelError>([&] { s.run({{"image", ramp({1, 4}, 0, 1)}, {"bias", wrong}}); });
        QVERIFY2(contains(msg, "'bias'") && contains(msg, "float32") && contains(msg, "int32"), msg.c_str());
    }

    void missingFeedNamesTheInput()
    {
        Session s(twoInputGraph());
        const std::string msg = messageOf<KernelError>([&] { s.run({{"image", ramp({1, 4}, 0, 1)}}); });
        QVERIFY2(contains(msg, "'bias'"), msg.c_str());
        QVERIFY2(!contains(msg, "'image'"), msg.c_str());
    }

    void feedForUnknownNameIsRejected()
    {
        Session s(twoInputGraph());
        const std::string msg = messageOf<KernelError>([&] {
            s.run({{"image", ramp({1, 4}, 0, 1)}, {"bias", ramp({1, 4}, 0, 1)}, {"imgae", ramp({1, 4}, 0, 1)}});
        });
        QVERIFY2(contains(msg, "'imgae'"), msg.c_str());
    }

    void unknownDimensionsAcceptAnySize()
    {
        Session s(reluChain(1, {-1, 3}));
        QCOMPARE(s.run({{"x", ramp({5, 3}, -7, 1)}}).at("y").shape(), (Shape{5, 3}));
        const std::string msg = messageOf<KernelError>([&] { s.run({{"x", ramp({5, 4}, -7, 1)}}); });
        QVERIFY2(contains(msg, "'x'"), msg.c_str());
    }

    void inputNoNodeReadsIsCheckedForTypeOnly()
    {
        // 'hint' is declared [3,4] but nothing reads it: any shape is accepted, a wrong type is not.
        Graph g = reluChain(1, {2});
        g.addInput({"hint", DataType::Float32, {3, 4}});
        Session s(g);
        QCOMPARE(s.run({{"x", ramp({2}, -1, 2)}, {"hint", ramp({1}, 0, 0)}}).at("y").shape(), (Shape{2}));
        const std::string msg = messageOf<KernelError>([&] { s.run({{"x", ramp({2}, -1, 2)}, {"hint", Tensor(DataType::Int32, {3, 4})}}); });
        QVERIFY2(contains(msg, "'hint'") && contains(msg, "int32"), msg.c_str());
    }

    void sequencesAndOptionalsPassThroughIdentity()
    {
        // seq -> Identity -> seq_out ; opt -> Identity -> opt_out ; x -> Relu -> y
        Graph g = reluChain(1, {3});
        ValueInfo seq{"seq", DataType::Float32, {2}};
        seq.containers = {ValueKind::Sequence};
        ValueInfo opt{"opt", DataType::Float32, {2}};
        opt.containers = {ValueKind::Optional, ValueKind::Sequence};
        g.addInput(seq);
        g.addInput(opt);
        g.addNode(op("id1", "Identity", {"seq"}, "seq_out"));
        g.addNode(op("id2", "Identity", {"opt"}, "opt_out"));
        seq.name = "seq_out";
        opt.name = "opt_out";
        g.addOutput(seq);
        g.addOutput(opt);
        Session s(g);
        const Value in = Value::sequence({Value::fromTensor(ramp({2}, 1, 1)), Value::fromTensor(ramp({2}, -3, 1))});
        auto out = s.runValues({{"x", Value::fromTensor(ramp({3}, -1, 1))}, {"seq", in}, {"opt", Value::optional(std::nullopt)}});
        QVERIFY(out.at("seq_out").sameContents(in));
        QVERIFY(out.at("opt_out").kind == ValueKind::Optional && !out.at("opt_out").hasElement());
        QCOMPARE(out.at("y").tensor.data<float>()[2], 1.0f);
        // An owning copy: the result does not alias the input's tensors.
        QVERIFY(out.at("seq_out").elements[0].tensor.raw() != in.elements[0].tensor.raw());
        // A sequence where an optional is declared is rejected, naming the input.
        const std::string msg = messageOf<KernelError>([&] {
            s.runValues({{"x", Value::fromTensor(ramp({3}, -1, 1))}, {"seq", in}, {"opt", in}});
        });
        QVERIFY2(contains(msg, "'opt'") && contains(msg, "optional"), msg.c_str());
    }

    void nonIdentityOpOnASequenceIsUnsupported()
    {
        Graph g;
        g.opsetImports[""] = 17;
        ValueInfo seq{"seq", DataType::Float32, {2}};
        seq.containers = {ValueKind::Sequence};
        g.addInput(seq);
        g.addNode(op("r", "Relu", {"seq"}, "y"));
        g.addOutput(anyShape("y"));
        const std::string msg = messageOf<UnsupportedOpsError>([&] { Session s(g); });
        QVERIFY2(contains(msg, "Relu 'r'") && contains(msg, "'seq'") && contains(msg, "sequence"), msg.c_str());
    }

    // x [1,2,5,5] -> Conv (3x3, 3 filters, pad 1) -> c -> Relu / Clip(lo, hi) -> y ; optionally c is
    // also a graph output.
    static Graph convThenActivation(const std::string& activation, bool convOutputIsGraphOutput = false)
    {
        Graph g;
        g.opsetImports[""] = 13;
        g.addInput({"x", DataType::Float32, {1, 2, 5, 5}});
        g.setInitializer("w", ramp({3, 2, 3, 3}, -0.9f, 0.037f));
        g.setInitializer("b", floats({3}, {0.1f, -0.2f, 0.05f}));
        Node conv = op("conv", "Conv", {"x", "w", "b"}, "c");
        Attribute pads;
        pads.kind = Attribute::Kind::Ints;
        pads.ints = {1, 1, 1, 1};
        conv.attributes["pads"] = pads;
        g.addNode(conv);
        if (activation == "Clip") {
            g.setInitializer("lo", floats({}, {-0.5f}));
            g.setInitializer("hi", floats({}, {0.75f}));
            g.addNode(op("act", "Clip", {"c", "lo", "hi"}, "y"));
        } else {
            g.addNode(op("act", activation, {"c"}, "y"));
        }
        g.addOutput(anyShape("y"));
        if (convOutputIsGraphOutput) g.addOutput(anyShape("c"));
        return g;
    }

    void reluAndClipAfterConvAreFusedWithSameResults()
    {
        const Tensor x = ramp({1, 2, 5, 5}, -2.0f, 0.081f);
        for (const std::string act : {"Relu", "Clip"}) {
            const Graph g = convThenActivation(act);
            Session plain(g);
            Session fused(g, {.fuseActivations = true});
            const Tensor expected = plain.run({{"x", x}}).at("y");
            const Tensor got = fused.run({{"x", x}}).at("y");
            QCOMPARE(plain.steps().size(), size_t(2));
            QCOMPARE(fused.steps().size(), size_t(1));   // the activation is folded into the Conv
            QVERIFY2(got.sameContents(expected), act.c_str());
            // The case is not trivial: the activation changes some values.
            Session convOnly(g);
            float clamped = 0;
            convOnly.setObserver([&](const Node& n, size_t, const Tensor& v) {
                if (n.name == "conv")
                    for (float f : v.values<float>()) clamped += (f < (act == "Relu" ? 0.0f : -0.5f)) ? 1 : 0;
            });
            convOnly.run({{"x", x}});
            QVERIFY(clamped > 0);
        }
    }

    // A residual Add followed by Relu / Clip: the Add clamps each sum itself (also with broadcasting).
    void reluAndClipAfterAddAreFusedWithSameResults()
    {
        for (const std::string act : {"Relu", "Clip"})
            for (const Shape bShape : {Shape{1, 2, 5, 5}, Shape{2, 1, 1}}) {
                Graph g;
                g.opsetImports[""] = 13;
                g.addInput({"a", DataType::Float32, {1, 2, 5, 5}});
                g.addInput({"b", DataType::Float32, bShape});
                g.addNode(op("add", "Add", {"a", "b"}, "s"));
                if (act == "Clip") {
                    g.setInitializer("lo", floats({}, {-0.5f}));
                    g.setInitializer("hi", floats({}, {0.75f}));
                    g.addNode(op("act", "Clip", {"s", "lo", "hi"}, "y"));
                } else {
                    g.addNode(op("act", act, {"s"}, "y"));
                }
                g.addOutput(anyShape("y"));
                const Tensor a = ramp({1, 2, 5, 5}, -2.0f, 0.081f);
                Tensor b = ramp(bShape, 1.0f, -0.043f);
                Session plain(g), fused(g, {.fuseActivations = true});
                const Tensor expected = plain.run({{"a", a}, {"b", b}}).at("y");
                const Tensor got = fused.run({{"a", a}, {"b", b}}).at("y");
                QCOMPARE(fused.steps().size(), size_t(1));
                QVERIFY2(got.sameContents(expected), act.c_str());
                const auto v = expected.values<float>();
                QVERIFY(std::count(v.begin(), v.end(), act == "Relu" ? 0.0f : -0.5f) > 0);   // clamping happened
            }
    }

    void activationIsNotFusedWhenItsInputIsObservedOrAGraphOutput()
    {
        const Tensor x = ramp({1, 2, 5, 5}, -2.0f, 0.081f);
        // An observer sees the Conv's own (unclamped) output: no fusion while it is set.
        Session observed(convThenActivation("Relu"), {.fuseActivations = true});
        observed.run({{"x", x}});
        QCOMPARE(observed.steps().size(), size_t(1));
        bool sawNegative = false;
        observed.setObserver([&](const Node& n, size_t, const Tensor& v) {
            if (n.name == "conv")
                for (float f : v.values<float>()) sawNegative = sawNegative || f < 0;
        });
        observed.run({{"x", x}});
        QCOMPARE(observed.steps().size(), size_t(2));
        QVERIFY(sawNegative);
        // The Conv's output is also a model output: it must stay unclamped.
        Session both(convThenActivation("Relu", true), {.fuseActivations = true});
        auto out = both.run({{"x", x}});
        QCOMPARE(both.steps().size(), size_t(2));
        QVERIFY(std::any_of(out.at("c").values<float>().begin(), out.at("c").values<float>().end(), [](float f) { return f < 0; }));
    }

    void observerSeesEveryComputedTensor()
    {
        // x -> r1 (Relu) -> a -> plus1 (a + 1) -> b ; x -> minus2 (x - 2) -> c -> r2 (Relu) -> d
        Graph g;
        g.addInput({"x", DataType::Float32, {4}});
        g.addNode(op("r1", "Relu", {"x"}, "a"));
        g.addNode(addConst("plus1", "a", "b", 1.0f));
        g.addNode(addConst("minus2", "x", "c", -2.0f));
        g.addNode(op("r2", "Relu", {"c"}, "d"));
        g.addOutput(anyShape("b"));
        g.addOutput(anyShape("d"));
        Session s(g, {}, testRegistry());
        std::map<std::string, std::vector<float>> seen;
        std::vector<std::string> order;
        s.setObserver([&](const Node& node, size_t output, const Tensor& value) {
            QCOMPARE(output, size_t(0));
            order.push_back(node.name);
            const auto v = value.values<float>();
            seen[node.name].assign(v.begin(), v.end());
        });
        const Tensor x = floats({4}, {-3, -0.5f, 1, 4});
        s.run({{"x", x}});
        QCOMPARE(order.size(), size_t(4));
        QCOMPARE(seen.at("r1"), (std::vector<float>{0, 0, 1, 4}));
        QCOMPARE(seen.at("plus1"), (std::vector<float>{1, 1, 2, 5}));
        QCOMPARE(seen.at("minus2"), (std::vector<float>{-5, -2.5f, -1, 2}));
        QCOMPARE(seen.at("r2"), (std::vector<float>{0, 0, 0, 2}));
        // In execution order: each node after its producer.
        const auto pos = [&](const std::string& n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
        QVERIFY(pos("r1") < pos("plus1"));
        QVERIFY(pos("minus2") < pos("r2"));

        // A second run shows the observer the new values.
        seen.clear();
        order.clear();
        s.run({{"x", floats({4}, {1, 1, 1, 1})}});
        QCOMPARE(order.size(), size_t(4));
        QCOMPARE(seen.at("r2"), (std::vector<float>{0, 0, 0, 0}));
        QCOMPARE(seen.at("plus1"), (std::vector<float>{2, 2, 2, 2}));
    }

    void observerSeesNodesFoldedAtPrepare()
    {
        // 'fold' reads only an initializer, so the session computes it while preparing. It is still
        // a computed tensor (a calibration or per-layer comparison needs it).
        Graph g;
        g.addInput({"x", DataType::Float32, {3}});
        g.setInitializer("w", floats({3}, {-1, 2, -3}));
        g.addNode(op("fold", "Relu", {"w"}, "wr"));
        g.addNode(op("live", "Relu", {"x"}, "a"));
        g.addNode(op("mix", "Sum", {"a", "wr"}, "y", "test"));
        g.addOutput(anyShape("y"));
        Session s(g, {}, testRegistry());
        std::map<std::string, std::vector<float>> seen;
        s.setObserver([&](const Node& node, size_t, const Tensor& value) {
            const auto v = value.values<float>();
            seen[node.name].assign(v.begin(), v.end());
        });
        const auto out = s.run({{"x", floats({3}, {5, -5, 1})}});
        QCOMPARE(std::vector<float>(out.at("y").values<float>().begin(), out.at("y").values<float>().end()),
                 (std::vector<float>{5, 2, 1}));
        QVERIFY(seen.count("live") && seen.count("mix"));
        QVERIFY2(seen.count("fold"), "the observer never saw node 'fold' (folded while preparing)");
        QCOMPARE(seen.at("fold"), (std::vector<float>{0, 2, 0}));
    }

    void secondRunWithSameShapesReusesThePlan()
    {
        tally = {};
        Session s(reluChain(5, {2, 8}, "Tally", "test"), {}, testRegistry());
        const Tensor x1 = ramp({2, 8}, -8, 1);
        const auto first = s.run({{"x", x1}});
        QCOMPARE(tally.prepares, 5);
        QCOMPARE(tally.evals, 5);
        const PlannedStep* stepsAddress = s.steps().data();
        const size_t stepCount = s.steps().size();
        const size_t arena = s.arenaBytes();
        const std::vector<size_t> offsets = s.memoryPlan().offsets;

        const auto second = s.run({{"x", x1}});
        QCOMPARE(tally.prepares, 5);   // not prepared again
        QCOMPARE(tally.evals, 10);
        QCOMPARE(s.steps().data(), stepsAddress);
        QCOMPARE(s.steps().size(), stepCount);
        QCOMPARE(s.arenaBytes(), arena);
        QCOMPARE(s.memoryPlan().offsets, offsets);
        QVERIFY(first.at("y").sameContents(second.at("y")));

        // Same shapes, other values: still the same plan, new results.
        const auto third = s.run({{"x", ramp({2, 8}, 8, -1)}});
        QCOMPARE(tally.prepares, 5);
        QCOMPARE(third.at("y").data<float>()[0], 8.0f);
        QCOMPARE(third.at("y").data<float>()[15], 0.0f);
    }

    void secondRunReusesTheArenaWithBuiltinRelu()
    {
        Session s(reluChain(6, {3, 5}));
        std::map<std::string, const void*> addresses;
        s.setObserver([&](const Node& node, size_t, const Tensor& value) { addresses[node.name] = value.raw(); });
        const Tensor x = ramp({3, 5}, -7, 1);
        const auto first = s.run({{"x", x}});
        const auto firstAddresses = addresses;
        const size_t arena = s.arenaBytes();
        const PlannedStep* stepsAddress = s.steps().data();
        addresses.clear();
        const auto second = s.run({{"x", x}});
        QCOMPARE(addresses, firstAddresses);   // same arena, same placement
        QCOMPARE(s.arenaBytes(), arena);
        QCOMPARE(s.steps().data(), stepsAddress);
        QCOMPARE(s.steps().size(), size_t(6));
        QVERIFY(first.at("y").sameContents(second.at("y")));
        for (int64_t i = 0; i < x.numel(); ++i) QCOMPARE(second.at("y").data<float>()[i], relu(x.data<float>()[i]));
    }

    void prepareThenRunDoesNotPrepareTwice()
    {
        tally = {};
        Session s(reluChain(3, {4}, "Tally", "test"), {}, testRegistry());
        s.prepare({{"x", ramp({4}, -2, 1)}});
        QCOMPARE(tally.prepares, 3);
        QCOMPARE(tally.evals, 0);
        QVERIFY(s.valueInfo("v0") && s.valueInfo("v0")->shape == (Shape{4}));
        s.run({{"x", ramp({4}, -2, 1)}});
        QCOMPARE(tally.prepares, 3);
        QCOMPARE(tally.evals, 3);
    }

    void newInputShapeReplans()
    {
        tally = {};
        Session s(reluChain(4, {-1, -1}, "Tally", "test"), {}, testRegistry());
        s.run({{"x", ramp({2, 3}, -3, 1)}});
        QCOMPARE(tally.prepares, 4);
        const size_t smallArena = s.arenaBytes();
        QCOMPARE(s.steps().front().outputs.front().shape, (Shape{2, 3}));

        const Tensor big = ramp({16, 32}, -100, 0.5f);
        const auto out = s.run({{"x", big}});
        QCOMPARE(tally.prepares, 8);
        QCOMPARE(s.steps().front().outputs.front().shape, (Shape{16, 32}));
        QCOMPARE(s.valueInfo("y")->shape, (Shape{16, 32}));
        QVERIFY2(s.arenaBytes() > smallArena, "a 16x32 plan should need a larger arena than a 2x3 one");
        QVERIFY(s.arenaBytes() >= s.arenaLowerBoundBytes());
        QCOMPARE(out.at("y").shape(), (Shape{16, 32}));
        for (int64_t i = 0; i < big.numel(); ++i) QCOMPARE(out.at("y").data<float>()[i], relu(big.data<float>()[i]));

        // Back to the small shape: planned again, with correct results in the bigger arena.
        const auto small = s.run({{"x", ramp({2, 3}, 3, -1)}});
        QCOMPARE(tally.prepares, 12);
        QCOMPARE(s.arenaBytes(), smallArena);
        QCOMPARE(std::vector<float>(small.at("y").values<float>().begin(), small.at("y").values<float>().end()),
                 (std::vector<float>{3, 2, 1, 0, 0, 0}));
    }

    void reluChainOf20UsesTwoBuffersWithoutOverlap()
    {
        Session s(reluChain(20, {8, 16}));
        const Tensor x = ramp({8, 16}, -64, 1);
        const auto out = s.run({{"x", x}});
        for (int64_t i = 0; i < x.numel(); ++i) QCOMPARE(out.at("y").data<float>()[i], relu(x.data<float>()[i]));

        const auto requests = requestsOf(s);
        QCOMPARE(requests.size(), s.memoryPlan().offsets.size());
        QVERIFY(!planHasOverlap(requests, s.memoryPlan()));
        // 8x16 floats = 512 bytes; a chain needs the value being read and the one being written.
        QCOMPARE(s.arenaLowerBoundBytes(), size_t(1024));
        QCOMPARE(s.arenaBytes(), size_t(1024));
    }

    void arenaOfA20NodeGraphWithSkipsNeverOverlaps()
    {
        // v0 = x; node i (1..20): i%3==0: Sum(v[i-1], v[i-3]); i%3==1: Relu(v[i-1]); else v[i-1] + c_i.
        // Outputs v20 and v7 (v7 stays alive to the end). Scratch-using Double at the end.
        Graph g;
        g.addInput({"x", DataType::Float32, {6, 10}});
        auto name = [](int i) { return i == 0 ? std::string("x") : indexed("v", i); };
        for (int i = 1; i <= 20; ++i) {
            if (i % 3 == 0) g.addNode(op(indexed("n", i), "Sum", {name(i - 1), name(i - 3)}, name(i), "test"));
            else if (i % 3 == 1) g.addNode(op(indexed("n", i), "Relu", {name(i - 1)}, name(i)));
            else g.addNode(addConst(indexed("n", i), name(i - 1), name(i), -0.75f * static_cast<float>(i)));
        }
        g.addNode(op("n21", "Double", {"v20"}, "y", "test"));
        g.addOutput(anyShape("y"));
        g.addOutput(anyShape("v7"));

        Session s(g, {}, testRegistry());
        std::map<std::string, Seen> seen;
        int step = 0;
        s.setObserver([&](const Node& node, size_t, const Tensor& value) {
            seen[node.outputs[0]] = {value.raw(), value.bytes(), value.clone(), step++};
        });
        const Tensor x = ramp({6, 10}, -20, 0.7f);
        const auto out = s.run({{"x", x}});

        // Reference computed here, element by element.
        std::vector<std::vector<float>> v(21);
        v[0].assign(x.values<float>().begin(), x.values<float>().end());
        for (int i = 1; i <= 20; ++i) {
            v[static_cast<size_t>(i)].resize(60);
            for (size_t e = 0; e < 60; ++e) {
                const float prev = v[static_cast<size_t>(i - 1)][e];
                if (i % 3 == 0) v[static_cast<size_t>(i)][e] = prev + v[static_cast<size_t>(i - 3)][e];
                else if (i % 3 == 1) v[static_cast<size_t>(i)][e] = relu(prev);
                else v[static_cast<size_t>(i)][e] = prev + -0.75f * static_cast<float>(i);
            }
        }
        for (size_t e = 0; e < 60; ++e) {
            QCOMPARE(out.at("y").data<float>()[e], v[20][e] * 2);
            QCOMPARE(out.at("v7").data<float>()[e], v[7][e]);
        }
        for (int i = 1; i <= 20; ++i)
            for (size_t e = 0; e < 60; ++e) QCOMPARE(seen.at(name(i)).value.data<float>()[e], v[static_cast<size_t>(i)][e]);

        // The planner's view.
        const auto requests = requestsOf(s);
        QCOMPARE(requests.size(), s.memoryPlan().offsets.size());
        QVERIFY(!planHasOverlap(requests, s.memoryPlan()));
        QVERIFY(s.arenaBytes() >= s.arenaLowerBoundBytes());
        size_t noReuse = 0;
        for (const auto& r : requests) noReuse += (r.bytes + 63) / 64 * 64;
        QVERIFY2(s.arenaBytes() < noReuse, "no buffer was reused");

        // Independent of the plan: the real addresses the observer saw. A value is alive from the
        // step writing it to the last step reading it (outputs: to the end); two live values must
        // not share bytes.
        std::map<std::string, int> lastUse;
        for (const auto& [value, info] : seen) lastUse[value] = info.step;
        for (const auto& node : s.graph().nodes())
            for (const auto& in : node.inputs)
                if (seen.count(in)) lastUse[in] = std::max(lastUse[in], seen.at(node.outputs[0]).step);
        for (const auto& o : s.graph().outputs()) lastUse[o.name] = 1000;
        for (const auto& [a, sa] : seen)
            for (const auto& [b, sb] : seen) {
                if (a == b) continue;
                const bool together = sa.step <= lastUse[b] && sb.step <= lastUse[a];
                if (!together) continue;
                const auto* pa = static_cast<const std::byte*>(sa.address);
                const auto* pb = static_cast<const std::byte*>(sb.address);
                QVERIFY2(pa + sa.bytes <= pb || pb + sb.bytes <= pa, (a + " and " + b + " share arena bytes").c_str());
            }
    }

private:
    static Graph twoInputGraph()
    {
        Graph g;
        g.addInput({"image", DataType::Float32, {1, 4}});
        g.addInput({"bias", DataType::Float32, {1, 4}});
        g.addNode(op("ri", "Relu", {"image"}, "a"));
        g.addNode(op("rb", "Relu", {"bias"}, "b"));
        g.addOutput(anyShape("a"));
        g.addOutput(anyShape("b"));
        return g;
    }
};

QTEST_GUILESS_MAIN(TestSession)
#include "tst_session.moc"
