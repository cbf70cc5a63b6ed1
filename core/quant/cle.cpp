#include "quant/cle.h"

#include "quant/observe.h"
#include "quant/quant_error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace joule::quant {
namespace {

struct Pair {
    int a = -1, act = -1, b = -1;
    float clipMax = std::numeric_limits<float>::infinity();   // M of Clip(0, M); inf for Relu / direct
    std::vector<double> preMax;     // per channel, measured (Clip only)
    std::vector<double> cumulative; // product of the scales applied so far
    int64_t pinned = 0;
};

// Value of a constant input: an initializer or a Constant node's `value`.
const Tensor* constantInput(const Graph& g, const std::string& name)
{
    if (name.empty()) return nullptr;
    if (const Tensor* t = g.initializer(name)) return t;
    const int p = g.producerOf(name);
    if (p < 0) return nullptr;
    const Node& n = g.nodes()[static_cast<size_t>(p)];
    if (n.opType != "Constant") return nullptr;
    const Attribute* v = n.attribute("value");
    return v && v->kind == Attribute::Kind::Tensor ? &v->t : nullptr;
}

bool isConvWithConstWeights(const Graph& g, const Node& n)
{
    if (n.opType != "Conv" || !n.hasInput(1)) return false;
    const Tensor* w = g.initializer(n.inputs[1]);
    if (!w || w->dtype() != DataType::Float32 || w->rank() < 3) return false;
    if (n.hasInput(2)) {
        const Tensor* b = g.initializer(n.inputs[2]);
        if (!b || b->dtype() != DataType::Float32 || b->numel() != w->dim(0)) return false;
    }
    return true;
}

std::vector<Pair> findPairs(const Graph& g)
{
    std::map<std::string, std::vector<int>> uses;
    for (size_t i = 0; i < g.nodes().size(); ++i)
        for (const std::string& in : g.nodes()[i].inputs)
            if (!in.empty()) uses[in].push_back(static_cast<int>(i));
    std::set<std::string> outputs;
    for (const ValueInfo& v : g.outputs()) outputs.insert(v.name);
    auto singleUse = [&](const std::string& v) -> int {
        const auto it = uses.find(v);
        if (outputs.count(v) || it == uses.end() || it->second.size() != 1) return -1;
        return it->second.front();
    };
    std::vector<Pair> pairs;
    for (size_t i = 0; i < g.nodes().size(); ++i) {
        const Node& a = g.nodes()[i];
        if (!isConvWithConstWeights(g, a)) continue;
        Pair p;
        p.a = static_cast<int>(i);
        int next = singleUse(a.outputs[0]);
        if (next < 0) continue;
        const Node* n = &g.nodes()[static_cast<size_t>(next)];
        if (n->opType == "Relu" || n->opType == "Clip") {
            if (n->opType == "Clip") {
                const Tensor* lo = constantInput(g, n->hasInput(1) ? n->inputs[1] : "");
                const Tensor* hi = constantInput(g, n->hasInput(2) ? n->inputs[2] : "");
                const float min = lo ? static_cast<float>(lo->asDouble(0)) : n->attrFloat("min", -INFINITY);
                const float max = hi ? static_cast<float>(hi->asDouble(0)) : n->attrFloat("max", INFINITY);
                if (min != 0.0f || !(max > 0)) continue;
                p.clipMax = max;
            }
            p.act = next;
            next = singleUse(n->outputs[0]);
            if (next < 0) continue;
            n = &g.nodes()[static_cast<size_t>(next)];
        }
        if (!isConvWithConstWeights(g, *n) || n->inputs[0] != g.nodes()[static_cast<size_t>(p.act >= 0 ? p.act : p.a)].outputs[0])
            continue;
        const Tensor& wa = *g.initializer(a.inputs[1]);
        const Tensor& wb = *g.initializer(n->inputs[1]);
        if (wb.dim(1) * n->attrInt("group", 1) != wa.dim(0)) continue;
        p.b = next;
        p.cumulative.assign(static_cast<size_t>(wa.dim(0)), 1.0);
        pairs.push_back(p);
    }
    return pairs;
}

// Per-channel maximum of each Clip pair's pre-activation (A's output, channel axis 1).
void measurePreActivation(const Graph& g, std::vector<Pair>& pairs, const CleOptions& o)
{
    std::map<std::string, Pair*> byOutput;
    for (Pair& p : pairs)
        if (std::isfinite(p.clipMax)) {
            p.preMax.assign(p.cumulative.size(), -std::numeric_limits<double>::infinity());
            byOutput[g.nodes()[static_cast<size_t>(p.a)].outputs[0]] = &p;
        }
    if (byOutput.empty() || !o.data) return;
    RunOptions run;
    run.first = o.first;
    run.count = o.samples;
    runObserved(g, *o.data, o.prep, run, [&](const std::string& name, const Tensor& t) {
        const auto it = byOutput.find(name);
        if (it == byOutput.end() || t.rank() < 2) return;
        Pair& p = *it->second;
        const int64_t n = t.dim(0), c = t.dim(1), inner = t.numel() / std::max<int64_t>(1, n * c);
        if (c != static_cast<int64_t>(p.preMax.size())) return;
        const float* v = t.data<float>();
        for (int64_t b = 0; b < n; ++b)
            for (int64_t ch = 0; ch < c; ++ch) {
                double& m = p.preMax[static_cast<size_t>(ch)];
                for (int64_t k = 0; k < inner; ++k) m = std::max<double>(m, v[(b * c + ch) * inner + k]);
            }
    });
}

} // namespace

