#pragma once
// Compare: two candidates side by side. A per-layer table (matched by node name) with each one's
// energy, latency and flash and the difference, over the two graph views, whose selections follow
// each other (and the table).
//
//   compare->setProject(&project, "stm32l4r5");
//   compare->compare("model", "1/c1");
//   compare->table()->rowCount();      // one row per node name found in either graph, plus the total

#include "graph/graph_view.h"
#include "project/project.h"
#include "views/node_costs.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QTableWidget;

namespace joule::ui {

class CompareView : public QWidget {
    Q_OBJECT
public:
    enum Column { Layer, Op, EnergyA, EnergyB, EnergyDelta, LatencyA, LatencyB, LatencyDelta, FlashA, FlashB, FlashDelta, ColumnCount };

    explicit CompareView(QWidget* parent = nullptr);
    // Candidates `a` and `b` are shown (keys; empty keeps the current choice where it still exists).
    // The view is brought up to date when it is shown, not while it is hidden.
    void setProject(const Project* project, const QString& target, const QString& a = {}, const QString& b = {});
    void setTarget(const QString& target);
    // Shows candidates `a` and `b` (keys); errors from loading a graph propagate as ProjectError.
    void compare(const QString& a, const QString& b);
    QString left() const;
    QString right() const;

    QTableWidget* table() const { return table_; }
    GraphView* graphA() const { return graphA_; }
    GraphView* graphB() const { return graphB_; }
    // Selects the node named `name` in both graphs and the table.
    void selectName(const QString& name);

signals:
    void failed(const QString& message);

protected:
    void showEvent(QShowEvent* event) override;

private:
    void refresh();            // now if visible, else when shown
    void rebuild();
    const Project* project_ = nullptr;
    QString target_;
    QComboBox *a_, *b_;
    QLabel* summary_;
    QTableWidget* table_;
    GraphView *graphA_, *graphB_;
    std::vector<NodeCost> rowsA_, rowsB_;
    const Graph* shownA_ = nullptr;
    const Graph* shownB_ = nullptr;
    bool syncing_ = false;
    bool stale_ = false;
};

} // namespace joule::ui
