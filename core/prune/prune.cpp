#include "prune/prune.h"

#include "prune/channel_groups.h"
#include "runtime/session.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <stdexcept>
#include <map>
#include <tuple>

namespace joule::prune {
namespace {

std::string amountText(double a) { return std::to_string(a).substr(0, 6); }

void checkAmount(double amount)
{
    if (!(amount >= 0.0 && amount < 1.0)) throw std::invalid_argument("amount " + amountText(amount) + " must be in [0, 1)");
}

// The weights of producer `p` as rows, one per output channel.
std::vector<std::vector<float>> producerRows(const Graph& g, int p)
{
    const Node& n = g.nodes()[static_cast<size_t>(p)];
    const Tensor& w = *g.initializer(n.inputs[1]);
    const float* d = w.data<float>();
    std::vector<std::vector<float>> rows;
    if (n.opType == "Conv" || n.attrInt("transB", 0) != 0) {
        const int64_t c = w.dim(0), len = w.numel() / c;
        for (int64_t i = 0; i < c; ++i) rows.emplace_back(d + i * len, d + (i + 1) * len);
    } else {   // Gemm, B [K, N]: column i
        const int64_t k = w.dim(0), c = w.dim(1);
        for (int64_t i = 0; i < c; ++i) {
            std::vector<float> r(static_cast<size_t>(k));
            for (int64_t j = 0; j < k; ++j) r[static_cast<size_t>(j)] = d[j * c + i];
            rows.push_back(std::move(r));
        }
    }
    return rows;
}

std::vector<double> scores(const std::vector<std::vector<float>>& rows, Importance how)
{
    std::vector<double> s(rows.size(), 0.0);
    for (size_t i = 0; i < rows.size(); ++i) {
        if (how == Importance::L1) {
            for (float v : rows[i]) s[i] += std::fabs(v);
        } else if (how == Importance::L2) {
            for (float v : rows[i]) s[i] += static_cast<double>(v) * v;
            s[i] = std::sqrt(s[i]);
        } else {   // geometric median: the summed distance to every other filter
            for (size_t j = 0; j < rows.size(); ++j) {
                if (j == i) continue;
                double d2 = 0;
                for (size_t k = 0; k < rows[i].size(); ++k) {
                    const double d = static_cast<double>(rows[i][k]) - rows[j][k];
                    d2 += d * d;
                }
                s[i] += std::sqrt(d2);
            }
        }
    }
    const double mx = s.empty() ? 0.0 : *std::max_element(s.begin(), s.end());
    if (mx > 0) for (double& v : s) v /= mx;
    return s;
}

// A consumer that reads a group's channels: directly (offset 0), or through Concats (the channel's
// index in the tensor it reads is offset + c, of `channels`).
struct Reader {
    ChannelConsumer consumer;
    int64_t offset = 0, channels = 0;
};

void collectReaders(const std::vector<ChannelGroup>& groups, size_t index, int64_t offset, std::vector<Reader>& out)
{
    for (const ChannelConsumer& c : groups[index].consumers) out.push_back({c, offset, groups[index].channels});
    for (const auto& [to, off] : groups[index].concatTargets) collectReaders(groups, to, offset + off, out);
}

// Per tensor of `tensors`: the sum over the images of every element's square, per flattened column
// (one pass of the images through the graph for all of them).
std::map<std::string, std::vector<double>> sumsOfSquares(const Graph& g, const std::set<std::string>& tensors, const ChannelPruneOptions& o)
{
    std::map<std::string, std::vector<double>> sums;
    rt::Session session(g);
    session.setObserver([&](const Node& n, size_t out, const Tensor& v) {
        const std::string& name = n.outputs[out];
        if (!tensors.count(name) || v.dtype() != DataType::Float32) return;
        const int64_t batch = v.dim(0), cols = v.numel() / batch;
        std::vector<double>& acc = sums[name];
        acc.resize(static_cast<size_t>(cols), 0.0);
        for (int64_t i = 0; i < v.numel(); ++i) acc[static_cast<size_t>(i % cols)] += static_cast<double>(v.data<float>()[i]) * v.data<float>()[i];
    });
    const int64_t n = std::min<int64_t>(o.samples, o.data->size());
    const int64_t batch = calibrationBatch(g);
    for (int64_t b = 0; b < n && (b + batch <= n || !fixedBatch(g)); b += batch)
        session.run({{g.requiredInputs().front().name, data::imageBatch(*o.data, o.prep, b, std::min<int64_t>(batch, n - b))}});
    return sums;
}

std::vector<Reader> readersOf(const std::vector<ChannelGroup>& groups, size_t index)
{
    std::vector<Reader> readers;
    collectReaders(groups, index, 0, readers);
    return readers;
}

// E[x_c^2] * ||W_consumer[:, c]||^2 summed over the group's consumers (through Concats too), per
// channel c; `meanSquare` holds sumsOfSquares() of every consumer's input.
std::vector<double> activationScores(const Graph& g, const std::vector<ChannelGroup>& groups, size_t index,
                                     const std::map<std::string, std::vector<double>>& meanSquare)
{
    const ChannelGroup& group = groups[index];
    std::vector<double> s(static_cast<size_t>(group.channels), 0.0);
    const std::vector<Reader> readers = readersOf(groups, index);
    for (const Reader& reader : readers) {
        const ChannelConsumer& c = reader.consumer;
        const Node& node = g.nodes()[static_cast<size_t>(c.node)];
        const auto it = meanSquare.find(node.inputs[0]);
        if (it == meanSquare.end()) continue;
        const std::vector<double>& ms = it->second;   // [C * spatial] (conv input) or [C * columns] (flattened)
        const Tensor& w = *g.initializer(node.inputs[1]);
        const int64_t perChannel = static_cast<int64_t>(ms.size()) / reader.channels;
        for (int64_t own = 0; own < group.channels; ++own) {
            const int64_t ch = reader.offset + own;   // in the tensor the consumer reads
            double energy = 0;
            for (int64_t k = 0; k < perChannel; ++k) energy += ms[static_cast<size_t>(ch * perChannel + k)];
            double norm = 0;
            if (node.opType == "Conv") {   // W [cout, C, kh, kw]
                const int64_t cin = w.dim(1), taps = w.dim(2) * w.dim(3);
                for (int64_t m = 0; m < w.dim(0); ++m)
                    for (int64_t t = 0; t < taps; ++t) norm += std::pow(w.data<float>()[(m * cin + ch) * taps + t], 2);
            } else {   // Gemm: columns [ch * c.columns, (ch + 1) * c.columns) of B' (K x N)
                const bool transB = node.attrInt("transB", 0) != 0;
                const int64_t rows = w.dim(0), cols = w.dim(1);
                for (int64_t k = ch * c.columns; k < (ch + 1) * c.columns; ++k)
                    for (int64_t j = 0; j < (transB ? rows : cols); ++j)
                        norm += std::pow(transB ? w.data<float>()[j * cols + k] : w.data<float>()[k * cols + j], 2);
            }
            s[static_cast<size_t>(own)] += energy * norm;
        }
    }
    const double mx = s.empty() ? 0.0 : *std::max_element(s.begin(), s.end());
    if (mx > 0) for (double& v : s) v /= mx;
    return s;
}

bool excluded(const Node& n, const std::set<std::string>& ex) { return ex.count(n.name) || ex.count(n.opType); }

} // namespace

void checkExclude(const Graph& graph, const std::vector<std::string>& exclude)
{
    std::set<std::string> known;
    for (const Node& n : graph.nodes()) {
        known.insert(n.name);
        known.insert(n.opType);
    }
    for (const std::string& e : exclude)
        if (!known.count(e)) throw std::invalid_argument("exclude: the model has no layer or op '" + e + "'");
}

ChannelPruneResult pruneChannels(const Graph& fp32, const ChannelPruneOptions& options)
{
    checkAmount(options.amount);
    checkExclude(fp32, options.exclude);
    const std::set<std::string> ex(options.exclude.begin(), options.exclude.end());
    const std::vector<ChannelGroup> groups = channelGroups(fp32);
    std::vector<const ChannelGroup*> chosen;
    std::string frozen;
    for (const ChannelGroup& g : groups) {
        if (!g.prunable) {
            if (frozen.size() < 200) frozen += (frozen.empty() ? "" : "; ") + g.name + ": " + g.frozenBy;
            continue;
        }
        bool skip = false;
        for (int p : g.producers) skip = skip || excluded(fp32.nodes()[static_cast<size_t>(p)], ex);
        for (int p : g.passThrough) skip = skip || excluded(fp32.nodes()[static_cast<size_t>(p)], ex);
        if (!skip) chosen.push_back(&g);
    }
    if (chosen.empty()) throw std::invalid_argument("no layer's channels can be removed (" + (frozen.empty() ? std::string("all excluded") : frozen) + ")");

    // Scores per group and channel; activation importance feeds the images through once for all groups.
    std::map<std::string, std::vector<double>> meanSquare;
    if (options.importance == Importance::Activation) {
        if (!options.data) throw std::invalid_argument("activation importance needs calibration data");
        std::set<std::string> tensors;
        for (const ChannelGroup* grp : chosen)
            for (const Reader& r : readersOf(groups, static_cast<size_t>(grp - groups.data())))
                tensors.insert(fp32.nodes()[static_cast<size_t>(r.consumer.node)].inputs[0]);
        meanSquare = sumsOfSquares(fp32, tensors, options);
    }
    std::vector<std::vector<double>> score(chosen.size());
    for (size_t i = 0; i < chosen.size(); ++i) {
        score[i].assign(static_cast<size_t>(chosen[i]->channels), 0.0);
        if (options.importance == Importance::Activation) {
            score[i] = activationScores(fp32, groups, static_cast<size_t>(chosen[i] - groups.data()), meanSquare);
            continue;
        }
        for (int p : chosen[i]->producers) {
            const std::vector<double> s = scores(producerRows(fp32, p), options.importance);
            for (size_t c = 0; c < s.size() && c < score[i].size(); ++c) score[i][c] += s[c];
        }
    }
    // Which channels go.
    std::vector<std::vector<bool>> drop(chosen.size());
    for (size_t i = 0; i < chosen.size(); ++i) drop[i].assign(score[i].size(), false);
    if (options.scope == Scope::Layer) {
        for (size_t i = 0; i < chosen.size(); ++i) {
            const int64_t c = chosen[i]->channels, r = std::llround(options.amount * static_cast<double>(c));
            if (r >= c)
                throw std::invalid_argument("amount " + amountText(options.amount) + " would remove every channel of layer '" + chosen[i]->name +
                                            "' (" + std::to_string(c) + " channels)");
            std::vector<int64_t> idx(static_cast<size_t>(c));
            std::iota(idx.begin(), idx.end(), 0);
            std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return score[i][static_cast<size_t>(a)] < score[i][static_cast<size_t>(b)]; });
            for (int64_t k = 0; k < r; ++k) drop[i][static_cast<size_t>(idx[static_cast<size_t>(k)])] = true;
        }
    } else {
        std::vector<std::tuple<double, size_t, int64_t>> all;
        int64_t total = 0;
        for (size_t i = 0; i < chosen.size(); ++i) {
            total += chosen[i]->channels;
            for (int64_t c = 0; c < chosen[i]->channels; ++c) all.emplace_back(score[i][static_cast<size_t>(c)], i, c);
        }
        std::stable_sort(all.begin(), all.end());
        int64_t want = std::llround(options.amount * static_cast<double>(total));
        std::vector<int64_t> left(chosen.size());
        for (size_t i = 0; i < chosen.size(); ++i) left[i] = chosen[i]->channels;
        for (const auto& [s, i, c] : all) {
            if (want == 0) break;
            if (left[i] == 1) continue;   // every layer keeps a channel
            drop[i][static_cast<size_t>(c)] = true;
            --left[i];
            --want;
        }
        if (want > 0)
            throw std::invalid_argument("amount " + amountText(options.amount) + " asks for more channels than the layers have: every layer (" +
                                        chosen.front()->name + " and the others) would be down to one channel");
    }

    ChannelPruneResult r;
    std::map<size_t, std::vector<int64_t>> drops, kept;
    for (size_t i = 0; i < chosen.size(); ++i) {
        std::vector<int64_t> gone;
        for (int64_t c = 0; c < chosen[i]->channels; ++c)
            if (drop[i][static_cast<size_t>(c)]) gone.push_back(c);
        r.layers.push_back({chosen[i]->name, chosen[i]->channels, chosen[i]->channels - static_cast<int64_t>(gone.size())});
        if (!gone.empty()) drops[static_cast<size_t>(chosen[i] - groups.data())] = gone;
    }
    r.graph = removeChannels(fp32, groups, drops, &kept);
    std::set<std::string> changed;
    for (const auto& [gi, keep] : kept) {
        const ChannelGroup& grp = groups[gi];
        for (int p : grp.producers) r.keptOutputs[fp32.nodes()[static_cast<size_t>(p)].name] = keep;
        for (int p : grp.passThrough) r.keptOutputs[fp32.nodes()[static_cast<size_t>(p)].name] = keep;
        for (const ChannelConsumer& c : grp.consumers) changed.insert(fp32.nodes()[static_cast<size_t>(c.node)].name);
    }
    for (int idx : fp32.topologicalOrder())
        if (changed.count(fp32.nodes()[static_cast<size_t>(idx)].name)) r.changedInputs.push_back(fp32.nodes()[static_cast<size_t>(idx)].name);
    r.graph.validate();
    return r;
}

