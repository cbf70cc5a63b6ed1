#include "prune/channel_groups.h"

#include "runtime/session.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <stdexcept>

namespace joule::prune {
namespace {

const std::set<std::string> kOneToOne = {"Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Identity", "Dropout",
                                         "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Tanh", "Elu", "Selu"};
const std::set<std::string> kElementwise = {"Add", "Sub", "Mul", "Max", "Min", "Sum"};

struct UnionFind {
    std::map<std::string, std::string> parent;
    std::string find(const std::string& x)
    {
        auto it = parent.find(x);
        if (it == parent.end()) return parent[x] = x;
        if (it->second == x) return x;
        return it->second = find(it->second);
    }
    void unite(const std::string& a, const std::string& b) { parent[find(a)] = find(b); }
};

// Shapes of every value, from a session prepared at batch 1.
std::map<std::string, Shape> shapesOf(const Graph& g)
{
    std::map<std::string, Tensor> feeds;
    for (const ValueInfo& in : g.requiredInputs()) {
        Shape s = in.shape;
        for (int64_t& d : s) if (d <= 0) d = 1;
        feeds.emplace(in.name, Tensor(in.dtype, s));
    }
    rt::Session session(g);
    session.prepare(feeds);
    std::map<std::string, Shape> shapes;
    for (const Node& n : g.nodes())
        for (const std::string& v : n.outputs)
            if (const rt::TensorInfo* info = session.valueInfo(v)) shapes[v] = info->shape;
    for (const auto& [name, t] : feeds) shapes[name] = t.shape();
    return shapes;
}

Tensor sliceAxis(const Tensor& t, int axis, const std::vector<int64_t>& keep, int64_t block = 1)
{
    if (t.dtype() != DataType::Float32) throw std::invalid_argument("only float32 parameters are pruned");
    Shape shape = t.shape();
    const int64_t outer = elementCount(Shape(shape.begin(), shape.begin() + axis));
    const int64_t inner = elementCount(Shape(shape.begin() + axis + 1, shape.end()));
    const int64_t dim = shape[static_cast<size_t>(axis)];
    shape[static_cast<size_t>(axis)] = static_cast<int64_t>(keep.size()) * block;
    Tensor out(DataType::Float32, shape);
    const float* src = t.data<float>();
    float* dst = out.data<float>();
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t k : keep)
            for (int64_t b = 0; b < block; ++b) {
                const float* s = src + (o * dim + k * block + b) * inner;
                std::copy(s, s + inner, dst);
                dst += inner;
            }
    return out;
}

} // namespace

