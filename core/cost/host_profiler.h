#pragma once
// The `host` profile: per-layer latency of our own runtime on this machine, measured, not estimated
// (docs/cost-model.md §7).
//
//   joule::cost::ModelStats stats = joule::cost::analyzeModel(graph);
//   joule::cost::ModelEstimate m = joule::cost::measureOnHost(graph, stats, {.threads = 1, .runs = 20});
//   // m.target == "host", m.measured == true, m.energyUj == nullopt, m.layers[i].latencyMs (median)
//
// A layer's time is the steady-clock time between the observer callback of the previous layer (or the
// start of the run) and its own; per layer the median over runs, for the model the median of the per-run
// sums. Inputs are seeded random values of the model's input shapes (unknown dimensions = 1), as
// `joule bench` uses. Arena and flash follow the same rules as every target, at the model's own precision.

#include "cost/estimator.h"
#include "ir/graph.h"

#include <map>
#include <string>
#include <vector>

namespace joule::cost {

struct HostOptions {
    int threads = 1;
    int runs = 50;
    int warmup = 5;
    std::map<std::string, Shape> inputShapes;   // fixes free input dimensions (the rest = 1)
};

// Throws what Session throws, or std::runtime_error if the executed layers differ from `stats`.
ModelEstimate measureOnHost(const Graph& graph, const ModelStats& stats, const HostOptions& options = {});

// "AMD EPYC 7B13" from /proc/cpuinfo, or "unknown CPU".
std::string hostCpuName();

// The median of measured times (the mean of the middle two for an even count; 0 for none): the one
// statistic that joule bench, the host profile and the benchmarks report.
double median(std::vector<double> values);

} // namespace joule::cost
