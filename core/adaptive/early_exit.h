#pragma once
// Early exits: one network cut into segments at chosen tensors, each segment but the last ending in
// an exit head (global average pooling + a linear classifier) trained on the frozen backbone's
// features, so the engine stops at the first confident exit.
//
//   std::vector<std::string> exits = defaultExits(g);              // the end of each stage but the last
//   auto features = captureFeatures(g, exits, train, prep, 10000);  // pooled tensors, per exit
//   Head h = trainHead(features[0], train.labels, classes, {});      // softmax regression (Eigen)
//   std::vector<Graph> segments = splitAtExits(g, exits, {h0, h1});  // segment s: logits (+ the cut tensor)
//   StageOutputs all = scoreChain(segments, names, costs, test, prep);  // every exit, every input
//   ChainRun run = runChain(policy, segments, costs, test, prep);        // stops at the first confident exit
//
// A cut tensor must be a cut point: the only value computed before it that anything after it reads.
// Segment s < last takes the previous cut tensor (the model's input for s = 0) and has two outputs,
// its exit's logits and its cut tensor; the last segment ends in the model's own outputs.

#include "adaptive/policy.h"
#include "adaptive/whatif.h"

#include "data/dataset.h"
#include "eval/evaluator.h"
#include "ir/graph.h"

#include <string>
#include <vector>

namespace joule::adaptive {

// Every cut point of the graph, in execution order (rank-4 activations only).
std::vector<std::string> cutPoints(const Graph& graph);
// One exit after each stage of the network: the last cut point at each spatial size, except the
// size that feeds the network's own classifier.
std::vector<std::string> defaultExits(const Graph& graph);
// Checks the names: PolicyError naming a tensor that does not exist or is not a cut point.
void checkExits(const Graph& graph, const std::vector<std::string>& exits);

// Global-average-pooled values of each exit tensor on the first `limit` inputs of `data`:
// features[e] is a row-major [inputs, channels] matrix (as doubles).
struct Features {
    int64_t rows = 0, cols = 0;
    std::vector<double> values;
};
std::vector<Features> captureFeatures(const Graph& graph, const std::vector<std::string>& exits,
                                      const data::LabeledImages& data, const data::Preprocessing& preprocessing,
                                      int64_t limit, const std::atomic<bool>* cancel = nullptr);

struct HeadOptions {
    int iterations = 400;
    double l2 = 1e-4;
    double learningRate = 0.5;
};
struct Head {
    std::vector<float> weight;   // [classes, channels], row-major
    std::vector<float> bias;     // [classes]
    int64_t classes = 0, channels = 0;
    double trainAccuracy = 0;
};
// Multinomial logistic regression on standardized features (full-batch gradient descent with
// momentum: deterministic), folded back so the head reads the raw pooled values.
Head trainHead(const Features& features, const std::vector<int64_t>& labels, int64_t classes, const HeadOptions& options = {});

// The segments (see above); heads[e] belongs to exits[e].
std::vector<Graph> splitAtExits(const Graph& graph, const std::vector<std::string>& exits, const std::vector<Head>& heads);

// Every exit and the final output, on every input of `data`.
StageOutputs scoreChain(const std::vector<Graph>& segments, const std::vector<std::string>& names,
                        const std::vector<StageCost>& costs, const data::LabeledImages& data,
                        const data::Preprocessing& preprocessing, const eval::EvalOptions& options = {});

struct ChainRun {
    eval::EvalResult result;         // records carry the answering exit and its cost
    std::vector<int64_t> executed;   // per segment: inputs it ran on
};
// The policy for real: each batch runs segment 0, the inputs whose exit is not confident go on to the
// next segment, and so on (options.batchSize = 1 runs every input alone, as a board would).
ChainRun runChain(const Policy& policy, const std::vector<Graph>& segments, const std::vector<StageCost>& costs,
                  const data::LabeledImages& data, const data::Preprocessing& preprocessing,
                  const eval::EvalOptions& options = {});

} // namespace joule::adaptive
