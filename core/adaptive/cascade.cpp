#include "adaptive/cascade.h"

#include "cost/estimator.h"
#include "cost/layer_stats.h"

#include <chrono>
#include <cstring>

namespace joule::adaptive {

namespace {

int64_t outputWidth(const Graph& g) { return eval::declaredOutputWidth(g.outputs().front()); }

StageScore scoreOf(const eval::InputRecord& r)
{
    return {r.prediction, r.top1Probability, r.margin, r.entropy};
}

} // namespace

void checkStagesAgree(const std::vector<Graph>& graphs, const std::vector<std::string>& names)
{
    if (graphs.size() < 2) throw PolicyError("a cascade needs at least two stages, got " + std::to_string(graphs.size()));
    if (names.size() != graphs.size()) throw PolicyError("every stage needs a name");
    auto inputOf = [&](size_t s) {
        const auto inputs = graphs[s].requiredInputs();
        if (inputs.size() != 1) throw PolicyError("stage '" + names[s] + "' has " + std::to_string(inputs.size()) + " inputs; a stage takes one");
        if (graphs[s].outputs().empty()) throw PolicyError("stage '" + names[s] + "' has no output");
        return inputs.front();
    };
    const ValueInfo first = inputOf(0);
    for (size_t s = 1; s < graphs.size(); ++s) {
        const ValueInfo in = inputOf(s);
        Shape a = first.shape, b = in.shape;
        if (!a.empty()) a[0] = -1;   // the batch dimension may differ
        if (!b.empty()) b[0] = -1;
        if (in.dtype != first.dtype || a != b)
            throw PolicyError("stage '" + names[s] + "' takes " + shapeToString(in.shape) + " " + dataTypeName(in.dtype) +
                              ", stage '" + names[0] + "' takes " + shapeToString(first.shape) + " " + dataTypeName(first.dtype) +
                              ": the stages of a cascade take the same input");
        if (outputWidth(graphs[s]) != outputWidth(graphs[0]))
            throw PolicyError("stage '" + names[s] + "' has " + std::to_string(outputWidth(graphs[s])) + " classes, stage '" +
                              names[0] + "' has " + std::to_string(outputWidth(graphs[0])) + ": the stages must answer the same classes");
    }
}

std::vector<StageCost> stageCosts(const std::vector<Graph>& graphs, const Policy& policy, const cost::TargetProfile& target)
{
    std::vector<StageCost> costs;
    int previousCluster = -1;
    for (size_t s = 0; s < graphs.size(); ++s) {
        const cost::ModelStats stats = cost::analyzeModel(graphs[s]);
        const cost::ModelEstimate e = cost::estimateModel(stats, target);
        StageCost c{.macs = stats.macs, .latencyMs = e.latencyMs, .energyUj = e.energyUj};
        const std::string& clusterId = s < policy.stages.size() ? policy.stages[s].cluster : std::string();
        if (!clusterId.empty()) {
            const int cl = target.clusterIndex(clusterId);
            if (cl < 0) throw PolicyError("stage '" + policy.stages[s].name + "': target '" + target.id + "' has no cluster '" + clusterId + "'");
            if (e.mapping) {
                c.latencyMs = e.mapping->allOn[static_cast<size_t>(cl)].latencyMs;
                c.energyUj = e.mapping->allOn[static_cast<size_t>(cl)].energyUj;
            }
            if (previousCluster >= 0 && previousCluster != cl) {
                // Moving the input to the new cluster: its switch cycles plus its bytes.
                const cost::Cluster& to = target.clusters[static_cast<size_t>(cl)];
                const auto in = graphs[s].requiredInputs().front();
                Shape shape = in.shape;
                for (auto& d : shape) d = std::max<int64_t>(d, 1);
                const double bytes = static_cast<double>(storageBytes(in.dtype, elementCount(shape)));
                const double cycles = to.clusterSwitchCycles.value + bytes * to.clusterSwitchCyclesPerByte.value;
                const double ms = cycles / (to.clockMhz.value * 1e3);
                c.latencyMs += ms;
                if (c.energyUj) *c.energyUj += to.activePowerMw.value * ms;   // mW x ms = uJ
            }
            previousCluster = cl;
        }
        costs.push_back(c);
    }
    return costs;
}

StageOutputs scoreStages(const std::vector<Graph>& graphs, const std::vector<std::string>& names,
                         const std::vector<StageCost>& costs, const data::LabeledImages& data,
                         const data::Preprocessing& preprocessing, const eval::EvalOptions& options)
{
    checkStagesAgree(graphs, names);
    StageOutputs out;
    out.stageNames = names;
    out.costs = costs;
    for (size_t s = 0; s < graphs.size(); ++s) {
        const eval::EvalResult r = eval::evaluate(graphs[s], data, preprocessing, options);
        if (s == 0) {
            out.classes = r.classes;
            for (const auto& rec : r.records) out.labels.push_back(rec.label);
        }
        std::vector<StageScore> scores;
        scores.reserve(r.records.size());
        for (const auto& rec : r.records) scores.push_back(scoreOf(rec));
        out.scores.push_back(std::move(scores));
    }
    return out;
}

data::LabeledImages selectInputs(const data::LabeledImages& data, const std::vector<int64_t>& indices)
{
    data::LabeledImages out;
    Shape shape = data.images.shape();
    shape[0] = static_cast<int64_t>(indices.size());
    out.images = Tensor(data.images.dtype(), shape);
    const size_t row = data.size() ? data.images.bytes() / static_cast<size_t>(data.size()) : 0;
    for (size_t k = 0; k < indices.size(); ++k) {
        std::memcpy(static_cast<std::byte*>(out.images.raw()) + k * row,
                    static_cast<const std::byte*>(data.images.raw()) + static_cast<size_t>(indices[k]) * row, row);
        out.labels.push_back(data.labels[static_cast<size_t>(indices[k])]);
    }
    out.classNames = data.classNames;
    out.source = data.source;
    return out;
}

CascadeRun runCascade(const Policy& policy, const std::vector<Graph>& graphs, const std::vector<StageCost>& costs,
                      const data::LabeledImages& data, const data::Preprocessing& preprocessing, const eval::EvalOptions& options)
{
    std::vector<std::string> names;
    for (const Stage& s : policy.stages) names.push_back(s.name);
    checkStagesAgree(graphs, names);
    if (costs.size() != graphs.size()) throw PolicyError("every stage needs a cost");
    const int64_t total = options.limit >= 0 ? std::min(options.limit, data.size()) : data.size();
    CascadeRun run;
    run.result.records.resize(static_cast<size_t>(total));
    std::vector<int64_t> pending(static_cast<size_t>(total));
    for (int64_t i = 0; i < total; ++i) pending[static_cast<size_t>(i)] = i;

    eval::EvalOptions stageOptions = options;
    stageOptions.limit = -1;
    stageOptions.progress = nullptr;
    const std::vector<StageCost> path = pathCosts(costs);
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t s = 0; s < graphs.size() && !pending.empty(); ++s) {
        const data::LabeledImages subset = s == 0 && static_cast<int64_t>(pending.size()) == data.size() ? data : selectInputs(data, pending);
        const eval::EvalResult r = eval::evaluate(graphs[s], subset, preprocessing, stageOptions);
        run.executed.push_back(static_cast<int64_t>(pending.size()));
        if (s == 0) run.result.classes = r.classes;
        std::vector<int64_t> next;
        for (size_t k = 0; k < pending.size(); ++k) {
            const eval::InputRecord& rec = r.records[k];
            if (!stopsAt(policy, s, scoreOf(rec))) {
                next.push_back(pending[k]);
                continue;
            }
            eval::InputRecord& out = run.result.records[static_cast<size_t>(pending[k])];
            out = rec;
            out.index = pending[k];
            out.stage = static_cast<int>(s);
            out.macs = path[s].macs;
            out.latencyMs = path[s].latencyMs;
            out.energyUj = path[s].energyUj;
        }
        pending = std::move(next);
        if (options.progress) options.progress(total - static_cast<int64_t>(pending.size()), total);
    }
    while (run.executed.size() < graphs.size()) run.executed.push_back(0);
    run.result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    run.result.imagesPerSecond = run.result.seconds > 0 ? static_cast<double>(total) / run.result.seconds : 0.0;
    eval::summarize(run.result);
    return run;
}

} // namespace joule::adaptive
