// Graph IR: validation messages, execution order, and Tensor storage rules.
#include "ir/graph.h"

#include <QtTest>

#include <cstring>
#include <string>
#include <vector>

using namespace joule;

namespace {

Node relu(const std::string& name, const std::string& in, const std::string& out)
{
    return Node{.name = name, .opType = "Relu", .inputs = {in}, .outputs = {out}};
}

ValueInfo floatValue(const std::string& name) { return {name, DataType::Float32, {2, 2}}; }

// Runs validate() and returns its message; empty if it did not throw.
std::string validationError(const Graph& g)
{
    try {
        g.validate();
    } catch (const GraphError& e) {
        return e.what();
    }
    return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Every node appears exactly once and after the producers of its inputs.
bool respectsDependencies(const Graph& g, const std::vector<int>& order)
{
    if (order.size() != g.nodes().size()) return false;
    std::vector<int> position(order.size(), -1);
    for (size_t p = 0; p < order.size(); ++p) {
        if (order[p] < 0 || static_cast<size_t>(order[p]) >= order.size() || position[static_cast<size_t>(order[p])] >= 0)
            return false;
        position[static_cast<size_t>(order[p])] = static_cast<int>(p);
    }
    for (size_t i = 0; i < g.nodes().size(); ++i)
        for (const auto& in : g.nodes()[i].inputs) {
            const int producer = g.producerOf(in);
            if (producer >= 0 && position[static_cast<size_t>(producer)] > position[i]) return false;
        }
    return true;
}

} // namespace

class TestGraph : public QObject {
    Q_OBJECT

private slots:
    void validGraphPasses()
    {
        Graph g;
        g.addInput(floatValue("x"));
        g.setInitializer("w", Tensor(DataType::Float32, {2, 2}));
        g.addNode(relu("r1", "x", "a"));
        g.addNode(Node{.name = "add", .opType = "Add", .inputs = {"a", "w"}, .outputs = {"y"}});
        g.addOutput(floatValue("y"));
        QVERIFY2(validationError(g).empty(), validationError(g).c_str());
    }

    void validateRejectsCycleNamingANodeOnIt()
    {
        // x -> r0 -> p;  r1: (p, loop_b) -> loop_a;  r2: loop_a -> loop_b
        Graph g;
        g.addInput(floatValue("x"));
        g.addNode(relu("r0", "x", "p"));
        g.addNode(Node{.name = "r1", .opType = "Add", .inputs = {"p", "loop_b"}, .outputs = {"loop_a"}});
        g.addNode(relu("r2", "loop_a", "loop_b"));
        g.addOutput(floatValue("loop_b"));
        const std::string msg = validationError(g);
        QVERIFY2(contains(msg, "cycle"), msg.c_str());
        QVERIFY2(contains(msg, "'r1'") || contains(msg, "'r2'"), msg.c_str());
        QVERIFY_THROWS_EXCEPTION(GraphError, g.topologicalOrder());
    }

    void cycleMessageNamesNodeOnTheCycleNotADownstreamOne()
    {
        // The first node in file order only consumes the cycle's output; it is not part of the cycle.
        Graph g;
        g.addInput(floatValue("x"));
        g.addNode(relu("downstream", "loop_b", "y"));
        g.addNode(Node{.name = "c1", .opType = "Add", .inputs = {"x", "loop_b"}, .outputs = {"loop_a"}});
        g.addNode(relu("c2", "loop_a", "loop_b"));
        g.addOutput(floatValue("y"));
        const std::string msg = validationError(g);
        QVERIFY2(contains(msg, "cycle"), msg.c_str());
        QVERIFY2(contains(msg, "'c1'") || contains(msg, "'c2'"), msg.c_str());
        QVERIFY2(!contains(msg, "'downstream'"), msg.c_str());
    }

    void validateRejectsNodeReadingItsOwnOutput()
    {
        Graph g;
        g.addInput(floatValue("x"));
        g.addNode(Node{.name = "selfish", .opType = "Add", .inputs = {"x", "s"}, .outputs = {"s"}});
        g.addOutput(floatValue("s"));
        const std::string msg = validationError(g);
        QVERIFY2(contains(msg, "'selfish'") && contains(msg, "'s'"), msg.c_str());
    }

