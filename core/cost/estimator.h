#pragma once
// What a model costs on a target board: per-layer cycles, latency and energy, the activation arena,
// flash, and whether it fits (docs/cost-model.md §3–6).
//
//   joule::Graph g = joule::onnx::loadModel("resnet8.onnx");
//   joule::cost::ModelStats stats = joule::cost::analyzeModel(g);
//   joule::cost::TargetProfile board = joule::cost::loadTarget("stm32l4r5");
//   joule::cost::ModelEstimate e = joule::cost::estimateModel(stats, board, {.precision = Precision::Int8});
//   // e.target == "stm32l4r5", e.latencyMs, *e.energyUj, e.memory.arenaBytes, e.fit.fits()
//
// Every result names the profile it came from. On a target with several clusters (big.LITTLE, GAP8) each
// layer is costed on every cluster and assigned by the energy-optimal mapping, under
// `latencyBudgetMs` when given (cost/cluster_mapping.h). Measurements on this machine come from
// cost/host_profiler.h and fill the same structure with `measured = true`.

#include "cost/cluster_mapping.h"
#include "cost/layer_stats.h"
#include "cost/target_profile.h"
#include "runtime/memory_planner.h"

#include <optional>
#include <string>
#include <vector>

namespace joule::cost {

struct EstimateOptions {
    // Data type of every quantizable layer; nullopt = the model's own (int8 when a MAC layer stores
    // integer weights, else fp32). Layers whose weights are stored as integers keep their type.
    std::optional<Precision> precision;
    std::optional<double> latencyBudgetMs;   // multi-cluster targets
    int budgetBuckets = 2000;
};

struct LayerCost {
    double cycles = 0.0;
    double latencyMs = 0.0;
    double energyUj = 0.0;
    double fetchedWeightBytes = 0.0;   // weight bytes streamed from weight memory
    Precision kernelPrecision = Precision::Fp32;   // profile entry used (int4 falls back to int8)
};

struct LayerEstimate {
    size_t layer = 0;                  // index into ModelStats::layers
    std::string name;
    std::string op;
    KernelClass kernelClass = KernelClass::Other;
    int64_t macs = 0;
    Precision precision = Precision::Fp32;   // the layer's data type
    int64_t flashBytes = 0;            // weights + bias + requantization data (§3.4)
    bool approximated = false;         // op outside the cost table, costed as element-wise
    int fusedInto = -1;                // layer index (free)
    std::vector<LayerCost> perCluster; // indexed like TargetProfile::clusters
    int cluster = 0;                   // where the mapping runs it
    double cycles = 0.0;               // on that cluster
    double latencyMs = 0.0;
    std::optional<double> energyUj;    // nullopt when measured (no energy counter)
    double switchMs = 0.0;             // moving execution into `cluster` before this layer
    double switchUj = 0.0;
};

struct MemoryEstimate {
    int64_t arenaBytes = 0;            // greedy placement, 16-byte aligned buffers
    int64_t arenaLowerBoundBytes = 0;  // largest sum of live buffers at one step
    int64_t flashBytes = 0;            // Σ layer flash bytes (runtime code not included)
    std::vector<rt::BufferRequest> buffers;   // one per alias group of ModelStats::values
    std::vector<int> bufferOfValue;    // ModelStats::values index -> buffers index
    rt::MemoryPlan plan;
};

struct FitCheck {
    int64_t flashNeeded = 0, flashAvailable = 0;
    int64_t ramNeeded = 0, ramAvailable = 0;
    bool flashFits() const { return flashNeeded <= flashAvailable; }
    bool ramFits() const { return ramNeeded <= ramAvailable; }
    bool fits() const { return flashFits() && ramFits(); }
};

struct ClusterTotals {
    std::string cluster;
    double latencyMs = 0.0;
    double energyUj = 0.0;
};

struct MappingSummary {
    std::optional<double> budgetMs;
    bool meetsBudget = true;
    std::string method;                // "min-energy", "exact-dp", "min-latency"
    int switches = 0;
    std::vector<int> layersOnCluster;  // count per cluster
    std::vector<ClusterTotals> allOn;  // every layer on one cluster
};

struct ModelEstimate {
    std::string target;                // profile id, or "host"
    std::string targetName;
    Precision precision = Precision::Fp32;
    bool measured = false;             // true: latency measured on this machine, not estimated
    std::string measuredOn;            // CPU model when measured
    int threads = 1;                   // when measured
    int runs = 0;                      // when measured
    int64_t macs = 0;
    double cycles = 0.0;
    double latencyMs = 0.0;
    std::optional<double> energyUj;
    MemoryEstimate memory;
    FitCheck fit;
    std::vector<LayerEstimate> layers;
    std::optional<MappingSummary> mapping;   // multi-cluster targets
};

// The model's own precision: int8 if a MAC layer stores int8 weights, int4 if only int4, else fp32.
Precision modelPrecision(const ModelStats& stats);
// Data type a layer runs at when the model is costed at `requested`.
Precision layerPrecision(const LayerStats& layer, Precision requested);
// Flash bytes of one layer at that data type (§3.4); 0 for free layers.
int64_t layerFlashBytes(const LayerStats& layer, Precision precision);
// What a layer is, before any cost: index, name, op, class, MACs, its data type at `requested`
// (layerPrecision), flash bytes and the layer it is fused into. The estimator and the host
// profiler add latency and energy.
LayerEstimate describeLayer(const LayerStats& layer, size_t index, Precision requested);
// Cycles, latency and energy of one layer on one cluster (§4), idle power of the other clusters included.
LayerCost layerCost(const LayerStats& layer, Precision precision, const TargetProfile& target, size_t cluster);
// Activation arena with element sizes of `precision` (floating values take 4 bytes at fp32, 1 at int8/int4).
MemoryEstimate planActivations(const ModelStats& stats, Precision precision);
FitCheck checkFit(const MemoryEstimate& memory, const MemorySpec& spec);

// Throws TargetProfileError when the target has no kernels for the precision (int4 on esp32s3).
ModelEstimate estimateModel(const ModelStats& stats, const TargetProfile& target, const EstimateOptions& options = {});

} // namespace joule::cost
