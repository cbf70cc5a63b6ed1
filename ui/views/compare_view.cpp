#include "views/compare_view.h"

#include "views/layer_table.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>
#include <map>
#include <optional>

namespace joule::ui {

namespace {

// A cell that sorts by its number, not its text.
class NumberItem : public QTableWidgetItem {
public:
    NumberItem(std::optional<double> value, const QString& text) : QTableWidgetItem(text), value_(value)
    {
        setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }
    bool operator<(const QTableWidgetItem& other) const override
    {
        const auto* o = dynamic_cast<const NumberItem*>(&other);
        if (!o) return QTableWidgetItem::operator<(other);
        return value_.value_or(-INFINITY) < o->value_.value_or(-INFINITY);
    }

private:
    std::optional<double> value_;
};

QString number(std::optional<double> v, int decimals) { return v ? QString::number(*v, 'f', decimals) : QString("—"); }

QString delta(std::optional<double> a, std::optional<double> b, int decimals)
{
    if (!a || !b) return "—";
    const double d = *b - *a;
    QString text = (d > 0 ? "+" : "") + QString::number(d, 'f', decimals);
    if (*a != 0) text += QString(" (%1%2 %)").arg(d > 0 ? "+" : "").arg(100.0 * d / *a, 0, 'f', 1);
    return text;
}

} // namespace

CompareView::CompareView(QWidget* parent) : QWidget(parent)
{
    a_ = new QComboBox;
    b_ = new QComboBox;
    a_->setObjectName("compareA");
    b_->setObjectName("compareB");
    a_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    b_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    summary_ = new QLabel;
    summary_->setWordWrap(true);
    table_ = new QTableWidget(0, ColumnCount);
    table_->setHorizontalHeaderLabels({tr("Layer"), tr("Op"), tr("Energy A (µJ)"), tr("Energy B (µJ)"), tr("Δ energy"),
                                       tr("Latency A (ms)"), tr("Latency B (ms)"), tr("Δ latency"), tr("Flash A"),
                                       tr("Flash B"), tr("Δ flash (B)")});
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->verticalHeader()->setVisible(false);
    table_->verticalHeader()->setDefaultSectionSize(22);
    table_->setAlternatingRowColors(true);
    graphA_ = new GraphView;
    graphB_ = new GraphView;

    auto* pick = new QHBoxLayout;
    pick->addWidget(new QLabel(tr("A")));
    pick->addWidget(a_, 1);
    pick->addSpacing(12);
    pick->addWidget(new QLabel(tr("B")));
    pick->addWidget(b_, 1);
    auto* graphs = new QSplitter(Qt::Horizontal);
    graphs->addWidget(graphA_);
    graphs->addWidget(graphB_);
    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(table_);
    split->addWidget(graphs);
    split->setSizes({400, 600});
    graphs->setSizes({500, 500});
    graphs->setChildrenCollapsible(false);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(pick);
    layout->addWidget(summary_);
    layout->addWidget(split, 1);

    connect(a_, &QComboBox::currentIndexChanged, this, &CompareView::refresh);
    connect(b_, &QComboBox::currentIndexChanged, this, &CompareView::refresh);
    auto nameOf = [](const std::vector<NodeCost>& rows, int node) {
        return node >= 0 && node < static_cast<int>(rows.size()) ? rows[static_cast<size_t>(node)].name : QString();
    };
    connect(graphA_, &GraphView::nodeSelected, this, [=, this](int node) { selectName(nameOf(rowsA_, node)); });
    connect(graphB_, &GraphView::nodeSelected, this, [=, this](int node) { selectName(nameOf(rowsB_, node)); });
    connect(table_, &QTableWidget::currentCellChanged, this, [this](int row) {
        if (syncing_ || row < 0) return;
        if (QTableWidgetItem* item = table_->item(row, Layer)) selectName(item->data(Qt::UserRole).toString());
    });
}

void CompareView::setProject(const Project* project, const QString& target, const QString& a, const QString& b)
{
    project_ = project;
    target_ = target;
    const QString oldA = a.isEmpty() ? left() : a, oldB = b.isEmpty() ? right() : b;
    const QSignalBlocker ba(a_), bb(b_);
    a_->clear();
    b_->clear();
    if (project)
        for (const CandidateInfo& c : project->candidates()) {
            const QString text = c.cid == "model" ? c.label : QString("%1 · %2").arg(c.key, c.label);
            a_->addItem(text, c.key);
            b_->addItem(text, c.key);
        }
    const int ia = a_->findData(oldA), ib = b_->findData(oldB);
    a_->setCurrentIndex(ia >= 0 ? ia : 0);
    b_->setCurrentIndex(ib >= 0 ? ib : std::min(1, b_->count() - 1));
    shownA_ = shownB_ = nullptr;
    refresh();
}

void CompareView::setTarget(const QString& target)
{
    target_ = target;
    refresh();
}

QString CompareView::left() const { return a_->currentData().toString(); }
QString CompareView::right() const { return b_->currentData().toString(); }

void CompareView::compare(const QString& a, const QString& b)
{
    const QSignalBlocker ba(a_), bb(b_);
    a_->setCurrentIndex(a_->findData(a));
    b_->setCurrentIndex(b_->findData(b));
    refresh();
}

void CompareView::refresh()
{
    if (!isVisible()) {
        stale_ = true;
        return;
    }
    rebuild();
}

void CompareView::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    if (stale_) rebuild();
}

