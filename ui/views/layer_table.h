#pragma once
// The layer table: one row per graph node (name, op, output shape, parameters, MACs, latency,
// energy, share of the total, precision), sortable by any column and filtered by name or op.
//
//   LayerTable* t = new LayerTable;
//   t->setRows(nodeCosts(graph, stats, estimate), "stm32l4r5");
//   connect(t, &LayerTable::nodeSelected, graphView, &GraphView::selectNode);
//   t->selectNode(4);              // from elsewhere: selects and shows the row, no signal

#include "views/node_costs.h"

#include <QAbstractTableModel>
#include <QWidget>

class QLineEdit;
class QLabel;
class QSortFilterProxyModel;
class QTableView;

namespace joule::ui {

class LayerTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name, Op, OutputShape, Params, Macs, Latency, Energy, Share, Precision, ColumnCount };
    static constexpr int SortRole = Qt::UserRole;   // the raw number (or text) a column sorts by
    static constexpr int NodeRole = Qt::UserRole + 1;

    using QAbstractTableModel::QAbstractTableModel;
    void setRows(std::vector<NodeCost> rows);
    const std::vector<NodeCost>& rows() const { return rows_; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::vector<NodeCost> rows_;
};

class LayerTable : public QWidget {
    Q_OBJECT
public:
    explicit LayerTable(QWidget* parent = nullptr);
    void setRows(std::vector<NodeCost> rows, const QString& target);
    void clear();
    int rowCount() const;                 // rows shown (after the filter)
    QTableView* view() const { return view_; }
    LayerTableModel* model() const { return model_; }
    QLineEdit* filter() const { return filter_; }
    void selectNode(int node);

signals:
    void nodeSelected(int node);

private:
    LayerTableModel* model_;
    QSortFilterProxyModel* proxy_;
    QTableView* view_;
    QLineEdit* filter_;
    QLabel* summary_;
    bool syncing_ = false;
};

// "1.23 M", "456 k", "789" for counts; "12.3 KiB" for bytes.
QString formatCount(double n);
QString formatBytes(double bytes);

} // namespace joule::ui