    void validateRejectsDanglingInput()
    {
        Graph g;
        g.addInput(floatValue("x"));
        g.addNode(relu("r1", "x", "a"));
        g.addNode(Node{.name = "mix", .opType = "Add", .inputs = {"a", "ghost"}, .outputs = {"y"}});
        g.addOutput(floatValue("y"));
        const std::string msg = validationError(g);
        QVERIFY2(contains(msg, "'mix'") && contains(msg, "'ghost'"), msg.c_str());
    }

    void omittedOptionalInputIsNotDangling()
    {
        Graph g;
        g.addInput(floatValue("x"));
        g.addNode(Node{.name = "clip", .opType = "Clip", .inputs = {"x", "", ""}, .outputs = {"y"}});
        g.addOutput(floatValue("y"));
        QVERIFY2(validationError(g).empty(), validationError(g).c_str());
    }

    void validateRejectsValueWrittenTwice()
    {
        Graph g;
        g.addInput(floatValue("x"));
        g.addNode(relu("first", "x", "twice"));
        g.addNode(relu("second", "x", "twice"));
        g.addOutput(floatValue("twice"));
        const std::string msg = validationError(g);
        QVERIFY2(contains(msg, "'second'") && contains(msg, "'twice'"), msg.c_str());
    }

    void validateRejectsNodeOverwritingAnInputOrInitializer()
    {
        Graph g;
        g.addInput(floatValue("x"));
        g.setInitializer("w", Tensor(DataType::Float32, {2, 2}));
        g.addNode(relu("clobber_input", "w", "x"));
        g.addOutput(floatValue("x"));
        std::string msg = validationError(g);
        QVERIFY2(contains(msg, "'clobber_input'") && contains(msg, "'x'"), msg.c_str());

        Graph h;
        h.addInput(floatValue("x"));
        h.setInitializer("w", Tensor(DataType::Float32, {2, 2}));
        h.addNode(relu("clobber_weight", "x", "w"));
        h.addOutput(floatValue("w"));
        msg = validationError(h);
        QVERIFY2(contains(msg, "'clobber_weight'") && contains(msg, "'w'"), msg.c_str());
    }

    void validateRejectsDuplicateNodeNames()
    {
        Graph g;
        g.addInput(floatValue("x"));
        g.addNode(relu("dup", "x", "a"));
        g.addNode(relu("dup", "a", "y"));
        g.addOutput(floatValue("y"));
        const std::string msg = validationError(g);
        QVERIFY2(contains(msg, "'dup'"), msg.c_str());
        QVERIFY2(contains(msg, "two nodes") || contains(msg, "named"), msg.c_str());
    }

    void unnamedNodesAreNotDuplicates()
    {
        Graph g;
        g.addInput(floatValue("x"));
        g.addNode(relu("", "x", "a"));
        g.addNode(relu("", "a", "y"));
        g.addOutput(floatValue("y"));
        QVERIFY2(validationError(g).empty(), validationError(g).c_str());
    }

    void validateRejectsOutputNobodyProduces()
    {
        Graph g;
        g.addInput(floatValue("x"));
        g.addNode(relu("r1", "x", "y"));
        g.addOutput(floatValue("y"));
        g.addOutput(floatValue("lost"));
        const std::string msg = validationError(g);
        QVERIFY2(contains(msg, "'lost'"), msg.c_str());
    }

    void validateRejectsInputDeclaredTwice()
    {
        Graph g;
        g.addInput(floatValue("x"));
        g.addInput(floatValue("x"));
        g.addNode(relu("r1", "x", "y"));
        g.addOutput(floatValue("y"));
        const std::string msg = validationError(g);
        QVERIFY2(contains(msg, "'x'"), msg.c_str());
    }

    void topologicalOrderKeepsFileOrderWhenValid()
    {
        // A diamond with an independent branch, already in a valid order.
        Graph g;
        g.addInput(floatValue("x"));
        g.addNode(relu("a", "x", "va"));
        g.addNode(relu("b", "va", "vb"));
        g.addNode(relu("c", "x", "vc"));
        g.addNode(relu("d", "va", "vd"));
        g.addNode(Node{.name = "e", .opType = "Add", .inputs = {"vb", "vd"}, .outputs = {"ve"}});
        g.addNode(Node{.name = "f", .opType = "Add", .inputs = {"ve", "vc"}, .outputs = {"y"}});
        g.addOutput(floatValue("y"));
        QCOMPARE(g.topologicalOrder(), (std::vector<int>{0, 1, 2, 3, 4, 5}));
    }

