#pragma once
// The graph view: a model's nodes laid out by Graphviz (graph_layout.h), drawn in a QGraphicsView and
// coloured as a heat map by one metric per node, with a legend. Wheel zooms, drag pans, F fits.
//
//   GraphView* v = new GraphView;
//   v->setGraph(graph);                                   // one item per node
//   v->setNodeValues(energyPerNode, "energy", "µJ");      // NaN = no value (drawn grey)
//   connect(v, &GraphView::nodeSelected, ...);            // a click on a node, or -1 on empty space
//   v->selectNode(3);                                     // from elsewhere: highlights and centres, no signal
//   v->find("Conv");                                      // selects the next node whose name or op contains it
//
// The view never runs a model: metrics come from the caller.

#include "graph/graph_layout.h"

#include <QGraphicsView>
#include <QString>

#include <vector>

class QGraphicsRectItem;

namespace joule::ui {

class GraphView : public QGraphicsView {
    Q_OBJECT
public:
    explicit GraphView(QWidget* parent = nullptr);
    ~GraphView() override;

    // Lays out and draws `graph` (replacing what was shown); selection cleared. Throws what layoutGraph throws.
    void setGraph(const Graph& graph);
    // The same from a layout made elsewhere (layoutGraph() is thread-safe: a job can lay out off the GUI thread).
    void setLayout(const GraphLayout& layout);
    void clear();
    // One value per Graph::nodes() entry (NaN: none); colours the nodes from the smallest to the
    // largest value and shows the legend with `metric` and `unit`. A wrong-sized vector is an error (throws).
    void setNodeValues(const std::vector<double>& values, const QString& metric, const QString& unit);

    int nodeItemCount() const;               // node items in the scene (== nodes of the graph)
    int selectedNode() const { return selected_; }
    // Highlights node `node` (-1 clears) and scrolls it into view; does not emit nodeSelected.
    void selectNode(int node);
    // Selects (and emits nodeSelected for) the first node after the current selection whose name or
    // op type contains `text` (case-insensitive), wrapping around; returns the number of matches.
    int find(const QString& text);
    // The colour a node is drawn with (for tests and the legend).
    QColor nodeColor(int node) const;

public slots:
    void fitAll();
    void zoomIn();
    void zoomOut();

signals:
    void nodeSelected(int node);

protected:
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;   // a click (not a pan) on empty space: -1
    void resizeEvent(QResizeEvent* event) override;         // keeps the initial view until the user zooms
    void keyPressEvent(QKeyEvent* event) override;
    void drawForeground(QPainter* painter, const QRectF& rect) override;   // the legend, fixed in the viewport

private:
    void highlight(int node);   // moves the outline, no scrolling, no signal
    void showStart();           // the whole graph when readable, else its top at a readable zoom

    struct Impl;
    Impl* d_;
    int selected_ = -1;
};

} // namespace joule::ui
