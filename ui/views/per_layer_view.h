#pragma once
// Per layer: one candidate against the candidate it was derived from, layer by layer. Grouped bars of
// energy, latency or MACs per costed layer (the figures `joule profile --json` prints), and, from the
// quantize plugin's notes, each layer's SQNR and its int4 sensitivity: the accuracy (or SQNR) a layer
// loses with int4 weights against the energy that saves on the target.
//
//   PerLayerView* view = new PerLayerView;
//   view->setCandidate({"c1", graph, stats, estimate, notes}, LayerSide{"baseline", g0, s0, e0, {}}, "stm32l4r5");
//   view->setMetric(Metric::Latency);
//   view->bars();                 // [{"/stem/Conv", 5.2, 7.1}, ...] in the candidate's execution order
//   view->sensitivityPoints();    // [("/stage3/conv2/Conv", -120.4, 0.005), ...]
//   connect(view, &PerLayerView::layerSelected, ...);   // a bar group or a point clicked
//
// A costed layer is one the runtime executes at a cost: not folded, not free, not fused. Layers are
// matched by node name; a parent's layer the candidate lacks comes last.

#include "project/project.h"
#include "cost/estimator.h"
#include "cost/layer_stats.h"
#include "ir/graph.h"
#include "views/node_costs.h"

#include <QJsonObject>
#include <QWidget>

#include <memory>
#include <optional>
#include <tuple>
#include <vector>

class QComboBox;
class QCPBarsGroup;
class QCustomPlot;
class QLabel;
class QSplitter;

namespace joule::ui {

struct LayerSide {                       // one candidate as the view needs it
    QString label;
    std::shared_ptr<const Graph> graph;
    std::shared_ptr<const cost::ModelStats> stats;
    cost::ModelEstimate estimate;        // on the view's target
    QJsonObject notes;                   // the plugin's report (may be empty)
};

// A candidate of `project` as the view shows it, estimated on `target` (throws what Project throws).
LayerSide layerSide(const Project& project, const CandidateInfo& candidate, const QString& target);


class PerLayerView : public QWidget {
    Q_OBJECT
public:
    explicit PerLayerView(QWidget* parent = nullptr);

    // `parent` is the candidate it was derived from (nullopt for a root). `target` is a profile id;
    // both estimates must be on it.
    void setCandidate(const LayerSide& candidate, const std::optional<LayerSide>& parent, const QString& target);
    void clear();
    // Energy, Latency or Macs (Arena is not per layer here and is ignored).
    void setMetric(Metric m);
    Metric metric() const { return metric_; }
    // Marks the layer's bar group and sensitivity point (no signal).
    void selectLayer(const QString& name);

    struct Bar {
        QString layer;
        std::optional<double> candidate, parent;
    };
    std::vector<Bar> bars() const { return bars_; }   // what the bars plot shows now
    QCustomPlot* barsPlot() const { return barsPlot_; }
    QCustomPlot* sqnrPlot() const { return sqnrPlot_; }           // hidden without notes["sqnr"]
    QCustomPlot* sensitivityPlot() const { return sensPlot_; }    // hidden without notes["sensitivity"]
    // (layer, energy saved in µJ with int4 instead of int8 weights, loss as the notes hold it: a fraction
    // of accuracy or dB of SQNR). Empty when the target has no int4 kernels.
    std::vector<std::tuple<QString, double, double>> sensitivityPoints() const { return points_; }
    QString status() const;              // the line under the plots: exact values of the layer pointed at

signals:
    void layerSelected(const QString& name);   // a bar or point clicked

private:
    void refreshBars();
    void showSqnr();
    void showSensitivity();
    void hover(const QString& layer, const QPoint& globalPos);
    QString describe(const QString& layer) const;
    int groupAt(const QPoint& pos) const;
    int pointAt(const QPoint& pos) const;

    Metric metric_ = Metric::Energy;
    std::optional<LayerSide> candidate_, parent_;
    QString target_;
    std::vector<NodeCost> rowsC_, rowsP_;
    std::vector<Bar> bars_;
    struct SqnrBar {
        QString node;
        int bits;                        // of the weights; 0 for a layer without weights
        double db;
    };
    std::vector<SqnrBar> sqnr_;
    double lossScale_ = 1.0;             // loss as plotted: accuracy in points, SQNR in dB
    std::vector<std::tuple<QString, double, double>> points_;
    QString selected_;
    QComboBox* metricBox_;
    QLabel *summary_, *status_;
    QCustomPlot *barsPlot_, *sqnrPlot_, *sensPlot_;
    QCPBarsGroup* barsGroup_;
    QSplitter *split_, *notes_;
};

} // namespace joule::ui
