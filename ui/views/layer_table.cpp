#include "views/layer_table.h"

#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

#include <cmath>

namespace joule::ui {

QString formatCount(double n)
{
    if (std::abs(n) >= 1e9) return QString::number(n / 1e9, 'f', 2) + " G";
    if (std::abs(n) >= 1e6) return QString::number(n / 1e6, 'f', 2) + " M";
    if (std::abs(n) >= 1e4) return QString::number(n / 1e3, 'f', 1) + " k";
    return QString::number(static_cast<qint64>(std::llround(n)));
}

QString formatBytes(double bytes)
{
    if (std::abs(bytes) >= 1024.0 * 1024.0) return QString::number(bytes / (1024.0 * 1024.0), 'f', 2) + " MiB";
    if (std::abs(bytes) >= 1024.0) return QString::number(bytes / 1024.0, 'f', 1) + " KiB";
    return QString::number(static_cast<qint64>(std::llround(bytes))) + " B";
}

void LayerTableModel::setRows(std::vector<NodeCost> rows)
{
    beginResetModel();
    rows_ = std::move(rows);
    endResetModel();
}

int LayerTableModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(rows_.size()); }
int LayerTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant LayerTableModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= static_cast<int>(rows_.size())) return {};
    const NodeCost& r = rows_[static_cast<size_t>(index.row())];
    const bool costed = r.layer >= 0 && r.status.isEmpty();
    if (role == NodeRole) return r.node;
    if (role == Qt::ToolTipRole) return r.status.isEmpty() ? r.name : r.name + "\n" + r.status;
    if (role == Qt::TextAlignmentRole)
        return index.column() >= Params && index.column() <= Share ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
    if (role == Qt::ForegroundRole && !costed && index.column() >= Macs) return QColor(Qt::gray);
    if (role == SortRole) {
        switch (index.column()) {
        case Name: return r.name;
        case Op: return r.op;
        case OutputShape: return r.outputShape;
        case Params: return static_cast<qlonglong>(r.params);
        case Macs: return static_cast<qlonglong>(r.macs);
        case Latency: return r.latencyMs;
        case Energy: return r.energyUj.value_or(-1.0);
        case Share: return r.share;
        case Precision: return r.precision;
        }
    }
    if (role != Qt::DisplayRole) return {};
    switch (index.column()) {
    case Name: return r.name;
    case Op: return r.op;
    case OutputShape: return r.outputShape;
    case Params: return r.params ? formatCount(static_cast<double>(r.params)) : QString();
    case Macs: return r.layer < 0 ? QString("—") : formatCount(static_cast<double>(r.macs));
    case Latency: return r.layer < 0 ? QString("—") : QString::number(r.latencyMs, 'f', 4);
    case Energy: return r.layer < 0 || !r.energyUj ? QString("—") : QString::number(*r.energyUj, 'f', 3);
    case Share: return r.layer < 0 ? QString("—") : QString::number(100.0 * r.share, 'f', 1) + " %";
    case Precision: return r.layer < 0 ? QString("folded") : !r.status.isEmpty() ? QString("fused") : r.precision;
    }
    return {};
}

QVariant LayerTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
    static const char* names[] = {"Name", "Op", "Output shape", "Params", "MACs", "Latency (ms)", "Energy (µJ)", "Share", "Precision"};
    return section >= 0 && section < ColumnCount ? QString::fromUtf8(names[section]) : QVariant();
}

namespace {

// Filters on name and op together (the filter text is a plain, case-insensitive substring).
class LayerFilter : public QSortFilterProxyModel {
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;
    void setText(const QString& text)
    {
        text_ = text.trimmed();
        invalidateFilter();
    }

protected:
    bool filterAcceptsRow(int row, const QModelIndex& parent) const override
    {
        if (text_.isEmpty()) return true;
        for (int column : {LayerTableModel::Name, LayerTableModel::Op})
            if (sourceModel()->index(row, column, parent).data().toString().contains(text_, Qt::CaseInsensitive)) return true;
        return false;
    }

private:
    QString text_;
};

} // namespace

LayerTable::LayerTable(QWidget* parent) : QWidget(parent)
{
    model_ = new LayerTableModel(this);
    auto* filter = new LayerFilter(this);
    proxy_ = filter;
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(LayerTableModel::SortRole);
    filter_ = new QLineEdit(this);
    filter_->setPlaceholderText(tr("Filter by name or op"));
    filter_->setClearButtonEnabled(true);
    summary_ = new QLabel(this);
    view_ = new QTableView(this);
    view_->setModel(proxy_);
    view_->setSortingEnabled(true);
    view_->sortByColumn(-1, Qt::AscendingOrder);   // execution order until the user sorts
    view_->setSelectionBehavior(QAbstractItemView::SelectRows);
    view_->setSelectionMode(QAbstractItemView::SingleSelection);
    view_->setAlternatingRowColors(true);
    view_->verticalHeader()->setVisible(false);
    view_->verticalHeader()->setDefaultSectionSize(22);
    view_->horizontalHeader()->setStretchLastSection(true);
    view_->setWordWrap(false);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(filter_);
    layout->addWidget(view_, 1);
    layout->addWidget(summary_);
    connect(filter_, &QLineEdit::textChanged, this, [this, filter](const QString& t) {
        filter->setText(t);
        summary_->setText(tr("%1 of %2 nodes").arg(proxy_->rowCount()).arg(model_->rowCount()));
    });
    connect(view_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& current) {
        if (syncing_ || !current.isValid()) return;
        emit nodeSelected(current.data(LayerTableModel::NodeRole).toInt());
    });
}

void LayerTable::setRows(std::vector<NodeCost> rows, const QString& target)
{
    const int selected = view_->currentIndex().isValid() ? view_->currentIndex().data(LayerTableModel::NodeRole).toInt() : -1;
    int64_t macs = 0;
    double energy = 0.0, latency = 0.0;
    bool hasEnergy = false;
    for (const NodeCost& r : rows) {
        macs += r.macs;
        latency += r.latencyMs;
        if (r.energyUj) { energy += *r.energyUj; hasEnergy = true; }
    }
    const int count = static_cast<int>(rows.size());
    model_->setRows(std::move(rows));
    view_->resizeColumnsToContents();
    view_->setColumnWidth(LayerTableModel::Name, std::min(view_->columnWidth(LayerTableModel::Name), 260));
    summary_->setText(tr("%1 nodes · %2 MACs · %3 ms · %4 on %5 (estimated)")
                          .arg(count)
                          .arg(formatCount(static_cast<double>(macs)))
                          .arg(latency, 0, 'f', 3)
                          .arg(hasEnergy ? QString::number(energy, 'f', 2) + " µJ" : tr("no energy model"))
                          .arg(target));
    if (selected >= 0) selectNode(selected);
}

void LayerTable::clear()
{
    model_->setRows({});
    summary_->clear();
}

int LayerTable::rowCount() const { return proxy_->rowCount(); }

void LayerTable::selectNode(int node)
{
    syncing_ = true;
    view_->clearSelection();
    for (int row = 0; row < proxy_->rowCount(); ++row) {
        const QModelIndex i = proxy_->index(row, 0);
        if (i.data(LayerTableModel::NodeRole).toInt() == node) {
            view_->setCurrentIndex(i);
            view_->selectRow(row);
            view_->scrollTo(i);
            break;
        }
    }
    syncing_ = false;
}

} // namespace joule::ui
