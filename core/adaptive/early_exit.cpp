#include "adaptive/early_exit.h"

#include "cost/layer_stats.h"
#include "runtime/session.h"

#include <Eigen/Dense>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace joule::adaptive {

namespace {

// Shapes and types of every value, from a session prepared with the model's own input shapes.
std::map<std::string, rt::TensorInfo> valueInfos(const Graph& graph)
{
    rt::Session session(graph);
    session.prepare(cost::placeholderInputs(graph));
    std::map<std::string, rt::TensorInfo> infos;
    for (const Node& n : graph.nodes())
        for (const auto& o : n.outputs)
            if (const rt::TensorInfo* i = session.valueInfo(o)) infos[o] = *i;
    for (const ValueInfo& in : graph.requiredInputs())
        if (const rt::TensorInfo* i = session.valueInfo(in.name)) infos[in.name] = *i;
    return infos;
}

// Position of each node in execution order, and the cut points with the position of their producer.
struct Cuts {
    std::vector<int> order;                         // node indices in execution order
    std::vector<std::pair<std::string, int>> cuts;  // (value, position of its producer)
};

Cuts findCuts(const Graph& graph)
{
    Cuts c;
    c.order = graph.topologicalOrder();
    const int n = static_cast<int>(c.order.size());
    std::map<std::string, int> produced, lastUse;
    for (const ValueInfo& in : graph.requiredInputs()) produced[in.name] = -1;
    for (int p = 0; p < n; ++p) {
        const Node& node = graph.nodes()[static_cast<size_t>(c.order[static_cast<size_t>(p)])];
        for (const auto& i : node.inputs)
            if (!i.empty() && !graph.initializer(i)) lastUse[i] = std::max(lastUse[i], p);
        for (const auto& o : node.outputs)
            if (!o.empty()) produced[o] = p;
    }
    for (const ValueInfo& out : graph.outputs()) lastUse[out.name] = n;
    for (int p = 0; p + 1 < n; ++p) {
        std::vector<std::string> live;
        for (const auto& [v, at] : produced)
            if (at <= p && lastUse.count(v) && lastUse[v] > p) live.push_back(v);
        const Node& node = graph.nodes()[static_cast<size_t>(c.order[static_cast<size_t>(p)])];
        if (live.size() == 1 && produced[live[0]] == p && std::find(node.outputs.begin(), node.outputs.end(), live[0]) != node.outputs.end())
            c.cuts.emplace_back(live[0], p);
    }
    return c;
}

// Runs `session` on one input tensor; returns the named outputs.
std::map<std::string, Tensor> runOne(rt::Session& session, const std::string& input, const Tensor& x)
{
    return session.run({{input, x}});
}

// Rows `rows` of a [N, ...] tensor, as a new [rows.size(), ...] tensor.
Tensor gatherRows(const Tensor& t, const std::vector<int64_t>& rows)
{
    Shape shape = t.shape();
    const size_t rowBytes = t.bytes() / static_cast<size_t>(std::max<int64_t>(t.dim(0), 1));
    shape[0] = static_cast<int64_t>(rows.size());
    Tensor out(t.dtype(), shape);
    for (size_t k = 0; k < rows.size(); ++k)
        std::memcpy(static_cast<std::byte*>(out.raw()) + k * rowBytes,
                    static_cast<const std::byte*>(t.raw()) + static_cast<size_t>(rows[k]) * rowBytes, rowBytes);
    return out;
}


StageScore scoreOf(const float* logits, int64_t classes, int64_t label, std::vector<float>& prob)
{
    eval::InputRecord r;
    r.label = label;
    eval::scoreRow(logits, classes, r, prob);
    return {r.prediction, r.top1Probability, r.margin, r.entropy};
}

// The segment chain's names: segment s reads inputName(s); its logits are outputs()[0], its cut
// tensor (s < last) outputs()[1].
struct Chain {
    const std::vector<Graph>& segments;
    std::string inputName(size_t s) const { return segments[s].requiredInputs().front().name; }
    std::string logitsName(size_t s) const { return segments[s].outputs().front().name; }
    std::string carryName(size_t s) const { return segments[s].outputs().size() > 1 ? segments[s].outputs()[1].name : std::string(); }
};

// Runs `work(begin, count, sessions)` over batches of [0, total) on `workers` threads, each with its
// own sessions; the first error stops the rest and is rethrown; cancellation throws Cancelled.
template <typename Work>
void forEachBatch(const std::vector<Graph>& segments, int64_t total, int64_t batch, int workers,
                  const std::atomic<bool>* cancel, Work work)
{
    std::atomic<int64_t> next{0};
    std::mutex m;
    std::string error;
    bool cancelled = false;
    auto worker = [&] {
        try {
            std::vector<std::unique_ptr<rt::Session>> sessions;
            for (const Graph& g : segments) sessions.push_back(std::make_unique<rt::Session>(g, rt::SessionOptions{.threads = 1, .fuseActivations = true, .channelsLast = true}));
            for (;;) {
                if (cancel && cancel->load()) {
                    std::lock_guard lock(m);
                    cancelled = true;
                    return;
                }
                const int64_t begin = next.fetch_add(1) * batch;
                if (begin >= total) return;
                work(begin, std::min(batch, total - begin), sessions);
            }
        } catch (const std::exception& e) {
            std::lock_guard lock(m);
            if (error.empty()) error = e.what();
            next.store(total);
        }
    };
    const int n = static_cast<int>(std::clamp<int64_t>(workers, 1, std::max<int64_t>(1, (total + batch - 1) / batch)));
    std::vector<std::thread> threads;
    for (int w = 1; w < n; ++w) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    if (!error.empty()) throw std::runtime_error(error);
    if (cancelled) throw eval::Cancelled();
}

} // namespace

