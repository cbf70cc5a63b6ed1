#pragma once
// Test helper: runs one op through a real Session (prepare + planned arena + eval).
//
//   auto y = runOp("Add", {{"A", a}, {"B", b}});                 // outputs in order
//   auto y = runOp("Softmax", {{"x", x}}, {{"axis", intAttr(1)}});
//   auto y = runOpIn("com.microsoft", "QLinearAdd", {...});      // an op of another domain
//   Inputs whose tensor is empty are passed as omitted optional inputs. Constant inputs (shape-like)
//   can be given as initializers by setting `asInitializer` (or with init(name, tensor)).

#include "ir/graph.h"
#include "runtime/session.h"

#include <map>
#include <string>
#include <vector>

namespace joule::test {

struct OpInput {
    std::string name;
    Tensor value;
    bool asInitializer = false;
};

inline Attribute intAttr(int64_t v) { Attribute a; a.kind = Attribute::Kind::Int; a.i = v; return a; }
inline Attribute floatAttr(float v) { Attribute a; a.kind = Attribute::Kind::Float; a.f = v; return a; }
inline Attribute stringAttr(std::string v) { Attribute a; a.kind = Attribute::Kind::String; a.s = std::move(v); return a; }
inline Attribute intsAttr(std::vector<int64_t> v) { Attribute a; a.kind = Attribute::Kind::Ints; a.ints = std::move(v); return a; }
inline Attribute floatsAttr(std::vector<float> v) { Attribute a; a.kind = Attribute::Kind::Floats; a.floats = std::move(v); return a; }
inline Attribute tensorAttr(Tensor v) { Attribute a; a.kind = Attribute::Kind::Tensor; a.t = std::move(v); return a; }

template <typename T> Tensor tensor(Shape shape, std::vector<T> v)
{
    return Tensor::fromVector<T>(dataTypeOf<T>(), std::move(shape), v);
}
inline Tensor floats(Shape shape, std::vector<float> v) { return tensor<float>(std::move(shape), std::move(v)); }
inline OpInput init(std::string name, Tensor value) { return {std::move(name), std::move(value), true}; }

// The graph runOp() runs: one node of `op` in `domain` (opset 1 of a non-default domain), outputs
// "y0", "y1", ...; the fed inputs are added to `feeds` (an input name given twice is fed once).
inline Graph oneNodeGraph(const std::string& op, const std::string& domain, const std::vector<OpInput>& inputs,
                          const std::map<std::string, Attribute>& attributes, int outputs, int64_t opset,
                          std::map<std::string, Tensor>* feeds)
{
    Graph g;
    g.opsetImports[""] = opset;
    if (!domain.empty()) g.opsetImports[domain] = 1;
    Node n;
    n.name = "node_under_test";
    n.opType = op;
    n.domain = domain;
    n.attributes = attributes;
    for (const auto& in : inputs) {
        if (in.value.empty()) { n.inputs.push_back(""); continue; }
        n.inputs.push_back(in.name);
        if (in.asInitializer) {
            g.setInitializer(in.name, in.value);
        } else if (!g.isGraphInput(in.name)) {
            g.addInput({in.name, in.value.dtype(), in.value.shape()});
            (*feeds)[in.name] = in.value;
        }
    }
    for (int i = 0; i < outputs; ++i) {
        n.outputs.push_back("y" + std::to_string(i));
        g.addOutput({"y" + std::to_string(i), DataType::Undefined, {}, {}, false});
    }
    g.addNode(n);
    return g;
}

// Runs `op` of `domain` once and returns its outputs in order.
inline std::vector<Tensor> runOpIn(const std::string& domain, const std::string& op, const std::vector<OpInput>& inputs,
                                   const std::map<std::string, Attribute>& attributes = {}, int outputs = 1,
                                   int64_t opset = 17, int threads = 1)
{
    std::map<std::string, Tensor> feeds;
    rt::Session s(oneNodeGraph(op, domain, inputs, attributes, outputs, opset, &feeds), {.threads = threads});
    auto result = s.run(feeds);
    std::vector<Tensor> out;
    for (int i = 0; i < outputs; ++i) out.push_back(result.at("y" + std::to_string(i)));
    return out;
}

// runOpIn() for an op of the default ONNX domain.
inline std::vector<Tensor> runOp(const std::string& op, const std::vector<OpInput>& inputs,
                                 const std::map<std::string, Attribute>& attributes = {},
                                 int outputs = 1, int64_t opset = 17, int threads = 1)
{
    return runOpIn("", op, inputs, attributes, outputs, opset, threads);
}

} // namespace joule::test
