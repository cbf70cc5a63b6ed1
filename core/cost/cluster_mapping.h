#pragma once
// Which cluster runs which layer (big.LITTLE, GAP8 fabric controller + cluster): docs/cost-model.md §6.
//
//   MappingProblem p;                       // per layer and cluster: latency, energy, cost of switching in
//   p.latencyMs = {{2.0, 5.0}, {3.0, 7.0}};
//   p.energyUj  = {{9.0, 4.0}, {12.0, 6.0}};
//   p.switchMs  = {{0, 0}, {0.03, 0.03}};   // moving into cluster c before layer i (ignored for layer 0)
//   p.switchUj  = {{0, 0}, {1.0, 0.5}};
//   Mapping m = budgetedMapping(p, 9.0);    // least energy with latency <= 9 ms
//   m.cluster == {0, 1}
//
// Pure functions over numbers; the estimator builds the problem from a target profile.

#include <cstddef>
#include <vector>

namespace joule::cost {

struct MappingProblem {
    std::vector<std::vector<double>> latencyMs;   // [layer][cluster]
    std::vector<std::vector<double>> energyUj;    // [layer][cluster]
    std::vector<std::vector<double>> switchMs;    // [layer][cluster]: switch into cluster before the layer
    std::vector<std::vector<double>> switchUj;
    std::size_t layers() const { return latencyMs.size(); }
    std::size_t clusters() const { return latencyMs.empty() ? 0 : latencyMs.front().size(); }
};

struct Mapping {
    std::vector<int> cluster;     // per layer
    double latencyMs = 0.0;       // layers + switches
    double energyUj = 0.0;
    int switches = 0;
    bool meetsBudget = true;
};

// Totals of a given assignment.
Mapping evaluateMapping(const MappingProblem& p, const std::vector<int>& clusters);
// Least energy (ties: least latency), switch costs included. Exact, O(layers x clusters^2).
Mapping minEnergyMapping(const MappingProblem& p);
// Least latency (ties: least energy).
Mapping minLatencyMapping(const MappingProblem& p);
// Least energy subject to latency <= budgetMs: exact DP over (layer, cluster, latency quantized into
// `buckets` steps of budgetMs/buckets, rounded up so the result is always feasible). When nothing
// meets the budget: the least-latency mapping with meetsBudget = false.
Mapping budgetedMapping(const MappingProblem& p, double budgetMs, int buckets = 2000);
// Lagrangian relaxation: minimizes E + lambda*T, bisecting lambda until latency <= budgetMs. Fast, but only
// reaches mappings on the lower convex hull of the (latency, energy) trade-off.
Mapping lagrangianMapping(const MappingProblem& p, double budgetMs);

} // namespace joule::cost
