#include "runtime/channels_last.h"

#include <map>
#include <set>
#include <string>

namespace joule::rt {
namespace {

const std::set<std::string> kUnary = {"Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish"};
const std::set<std::string> kElementwise = {"Add", "Sub", "Mul", "Div", "Sum", "Max", "Min"};
constexpr const char* kDomain = "ai.joule";
constexpr const char* kLayoutChange = "joule: layout change (channels-last pass)";

Attribute ints(std::vector<int64_t> v)
{
    Attribute a;
    a.kind = Attribute::Kind::Ints;
    a.ints = std::move(v);
    return a;
}

// A float32 tensor of rank `rank` whose value the kernel knows while preparing: an initializer, or a
// graph input (fed; the session prepares again when its value changes), or an Identity of one (as
// exporters write shared weights; the session folds it).
bool knownFloat(const Graph& g, std::string name, size_t rank)
{
    for (int hops = 0; hops < 16; ++hops) {
        const int p = g.producerOf(name);
        if (p < 0) break;
        const Node& n = g.nodes()[static_cast<size_t>(p)];
        if (n.opType != "Identity" || !n.domain.empty() || !n.hasInput(0)) return false;
        name = n.inputs[0];
    }
    if (g.producerOf(name) >= 0) return false;
    if (const Tensor* t = g.initializer(name)) return t->dtype() == DataType::Float32 && t->shape().size() == rank;
    for (const auto& in : g.inputs())
        if (in.name == name)
            return in.isTensor() && in.dtype == DataType::Float32 && in.hasShape && in.shape.size() == rank;
    return false;
}

bool allOnes(const Node& n, const char* attr)
{
    for (int64_t v : n.attrInts(attr, {}))
        if (v != 1) return false;
    return true;
}

class Rewriter {
public:
    explicit Rewriter(const Graph& in) : in_(in), out_(in)
    {
        out_.nodes().clear();
        for (const auto& v : in.inputs()) nchw_.insert(v.name);
        for (const auto& [name, t] : in.initializers()) nchw_.insert(name);
        for (const Node& n : in.nodes()) {
            names_.insert(n.name);
            names_.insert(n.outputs.begin(), n.outputs.end());
            names_.insert(n.inputs.begin(), n.inputs.end());
        }
        for (const auto& v : in.inputs()) names_.insert(v.name);
        for (const auto& v : in.outputs()) names_.insert(v.name);
    }

    Graph run()
    {
        for (int idx : in_.topologicalOrder()) rewrite(in_.nodes()[static_cast<size_t>(idx)]);
        for (const auto& o : in_.outputs()) needNchw(o.name);
        if (converted_) out_.opsetImports.emplace(kDomain, 1);
        return converted_ ? std::move(out_) : in_;
    }

private:
    void rewrite(const Node& n)
    {
        const std::string kind = n.domain.empty() ? n.opType : std::string();
        const bool oneOutput = n.outputs.size() == 1 && !n.outputs[0].empty();
        const bool inputNhwc = n.hasInput(0) && nhwc_.count(n.inputs[0]);

        if (kind == "Conv" && oneOutput && n.hasInput(0) && !in_.initializer(n.inputs[0]) &&
            knownFloat(in_, n.inputs[1], 4) && (!n.hasInput(2) || knownFloat(in_, n.inputs[2], 1))) {
            emitNhwc(n, "ConvNhwc", kDomain, {0});
            return;
        }
        if (inputNhwc && oneOutput && n.inputs.size() == 1) {
            if (kind == "MaxPool" && allOnes(n, "dilations") && n.attrInts("kernel_shape").size() == 2)
                return emitNhwc(n, "MaxPoolNhwc", kDomain, {0});
            if (kind == "AveragePool" && n.attrInt("ceil_mode", 0) == 0 && n.attrInts("kernel_shape").size() == 2)
                return emitNhwc(n, "AveragePoolNhwc", kDomain, {0});
            if (kind == "GlobalAveragePool") return emitNhwc(n, "GlobalAveragePoolNhwc", kDomain, {0});
        }
        if (inputNhwc && oneOutput && kUnary.count(kind)) return emitNhwc(n, n.opType, n.domain, {0});
        if (oneOutput && (kElementwise.count(kind) || kind == "Concat") && allInputsNhwc(n)) {
            std::vector<size_t> all;
            for (size_t i = 0; i < n.inputs.size(); ++i) all.push_back(i);
            if (kind != "Concat") return emitNhwc(n, n.opType, n.domain, all);
            int64_t axis = n.attrInt("axis", 1);
            if (axis < 0) axis += 4;
            if (axis >= 0 && axis < 4) {
                static const int64_t kNhwcAxis[4] = {0, 3, 1, 2};
                Node c = n;
                c.attributes["axis"].i = kNhwcAxis[axis];
                return emitNhwc(c, n.opType, n.domain, all);
            }
        }
        Node copy = n;
        for (const auto& v : copy.inputs) needNchw(v);
        out_.addNode(std::move(copy));
        for (const auto& o : n.outputs) nchw_.insert(o);
    }

