#include "plugin/recipe_runner.h"

#include "adaptive/cascade.h"
#include "adaptive/early_exit.h"
#include "plugin/model_card.h"
#include "plugin/pass_runner.h"
#include "plugin/plugin_manager.h"

#include "onnx/onnx_io.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <map>
#include <mutex>
#include <set>

namespace joule::plugin {

int64_t weightMemoryBytes(const Graph& graph)
{
    std::set<std::string> int4;
    for (const Node& n : graph.nodes())
        if (n.opType == "DequantizeLinear" && n.domain.empty() && n.hasInput(0) && n.attrInt("joule.bits", 8) == 4)
            int4.insert(n.inputs[0]);
    int64_t bytes = 0;
    for (const auto& [name, t] : graph.initializers())
        bytes += int4.count(name) ? (t.numel() + 1) / 2 : static_cast<int64_t>(t.bytes());
    return bytes;
}

data::LabeledImages inputRange(const data::LabeledImages& data, int64_t offset, int64_t limit)
{
    const int64_t n = data.size();
    if (offset < 0 || offset >= n)
        throw std::out_of_range("offset " + std::to_string(offset) + " is past the end (" + std::to_string(n) + " inputs)");
    const int64_t count = limit < 0 ? n - offset : std::min(limit, n - offset);
    if (offset == 0 && count == n) return data;
    data::LabeledImages out;
    Shape shape = data.images.shape();
    shape[0] = count;
    out.images = Tensor(data.images.dtype(), shape);
    const size_t rowBytes = data.images.bytes() / static_cast<size_t>(n);
    std::memcpy(out.images.raw(), static_cast<const std::byte*>(data.images.raw()) + rowBytes * static_cast<size_t>(offset),
                out.images.bytes());
    out.labels.assign(data.labels.begin() + offset, data.labels.begin() + offset + count);
    out.classNames = data.classNames;
    out.source = data.source + " [" + std::to_string(offset) + ", " + std::to_string(offset + count) + ")";
    return out;
}

data::LabeledImages firstInputs(const data::LabeledImages& data, int64_t limit)
{
    if (limit < 0 || limit >= data.size()) return data;
    return inputRange(data, 0, limit);
}

namespace {

void say(const OptimizeOptions& o, const QString& line)
{
    if (o.log) o.log(line);
}

// Maps a phase's own fraction into the run's: [begin, end) of the whole, serialized for callers that
// report from several evaluation workers.
class Progress {
public:
    explicit Progress(const OptimizeOptions& o) : o_(o) {}
    void report(double begin, double end, double fraction, const QString& message) const
    {
        if (!o_.progress) return;
        const std::lock_guard lock(mutex_);
        o_.progress(begin + (end - begin) * std::clamp(fraction, 0.0, 1.0), message);
    }

private:
    const OptimizeOptions& o_;
    mutable std::mutex mutex_;
};

void checkCancel(const OptimizeOptions& o)
{
    if (o.cancel && o.cancel->load()) throw Cancelled();
}

// Loads each distinct spec once.
class Datasets {
public:
    Datasets(const Recipe& r, const data::Preprocessing& prep) : recipe_(r), prep_(prep) {}
    data::LabeledImages get(const DatasetRef& ref, const QString& field)
    {
        auto it = cache_.find(ref.spec);
        if (it == cache_.end()) {
            try {
                it = cache_.emplace(ref.spec, data::loadDataset(ref.spec.toStdString(), prep_)).first;
            } catch (const std::exception& e) {
                throw RecipeError(recipe_.file + ": field '" + field + "': " + e.what());
            }
        }
        try {
            return inputRange(it->second, ref.offset, ref.limit);
        } catch (const std::out_of_range& e) {
            throw RecipeError(recipe_.file + ": field '" + field + ".offset': " + e.what());
        }
    }

private:
    const Recipe& recipe_;
    const data::Preprocessing& prep_;
    std::map<QString, data::LabeledImages> cache_;
};

QString percent(double accuracy)
{
    return QString::number(accuracy * 100, 'f', 2) + " %";
}

// What every step and evaluation needs, loaded (and checked) before the first step runs.
struct Inputs {
    cost::TargetProfile target;
    Graph model;
    std::vector<std::pair<QString, Graph>> models;   // the recipe's further models, by name
    data::Preprocessing preprocessing;
    data::LabeledImages test;
    std::optional<data::LabeledImages> calibration, validation;
};

Inputs loadInputs(const Recipe& recipe, const OptimizeOptions& options, OptimizeResult& result)
{
    Inputs in;
    try {
        in.target = cost::loadTarget(recipe.target);
    } catch (const std::exception& e) {
        throw RecipeError(recipe.file + ": field 'target': " + e.what());
    }
    result.target = QString::fromStdString(in.target.id);
    result.targetName = QString::fromStdString(in.target.name);
    try {
        in.model = onnx::loadModel(recipe.model.toStdString());
        in.preprocessing = preprocessingFromCard(recipe.model, &result.cardPath);
    } catch (const std::exception& e) {
        throw RecipeError(recipe.file + ": field 'model': " + e.what());
    }
    for (const auto& [name, path] : recipe.models) {
        try {
            in.models.emplace_back(name, onnx::loadModel(path.toStdString()));
        } catch (const std::exception& e) {
            throw RecipeError(recipe.file + ": field 'models." + name + "': " + e.what());
        }
    }
    say(options, "loading datasets");
    Datasets datasets(recipe, in.preprocessing);
    in.test = datasets.get(recipe.test, "datasets.test");
    if (recipe.calibration) in.calibration = datasets.get(*recipe.calibration, "datasets.calibration");
    if (recipe.validation) in.validation = datasets.get(*recipe.validation, "datasets.validation");
    return in;
}

// Runs steps[s] on every candidate of `current`; new ids continue from `nextId`.
std::vector<Candidate> runStep(const Recipe& recipe, size_t s, Pass& pass, const QVariantMap& params,
                               const std::vector<Candidate>& current, Inputs& in, const OptimizeOptions& options, int& nextId,
                               const Progress& progress)
{
    const QString plugin = recipe.steps[s].plugin;
    std::vector<Candidate> produced;
    // A combining pass (a cascade) runs once, on the first candidate, and sees them all in its pool.
    const std::vector<Candidate> inputs = pass.combinesCandidates() ? std::vector<Candidate>{current.front()} : current;
    const double steps = static_cast<double>(recipe.steps.size());
    for (size_t k = 0; k < inputs.size(); ++k) {
        const Candidate& input = inputs[k];
        checkCancel(options);
        // This pass's share of the steps' 70 %.
        const double begin = 0.7 * (static_cast<double>(s) + static_cast<double>(k) / inputs.size()) / steps;
        const double end = 0.7 * (static_cast<double>(s) + static_cast<double>(k + 1) / inputs.size()) / steps;
        const QString prefix = QString("step %1/%2 (%3) on %4: ").arg(s + 1).arg(recipe.steps.size()).arg(plugin, input.id);
        say(options, prefix + "running");
        // One line per new message, and per 10 % within a message.
        QString lastMessage;
        double lastFraction = -1.0;
        PassContext ctx({.calibration = in.calibration ? &*in.calibration : nullptr,
                         .validation = in.validation ? &*in.validation : nullptr,
                         .preprocessing = in.preprocessing,
                         .target = &in.target,
                         .cancel = options.cancel,
                         .progress = [&](double f, const QString& m) {
                             progress.report(begin, end, f, prefix + m);
                             if (m == lastMessage && f < lastFraction + 0.1 && f < 1.0) return;
                             lastMessage = m;
                             lastFraction = f;
                             say(options, prefix + QString::number(f * 100, 'f', 0) + " % " + m);
                         },
                         .evalWorkers = options.evalWorkers,
                         .pool = &current});
        for (Candidate& out : runPass(pass, plugin, input, params, ctx)) {
            out.id = "c" + QString::number(nextId++);
            produced.push_back(std::move(out));
        }
    }
    return produced;
}

// An adaptive candidate: the policy run for real on the test set (a stage runs only where needed),
// every stage scored on every test input for what-if, and the expected cost per input.
void evaluateAdaptive(CandidateResult& r, const Inputs& in, const eval::EvalOptions& eo)
{
    AdaptiveResult a;
    a.policy = adaptive::Policy::fromJson(r.candidate.policy);
    const std::vector<Graph>& graphs = r.candidate.graphs;
    if (a.policy.stages.size() != graphs.size())
        throw std::runtime_error("the policy has " + std::to_string(a.policy.stages.size()) + " stages for " +
                                 std::to_string(graphs.size()) + " graphs");
    std::vector<std::string> names;
    for (const auto& s : a.policy.stages) names.push_back(s.name);
    a.costs = adaptive::stageCosts(graphs, a.policy, in.target);
    if (a.policy.kind == adaptive::PolicyKind::EarlyExit) {
        adaptive::ChainRun run = adaptive::runChain(a.policy, graphs, a.costs, in.test, in.preprocessing, eo);
        a.executed = run.executed;
        r.test = std::move(run.result);
        a.all = adaptive::scoreChain(graphs, names, a.costs, in.test, in.preprocessing, eo);
    } else {
        adaptive::CascadeRun run = adaptive::runCascade(a.policy, graphs, a.costs, in.test, in.preprocessing, eo);
        a.executed = run.executed;
        r.test = std::move(run.result);
        a.all = adaptive::scoreStages(graphs, names, a.costs, in.test, in.preprocessing, eo);
    }
    a.outcome = adaptive::simulate(a.all, a.policy.rule, a.policy.thresholds);
    if (a.outcome.correct != r.test.correct)
        throw std::runtime_error("the policy run (" + std::to_string(r.test.correct) + " correct) and its what-if (" +
                                 std::to_string(a.outcome.correct) + ") disagree");
    for (size_t s = 0; s < graphs.size(); ++s) {
        int64_t correct = 0;
        for (int64_t i = 0; i < a.all.inputCount(); ++i)
            correct += a.all.scores[s][static_cast<size_t>(i)].prediction == a.all.labels[static_cast<size_t>(i)];
        a.stageAccuracy.push_back(a.all.inputCount() ? static_cast<double>(correct) / static_cast<double>(a.all.inputCount()) : 0.0);
    }
    a.front = adaptive::paretoFront(adaptive::sweep(a.all, a.policy.rule, 1000));

    // Memory: every stage's weights are stored, a weight tensor that two stages share (same name,
    // same values: layers one precision keeps as the other) once; the arena is the largest stage's.
    r.stats = cost::analyzeModel(graphs.back());
    r.estimate = cost::estimateModel(r.stats, in.target);
    const int64_t lastFlash = r.estimate.memory.flashBytes;
    r.weightBytes = 0;
    int64_t flash = 0, arena = 0, arenaLower = 0, ramNeeded = 0;
    int64_t shared = 0;
    for (size_t s = 0; s < graphs.size(); ++s) {
        const Graph& g = graphs[s];
        const cost::ModelEstimate e = cost::estimateModel(cost::analyzeModel(g), in.target);
        r.weightBytes += weightMemoryBytes(g);
        flash += e.memory.flashBytes;
        for (const auto& [name, t] : g.initializers())
            for (size_t before = 0; before < s; ++before)
                if (const Tensor* other = graphs[before].initializer(name);
                    other && other->dtype() == t.dtype() && other->shape() == t.shape() && other->sameContents(t)) {
                    shared += static_cast<int64_t>(t.bytes());
                    break;
                }
        arena = std::max(arena, e.memory.arenaBytes);
        arenaLower = std::max(arenaLower, e.memory.arenaLowerBoundBytes);
        ramNeeded = std::max(ramNeeded, e.fit.ramNeeded);
    }
    a.sharedWeightBytes = shared;
    r.weightBytes -= shared;
    flash -= shared;
    r.estimate.macs = static_cast<int64_t>(std::llround(a.outcome.expectedMacs));
    r.estimate.latencyMs = a.outcome.expectedLatencyMs;
    r.estimate.energyUj = a.outcome.expectedEnergyUj;
    r.estimate.memory.flashBytes = flash;
    r.estimate.memory.arenaBytes = arena;
    r.estimate.memory.arenaLowerBoundBytes = arenaLower;
    r.estimate.fit.flashNeeded += flash - lastFlash;
    r.estimate.fit.ramNeeded = ramNeeded;
    r.adaptive = std::move(a);
}

CandidateResult evaluateCandidate(Candidate candidate, int step, const Inputs& in, const OptimizeOptions& options,
                                  const Progress& progress, double begin, double end)
{
    CandidateResult r;
    r.candidate = std::move(candidate);
    r.step = step;
    const Graph& g = r.candidate.graphs.front();
    say(options, "evaluating " + r.candidate.id + " on " + QString::fromStdString(in.test.source) + " ("
                 + QString::number(in.test.size()) + " inputs)");
    eval::EvalOptions eo;
    eo.workers = options.evalWorkers;
    eo.cancel = options.cancel;
    const QString what = "evaluating " + r.candidate.id;
    eo.progress = [&](int64_t done, int64_t total) {
        progress.report(begin, end, total ? static_cast<double>(done) / static_cast<double>(total) : 1.0, what);
    };
    progress.report(begin, end, 0.0, what);
    try {
        if (r.candidate.policy.value("kind").toString() != "plain") {
            evaluateAdaptive(r, in, eo);
        } else {
            r.stats = cost::analyzeModel(g);
            r.estimate = cost::estimateModel(r.stats, in.target);
            eo.macsPerInput = r.stats.macs;
            eo.latencyMsPerInput = r.estimate.latencyMs;
            eo.energyUjPerInput = r.estimate.energyUj;
            r.test = eval::evaluate(g, in.test, in.preprocessing, eo);
            r.weightBytes = weightMemoryBytes(g);
        }
    } catch (const Cancelled&) {
        throw;
    } catch (const std::exception& e) {
        const QString who = r.candidate.plugin.isEmpty() ? QString("the baseline") : "plugin '" + r.candidate.plugin + "'";
        throw PluginError("candidate " + r.candidate.id + " (from " + who + "): " + QString::fromStdString(e.what()));
    }
    say(options, r.candidate.id + ": accuracy " + percent(r.test.accuracy) + ", "
                 + QString::number(r.estimate.latencyMs, 'f', 3) + " ms on " + QString::fromStdString(in.target.id));
    return r;
}

} // namespace

OptimizeResult runRecipe(const Recipe& recipe, PluginManager& plugins, const OptimizeOptions& options)
{
    OptimizeResult result;
    result.recipe = recipe;
    const Progress progress(options);
    const std::vector<QVariantMap> params = resolveStepParams(recipe, plugins);
    Inputs in = loadInputs(recipe, options, result);
    std::vector<std::unique_ptr<Pass>> passes;
    for (const RecipeStep& step : recipe.steps) passes.push_back(plugins.createPass(step.plugin));

    Candidate baseline;
    baseline.id = "baseline";
    baseline.label = "fp32 (the recipe's model)";
    baseline.graphs.push_back(std::move(in.model));
    baseline.notes["model"] = recipe.model;

    // The recipe's further models are root candidates too: steps run on them, cascades name them.
    std::vector<Candidate> current{baseline};
    for (auto& [name, graph] : in.models) {
        Candidate extra;
        extra.id = name;
        extra.root = name;
        extra.label = "fp32 '" + name + "' (a model of the recipe)";
        extra.graphs.push_back(std::move(graph));
        for (const auto& [n, path] : recipe.models)
            if (n == name) extra.notes["model"] = path;
        current.push_back(std::move(extra));
    }
    int nextId = 1;
    for (size_t s = 0; s < recipe.steps.size(); ++s)
        current = runStep(recipe, s, *passes[s], params[s], current, in, options, nextId, progress);

    // Evaluations share the last 30 % equally (an adaptive candidate runs its stages as one).
    const double first = recipe.steps.empty() ? 0.0 : 0.7;
    const size_t evaluations = 1 + (recipe.steps.empty() ? 0 : current.size());
    const auto share = [&](size_t i) { return first + (1.0 - first) * static_cast<double>(i) / static_cast<double>(evaluations); };
    checkCancel(options);
    result.candidates.push_back(evaluateCandidate(std::move(baseline), 0, in, options, progress, share(0), share(1)));
    if (!recipe.steps.empty())
        for (size_t i = 0; i < current.size(); ++i) {
            checkCancel(options);
            result.candidates.push_back(evaluateCandidate(std::move(current[i]), static_cast<int>(recipe.steps.size()), in,
                                                          options, progress, share(i + 1), share(i + 2)));
        }
    progress.report(0.0, 1.0, 1.0, "done");
    return result;
}

} // namespace joule::plugin