std::vector<std::string> cutPoints(const Graph& graph)
{
    const auto infos = valueInfos(graph);
    std::vector<std::string> out;
    for (const auto& [v, p] : findCuts(graph).cuts)
        if (auto it = infos.find(v); it != infos.end() && it->second.rank() == 4) out.push_back(v);
    return out;
}

std::vector<std::string> defaultExits(const Graph& graph)
{
    const auto infos = valueInfos(graph);
    std::vector<std::string> cuts = cutPoints(graph);
    std::vector<std::string> exits;
    for (size_t i = 0; i < cuts.size(); ++i) {
        const Shape& s = infos.at(cuts[i]).shape;
        const bool lastOfSize = i + 1 == cuts.size() || infos.at(cuts[i + 1]).shape[2] != s[2] || infos.at(cuts[i + 1]).shape[3] != s[3];
        if (lastOfSize) exits.push_back(cuts[i]);
    }
    if (!exits.empty()) exits.pop_back();   // that size feeds the network's own classifier
    return exits;
}

void checkExits(const Graph& graph, const std::vector<std::string>& exits)
{
    if (exits.empty()) throw PolicyError("no exit tensors: give at least one (the network's cut points: " + [&] {
        std::string s;
        for (const auto& c : cutPoints(graph)) s += (s.empty() ? "" : ", ") + c;
        return s;
    }() + ")");
    std::set<std::string> values;
    for (const Node& n : graph.nodes())
        for (const auto& o : n.outputs) values.insert(o);
    const std::vector<std::string> cuts = cutPoints(graph);
    for (const auto& e : exits) {
        if (!values.count(e)) throw PolicyError("exit tensor '" + e + "' does not exist in the model");
        if (std::find(cuts.begin(), cuts.end(), e) == cuts.end()) {
            std::string s;
            for (const auto& c : cuts) s += (s.empty() ? "" : ", ") + c;
            throw PolicyError("exit tensor '" + e + "' is not a cut point (something after it reads an earlier value); "
                              "cut points: " + s);
        }
    }
}