std::vector<ChannelGroup> channelGroups(const Graph& graph)
{
    const std::map<std::string, Shape> shapes = shapesOf(graph);
    const auto rankOf = [&](const std::string& v) { auto it = shapes.find(v); return it == shapes.end() ? 0 : static_cast<int>(it->second.size()); };
    const auto isConst = [&](const std::string& v) { return graph.initializer(v) != nullptr; };
    std::map<std::string, int> uses;   // initializer -> readers
    for (const Node& n : graph.nodes())
        for (const std::string& in : n.inputs)
            if (!in.empty() && isConst(in)) ++uses[in];

    UnionFind uf;
    std::map<std::string, std::string> frozen;                 // tensor -> reason
    std::map<std::string, int> producerOf;                     // tensor -> producing Conv/Gemm
    std::map<std::string, std::vector<ChannelConsumer>> consumersOf;
    std::map<std::string, std::vector<int>> passOf;             // tensor -> depthwise / BN node on it
    std::map<std::string, std::pair<std::string, int64_t>> flattened;   // Flatten output -> (input, H*W)
    struct ConcatLink {
        std::string input, output;
        int64_t offset;
    };
    std::vector<ConcatLink> concatLinks;
    std::map<std::string, std::string> concatOutputs;   // Concat output -> "Concat 'name'"
    const auto space = [&](const std::string& v) { return !v.empty() && !isConst(v) && rankOf(v) >= 2; };
    const auto freeze = [&](const std::string& v, const std::string& why) { if (space(v) && !frozen.count(v)) frozen[v] = why; };
    const auto freezeNode = [&](const Node& n, const std::string& why) {
        for (const std::string& v : n.inputs) freeze(v, why);
        for (const std::string& v : n.outputs) freeze(v, why);
    };
    const auto shared = [&](const Node& n, size_t i) { return n.hasInput(i) && isConst(n.inputs[i]) && uses[n.inputs[i]] > 1; };

    const std::vector<int> order = graph.topologicalOrder();
    for (int idx : order) {
        const Node& n = graph.nodes()[static_cast<size_t>(idx)];
        const std::string what = n.opType + " '" + n.name + "'";
        for (const std::string& v : n.outputs) if (space(v)) uf.find(v);
        if (!n.domain.empty() && n.domain != "ai.onnx") {
            freezeNode(n, what);
            continue;
        }
        const std::string& op = n.opType;
        if (kOneToOne.count(op)) {
            if (space(n.inputs[0])) uf.unite(n.inputs[0], n.outputs[0]);
            if (op == "MaxPool" && n.outputs.size() > 1 && !n.outputs[1].empty()) freezeNode(n, what);
        } else if (op == "BatchNormalization") {
            uf.unite(n.inputs[0], n.outputs[0]);
            passOf[n.inputs[0]].push_back(idx);
            for (size_t i = 1; i < 5; ++i)
                if (!n.hasInput(i) || !isConst(n.inputs[i]) || shared(n, i)) freezeNode(n, what + " (parameters not its own constants)");
        } else if (op == "Flatten") {
            const std::string& x = n.inputs[0];
            const auto it = shapes.find(x);
            if (it == shapes.end() || it->second.size() < 2 || n.attrInt("axis", 1) != 1) {
                freezeNode(n, what);
                continue;
            }
            const int64_t spatial = elementCount(Shape(it->second.begin() + 2, it->second.end()));
            if (spatial == 1) uf.unite(x, n.outputs[0]);
            else flattened[n.outputs[0]] = {x, spatial};
        } else if (op == "Conv") {
            const std::string& x = n.inputs[0];
            const Tensor* w = n.hasInput(1) ? graph.initializer(n.inputs[1]) : nullptr;
            if (!w || w->rank() != 4 || shared(n, 1) || shared(n, 2) || (n.hasInput(2) && !isConst(n.inputs[2]))) {
                freezeNode(n, what + " (weights not its own constants)");
                continue;
            }
            const int64_t group = n.attrInt("group", 1), cin = shapes.at(x)[1], cout = w->dim(0);
            if (group == 1) {
                consumersOf[x].push_back({idx, 1});
                producerOf[n.outputs[0]] = idx;
            } else if (group == cin && cout == cin && w->dim(1) == 1) {
                uf.unite(x, n.outputs[0]);
                passOf[x].push_back(idx);
            } else {
                freezeNode(n, what + " (grouped)");
            }
        } else if (op == "Gemm") {
            const Tensor* b = n.hasInput(1) ? graph.initializer(n.inputs[1]) : nullptr;
            if (!b || b->rank() != 2 || n.attrInt("transA", 0) != 0 || shared(n, 1) || shared(n, 2) || (n.hasInput(2) && !isConst(n.inputs[2]))) {
                freezeNode(n, what + " (B not its own constant)");
                if (auto f = flattened.find(n.inputs[0]); f != flattened.end()) freeze(f->second.first, what);
                continue;
            }
            if (auto f = flattened.find(n.inputs[0]); f != flattened.end()) consumersOf[f->second.first].push_back({idx, f->second.second});
            else consumersOf[n.inputs[0]].push_back({idx, 1});
            producerOf[n.outputs[0]] = idx;
        } else if (op == "Concat") {
            const int64_t axis = n.attrInt("axis", 1);
            bool plain = axis == 1 || (axis < 0 && axis + rankOf(n.outputs[0]) == 1);
            for (const std::string& v : n.inputs) plain = plain && space(v);
            if (!plain) {
                freezeNode(n, what + " (not along channels)");
                continue;
            }
            int64_t offset = 0;
            for (const std::string& v : n.inputs) {
                concatLinks.push_back({v, n.outputs[0], offset});
                offset += shapes.at(v)[1];
            }
            concatOutputs[n.outputs[0]] = what;
        } else if (kElementwise.count(op)) {
            bool plain = true;
            for (const std::string& v : n.inputs) plain = plain && space(v) && shapes.count(v) && shapes.at(v) == shapes.at(n.outputs[0]);
            if (!plain) {
                freezeNode(n, what + " (a constant or broadcast operand)");
                continue;
            }
            for (const std::string& v : n.inputs) uf.unite(v, n.outputs[0]);
        } else {
            freezeNode(n, what);
        }
        // A flattened (C x H x W) tensor read by anything but a Gemm.
        for (const std::string& v : n.inputs)
            if (auto f = flattened.find(v); f != flattened.end() && op != "Gemm") freeze(f->second.first, what + " reads a flattened tensor");
    }
    for (const ValueInfo& in : graph.inputs()) freeze(in.name, "graph input '" + in.name + "'");
    for (const ValueInfo& out : graph.outputs()) {
        freeze(out.name, "graph output '" + out.name + "'");
        if (auto f = flattened.find(out.name); f != flattened.end()) freeze(f->second.first, "graph output '" + out.name + "'");
    }

    // Collect the groups, in the order their first tensor appears.
    std::map<std::string, size_t> groupOf;
    std::vector<ChannelGroup> groups;
    std::vector<std::string> tensors;
    for (int idx : order)
        for (const std::string& v : graph.nodes()[static_cast<size_t>(idx)].outputs)
            if (space(v)) tensors.push_back(v);
    for (const ValueInfo& in : graph.inputs()) if (space(in.name)) tensors.insert(tensors.begin(), in.name);
    for (const std::string& v : tensors) {
        const std::string root = uf.find(v);
        auto [it, fresh] = groupOf.emplace(root, groups.size());
        if (fresh) {
            groups.emplace_back();
            groups.back().channels = shapes.count(v) ? shapes.at(v)[1] : 0;
        }
        ChannelGroup& g = groups[it->second];
        g.tensors.push_back(v);
        if (auto p = producerOf.find(v); p != producerOf.end()) g.producers.push_back(p->second);
        if (auto c = consumersOf.find(v); c != consumersOf.end()) g.consumers.insert(g.consumers.end(), c->second.begin(), c->second.end());
        if (auto p = passOf.find(v); p != passOf.end()) g.passThrough.insert(g.passThrough.end(), p->second.begin(), p->second.end());
        if (auto f = frozen.find(v); f != frozen.end() && g.frozenBy.empty()) g.frozenBy = f->second;
    }
    for (const ConcatLink& l : concatLinks) {
        const size_t from = groupOf.at(uf.find(l.input)), to = groupOf.at(uf.find(l.output));
        groups[from].concatTargets.push_back({to, l.offset});
    }
    for (const auto& [out, what] : concatOutputs) groups[groupOf.at(uf.find(out))].concatOutput = true;
    // A group is frozen when a Concat output group it feeds is (for any reason but being one),
    // through any number of Concats.
    for (bool changed = true; changed;) {
        changed = false;
        for (ChannelGroup& g : groups)
            for (const auto& [to, offset] : g.concatTargets)
                if (!groups[to].frozenBy.empty() && g.frozenBy.empty()) {
                    g.frozenBy = groups[to].frozenBy + " (through a Concat)";
                    changed = true;
                }
    }
    for (ChannelGroup& g : groups) {
        if (g.producers.empty() && g.frozenBy.empty() && !g.concatOutput) g.frozenBy = "no Conv or Gemm produces these channels";
        g.prunable = g.frozenBy.empty() && !g.concatOutput;
        g.name = g.producers.empty() ? g.tensors.front() : graph.nodes()[static_cast<size_t>(g.producers.front())].name;
    }
    return groups;
}