    void topologicalOrderMovesConsumerAfterItsProducer()
    {
        Graph g;
        g.addInput(floatValue("x"));
        g.addNode(relu("consumer", "a", "y"));   // 0: reads 'a', produced by node 1
        g.addNode(relu("producer", "x", "a"));   // 1
        g.addNode(relu("other", "x", "z"));      // 2: independent
        g.addOutput(floatValue("y"));
        g.addOutput(floatValue("z"));
        QVERIFY2(validationError(g).empty(), validationError(g).c_str());
        const std::vector<int> order = g.topologicalOrder();
        QVERIFY(respectsDependencies(g, order));
        QCOMPARE(order, (std::vector<int>{1, 0, 2}));
    }

    void topologicalOrderReversedChain()
    {
        // A chain written backwards: y <- n0 <- n1 <- ... <- n7 <- x.
        Graph g;
        g.addInput(floatValue("x"));
        const std::vector<std::string> values = {"y", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "x"};
        const std::vector<std::string> names = {"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"};
        for (size_t i = 0; i < names.size(); ++i) g.addNode(relu(names[i], values[i + 1], values[i]));
        g.addOutput(floatValue("y"));
        const std::vector<int> order = g.topologicalOrder();
        QVERIFY(respectsDependencies(g, order));
        QCOMPARE(order, (std::vector<int>{7, 6, 5, 4, 3, 2, 1, 0}));
    }

    void producerOfFindsNodeOrMinusOne()
    {
        Graph g;
        g.addInput(floatValue("x"));
        g.addNode(relu("a", "x", "va"));
        g.addNode(relu("b", "va", "vb"));
        QCOMPARE(g.producerOf("vb"), 1);
        QCOMPARE(g.producerOf("x"), -1);
    }

    void requiredInputsSkipInitializedInputs()
    {
        Graph g;
        g.addInput(floatValue("x"));
        g.addInput(floatValue("bias"));
        g.setInitializer("bias", Tensor(DataType::Float32, {2, 2}));
        const auto req = g.requiredInputs();
        QCOMPARE(req.size(), size_t(1));
        QCOMPARE(req[0].name, std::string("x"));
    }

    // ---- Tensor ----

    void int4StoragePacksTwoPerByte()
    {
        QCOMPARE(storageBytes(DataType::Int4, 0), size_t(0));
        QCOMPARE(storageBytes(DataType::Int4, 1), size_t(1));
        QCOMPARE(storageBytes(DataType::Int4, 4), size_t(2));
        QCOMPARE(storageBytes(DataType::Int4, 5), size_t(3));
        QCOMPARE(storageBytes(DataType::UInt4, 7), size_t(4));
        QCOMPARE(storageBytes(DataType::Int8, 5), size_t(5));
        QCOMPARE(storageBytes(DataType::Float32, 5), size_t(20));
        QCOMPARE(Tensor(DataType::Int4, {3, 3}).bytes(), size_t(5));
        QCOMPARE(elementSize(DataType::Int4), size_t(0));
    }

    void int4AsDoubleSignExtendsLowNibbleFirst()
    {
        // Values -8, 7, -1, 0, 3 packed low nibble first: 0x78, 0x0F, 0x03.
        Tensor t(DataType::Int4, {5});
        const uint8_t packed[] = {0x78, 0x0F, 0x03};
        std::memcpy(t.raw(), packed, sizeof packed);
        const std::vector<double> expected = {-8, 7, -1, 0, 3};
        for (int64_t i = 0; i < 5; ++i) QCOMPARE(t.asDouble(i), expected[static_cast<size_t>(i)]);
        QCOMPARE(t.toInt64Vector(), (std::vector<int64_t>{-8, 7, -1, 0, 3}));

        Tensor u(DataType::UInt4, {5});
        std::memcpy(u.raw(), packed, sizeof packed);
        const std::vector<double> unsignedExpected = {8, 7, 15, 0, 3};
        for (int64_t i = 0; i < 5; ++i) QCOMPARE(u.asDouble(i), unsignedExpected[static_cast<size_t>(i)]);
    }