std::vector<Features> captureFeatures(const Graph& graph, const std::vector<std::string>& exits, const data::LabeledImages& data,
                                      const data::Preprocessing& prep, int64_t limit, const std::atomic<bool>* cancel)
{
    checkExits(graph, exits);
    const int64_t total = limit >= 0 ? std::min(limit, data.size()) : data.size();
    const auto infos = valueInfos(graph);
    std::vector<Features> out(exits.size());
    std::map<std::string, size_t> which;
    for (size_t e = 0; e < exits.size(); ++e) {
        which[exits[e]] = e;
        out[e].rows = total;
        out[e].cols = infos.at(exits[e]).shape[1];
        out[e].values.assign(static_cast<size_t>(total * out[e].cols), 0.0);
    }
    const std::string input = graph.requiredInputs().front().name;
    constexpr int64_t kBatch = 64;
    rt::Session session(graph);
    int64_t begin = 0;
    session.setObserver([&](const Node& node, size_t o, const Tensor& v) {
        auto it = which.find(node.outputs[o]);
        if (it == which.end()) return;
        Features& f = out[it->second];
        const int64_t n = v.dim(0), c = v.dim(1), hw = v.dim(2) * v.dim(3);
        for (int64_t i = 0; i < n; ++i)
            for (int64_t ch = 0; ch < c; ++ch) {
                const float* p = v.data<float>() + (i * c + ch) * hw;
                double sum = 0;
                for (int64_t k = 0; k < hw; ++k) sum += p[k];
                f.values[static_cast<size_t>((begin + i) * c + ch)] = sum / static_cast<double>(hw);
            }
    });
    for (; begin < total; begin += kBatch) {
        if (cancel && cancel->load()) throw eval::Cancelled();
        session.run({{input, data::imageBatch(data, prep, begin, std::min(kBatch, total - begin))}});
    }
    return out;
}

Head trainHead(const Features& f, const std::vector<int64_t>& labels, int64_t classes, const HeadOptions& o)
{
    using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const int64_t n = f.rows, c = f.cols;
    if (n < 1 || static_cast<int64_t>(labels.size()) < n) throw PolicyError("an exit head needs labelled training features");
    Eigen::Map<const Mat> x(f.values.data(), n, c);
    const Eigen::RowVectorXd mean = x.colwise().mean();
    Eigen::RowVectorXd sd = ((x.rowwise() - mean).array().square().colwise().sum() / static_cast<double>(n)).sqrt();
    for (int64_t j = 0; j < c; ++j) if (!(sd(j) > 1e-12)) sd(j) = 1.0;
    const Mat z = (x.rowwise() - mean).array().rowwise() / sd.array();
    Mat y = Mat::Zero(n, classes);
    for (int64_t i = 0; i < n; ++i) y(i, labels[static_cast<size_t>(i)]) = 1.0;

    Mat w = Mat::Zero(classes, c), vw = Mat::Zero(classes, c);
    Eigen::RowVectorXd b = Eigen::RowVectorXd::Zero(classes), vb = Eigen::RowVectorXd::Zero(classes);
    auto probabilities = [&](const Mat& wl, const Eigen::RowVectorXd& bl) {
        Mat logits = (z * wl.transpose()).rowwise() + bl;
        const Eigen::VectorXd mx = logits.rowwise().maxCoeff();
        logits = (logits.colwise() - mx).array().exp();
        const Eigen::VectorXd sum = logits.rowwise().sum();
        return Mat(logits.array().colwise() / sum.array());
    };
    constexpr double kMomentum = 0.9;
    for (int it = 0; it < o.iterations; ++it) {
        // Nesterov: the gradient at the look-ahead point.
        const Mat wl = w + kMomentum * vw;
        const Eigen::RowVectorXd bl = b + kMomentum * vb;
        const Mat g = (probabilities(wl, bl) - y) / static_cast<double>(n);
        const Mat gw = g.transpose() * z + o.l2 * wl;
        const Eigen::RowVectorXd gb = g.colwise().sum();
        vw = kMomentum * vw - o.learningRate * gw;
        vb = kMomentum * vb - o.learningRate * gb;
        w += vw;
        b += vb;
    }
    Head h;
    h.classes = classes;
    h.channels = c;
    const Mat p = probabilities(w, b);
    int64_t correct = 0;
    for (int64_t i = 0; i < n; ++i) {
        Eigen::Index best;
        p.row(i).maxCoeff(&best);
        correct += best == labels[static_cast<size_t>(i)];
    }
    h.trainAccuracy = static_cast<double>(correct) / static_cast<double>(n);
    // Fold the standardization into the head: logits = ((x - mean) / sd) W^T + b.
    h.weight.resize(static_cast<size_t>(classes * c));
    h.bias.resize(static_cast<size_t>(classes));
    for (int64_t k = 0; k < classes; ++k) {
        double shift = 0;
        for (int64_t j = 0; j < c; ++j) {
            const double wf = w(k, j) / sd(j);
            h.weight[static_cast<size_t>(k * c + j)] = static_cast<float>(wf);
            shift += wf * mean(j);
        }
        h.bias[static_cast<size_t>(k)] = static_cast<float>(b(k) - shift);
    }
    return h;
}

