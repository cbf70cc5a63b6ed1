#pragma once
// Trade-off: every stored candidate as a point over two metrics, coloured by plugin, with the Pareto
// front that `joule pareto --x X --y Y` prints (store::paretoFront) drawn as a step line, budgets as
// dashed lines (a candidate beyond one is greyed), and a live marker for the per-input view's what-if.
//
//   TradeoffView* view = new TradeoffView;
//   view->setProject(&project);                           // the stored candidates (storeId > 0)
//   view->setAxes("flash_bytes", "accuracy");             // any of store::metricNames()
//   view->setBudget(Budget{"flash_bytes", 256 * 1024}, std::nullopt);
//   view->frontKeys();                                     // {"1/baseline", "3/c1", ...} ordered by x from best
//   view->setLivePoint(QPointF(3451.0, 0.93), "cascade at 0.885");   // in the axes' metrics, as stored
//   connect(view, &TradeoffView::candidateSelected, ...);  // a point clicked
//   view->exportCsv("points.csv");                        // throws ProjectError naming the file
//
// Metrics are stored in their own units (accuracy a fraction, bytes, µJ) and plotted in the units of
// the axis labels: accuracy in %, bytes in KiB, MACs in millions. A candidate without a value of an
// axis' metric (no energy on a measured target) is not plotted, as joule pareto leaves it out. A
// budget bounds its metric from the bad side: at most for a minimized one, at least for accuracy.
// Pointing at a point shows its label, plugin, figures and target; the view has its own axis combos,
// budget controls and export buttons.

#include "project/project.h"

#include <QPointF>
#include <QString>
#include <QWidget>

#include <optional>
#include <vector>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;

namespace joule::ui {

struct Budget {
    QString metric;   // one of store::metricNames()
    double limit;     // in the metric's stored unit
};

class TradeoffView : public QWidget {
    Q_OBJECT
public:
    explicit TradeoffView(QWidget* parent = nullptr);

    // Every stored candidate of `project` (kept as a copy; nullptr clears the view).
    void setProject(const Project* project);
    // Metric names of store::metricNames(); x energy_uj and y accuracy until set. Clears the live point.
    void setAxes(const QString& x, const QString& y);
    QString xMetric() const { return x_; }
    QString yMetric() const { return y_; }
    // Two budgets (each on any metric); one on a metric an axis shows is drawn as a dashed line there.
    void setBudget(std::optional<Budget> x, std::optional<Budget> y);
    // A moving marker at `p` (x and y in the current axes' metrics, stored units); nullopt hides it.
    void setLivePoint(std::optional<QPointF> p, const QString& label);
    // Rings the candidate's point (no signal); an empty or unknown key rings none.
    void selectCandidate(const QString& key);
    QString selectedCandidate() const { return selected_; }

    int pointCount() const { return static_cast<int>(points_.size()); }
    std::vector<QString> frontKeys() const;       // the drawn front, ordered by x from best
    std::vector<QString> beyondBudgetKeys() const; // the greyed points, in the project's order
    QCustomPlot* plot() const { return plot_; }
    // savePlot (png, svg or pdf by the extension) and writeCsv: one row per stored candidate with key,
    // label, plugin, every metric (empty where it has none), on_front and fits_budget (empty when a
    // budget's metric has no value). Both throw ProjectError naming the file.
    void exportPlot(const QString& path);
    void exportCsv(const QString& path);

signals:
    void candidateSelected(const QString& key);   // a point clicked

private:
    struct Point {
        size_t candidate;   // in candidates_
        double x, y;        // as stored
        bool onFront = false, beyond = false;
    };
    void refresh();
    void drawBudgets();
    void drawSelection();
    void drawLive();
    void fitLegend();   // the legend as wide as its entries
    void suggestBudget(int slot);   // sets an unset budget's value field from the candidates
    void readBudgetControls();
    void showBudgetControls();
    std::optional<bool> fitsBudgets(const CandidateInfo& c) const;   // nullopt: a budget's metric has no value
    int pointAt(const QPoint& pos) const;
    QString describe(const Point& p) const;

    std::vector<CandidateInfo> candidates_;
    std::vector<Point> points_;
    std::vector<size_t> front_;       // into points_
    QString x_ = "energy_uj", y_ = "accuracy", selected_;
    std::optional<Budget> budgets_[2];
    std::optional<QPointF> live_;
    QString liveLabel_;
    QComboBox *xBox_, *yBox_;
    QCheckBox* budgetOn_[2];
    QComboBox* budgetMetric_[2];
    QDoubleSpinBox* budgetValue_[2];
    QLabel* summary_;
    QCustomPlot* plot_;
};

} // namespace joule::ui
