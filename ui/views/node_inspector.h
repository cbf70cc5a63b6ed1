#pragma once
// The inspector: details of the selected node (attributes, input and output shapes, statistics of
// its weights, its costs on the target) or, with no node selected, of the selected candidate.
//
//   inspector->showNode(graph, rows[i], "stm32l4r5");
//   inspector->showCandidate(candidate, estimate);

#include "project/project.h"
#include "views/node_costs.h"

#include <QTextBrowser>

namespace joule::ui {

class NodeInspector : public QTextBrowser {
    Q_OBJECT
public:
    explicit NodeInspector(QWidget* parent = nullptr);
    void showNode(const Graph& graph, const NodeCost& cost, const QString& target);
    void showCandidate(const CandidateInfo& candidate, const cost::ModelEstimate* estimate, const QString& target);
    void showNothing();
};

// Statistics of a tensor's values (any numeric type; quantized integers as stored).
struct TensorSummary {
    int64_t elements = 0;
    double min = 0, max = 0, mean = 0, stddev = 0;
    double zeroShare = 0;   // share of exact zeros
};
TensorSummary summarize(const Tensor& t);

} // namespace joule::ui