std::vector<Graph> splitAtExits(const Graph& graph, const std::vector<std::string>& exits, const std::vector<Head>& heads)
{
    checkExits(graph, exits);
    if (heads.size() != exits.size()) throw PolicyError("every exit needs a head");
    const Cuts cuts = findCuts(graph);
    const auto infos = valueInfos(graph);
    std::vector<std::pair<int, size_t>> at;   // (producer position, exit index)
    for (size_t e = 0; e < exits.size(); ++e)
        for (const auto& [v, p] : cuts.cuts)
            if (v == exits[e]) at.emplace_back(p, e);
    std::sort(at.begin(), at.end());
    for (size_t k = 1; k < at.size(); ++k)
        if (at[k].first == at[k - 1].first) throw PolicyError("exit tensor '" + exits[at[k].second] + "' is given twice");
    for (size_t k = 0; k < at.size(); ++k)
        if (at[k].second != k)
            throw PolicyError("exit tensors must be given in execution order ('" + exits[at[k].second] + "' runs earlier)");

    auto declare = [&](const std::string& name) {
        const rt::TensorInfo& i = infos.at(name);
        Shape shape = i.shape;
        shape[0] = -1;
        return ValueInfo{.name = name, .dtype = i.dtype, .shape = shape};
    };
    std::vector<Graph> segments;
    int from = 0;
    for (size_t s = 0; s <= exits.size(); ++s) {
        const int to = s < exits.size() ? at[s].first : static_cast<int>(cuts.order.size()) - 1;
        Graph g;
        g.name = graph.name + "_segment" + std::to_string(s);
        g.opsetImports = graph.opsetImports;
        g.irVersion = graph.irVersion;
        if (s == 0) for (const ValueInfo& in : graph.requiredInputs()) g.addInput(in);
        else g.addInput(declare(exits[s - 1]));
        for (int p = from; p <= to; ++p) {
            const Node& node = graph.nodes()[static_cast<size_t>(cuts.order[static_cast<size_t>(p)])];
            for (const auto& i : node.inputs)
                if (const Tensor* t = graph.initializer(i)) g.setInitializer(i, *t);
            g.addNode(node);
        }
        if (s < exits.size()) {
            const Head& h = heads[s];
            const std::string e = "exit" + std::to_string(s);
            Tensor w(DataType::Float32, {h.classes, h.channels}), b(DataType::Float32, {h.classes});
            std::copy(h.weight.begin(), h.weight.end(), w.data<float>());
            std::copy(h.bias.begin(), h.bias.end(), b.data<float>());
            g.setInitializer(e + ".weight", w);
            g.setInitializer(e + ".bias", b);
            g.addNode(Node{.name = e + "/pool", .opType = "GlobalAveragePool", .inputs = {exits[s]}, .outputs = {e + "/pooled"}});
            g.addNode(Node{.name = e + "/flatten", .opType = "Flatten", .inputs = {e + "/pooled"}, .outputs = {e + "/features"}});
            Node fc{.name = e + "/fc", .opType = "Gemm", .inputs = {e + "/features", e + ".weight", e + ".bias"}, .outputs = {e + "/logits"}};
            Attribute transB;
            transB.kind = Attribute::Kind::Int;
            transB.i = 1;
            fc.attributes["transB"] = transB;
            g.addNode(fc);
            g.addOutput(ValueInfo{.name = e + "/logits", .dtype = DataType::Float32, .shape = {-1, h.classes}});
            g.addOutput(declare(exits[s]));
        } else {
            for (const ValueInfo& out : graph.outputs()) g.addOutput(out);
        }
        g.validate();
        segments.push_back(std::move(g));
        from = to + 1;
    }
    return segments;
}