    void reshapedSharesBytesWithNewShape()
    {
        Tensor t = Tensor::fromVector<float>(DataType::Float32, {2, 3}, {1, 2, 3, 4, 5, 6});
        Tensor r = t.reshaped({3, 2});
        QCOMPARE(r.shape(), (Shape{3, 2}));
        QCOMPARE(r.raw(), t.raw());
        QCOMPARE(r.data<float>()[5], 6.0f);
        t.data<float>()[0] = 42.0f;
        QCOMPARE(r.data<float>()[0], 42.0f);
        QCOMPARE(t.shape(), (Shape{2, 3}));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, t.reshaped({4, 2}));
    }

    void cloneIsIndependent()
    {
        Tensor t = Tensor::fromVector<int8_t>(DataType::Int8, {4}, {1, -2, 3, -4});
        t.setQuant({{0.5f}, {3}, 0});
        Tensor c = t.clone();
        QVERIFY(c.ownsData());
        QVERIFY(c.raw() != t.raw());
        QVERIFY(c.sameContents(t));
        QVERIFY(c.quant() && *c.quant() == *t.quant());
        c.data<int8_t>()[1] = 100;
        QCOMPARE(t.data<int8_t>()[1], int8_t(-2));
        QVERIFY(!c.sameContents(t));
        c.setQuant({{0.25f}, {0}, 0});
        QCOMPARE(t.quant()->scale[0], 0.5f);

        // A plain copy, by contrast, aliases.
        Tensor alias = t;
        alias.data<int8_t>()[0] = 9;
        QCOMPARE(t.data<int8_t>()[0], int8_t(9));
    }

    void viewDoesNotOwn()
    {
        float buffer[6] = {1, 2, 3, 4, 5, 6};
        Tensor v = Tensor::view(DataType::Float32, {2, 3}, buffer);
        QVERIFY(!v.ownsData());
        QCOMPARE(v.raw(), static_cast<void*>(buffer));
        QCOMPARE(v.numel(), int64_t(6));
        v.data<float>()[2] = -7.0f;
        QCOMPARE(buffer[2], -7.0f);
        buffer[4] = 11.0f;
        QCOMPARE(v.asDouble(4), 11.0);
        Tensor copy = v;
        QVERIFY(!copy.ownsData());
        QCOMPARE(copy.raw(), static_cast<void*>(buffer));
        Tensor owned = v.clone();
        QVERIFY(owned.ownsData());
        buffer[0] = 99.0f;
        QCOMPARE(owned.data<float>()[0], 1.0f);
        QVERIFY(Tensor(DataType::Float32, {1}).ownsData());
    }

    void ownedTensorIsZeroedAndRejectsUnknownDims()
    {
        Tensor t(DataType::Int32, {3, 2});
        for (int32_t v : t.values<int32_t>()) QCOMPARE(v, 0);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Tensor(DataType::Float32, {2, -1}));
    }

    void scalarHasOneElement()
    {
        Tensor s(DataType::Float32, {});
        QCOMPARE(s.numel(), int64_t(1));
        QCOMPARE(s.bytes(), size_t(4));
        QCOMPARE(shapeToString({}), std::string("[]"));
        QCOMPARE(shapeToString({1, -1, 28}), std::string("[1,?,28]"));
    }

    void typeNamesRoundTrip()
    {
        for (DataType t : {DataType::Float32, DataType::Float64, DataType::Float16, DataType::Int4, DataType::UInt4,
                           DataType::Int8, DataType::UInt8, DataType::Int16, DataType::UInt16, DataType::Int32,
                           DataType::UInt32, DataType::Int64, DataType::UInt64, DataType::Bool})
            QCOMPARE(dataTypeFromName(dataTypeName(t)), t);
        QCOMPARE(dataTypeFromName("complex64"), DataType::Undefined);
    }
};

QTEST_GUILESS_MAIN(TestGraph)
#include "tst_graph.moc"
