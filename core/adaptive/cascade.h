#pragma once
// Cascades: stages that are whole models (a little one, then a big one), run for real.
//
//   std::vector<StageCost> costs = stageCosts(graphs, policy, board);       // each stage on the board
//   StageOutputs all = scoreStages(graphs, names, costs, data, prep);        // every stage, every input
//   Tuned t = tune(all, StopRule::MaxProb, 0.002);                            // thresholds (validation)
//   CascadeRun run = runCascade(policy, graphs, costs, test, prep);           // only needed stages run
//   run.result.records[i].stage;  run.result.records[i].energyUj;             // per input
//
// A stage runs only on the inputs the stages before it did not answer: the first stage on the whole
// data set, the next on what is left, in batches, so the host skips the work too.

#include "adaptive/policy.h"
#include "adaptive/whatif.h"

#include "cost/target_profile.h"
#include "data/dataset.h"
#include "eval/evaluator.h"
#include "ir/graph.h"

#include <vector>

namespace joule::adaptive {

// Each stage's cost on `target` at its own precision: the whole model, on the stage's cluster when it
// names one (else the profile's mapping), plus moving the input to a new cluster when the stage runs
// on another cluster than the one before.
std::vector<StageCost> stageCosts(const std::vector<Graph>& graphs, const Policy& policy, const cost::TargetProfile& target);

// Checks that the stages can form one cascade: one input of the same shape and type, and outputs of
// the same class count. PolicyError naming the stage otherwise.
void checkStagesAgree(const std::vector<Graph>& graphs, const std::vector<std::string>& names);

// Every stage on every input of `data` (the what-if and tuning data).
StageOutputs scoreStages(const std::vector<Graph>& graphs, const std::vector<std::string>& names,
                         const std::vector<StageCost>& costs, const data::LabeledImages& data,
                         const data::Preprocessing& preprocessing, const eval::EvalOptions& options = {});

struct CascadeRun {
    eval::EvalResult result;              // records carry the answering stage and its cost
    std::vector<int64_t> executed;        // per stage: how many inputs it ran on
};

CascadeRun runCascade(const Policy& policy, const std::vector<Graph>& graphs, const std::vector<StageCost>& costs,
                      const data::LabeledImages& data, const data::Preprocessing& preprocessing,
                      const eval::EvalOptions& options = {});

// The inputs `indices` of `data`, in that order (labels and class names kept).
data::LabeledImages selectInputs(const data::LabeledImages& data, const std::vector<int64_t>& indices);

} // namespace joule::adaptive
