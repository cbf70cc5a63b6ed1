#pragma once
// Test helper: runs one op through a real Session (prepare + planned arena + eval).
//
//   auto y = runOp("Add", {{"A", a}, {"B", b}});                 // outputs in order
//   auto y = runOp("Softmax", {{"x", x}}, {{"axis", intAttr(1)}});
//   Inputs whose tensor is empty are passed as omitted optional inputs. Constant inputs (shape-like)
//   can be given as initializers by setting `asInitializer`.

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

inline std::vector<Tensor> runOp(const std::string& op, const std::vector<OpInput>& inputs,
                                 const std::map<std::string, Attribute>& attributes = {},
                                 int outputs = 1, int64_t opset = 17, int threads = 1)
{
    Graph g;
    g.opsetImports[""] = opset;
    Node n;
    n.name = "node_under_test";
    n.opType = op;
    n.attributes = attributes;
    std::map<std::string, Tensor> feeds;
    for (const auto& in : inputs) {
        if (in.value.empty()) { n.inputs.push_back(""); continue; }
        n.inputs.push_back(in.name);
        if (in.asInitializer) {
            g.setInitializer(in.name, in.value);
        } else {
            g.addInput({in.name, in.value.dtype(), in.value.shape()});
            feeds[in.name] = in.value;
        }
    }
    for (int i = 0; i < outputs; ++i) {
        n.outputs.push_back("y" + std::to_string(i));
        g.addOutput({"y" + std::to_string(i), DataType::Undefined, {}, {}, false});
    }
    g.addNode(n);
    rt::Session s(g, {.threads = threads});
    auto result = s.run(feeds);
    std::vector<Tensor> out;
    for (int i = 0; i < outputs; ++i) out.push_back(result.at("y" + std::to_string(i)));
    return out;
}

} // namespace joule::test
