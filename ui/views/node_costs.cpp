#include "views/node_costs.h"

#include <cmath>
#include <limits>

namespace joule::ui {

std::vector<NodeCost> nodeCosts(const Graph& graph, const cost::ModelStats& stats, const cost::ModelEstimate& estimate)
{
    const auto& nodes = graph.nodes();
    std::vector<NodeCost> rows(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) {
        NodeCost& r = rows[i];
        r.node = static_cast<int>(i);
        r.name = QString::fromStdString(nodes[i].name.empty() && !nodes[i].outputs.empty() ? nodes[i].outputs[0] : nodes[i].name);
        r.op = QString::fromStdString(nodes[i].opType);
        r.status = "folded to a constant when the graph is prepared";
        for (const std::string& in : nodes[i].inputs)
            if (const Tensor* t = graph.initializer(in)) r.params += t->numel();
        if (!nodes[i].outputs.empty())
            if (const ValueInfo* v = graph.valueInfo(nodes[i].outputs[0]); v && !v->shape.empty())
                r.outputShape = QString::fromStdString(shapeToString(v->shape));
    }
    double totalEnergy = 0.0, totalLatency = 0.0;
    for (const cost::LayerEstimate& l : estimate.layers) {
        totalLatency += l.latencyMs;
        if (l.energyUj) totalEnergy += *l.energyUj;
    }
    // Bytes live at each layer step, from the deployed arena's buffers.
    std::vector<double> live(stats.layers.size(), 0.0);
    for (const auto& b : estimate.memory.buffers)
        for (int s = std::max(0, b.firstStep); s <= b.lastStep && s < static_cast<int>(live.size()); ++s)
            live[static_cast<size_t>(s)] += static_cast<double>(b.bytes);
    const double arena = static_cast<double>(estimate.memory.arenaBytes);

    for (const cost::LayerEstimate& l : estimate.layers) {
        const cost::LayerStats& ls = stats.layers[l.layer];
        if (ls.node < 0 || ls.node >= static_cast<int>(rows.size())) continue;
        NodeCost& r = rows[static_cast<size_t>(ls.node)];
        r.layer = static_cast<int>(l.layer);
        r.status = l.fusedInto >= 0 ? "fused into " + QString::fromStdString(stats.layers[static_cast<size_t>(l.fusedInto)].name)
                                    : QString();
        r.params = ls.params;
        r.macs = l.macs;
        r.flashBytes = l.flashBytes;
        r.cycles = l.cycles;
        r.latencyMs = l.latencyMs;
        r.energyUj = l.energyUj;
        r.precision = cost::precisionName(l.precision);
        r.kernelClass = cost::layerClassName(ls);
        if (!ls.outputShapes.empty()) r.outputShape = QString::fromStdString(shapeToString(ls.outputShapes[0]));
        r.share = totalEnergy > 0 ? (l.energyUj ? *l.energyUj / totalEnergy : 0.0) : (totalLatency > 0 ? l.latencyMs / totalLatency : 0.0);
        r.arenaShare = arena > 0 && l.layer < live.size() ? live[l.layer] / arena : 0.0;
        if (estimate.mapping && static_cast<size_t>(l.cluster) < estimate.mapping->allOn.size())
            r.cluster = QString::fromStdString(estimate.mapping->allOn[static_cast<size_t>(l.cluster)].cluster);
    }
    return rows;
}

QString metricName(Metric m)
{
    switch (m) {
    case Metric::Energy: return "energy";
    case Metric::Latency: return "latency";
    case Metric::Macs: return "MACs";
    case Metric::Arena: return "arena share";
    }
    return {};
}

QString metricUnit(Metric m)
{
    switch (m) {
    case Metric::Energy: return "µJ";
    case Metric::Latency: return "ms";
    case Metric::Macs: return "";
    case Metric::Arena: return "%";
    }
    return {};
}

std::vector<double> metricValues(const std::vector<NodeCost>& rows, Metric m)
{
    const double none = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> out;
    out.reserve(rows.size());
    for (const NodeCost& r : rows) {
        if (r.layer < 0) { out.push_back(none); continue; }
        switch (m) {
        case Metric::Energy: out.push_back(r.energyUj ? *r.energyUj : none); break;
        case Metric::Latency: out.push_back(r.latencyMs); break;
        case Metric::Macs: out.push_back(static_cast<double>(r.macs)); break;
        case Metric::Arena: out.push_back(100.0 * r.arenaShare); break;
        }
    }
    return out;
}

} // namespace joule::ui