StageOutputs scoreChain(const std::vector<Graph>& segments, const std::vector<std::string>& names,
                        const std::vector<StageCost>& costs, const data::LabeledImages& data,
                        const data::Preprocessing& prep, const eval::EvalOptions& options)
{
    const Chain chain{segments};
    const int64_t total = options.limit >= 0 ? std::min(options.limit, data.size()) : data.size();
    StageOutputs out;
    out.stageNames = names;
    out.costs = costs;
    out.labels.assign(data.labels.begin(), data.labels.begin() + total);
    out.scores.assign(segments.size(), std::vector<StageScore>(static_cast<size_t>(total)));
    std::atomic<int64_t> classes{0};
    forEachBatch(segments, total, std::max<int64_t>(options.batchSize, 1), options.workers, options.cancel,
                 [&](int64_t begin, int64_t count, std::vector<std::unique_ptr<rt::Session>>& sessions) {
                     std::vector<float> prob;
                     Tensor x = data::imageBatch(data, prep, begin, count);
                     for (size_t s = 0; s < segments.size(); ++s) {
                         auto y = runOne(*sessions[s], chain.inputName(s), x);
                         const Tensor& logits = y.at(chain.logitsName(s));
                         const int64_t k = logits.numel() / count;
                         classes.store(k);
                         for (int64_t i = 0; i < count; ++i)
                             out.scores[s][static_cast<size_t>(begin + i)] =
                                 scoreOf(logits.data<float>() + i * k, k, data.labels[static_cast<size_t>(begin + i)], prob);
                         if (s + 1 < segments.size()) x = y.at(chain.carryName(s));
                     }
                 });
    out.classes = classes.load();
    return out;
}

ChainRun runChain(const Policy& policy, const std::vector<Graph>& segments, const std::vector<StageCost>& costs,
                  const data::LabeledImages& data, const data::Preprocessing& prep, const eval::EvalOptions& options)
{
    if (policy.stages.size() != segments.size() || costs.size() != segments.size())
        throw PolicyError("the policy, the segments and the costs must have one entry per stage");
    const Chain chain{segments};
    const int64_t total = options.limit >= 0 ? std::min(options.limit, data.size()) : data.size();
    ChainRun run;
    run.result.records.resize(static_cast<size_t>(total));
    std::vector<std::atomic<int64_t>> executed(segments.size());
    std::atomic<int64_t> classes{0};
    const std::vector<StageCost> path = pathCosts(costs);
    const auto t0 = std::chrono::steady_clock::now();
    forEachBatch(segments, total, std::max<int64_t>(options.batchSize, 1), options.workers, options.cancel,
                 [&](int64_t begin, int64_t count, std::vector<std::unique_ptr<rt::Session>>& sessions) {
                     std::vector<float> prob;
                     std::vector<int64_t> open(static_cast<size_t>(count));   // batch rows still unanswered
                     for (int64_t i = 0; i < count; ++i) open[static_cast<size_t>(i)] = i;
                     Tensor x = data::imageBatch(data, prep, begin, count);
                     for (size_t s = 0; s < segments.size() && !open.empty(); ++s) {
                         executed[s].fetch_add(static_cast<int64_t>(open.size()));
                         auto y = runOne(*sessions[s], chain.inputName(s), x);
                         const Tensor& logits = y.at(chain.logitsName(s));
                         const int64_t k = logits.numel() / static_cast<int64_t>(open.size());
                         classes.store(k);
                         std::vector<int64_t> still, keep;
                         for (size_t j = 0; j < open.size(); ++j) {
                             const int64_t index = begin + open[j];
                             eval::InputRecord r;
                             r.label = data.labels[static_cast<size_t>(index)];
                             eval::scoreRow(logits.data<float>() + static_cast<int64_t>(j) * k, k, r, prob);
                             const StageScore score{r.prediction, r.top1Probability, r.margin, r.entropy};
                             if (!stopsAt(policy, s, score)) {
                                 still.push_back(open[j]);
                                 keep.push_back(static_cast<int64_t>(j));
                                 continue;
                             }
                             r.index = index;
                             r.stage = static_cast<int>(s);
                             r.macs = path[s].macs;
                             r.latencyMs = path[s].latencyMs;
                             r.energyUj = path[s].energyUj;
                             run.result.records[static_cast<size_t>(index)] = r;
                         }
                         if (!still.empty() && s + 1 < segments.size()) {
                             const Tensor& carry = y.at(chain.carryName(s));
                             x = keep.size() == open.size() ? carry : gatherRows(carry, keep);
                         }
                         open = std::move(still);
                     }
                 });
    run.result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    run.result.imagesPerSecond = run.result.seconds > 0 ? static_cast<double>(total) / run.result.seconds : 0.0;
    for (auto& e : executed) run.executed.push_back(e.load());
    run.result.classes = classes.load();
    eval::summarize(run.result);
    return run;
}

} // namespace joule::adaptive
