#pragma once
// Pruning of fp32 graphs (docs/pruning.md): channels removed physically, or weights zeroed.
//
//   ChannelPruneResult r = pruneChannels(fp32, {.importance = Importance::L1, .amount = 0.3});
//   r.graph;                 // smaller: fewer MACs, weights and activations
//   Graph recovered = recoverLeastSquares(fp32, r, {.data = &calibration, .prep = prep});
//
//   UnstructuredResult u = pruneMagnitude(fp32, {.amount = 0.5, .scope = Scope::Global});
//
// Channel pruning ranks each prunable channel group's channels (channel_groups.h) by the norm of the
// filters that produce them (L1, L2, or the geometric-median criterion: a filter close to all others
// is redundant), summed over the group's producers after scaling each producer's scores to a maximum
// of 1, and removes the lowest `amount` of each group (scope Layer) or of all groups pooled (scope
// Global; every group keeps at least one channel). Recovery refits every layer that lost input
// channels (and, with `downstream`, every Conv / Gemm after the first of them), in execution order:
// its weights and bias by least squares (ridge-regularized normal equations, Eigen) so that on
// calibration inputs its output in the pruned graph matches its output in the original graph, for
// the output channels it kept.
//
// Errors (std::invalid_argument) name what is at fault: an `exclude` entry that is neither a node nor
// an op of the graph, an amount that would remove every channel or weight of a layer, no prunable
// layer at all.

#include "data/dataset.h"
#include "ir/graph.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace joule::prune {

enum class Importance { L1, L2, GeometricMedian, Activation };
enum class Scope { Layer, Global };

struct ChannelPruneOptions {
    Importance importance = Importance::L1;
    double amount = 0.3;                  // fraction of channels removed, in [0, 1)
    Scope scope = Scope::Layer;
    std::vector<std::string> exclude;     // node names or op types whose channels stay
    // Importance::Activation: what channel c adds to its consumers on these images, the sum over
    // consumers of E[x_c^2] * ||W[:, c]||^2 (the filter norms need no data).
    const data::LabeledImages* data = nullptr;
    data::Preprocessing prep;
    int64_t samples = 64;
};

struct PrunedLayer {
    std::string name;                     // the group's first producer
    int64_t before = 0, after = 0;        // channels
};

struct ChannelPruneResult {
    Graph graph;
    std::vector<PrunedLayer> layers;      // every group the amount applied to (prunable, not excluded), pruned or not
    // Per node that lost channels (producers, pass-through ops, consumers): which output channels
    // (for producers) it kept, and whether its inputs lost channels.
    std::map<std::string, std::vector<int64_t>> keptOutputs;
    std::vector<std::string> changedInputs;   // consumers whose input channels were removed, in execution order
};

ChannelPruneResult pruneChannels(const Graph& fp32, const ChannelPruneOptions& options);

struct RecoveryOptions {
    const data::LabeledImages* data = nullptr;   // calibration images (required)
    data::Preprocessing prep;
    int64_t samples = 256;                       // images used
    int64_t maxRows = 40000;                     // rows of a layer's least-squares system (positions are subsampled)
    double ridge = 1e-4;                         // relative to the mean diagonal of X^T X
    // Also refit every Conv / Gemm downstream of the first pruned layer, though its own channels are
    // unchanged: each then undoes the error its inputs carry from upstream.
    bool downstream = true;
    // After the refits, re-estimate on the data the mean and variance of every BatchNormalization
    // whose input no refitted layer produces (a refitted layer restores its original output, so the
    // statistics after it stay).
    bool batchNorm = true;
    const std::atomic<bool>* cancel = nullptr;
    std::function<void(double, const std::string&)> progress{};
};

// `pruned.graph` with every layer in `pruned.changedInputs` refitted (see above).
Graph recoverLeastSquares(const Graph& original, const ChannelPruneResult& pruned, const RecoveryOptions& options);

// `graph` with each BatchNormalization's mean and variance set to what its input has on the data
// (population variance over batch and positions), in execution order, except those whose input is
// produced by a node named in `keep`. Other parameters unchanged.
Graph reestimateBatchNorm(const Graph& graph, const RecoveryOptions& options, const std::vector<std::string>& keep = {});

struct UnstructuredOptions {
    double amount = 0.5;                  // fraction of weights zeroed, in [0, 1)
    Scope scope = Scope::Layer;
    std::vector<std::string> exclude;
};

struct UnstructuredResult {
    Graph graph;
    int64_t weights = 0, zeroed = 0;      // of the pruned layers' weight tensors
    std::vector<std::pair<std::string, double>> sparsity;   // per layer: fraction of zeros after
};

// Magnitude pruning of Conv and Gemm weights: the smallest |w| of each layer (Layer) or of all layers
// pooled (Global) set to 0. Shapes and MACs are unchanged.
UnstructuredResult pruneMagnitude(const Graph& fp32, const UnstructuredOptions& options);

// Inputs per run when feeding `graph` calibration data: its input's fixed batch size, else 32.
int64_t calibrationBatch(const Graph& graph);
// Whether that batch size is fixed (then only whole batches are fed; else the last one is shorter).
bool fixedBatch(const Graph& graph);

// Every exclude entry names a node or an op of `graph`, else std::invalid_argument naming it.
void checkExclude(const Graph& graph, const std::vector<std::string>& exclude);

} // namespace joule::prune
