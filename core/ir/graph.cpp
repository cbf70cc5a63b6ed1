#include "ir/graph.h"

#include <queue>
#include <set>
#include <unordered_map>

namespace joule {

const Attribute* Node::attribute(const std::string& key) const
{
    auto it = attributes.find(key);
    return it == attributes.end() ? nullptr : &it->second;
}

int64_t Node::attrInt(const std::string& key, int64_t fallback) const
{
    const Attribute* a = attribute(key);
    return a ? a->i : fallback;
}

float Node::attrFloat(const std::string& key, float fallback) const
{
    const Attribute* a = attribute(key);
    return a ? a->f : fallback;
}

std::string Node::attrString(const std::string& key, const std::string& fallback) const
{
    const Attribute* a = attribute(key);
    return a ? a->s : fallback;
}

std::vector<int64_t> Node::attrInts(const std::string& key, std::vector<int64_t> fallback) const
{
    const Attribute* a = attribute(key);
    return a ? a->ints : fallback;
}

std::vector<float> Node::attrFloats(const std::string& key, std::vector<float> fallback) const
{
    const Attribute* a = attribute(key);
    return a ? a->floats : fallback;
}

std::string Node::describe() const
{
    std::string op = domain.empty() ? opType : domain + "." + opType;
    if (!name.empty()) return op + " '" + name + "'";
    return op + (outputs.empty() ? std::string() : " (output '" + outputs.front() + "')");
}

const Tensor* Graph::initializer(const std::string& name) const
{
    auto it = initializers_.find(name);
    return it == initializers_.end() ? nullptr : &it->second;
}

const ValueInfo* Graph::valueInfo(const std::string& name) const
{
    for (const auto& v : inputs_) if (v.name == name) return &v;
    for (const auto& v : outputs_) if (v.name == name) return &v;
    auto it = valueInfos_.find(name);
    return it == valueInfos_.end() ? nullptr : &it->second;
}

int64_t Graph::opset(const std::string& domain) const
{
    auto it = opsetImports.find(domain);
    if (it == opsetImports.end() && domain.empty()) it = opsetImports.find("ai.onnx");
    return it == opsetImports.end() ? 0 : it->second;
}

bool Graph::isGraphInput(const std::string& name) const
{
    for (const auto& v : inputs_) if (v.name == name) return true;
    return false;
}

std::vector<ValueInfo> Graph::requiredInputs() const
{
    std::vector<ValueInfo> out;
    for (const auto& v : inputs_)
        if (!initializers_.count(v.name)) out.push_back(v);
    return out;
}

int Graph::producerOf(const std::string& value) const
{
    for (size_t i = 0; i < nodes_.size(); ++i)
        for (const auto& o : nodes_[i].outputs)
            if (o == value) return static_cast<int>(i);
    return -1;
}

std::vector<int> Graph::topologicalOrder() const
{
    std::unordered_map<std::string, int> producer;
    for (size_t i = 0; i < nodes_.size(); ++i)
        for (const auto& o : nodes_[i].outputs)
            if (!o.empty()) producer[o] = static_cast<int>(i);

    const size_t n = nodes_.size();
    std::vector<int> pending(n, 0);
    std::vector<std::vector<int>> consumers(n);
    std::vector<std::vector<int>> producers(n);
    for (size_t i = 0; i < n; ++i) {
        std::set<int> deps;
        for (const auto& in : nodes_[i].inputs) {
            if (in.empty()) continue;
            auto it = producer.find(in);
            if (it != producer.end() && it->second != static_cast<int>(i)) deps.insert(it->second);
            else if (it != producer.end()) throw GraphError(nodes_[i].describe() + " consumes its own output '" + in + "'");
        }
        pending[i] = static_cast<int>(deps.size());
        producers[i].assign(deps.begin(), deps.end());
        for (int d : deps) consumers[static_cast<size_t>(d)].push_back(static_cast<int>(i));
    }
    // Smallest index first keeps the file's order wherever it is valid.
    std::priority_queue<int, std::vector<int>, std::greater<>> ready;
    for (size_t i = 0; i < n; ++i) if (pending[i] == 0) ready.push(static_cast<int>(i));
    std::vector<int> order;
    order.reserve(n);
    while (!ready.empty()) {
        int i = ready.top();
        ready.pop();
        order.push_back(i);
        for (int c : consumers[static_cast<size_t>(i)])
            if (--pending[static_cast<size_t>(c)] == 0) ready.push(c);
    }
    if (order.size() != n) {
        // Walk back through unscheduled producers from any unscheduled node: after n steps the walk
        // is on the cycle itself, not merely downstream of it.
        size_t at = 0;
        while (pending[at] == 0) ++at;
        for (size_t step = 0; step < n; ++step)
            for (int p : producers[at])
                if (pending[static_cast<size_t>(p)] > 0) { at = static_cast<size_t>(p); break; }
        throw GraphError("graph has a cycle through " + nodes_[at].describe());
    }
    return order;
}

void Graph::validate() const
{
    std::set<std::string> available;
    for (const auto& v : inputs_) {
        if (!available.insert(v.name).second) throw GraphError("graph input '" + v.name + "' is declared twice");
    }
    for (const auto& [name, t] : initializers_) available.insert(name);

    std::set<std::string> nodeNames;
    std::set<std::string> produced;
    for (const auto& node : nodes_) {
        if (!node.name.empty() && !nodeNames.insert(node.name).second)
            throw GraphError("two nodes are named '" + node.name + "'");
        for (const auto& o : node.outputs) {
            if (o.empty()) continue;
            if (available.count(o))
                throw GraphError(node.describe() + " writes '" + o + "', which is already a graph input or initializer");
            if (!produced.insert(o).second)
                throw GraphError(node.describe() + " writes '" + o + "', which another node also writes");
        }
    }
    for (const auto& node : nodes_)
        for (const auto& in : node.inputs)
            if (!in.empty() && !available.count(in) && !produced.count(in))
                throw GraphError(node.describe() + " reads '" + in + "', which no node, input or initializer provides");
    for (const auto& out : outputs_)
        if (!available.count(out.name) && !produced.count(out.name))
            throw GraphError("graph output '" + out.name + "' is not produced by any node");
    topologicalOrder();   // throws on a cycle
}

int64_t Graph::parameterCount() const
{
    int64_t n = 0;
    for (const auto& [name, t] : initializers_) n += t.numel();
    return n;
}

} // namespace joule