Graph removeChannels(const Graph& graph, const std::vector<ChannelGroup>& groups, const std::map<size_t, std::vector<int64_t>>& drop,
                     std::map<size_t, std::vector<int64_t>>* kept)
{
    // Dropped channels per group: the direct ones, then what they imply through Concats.
    std::map<size_t, std::set<int64_t>> dropped;
    for (const auto& [i, channels] : drop) {
        const ChannelGroup& grp = groups.at(i);
        if (!grp.prunable) throw std::invalid_argument("channels of '" + grp.name + "' cannot be removed: " + (grp.frozenBy.empty() ? "they are a Concat's" : grp.frozenBy));
        for (int64_t c : channels) {
            if (c < 0 || c >= grp.channels) throw std::invalid_argument("'" + grp.name + "' has no channel " + std::to_string(c));
            dropped[i].insert(c);
        }
    }
    for (bool changed = true; changed;) {
        changed = false;
        for (const auto& [i, set] : std::map<size_t, std::set<int64_t>>(dropped))
            for (const auto& [to, offset] : groups[i].concatTargets)
                for (int64_t c : set) changed = dropped[to].insert(offset + c).second || changed;
    }
    Graph g = graph;
    for (const auto& [i, set] : dropped) {
        const ChannelGroup& group = groups[i];
        std::vector<int64_t> keep;
        for (int64_t c = 0; c < group.channels; ++c)
            if (!set.count(c)) keep.push_back(c);
        if (keep.empty()) throw std::invalid_argument("'" + group.name + "' would keep no channel");
        if (set.empty()) continue;
        if (kept) (*kept)[i] = keep;
        const auto slice = [&](const std::string& name, int axis, int64_t block = 1) {
            const Tensor* t = g.initializer(name);
            if (!t) throw std::invalid_argument("'" + name + "' is not an initializer");
            g.setInitializer(name, sliceAxis(*t, axis, keep, block));
        };
        for (int p : group.producers) {
            const Node& n = g.nodes()[static_cast<size_t>(p)];
            if (n.opType == "Conv") {
                slice(n.inputs[1], 0);
                if (n.hasInput(2)) slice(n.inputs[2], 0);
            } else {   // Gemm: Y = A B' + C, B' = B or B^T
                const bool transB = n.attrInt("transB", 0) != 0;
                slice(n.inputs[1], transB ? 0 : 1);
                if (n.hasInput(2)) {
                    const Tensor& c = *g.initializer(n.inputs[2]);
                    if (c.numel() != 1) slice(n.inputs[2], c.rank() - 1);
                }
            }
        }
        for (int p : group.passThrough) {
            Node& n = g.nodes()[static_cast<size_t>(p)];
            if (n.opType == "Conv") {   // depthwise
                slice(n.inputs[1], 0);
                if (n.hasInput(2)) slice(n.inputs[2], 0);
                Attribute a;
                a.kind = Attribute::Kind::Int;
                a.i = static_cast<int64_t>(keep.size());
                n.attributes["group"] = a;
            } else {   // BatchNormalization
                for (size_t k = 1; k < 5; ++k) slice(n.inputs[k], 0);
            }
        }
        for (const ChannelConsumer& c : group.consumers) {
            const Node& n = g.nodes()[static_cast<size_t>(c.node)];
            if (n.opType == "Conv") slice(n.inputs[1], 1);
            else slice(n.inputs[1], n.attrInt("transB", 0) != 0 ? 1 : 0, c.columns);
        }
        // Shapes the graph records for these tensors (and flattened copies) no longer hold.
        for (const std::string& v : group.tensors)
            if (const ValueInfo* vi = g.valueInfo(v); vi && vi->shape.size() >= 2) {
                ValueInfo copy = *vi;
                copy.shape[1] = static_cast<int64_t>(keep.size());
                g.setValueInfo(copy);
            }
        for (const ChannelConsumer& c : group.consumers)
            if (c.columns > 1)
                if (const ValueInfo* vi = g.valueInfo(g.nodes()[static_cast<size_t>(c.node)].inputs[0]); vi && vi->shape.size() == 2) {
                    ValueInfo copy = *vi;
                    copy.shape[1] = -1;
                    g.setValueInfo(copy);
                }
    }
    return g;
}

} // namespace joule::prune
