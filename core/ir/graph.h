#pragma once
// The Joule graph IR: a dataflow graph of ONNX-style nodes over named values.
//
//   joule::Graph g;
//   g.addInput({"x", DataType::Float32, {1, 4}});
//   g.setInitializer("w", Tensor(DataType::Float32, {4, 2}));
//   g.addNode({.name = "fc", .opType = "MatMul", .inputs = {"x", "w"}, .outputs = {"y"}});
//   g.addOutput({"y", DataType::Float32, {1, 2}});
//   g.validate();                      // throws GraphError on cycles, dangling inputs, duplicates
//   for (int i : g.topologicalOrder()) { const Node& n = g.nodes()[i]; ... }
//
// Values are identified by name, as in ONNX. An empty input name is an omitted optional input.
// Dimensions may be unknown (-1), with an optional symbolic name kept for export.

#include "ir/tensor.h"
#include "ir/value.h"

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace joule {

class GraphError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct ValueInfo {
    std::string name;
    DataType dtype = DataType::Undefined;
    Shape shape;                          // -1 for an unknown dimension
    std::vector<std::string> dimNames;    // symbolic names, same length as shape or empty
    bool hasShape = true;                 // false when the rank itself is unknown
    std::optional<QuantParams> quant;     // quantization of the value, when known
    // Sequence / optional wrappers around the tensor type, outermost first: {} for a tensor,
    // {Optional, Sequence} for optional(sequence(tensor(dtype, shape))).
    std::vector<ValueKind> containers;
    bool isTensor() const { return containers.empty(); }
};

struct Attribute {
    enum class Kind { Int, Float, String, Tensor, Ints, Floats, Strings, Graph };
    Kind kind = Kind::Int;
    int64_t i = 0;
    float f = 0.0f;
    std::string s;
    joule::Tensor t;
    std::vector<int64_t> ints;
    std::vector<float> floats;
    std::vector<std::string> strings;
    // Subgraph attributes (If/Loop/Scan) are kept as serialized bytes so they survive a round trip.
    std::string graphBytes;
};

struct Node {
    std::string name;
    std::string opType;
    std::string domain;                   // "" is the default ONNX domain
    std::vector<std::string> inputs;      // "" = omitted optional input
    std::vector<std::string> outputs;     // "" = omitted optional output
    std::map<std::string, Attribute> attributes;
    std::string docString;

    const Attribute* attribute(const std::string& key) const;
    int64_t attrInt(const std::string& key, int64_t fallback) const;
    float attrFloat(const std::string& key, float fallback) const;
    std::string attrString(const std::string& key, const std::string& fallback) const;
    std::vector<int64_t> attrInts(const std::string& key, std::vector<int64_t> fallback = {}) const;
    std::vector<float> attrFloats(const std::string& key, std::vector<float> fallback = {}) const;
    bool hasInput(size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
    // "Conv 'conv1'" — for messages.
    std::string describe() const;
};

class Graph {
public:
    std::string name;
    std::string docString;
    std::map<std::string, int64_t> opsetImports;   // domain -> version ("" = ai.onnx)
    int64_t irVersion = 8;
    std::string producerName;
    std::string producerVersion;
    std::map<std::string, std::string> metadata;    // model metadata_props

    const std::vector<Node>& nodes() const { return nodes_; }
    std::vector<Node>& nodes() { return nodes_; }
    void addNode(Node node) { nodes_.push_back(std::move(node)); }

    const std::vector<ValueInfo>& inputs() const { return inputs_; }
    const std::vector<ValueInfo>& outputs() const { return outputs_; }
    std::vector<ValueInfo>& inputs() { return inputs_; }
    std::vector<ValueInfo>& outputs() { return outputs_; }
    void addInput(ValueInfo v) { inputs_.push_back(std::move(v)); }
    void addOutput(ValueInfo v) { outputs_.push_back(std::move(v)); }

    // Weights and other constants, by value name. A graph input may also have an initializer
    // (a default value the caller may override).
    const std::map<std::string, Tensor>& initializers() const { return initializers_; }
    const Tensor* initializer(const std::string& name) const;
    void setInitializer(const std::string& name, Tensor value) { initializers_[name] = std::move(value); }
    void removeInitializer(const std::string& name) { initializers_.erase(name); }

    // Known type/shape of intermediate values (from shape inference or the importer).
    const std::map<std::string, ValueInfo>& valueInfos() const { return valueInfos_; }
    const ValueInfo* valueInfo(const std::string& name) const;
    void setValueInfo(ValueInfo v) { valueInfos_[v.name] = std::move(v); }

    int64_t opset(const std::string& domain = "") const;
    bool isGraphInput(const std::string& name) const;
    // Inputs the caller must feed: graph inputs without an initializer.
    std::vector<ValueInfo> requiredInputs() const;

    // Node indices in an execution order where every node comes after the producers of its inputs.
    // Stable: keeps the file's order where it is already valid. Throws GraphError on a cycle.
    std::vector<int> topologicalOrder() const;
    // Throws GraphError naming the node/value on: a cycle, an input nobody produces, a value produced
    // twice (or produced and also a graph input/initializer), duplicate node names, an unproduced output.
    void validate() const;
    // Index of the node producing `value`, or -1.
    int producerOf(const std::string& value) const;

    // Sum of initializer element counts (parameters).
    int64_t parameterCount() const;

private:
    std::vector<Node> nodes_;
    std::vector<ValueInfo> inputs_;
    std::vector<ValueInfo> outputs_;
    std::map<std::string, Tensor> initializers_;
    std::map<std::string, ValueInfo> valueInfos_;
};

} // namespace joule