Graph equalizeCrossLayer(const Graph& fp32, const CleOptions& options, CleReport* report)
{
    Graph g = fp32;
    std::vector<Pair> pairs = findPairs(g);
    const bool exactClip = options.clip == ClipHandling::ExactOnData;
    if (exactClip) {
        measurePreActivation(fp32, pairs, options);
        // Without data a Clip pair cannot be shown exact: drop it.
        std::erase_if(pairs, [&](const Pair& p) { return std::isfinite(p.clipMax) && !options.data; });
    }
    // Deep copies of every weight and bias we touch (Tensor copies share storage).
    for (const Pair& p : pairs)
        for (int idx : {p.a, p.b})
            for (size_t k = 1; k < std::min<size_t>(3, g.nodes()[static_cast<size_t>(idx)].inputs.size()); ++k) {
                const std::string& name = g.nodes()[static_cast<size_t>(idx)].inputs[k];
                if (!name.empty() && g.initializer(name) && g.initializer(name)->ownsData() &&
                    g.initializer(name)->raw() == fp32.initializer(name)->raw())
                    g.setInitializer(name, g.initializer(name)->clone());
            }
    for (Pair& p : pairs)
        if (exactClip && std::isfinite(p.clipMax))
            for (size_t i = 0; i < p.preMax.size(); ++i)
                if (p.preMax[i] > p.clipMax) ++p.pinned;

    int sweep = 0;
    for (; sweep < options.maxSweeps; ++sweep) {
        double largest = 0;
        for (Pair& p : pairs) {
            const Node& a = g.nodes()[static_cast<size_t>(p.a)];
            const Node& b = g.nodes()[static_cast<size_t>(p.b)];
            Tensor& wa = const_cast<Tensor&>(*g.initializer(a.inputs[1]));
            Tensor& wb = const_cast<Tensor&>(*g.initializer(b.inputs[1]));
            Tensor* ba = a.hasInput(2) ? const_cast<Tensor*>(g.initializer(a.inputs[2])) : nullptr;
            const int64_t channels = wa.dim(0), perA = wa.numel() / channels;
            const int64_t groups = b.attrInt("group", 1), cg = wb.dim(1), m = wb.dim(0), mg = m / groups;
            const int64_t kernel = wb.numel() / (m * cg);
            float* pa = wa.data<float>();
            float* pb = wb.data<float>();
            for (int64_t i = 0; i < channels; ++i) {
                double r1 = 0, r2 = 0;
                for (int64_t k = 0; k < perA; ++k) r1 = std::max<double>(r1, std::fabs(pa[i * perA + k]));
                const int64_t grp = i / cg, j = i % cg;
                for (int64_t o = grp * mg; o < (grp + 1) * mg; ++o)
                    for (int64_t k = 0; k < kernel; ++k) r2 = std::max<double>(r2, std::fabs(pb[(o * cg + j) * kernel + k]));
                if (r1 <= 0 || r2 <= 0) continue;
                double s = std::sqrt(r1 / r2);
                double& cum = p.cumulative[static_cast<size_t>(i)];
                if (exactClip && std::isfinite(p.clipMax)) {
                    const double mx = p.preMax[static_cast<size_t>(i)];
                    if (mx > p.clipMax) continue;                        // the clip acts: keep scale 1
                    s = std::max(s, std::max(mx, 0.0) / (p.clipMax * cum));   // keep max x / S <= M
                }
                if (std::fabs(std::log(s)) < 1e-12) continue;
                largest = std::max(largest, std::fabs(std::log(s)));
                cum *= s;
                for (int64_t k = 0; k < perA; ++k) pa[i * perA + k] = static_cast<float>(pa[i * perA + k] / s);
                if (ba) ba->data<float>()[i] = static_cast<float>(ba->data<float>()[i] / s);
                for (int64_t o = grp * mg; o < (grp + 1) * mg; ++o)
                    for (int64_t k = 0; k < kernel; ++k) {
                        float& w = pb[(o * cg + j) * kernel + k];
                        w = static_cast<float>(w * s);
                    }
            }
        }
        if (largest < 1e-4) {
            ++sweep;
            break;
        }
    }
    if (report) {
        report->sweeps = sweep;
        report->pairs.clear();
        for (const Pair& p : pairs)
            report->pairs.push_back({.first = g.nodes()[static_cast<size_t>(p.a)].name,
                                     .second = g.nodes()[static_cast<size_t>(p.b)].name,
                                     .activation = p.act >= 0 ? g.nodes()[static_cast<size_t>(p.act)].opType : "",
                                     .channels = static_cast<int64_t>(p.cumulative.size()),
                                     .pinnedChannels = p.pinned});
    }
    return g;
}

} // namespace joule::quant
