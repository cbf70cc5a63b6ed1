#pragma once
// A model's graph laid out top to bottom by Graphviz's `dot` (no layout code of our own), in Qt scene
// coordinates (points, y grows downward).
//
//   joule::ui::GraphLayout l = joule::ui::layoutGraph(graph);
//   for (const auto& n : l.nodes) scene->addRect(n.rect);        // one box per Graph::nodes() entry
//   for (const auto& e : l.edges) scene->addPath(e.path);        // producer -> consumer, Bézier
//
// Graph inputs and outputs are small ellipses (`inputs`, `outputs`); initializers are not drawn (they
// show in the node's details). Throws std::runtime_error when Graphviz fails.

#include "ir/graph.h"

#include <QPainterPath>
#include <QRectF>
#include <QString>

#include <vector>

namespace joule::ui {

struct LaidOutNode {
    int node = -1;          // index into Graph::nodes()
    QRectF rect;
    QString title;          // the op type
    QString subtitle;       // the node name (elided by the view when long)
};

struct LaidOutTerminal {    // a graph input or output
    QString name;
    QRectF rect;
};

struct LaidOutEdge {
    int from = -1, to = -1;   // node indices; -1 = a terminal (graph input or output)
    QString value;            // the tensor the edge carries
    QPainterPath path;        // the spline, ending at the consumer
};

struct GraphLayout {
    std::vector<LaidOutNode> nodes;       // exactly one per Graph::nodes() entry, in that order
    std::vector<LaidOutTerminal> inputs, outputs;
    std::vector<LaidOutEdge> edges;
    QRectF bounds;
};

GraphLayout layoutGraph(const Graph& graph);

} // namespace joule::ui