void CompareView::rebuild()
{
    stale_ = false;
    table_->setSortingEnabled(false);
    table_->setRowCount(0);
    rowsA_.clear();
    rowsB_.clear();
    const CandidateInfo* ca = project_ ? project_->find(left()) : nullptr;
    const CandidateInfo* cb = project_ ? project_->find(right()) : nullptr;
    if (!ca || !cb || target_.isEmpty()) {
        graphA_->clear();
        graphB_->clear();
        shownA_ = shownB_ = nullptr;
        summary_->setText(project_ ? tr("Choose two candidates.") : QString());
        return;
    }
    cost::ModelEstimate ea, eb;
    try {
        const LoadedGraph& ga = project_->graph(*ca);
        const LoadedGraph& gb = project_->graph(*cb);
        ea = project_->estimate(*ca, target_);
        eb = project_->estimate(*cb, target_);
        rowsA_ = nodeCosts(*ga.graph, *ga.stats, ea);
        rowsB_ = nodeCosts(*gb.graph, *gb.stats, eb);
        if (shownA_ != ga.graph.get()) { graphA_->setLayout(*ga.layout); shownA_ = ga.graph.get(); }
        if (shownB_ != gb.graph.get()) { graphB_->setLayout(*gb.layout); shownB_ = gb.graph.get(); }
    } catch (const std::exception& e) {
        summary_->setText(QString::fromUtf8(e.what()));
        emit failed(QString::fromUtf8(e.what()));
        return;
    }
    graphA_->setNodeValues(metricValues(rowsA_, Metric::Energy), "energy A", "µJ");
    graphB_->setNodeValues(metricValues(rowsB_, Metric::Energy), "energy B", "µJ");

    // Rows: A's nodes in order, then B's that A lacks; costs summed per name (a name is unique in practice).
    std::vector<QString> names;
    std::map<QString, std::pair<const NodeCost*, const NodeCost*>> byName;
    for (const NodeCost& r : rowsA_) {
        if (!byName.count(r.name)) names.push_back(r.name);
        byName[r.name].first = &r;
    }
    for (const NodeCost& r : rowsB_) {
        if (!byName.count(r.name)) names.push_back(r.name);
        byName[r.name].second = &r;
    }
    auto energy = [](const NodeCost* r) { return r && r->layer >= 0 ? r->energyUj : std::nullopt; };
    auto latency = [](const NodeCost* r) { return r && r->layer >= 0 ? std::optional<double>(r->latencyMs) : std::nullopt; };
    auto flash = [](const NodeCost* r) { return r && r->layer >= 0 ? std::optional<double>(static_cast<double>(r->flashBytes)) : std::nullopt; };
    auto put = [this](int row, const QString& name, const QString& op, std::optional<double> e1, std::optional<double> e2, std::optional<double> l1, std::optional<double> l2,
                      std::optional<double> f1, std::optional<double> f2) {
        auto* nameItem = new QTableWidgetItem(name);
        nameItem->setData(Qt::UserRole, name);
        table_->setItem(row, Layer, nameItem);
        table_->setItem(row, Op, new QTableWidgetItem(op));
        table_->setItem(row, EnergyA, new NumberItem(e1, number(e1, 3)));
        table_->setItem(row, EnergyB, new NumberItem(e2, number(e2, 3)));
        table_->setItem(row, EnergyDelta, new NumberItem(e1 && e2 ? std::optional(*e2 - *e1) : std::nullopt, delta(e1, e2, 3)));
        table_->setItem(row, LatencyA, new NumberItem(l1, number(l1, 4)));
        table_->setItem(row, LatencyB, new NumberItem(l2, number(l2, 4)));
        table_->setItem(row, LatencyDelta, new NumberItem(l1 && l2 ? std::optional(*l2 - *l1) : std::nullopt, delta(l1, l2, 4)));
        table_->setItem(row, FlashA, new NumberItem(f1, f1 ? formatBytes(*f1) : "—"));
        table_->setItem(row, FlashB, new NumberItem(f2, f2 ? formatBytes(*f2) : "—"));
        table_->setItem(row, FlashDelta, new NumberItem(f1 && f2 ? std::optional(*f2 - *f1) : std::nullopt,
                                                        f1 && f2 ? (*f2 >= *f1 ? "+" : "−") + formatBytes(std::abs(*f2 - *f1)) : "—"));
        const bool differs = e1 && e2 && std::abs(*e2 - *e1) > 1e-12;
        if (differs)
            table_->item(row, EnergyDelta)->setForeground(*e2 < *e1 ? QColor("#1a7f37") : QColor("#c62828"));
    };
    table_->setRowCount(static_cast<int>(names.size()) + 1);
    const auto total = [](const cost::ModelEstimate& e) { return e.energyUj; };
    put(0, tr("(total)"), QString(), total(ea), total(eb), ea.latencyMs, eb.latencyMs,
        static_cast<double>(ea.memory.flashBytes), static_cast<double>(eb.memory.flashBytes));
    QFont bold = table_->font();
    bold.setBold(true);
    for (int c = 0; c < ColumnCount; ++c) table_->item(0, c)->setFont(bold);
    for (size_t i = 0; i < names.size(); ++i) {
        const auto [a, b] = byName[names[i]];
        const QString op = a ? a->op : b->op;
        put(static_cast<int>(i) + 1, names[i], op, energy(a), energy(b), latency(a), latency(b), flash(a), flash(b));
    }
    table_->resizeColumnsToContents();
    table_->setColumnWidth(Layer, std::min(table_->columnWidth(Layer), 240));
    summary_->setText(tr("A: %1 — B: %2 · on %3 (estimated) · energy %4 → %5 µJ · arena %6 → %7")
                          .arg(ca->label, cb->label, target_, number(ea.energyUj, 2), number(eb.energyUj, 2),
                               formatBytes(static_cast<double>(ea.memory.arenaBytes)), formatBytes(static_cast<double>(eb.memory.arenaBytes))));
}

void CompareView::selectName(const QString& name)
{
    if (syncing_) return;
    syncing_ = true;
    auto indexOf = [&](const std::vector<NodeCost>& rows) {
        for (const NodeCost& r : rows)
            if (r.name == name) return r.node;
        return -1;
    };
    graphA_->selectNode(indexOf(rowsA_));
    graphB_->selectNode(indexOf(rowsB_));
    for (int row = 0; row < table_->rowCount(); ++row)
        if (QTableWidgetItem* item = table_->item(row, Layer); item && item->data(Qt::UserRole).toString() == name && row > 0) {
            table_->setCurrentCell(row, Layer);
            table_->scrollToItem(item);
            break;
        }
    syncing_ = false;
}

} // namespace joule::ui
