#pragma once
// One deployable configuration: the graph(s) it runs, how they are run, and where it came from.
//
//   Candidate base{.id = "baseline", .graphs = {onnx::loadModel("m.onnx")}, .label = "fp32"};
//   // a pass returns new candidates; the runner fills plugin, params and parentId
//
// A plain candidate has one graph and policy {"kind":"plain"}. Candidates own their graphs (values,
// not shared): a pass never modifies its input candidate.

#include "ir/graph.h"

#include <QJsonObject>
#include <QString>
#include <QVariantMap>

#include <vector>

namespace joule::plugin {

struct Candidate {
    QString id;                        // unique within a run, e.g. "c2"
    std::vector<joule::Graph> graphs;  // plain: exactly one
    QJsonObject policy{{"kind", "plain"}};
    QString plugin;                    // the plugin that produced it; empty for the baseline
    QVariantMap params;                // its resolved parameters
    QString parentId;                  // the candidate it was derived from
    QString root = "model";            // the recipe model it derives from: "model" or a name of "models"
    QString label;                     // short human name, e.g. "int8 per-channel, entropy"
    QJsonObject notes;                 // plugin-reported facts, e.g. calibration method, per-layer SQNR
};

} // namespace joule::plugin
