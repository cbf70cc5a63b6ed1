#pragma once
// A candidate's figures per graph node, as the layer table, the graph's heat map, the inspector and
// the compare view show them (one entry per Graph::nodes() entry, in that order).
//
//   std::vector<NodeCost> rows = nodeCosts(graph, stats, estimate);
//   rows[i].energyUj;                  // on the estimate's target; nullopt on a measured estimate
//   metricValues(rows, Metric::Energy) // for GraphView::setNodeValues
//
// A node the runtime folds to a constant when it prepares the graph (weight dequantization, shape
// arithmetic) is not a layer: it costs nothing and says so in `status`; so does a layer fused into its
// producer.

#include "cost/estimator.h"
#include "cost/layer_stats.h"
#include "ir/graph.h"

#include <QString>

#include <optional>
#include <vector>

namespace joule::ui {

struct NodeCost {
    int node = -1;
    int layer = -1;                 // index into ModelStats::layers, -1 when folded
    QString name, op, outputShape, precision, kernelClass;
    QString status;                 // "" for a costed layer, else why it costs nothing
    int64_t params = 0;
    int64_t macs = 0;
    int64_t flashBytes = 0;
    double cycles = 0.0;
    double latencyMs = 0.0;
    std::optional<double> energyUj;
    double share = 0.0;             // of the model's energy (of its latency when there is no energy)
    double arenaShare = 0.0;        // bytes live while it runs / the arena
    QString cluster;                // multi-cluster targets
};

std::vector<NodeCost> nodeCosts(const Graph& graph, const cost::ModelStats& stats, const cost::ModelEstimate& estimate);

enum class Metric { Energy, Latency, Macs, Arena };
QString metricName(Metric m);       // "energy", "latency", "MACs", "arena share"
QString metricUnit(Metric m);       // "µJ", "ms", "", "%"
std::vector<double> metricValues(const std::vector<NodeCost>& rows, Metric m);   // NaN where it does not apply

} // namespace joule::ui
