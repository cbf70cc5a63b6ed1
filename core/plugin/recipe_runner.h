#pragma once
// Runs a recipe end to end: loads the model, its datasets and target, runs the steps in order (each
// step on every candidate the previous step returned), then evaluates the baseline and every final
// candidate on the test set and estimates each on the target. Shared by `joule optimize` and the GUI.
//
//   PluginManager plugins;
//   std::atomic<bool> cancel{false};
//   OptimizeResult r = runRecipe(loadRecipe("r.json"), plugins, {.cancel = &cancel, .log = print});
//   r.candidates[0].candidate.id == "baseline";    // the fp32 model, always first
//   r.candidates[1].test.accuracy; r.candidates[1].estimate.latencyMs;   // on r.target
//
// Everything is checked before any step runs (plugins, parameters, target, model, datasets). Errors:
// RecipeError (names the recipe file and field), PluginError ("plugin 'NAME': ..."), Cancelled.

#include "adaptive/policy.h"
#include "adaptive/whatif.h"
#include "plugin/candidate.h"
#include "plugin/recipe.h"

#include "cost/estimator.h"
#include "cost/layer_stats.h"
#include "eval/evaluator.h"

#include <QString>

#include <atomic>
#include <functional>
#include <vector>

namespace joule::plugin {

class PluginManager;

// An adaptive candidate (policy kind cascade or early_exit) as evaluated on the test set.
struct AdaptiveResult {
    adaptive::Policy policy;
    std::vector<adaptive::StageCost> costs;     // per stage, incremental, on the recipe's target
    adaptive::StageOutputs all;                 // every stage on every test input (for what-if)
    adaptive::Outcome outcome;                  // the policy over the test set
    std::vector<int64_t> executed;              // per stage: test inputs it really ran on
    std::vector<double> stageAccuracy;          // each stage answering every test input alone
    std::vector<adaptive::OperatingPoint> front;   // Pareto front of a 1,000-threshold what-if sweep
    int64_t sharedWeightBytes = 0;              // weights stored once for several stages (not double-counted)
};

struct CandidateResult {
    Candidate candidate;
    int step = 0;                    // 0 = baseline, i = produced by steps[i-1]
    eval::EvalResult test;           // on the recipe's test set (records included)
    cost::ModelStats stats;          // of graphs[0] (of the last stage for an adaptive candidate)
    // On the recipe's target, at the graph's own precision. For an adaptive candidate: latency,
    // energy and MACs are the expected values per input, flash the sum over stages, arena the largest.
    cost::ModelEstimate estimate;
    int64_t weightBytes = 0;         // weightMemoryBytes(graphs[0]); summed over the stages' graphs
    std::optional<AdaptiveResult> adaptive;
};

struct OptimizeOptions {
    const std::atomic<bool>* cancel = nullptr;
    std::function<void(const QString&)> log{};   // progress lines (the CLI prints them on stderr)
    // The whole run's progress, a fraction in [0, 1] and what is being done: the steps take the
    // first 70 %, the evaluations the rest. Called from the thread that runs the recipe and from
    // evaluation workers (never concurrently with itself: calls are serialized).
    std::function<void(double, const QString&)> progress{};
    int evalWorkers = 2;
};

struct OptimizeResult {
    Recipe recipe;
    QString target;                  // profile id the estimates come from
    QString targetName;
    QString cardPath;                // model card the preprocessing came from, empty if none
    std::vector<CandidateResult> candidates;   // baseline first, then the last step's candidates
};

OptimizeResult runRecipe(const Recipe& recipe, PluginManager& plugins, const OptimizeOptions& options = {});

// Bytes of all initializers as deployed: an initializer read by a DequantizeLinear with attribute
// "joule.bits" = 4 (int4 values stored in an Int8 tensor) counts half a byte per value, rounded up;
// every other one its stored size.
int64_t weightMemoryBytes(const Graph& graph);

// The first `limit` inputs of `data` (all when limit < 0 or >= size).
data::LabeledImages firstInputs(const data::LabeledImages& data, int64_t limit);
// Inputs [offset, offset + limit) of `data` (to the end when limit < 0, clipped at the end).
// Throws std::out_of_range when offset is past the end.
data::LabeledImages inputRange(const data::LabeledImages& data, int64_t offset, int64_t limit);

} // namespace joule::plugin