UnstructuredResult pruneMagnitude(const Graph& fp32, const UnstructuredOptions& options)
{
    checkAmount(options.amount);
    checkExclude(fp32, options.exclude);
    const std::set<std::string> ex(options.exclude.begin(), options.exclude.end());
    UnstructuredResult r;
    r.graph = fp32;
    struct Layer {
        std::string node, weight;
    };
    std::vector<Layer> layers;
    for (const Node& n : fp32.nodes())
        if ((n.opType == "Conv" || n.opType == "Gemm" || n.opType == "MatMul") && n.hasInput(1) && fp32.initializer(n.inputs[1]) &&
            fp32.initializer(n.inputs[1])->dtype() == DataType::Float32 && !excluded(n, ex))
            layers.push_back({n.name, n.inputs[1]});
    if (layers.empty()) throw std::invalid_argument("no Conv, Gemm or MatMul layer with constant weights to prune");
    // Which weights go, per layer; written once per layer below.
    std::vector<std::vector<int64_t>> zero(layers.size());
    std::vector<std::pair<float, std::pair<size_t, int64_t>>> pooled;
    for (size_t l = 0; l < layers.size(); ++l) {
        const Tensor& w = *fp32.initializer(layers[l].weight);
        std::vector<std::pair<float, std::pair<size_t, int64_t>>> mine;
        for (int64_t i = 0; i < w.numel(); ++i) mine.push_back({std::fabs(w.data<float>()[i]), {l, i}});
        r.weights += w.numel();
        if (options.scope == Scope::Layer) {
            const int64_t k = std::llround(options.amount * static_cast<double>(w.numel()));
            if (k >= w.numel()) throw std::invalid_argument("amount " + amountText(options.amount) + " would zero every weight of layer '" + layers[l].node + "'");
            std::nth_element(mine.begin(), mine.begin() + k, mine.end());
            for (int64_t i = 0; i < k; ++i) zero[l].push_back(mine[static_cast<size_t>(i)].second.second);
        } else {
            pooled.insert(pooled.end(), mine.begin(), mine.end());
        }
    }
    if (options.scope == Scope::Global) {
        const int64_t k = std::llround(options.amount * static_cast<double>(pooled.size()));
        std::nth_element(pooled.begin(), pooled.begin() + k, pooled.end());
        for (int64_t i = 0; i < k; ++i) zero[pooled[static_cast<size_t>(i)].second.first].push_back(pooled[static_cast<size_t>(i)].second.second);
    }
    for (size_t l = 0; l < layers.size(); ++l) {
        Tensor t = fp32.initializer(layers[l].weight)->clone();
        for (int64_t i : zero[l]) t.data<float>()[i] = 0.0f;
        if (static_cast<int64_t>(zero[l].size()) == t.numel())
            throw std::invalid_argument("amount " + amountText(options.amount) + " would zero every weight of layer '" + layers[l].node + "'");
        r.zeroed += static_cast<int64_t>(zero[l].size());
        r.sparsity.emplace_back(layers[l].node, static_cast<double>(zero[l].size()) / static_cast<double>(t.numel()));
        r.graph.setInitializer(layers[l].weight, std::move(t));
    }
    return r;
}

} // namespace joule::prune
