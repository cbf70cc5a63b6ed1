#pragma once
// What-if without rerunning: every stage's answer for every input is kept once (StageOutputs), and
// the accuracy and expected cost of any rule and threshold are recomputed from it.
//
//   StageOutputs out = ...;                              // from adaptive::scoreStages on a dataset
//   Outcome o = simulate(out, StopRule::MaxProb, {{0.9}});
//   o.accuracy; o.expectedEnergyUj; o.answered[0];       // share answered by the first stage
//   std::vector<OperatingPoint> front = paretoFront(sweep(out, StopRule::MaxProb, 1000));
//   Tuned t = tune(validationOutputs, StopRule::ClassMaxProb, 0.002);   // cheapest within 0.2 points
//
// Costs are per stage and incremental: running stage s after the ones before it costs costs[s]
// (for a cascade the whole stage model plus any switch of cluster; for early exits the segment and
// its head). An input answered by stage k costs the sum of costs[0..k].

#include "adaptive/policy.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace joule::adaptive {

struct StageCost {
    int64_t macs = 0;
    double latencyMs = 0;
    std::optional<double> energyUj;   // nullopt where the target has no power model
};

// What an input answered by stage k costs: the stage costs up to k summed (energy unknown when any
// of them is unknown). One entry per stage.
std::vector<StageCost> pathCosts(const std::vector<StageCost>& costs);

struct StageOutputs {
    std::vector<std::string> stageNames;
    std::vector<StageCost> costs;                  // per stage, incremental
    int64_t classes = 0;
    std::vector<int64_t> labels;                   // per input
    std::vector<std::vector<StageScore>> scores;   // [stage][input]

    size_t stageCount() const { return scores.size(); }
    int64_t inputCount() const { return static_cast<int64_t>(labels.size()); }
};

struct Percentiles {
    double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

struct Outcome {
    int64_t samples = 0;
    int64_t correct = 0;
    double accuracy = 0;
    double expectedMacs = 0;
    double expectedLatencyMs = 0;
    std::optional<double> expectedEnergyUj;
    std::vector<double> answered;                  // per stage: share of the inputs it answered
    Percentiles latencyMs;
    std::optional<Percentiles> energyUj;
    std::vector<int> stageOf;                      // per input: the stage that answered
};

// The policy's result over every input. thresholds[s] as in Policy (one per stage but the last).
Outcome simulate(const StageOutputs& out, StopRule rule, const std::vector<std::vector<double>>& thresholds);

struct OperatingPoint {
    std::vector<std::vector<double>> thresholds;
    double accuracy = 0;
    double expectedEnergyUj = 0;    // expected latency (ms) where the target has no power model
    double expectedLatencyMs = 0;
};

// `count` thresholds spread over the rule's range ([0, 1], or [0, ln classes] for entropy), the same
// for every stage; class_max_prob uses one value for every class. Only accuracy and expected cost are
// computed (fast: 1,000 thresholds over 10,000 inputs in a few milliseconds).
std::vector<OperatingPoint> sweep(const StageOutputs& out, StopRule rule, int count);
// The points no other point beats on both accuracy (higher) and expected energy (lower), by energy.
std::vector<OperatingPoint> paretoFront(std::vector<OperatingPoint> points);

struct Tuned {
    std::vector<std::vector<double>> thresholds;
    Outcome outcome;                // on the data it was tuned on
    double referenceAccuracy = 0;   // the last stage alone
};

// The cheapest thresholds (expected energy, else latency) whose accuracy is at least the last
// stage's own minus `maxDrop`. class_max_prob starts from the best single threshold and lets a class
// leave it only where that holds up on data it was not tuned on. The data is split into five folds
// (input i in fold i % 5, so the result is deterministic).
//   - Two stages: for each fold, per-class thresholds are tuned on the other four (errors priced,
//     each class's best threshold for the price, the price bisected to the accuracy bound), and so is
//     the best single threshold. A class gets its own threshold only when, on every held-out fold,
//     its own costs less than the single one at that price (second-stage runs saved against errors
//     added). Those classes are priced again on all the data, the others share one threshold,
//     scanned like the single one.
//   - More stages: a threshold per stage and class. For each fold, tuned on the other four: every
//     (stage, class) threshold (errors priced; with the others fixed, each one's best value for the
//     price is found on its own, in turn until none moves; the price bisected to the bound), and the
//     best single threshold. A (stage, class) gets its own threshold only when, on every held-out
//     fold, the single threshold with just that one changed beats the single threshold at that
//     price and costs less than any single threshold there at the accuracy it reaches, moving the
//     same way (lower or higher) on every fold. Those are priced again on all the data, the others
//     share one threshold, scanned like the single one.
// When nothing qualifies the result is exactly the single threshold; it is never worse than the
// single threshold on this data.
Tuned tune(const StageOutputs& out, StopRule rule, double maxDrop);

// What a tuning reached on its data, for a candidate's notes: {"samples", "accuracy",
// "reference_accuracy" (the last stage alone), "expected_energy_uj", "expected_latency_ms", "answered"}.
QJsonObject tunedToJson(const Tuned& tuned, int64_t samples);

// The what-if file (`joule optimize --records-dir DIR` writes DIR/<candidate>.stages.json, `joule
// whatif` reads it): {"format": "joule-stage-outputs", "version": 1, "policy": {...}, "classes": C,
// "stages": [{"name", "macs", "latency_ms", "energy_uj"}], "labels": [...],
// "outputs": [{"prediction": [...], "top1": [...], "margin": [...], "entropy": [...]}]} (per stage).
QJsonObject stageOutputsToJson(const StageOutputs& out, const Policy& policy);
// PolicyError naming `where` and the field at fault.
StageOutputs stageOutputsFromJson(const QJsonObject& json, const std::string& where, Policy* policy = nullptr);

} // namespace joule::adaptive