    bool allInputsNhwc(const Node& n) const
    {
        if (n.inputs.empty()) return false;
        for (const auto& v : n.inputs)
            if (v.empty() || !nhwc_.count(v)) return false;
        return true;
    }

    // `n` as `op` reading the channels-last copies of inputs `layoutInputs` (the others as they are)
    // and writing the channels-last copy of its output.
    void emitNhwc(const Node& n, const std::string& op, const std::string& domain, const std::vector<size_t>& layoutInputs)
    {
        Node m = n;
        m.opType = op;
        m.domain = domain;
        std::set<size_t> layout(layoutInputs.begin(), layoutInputs.end());
        for (size_t i = 0; i < m.inputs.size(); ++i) {
            if (m.inputs[i].empty()) continue;
            if (layout.count(i)) m.inputs[i] = needNhwc(m.inputs[i]);
            else needNchw(m.inputs[i]);
        }
        const std::string y = fresh(n.outputs[0] + "#nhwc");
        nhwc_[n.outputs[0]] = y;
        m.outputs[0] = y;
        out_.addNode(std::move(m));
        if (op.size() > 4 && op.compare(op.size() - 4, 4, "Nhwc") == 0) converted_ = true;
    }

    std::string needNhwc(const std::string& v)
    {
        if (auto it = nhwc_.find(v); it != nhwc_.end()) return it->second;
        const std::string y = fresh(v + "#nhwc");
        out_.addNode(transpose(v, y, {0, 2, 3, 1}));
        nhwc_[v] = y;
        return y;
    }

    void needNchw(const std::string& v)
    {
        if (v.empty() || nchw_.count(v)) return;
        auto it = nhwc_.find(v);
        if (it == nhwc_.end()) return;   // produced later or not at all: validate() reports it
        out_.addNode(transpose(it->second, v, {0, 3, 1, 2}));
        nchw_.insert(v);
    }

    Node transpose(const std::string& x, const std::string& y, std::vector<int64_t> perm)
    {
        Node t;
        t.opType = "Transpose";
        t.name = fresh(y + "#transpose");
        t.inputs = {x};
        t.outputs = {y};
        t.attributes["perm"] = ints(std::move(perm));
        t.docString = kLayoutChange;
        return t;
    }

    std::string fresh(const std::string& base)
    {
        std::string name = base;
        for (int i = 2; names_.count(name); ++i) name = base + std::to_string(i);
        names_.insert(name);
        return name;
    }

    const Graph& in_;
    Graph out_;
    std::map<std::string, std::string> nhwc_;   // value -> its channels-last copy
    std::set<std::string> nchw_;                // values available in their own layout
    std::set<std::string> names_;
    bool converted_ = false;
};

} // namespace

Graph toChannelsLast(const Graph& graph, const KernelRegistry& registry)
{
    if (!registry.hasOp("ConvNhwc", kDomain)) return graph;
    Graph out = Rewriter(graph).run();
    out.validate();
    return out;
}

bool isLayoutChange(const Node& n) { return n.opType == "Transpose" && n.domain.empty() && n.docString == kLayoutChange; }

int channelsLastNodeCount(const Graph& graph)
{
    int count = 0;
    for (const Node& n : graph.nodes())
        if (n.domain == kDomain && n.opType.size() > 4 && n.opType.compare(n.opType.size() - 4, 4, "Nhwc") == 0) ++count;
    return count;
}

} // namespace joule::rt
