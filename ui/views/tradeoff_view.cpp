#include "views/tradeoff_view.h"

#include "plots/plot_export.h"
#include "store/store.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace joule::ui {

namespace {

// How a metric is shown: its name on an axis, the unit plotted and the factor from the stored unit.
struct MetricAxis {
    QString metric, title, unit;
    double scale;
};

const MetricAxis& axisOf(const QString& metric)
{
    static const std::vector<MetricAxis> axes = {
        {"accuracy", TradeoffView::tr("accuracy"), "%", 100.0},
        {"energy_uj", TradeoffView::tr("energy per inference"), "µJ", 1.0},
        {"latency_ms", TradeoffView::tr("latency per inference"), "ms", 1.0},
        {"macs", TradeoffView::tr("MACs"), TradeoffView::tr("millions"), 1e-6},
        {"weight_bytes", TradeoffView::tr("weight memory"), "KiB", 1.0 / 1024},
        {"flash_bytes", TradeoffView::tr("flash"), "KiB", 1.0 / 1024},
        {"arena_bytes", TradeoffView::tr("arena"), "KiB", 1.0 / 1024},
    };
    for (const MetricAxis& a : axes)
        if (a.metric == metric) return a;
    store::StoredCandidate{}.metric(metric);   // throws naming the metric and the known ones
    return axes.front();
}

const QColor kBaseline("#7d8794");
const QColor kBeyond("#d3d8de");
const QColor kFront("#1d2733");
const QColor kLive("#e07b39");
const QColor kPalette[] = {QColor("#2f6db5"), QColor("#3a9d5d"), QColor("#8e5ac8"), QColor("#c8423b"), QColor("#1b9aaa"), QColor("#b58a1b")};
const char* const kBudgetItem = "budget";
const char* const kSelection = "selection";
const char* const kLiveGraph = "live";

// "92.65 %", "3451.0 µJ", "77.41 ms", "3,467,840 MACs", "75.2 KiB".
QString formatted(const QString& metric, double v)
{
    if (metric == "accuracy") return QString::number(100.0 * v, 'f', 2) + " %";
    if (metric == "energy_uj") return QString::number(v, 'f', 1) + " µJ";
    if (metric == "latency_ms") return QString::number(v, 'f', 2) + " ms";
    if (metric == "macs") return QLocale().toString(static_cast<qint64>(v)) + " MACs";
    return QString::number(v / 1024.0, 'f', 1) + " KiB";
}

QString axisLabel(const MetricAxis& a) { return QString("%1 (%2)").arg(a.title, a.unit); }

// "1 candidate", "8 candidates".
QString counted(qsizetype n, const QString& one, const QString& many) { return QString::number(n) + " " + (n == 1 ? one : many); }

QString exact(double v) { return QString::number(v, 'g', QLocale::FloatingPointShortest); }

// Beyond the budget: above it for a minimized metric, below it for a maximized one.
bool beyond(const Budget& b, double v) { return store::maximizedByDefault(b.metric) ? v < b.limit : v > b.limit; }

QString budgetText(const Budget& b)
{
    const MetricAxis& a = axisOf(b.metric);
    return QString("%1 %2 %3 %4")
        .arg(a.title, store::maximizedByDefault(b.metric) ? "≥" : "≤", QString::number(b.limit * a.scale, 'g', 6), a.unit);
}

// [lo, hi] of `values` with a margin, never empty.
QCPRange padded(const std::vector<double>& values)
{
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    const double span = *hi - *lo, pad = span > 0 ? 0.08 * span : std::max(std::abs(*lo) * 0.05, 1.0);
    return QCPRange(*lo - pad, *hi + pad);
}

} // namespace

TradeoffView::TradeoffView(QWidget* parent) : QWidget(parent)
{
    xBox_ = new QComboBox;
    xBox_->setObjectName("tradeoffX");
    yBox_ = new QComboBox;
    yBox_->setObjectName("tradeoffY");
    for (QComboBox* box : {xBox_, yBox_})
        for (const QString& m : store::metricNames()) box->addItem(axisLabel(axisOf(m)), m);
    xBox_->setCurrentIndex(xBox_->findData(x_));   // the default axes, before any signal is connected
    yBox_->setCurrentIndex(yBox_->findData(y_));
    summary_ = new QLabel;
    summary_->setObjectName("tradeoffSummary");
    auto* plotButton = new QPushButton(tr("Export plot…"));
    plotButton->setObjectName("tradeoffExportPlot");
    auto* csvButton = new QPushButton(tr("Export CSV…"));
    csvButton->setObjectName("tradeoffExportCsv");

    plot_ = new QCustomPlot;
    plot_->setObjectName("tradeoffPlot");
    plot_->setMinimumSize(420, 300);
    plot_->setAntialiasedElements(QCP::aeAll);
    plot_->plotLayout()->insertRow(0);
    QFont bold = plot_->font();
    bold.setBold(true);
    plot_->plotLayout()->addElement(0, 0, new QCPTextElement(plot_, QString(), bold));
    for (QCPAxis* a : {plot_->xAxis, plot_->yAxis}) {
        a->grid()->setPen(QPen(QColor(0, 0, 0, 30), 1, Qt::DotLine));
        a->grid()->setZeroLinePen(Qt::NoPen);
        a->setSubTicks(false);
        a->setBasePen(QPen(QColor("#667080")));
        a->setTickPen(QPen(QColor("#667080")));
        a->setTickLabelColor(QColor("#333a44"));
        a->setLabelColor(QColor("#333a44"));
    }
    QFont legendFont = plot_->font();
    legendFont.setPointSizeF(legendFont.pointSizeF() * 0.9);
    plot_->legend->setFont(legendFont);
    plot_->legend->setBrush(QColor(255, 255, 255, 225));
    plot_->legend->setBorderPen(Qt::NoPen);
    // The legend in one row under the title, clear of the points, centred between two spacers (fitLegend).
    plot_->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    plot_->legend->setSizeConstraintRect(QCPLayoutElement::scrOuterRect);
    auto* legendRow = new QCPLayoutGrid;
    plot_->plotLayout()->insertRow(1);
    plot_->plotLayout()->addElement(1, 0, legendRow);
    plot_->plotLayout()->setRowStretchFactor(1, 0.001);
    legendRow->addElement(0, 0, new QCPLayoutElement(plot_));
    legendRow->addElement(0, 1, plot_->legend);
    legendRow->addElement(0, 2, new QCPLayoutElement(plot_));

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("x")));
    top->addWidget(xBox_);
    top->addSpacing(8);
    top->addWidget(new QLabel(tr("y")));
    top->addWidget(yBox_);
    top->addSpacing(12);
    top->addWidget(summary_, 1);
    top->addWidget(plotButton);
    top->addWidget(csvButton);

    auto* budgets = new QHBoxLayout;
    for (int i = 0; i < 2; ++i) {
        budgetOn_[i] = new QCheckBox(i == 0 ? tr("Budget") : tr("and"));
        budgetOn_[i]->setObjectName(QString("tradeoffBudgetOn%1").arg(i));
        budgetMetric_[i] = new QComboBox;
        budgetMetric_[i]->setObjectName(QString("tradeoffBudgetMetric%1").arg(i));
        for (const QString& m : store::metricNames()) budgetMetric_[i]->addItem(axisOf(m).title, m);
        budgetValue_[i] = new QDoubleSpinBox;
        budgetValue_[i]->setObjectName(QString("tradeoffBudgetValue%1").arg(i));
        budgetValue_[i]->setRange(0, 1e15);
        budgetValue_[i]->setDecimals(2);
        budgetValue_[i]->setStepType(QAbstractSpinBox::AdaptiveDecimalStepType);
        budgetValue_[i]->setMinimumWidth(130);
        budgets->addWidget(budgetOn_[i]);
        budgets->addWidget(budgetMetric_[i]);
        budgets->addWidget(budgetValue_[i]);
        budgets->addSpacing(16);
    }
    budgetMetric_[0]->setCurrentIndex(budgetMetric_[0]->findData(x_));
    budgetMetric_[1]->setCurrentIndex(budgetMetric_[1]->findData(y_));
    budgets->addStretch(1);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(plot_, 1);
    layout->addLayout(budgets);

    connect(xBox_, &QComboBox::currentIndexChanged, this, [this] { setAxes(xBox_->currentData().toString(), y_); });
    connect(yBox_, &QComboBox::currentIndexChanged, this, [this] { setAxes(x_, yBox_->currentData().toString()); });
    for (int i = 0; i < 2; ++i) {
        connect(budgetOn_[i], &QCheckBox::toggled, this, [this] { readBudgetControls(); });
        connect(budgetValue_[i], &QDoubleSpinBox::valueChanged, this, [this] { readBudgetControls(); });
        connect(budgetMetric_[i], &QComboBox::currentIndexChanged, this, [this, i] {
            suggestBudget(i);
            showBudgetControls();
            readBudgetControls();
        });
    }
    connect(plotButton, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export the plot"), "tradeoff.png", plotFileFilters().join(";;"));
        if (path.isEmpty()) return;
        try {
            exportPlot(path);
        } catch (const ProjectError& e) {
            QMessageBox::warning(this, tr("Export the plot"), QString::fromUtf8(e.what()));
        }
    });
    connect(csvButton, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export the candidates"), "tradeoff.csv", tr("CSV table (*.csv)"));
        if (path.isEmpty()) return;
        try {
            exportCsv(path);
        } catch (const ProjectError& e) {
            QMessageBox::warning(this, tr("Export the candidates"), QString::fromUtf8(e.what()));
        }
    });

    // Hover shows a candidate's figures; a click selects it.
    plot_->setMouseTracking(true);
    connect(plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
        const int i = pointAt(e->position().toPoint());
        if (i < 0) QToolTip::hideText();
        else QToolTip::showText(e->globalPosition().toPoint(), describe(points_[static_cast<size_t>(i)]), plot_);
    });
    connect(plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
        const int i = pointAt(e->position().toPoint());
        if (i < 0) return;
        const QString key = candidates_[points_[static_cast<size_t>(i)].candidate].key;
        selectCandidate(key);
        emit candidateSelected(key);
    });
    showBudgetControls();
    refresh();
}

void TradeoffView::setProject(const Project* project)
{
    candidates_.clear();
    if (project)
        for (const CandidateInfo& c : project->candidates())
            if (c.storeId > 0) candidates_.push_back(c);
    for (int i = 0; i < 2; ++i)
        if (!budgets_[i]) suggestBudget(i);
    refresh();
}

void TradeoffView::setAxes(const QString& x, const QString& y)
{
    axisOf(x);   // throws for a name that is not a metric
    axisOf(y);
    x_ = x;
    y_ = y;
    for (auto [box, m] : {std::pair{xBox_, x}, std::pair{yBox_, y}}) {
        const QSignalBlocker block(box);
        box->setCurrentIndex(box->findData(m));
    }
    live_.reset();
    refresh();
}

void TradeoffView::setBudget(std::optional<Budget> x, std::optional<Budget> y)
{
    for (const auto& b : {x, y})
        if (b) axisOf(b->metric);
    budgets_[0] = std::move(x);
    budgets_[1] = std::move(y);
    showBudgetControls();
    refresh();
}

void TradeoffView::setLivePoint(std::optional<QPointF> p, const QString& label)
{
    live_ = p;
    liveLabel_ = label;
    drawLive();
    replotIfSized(plot_);
}

void TradeoffView::selectCandidate(const QString& key)
{
    selected_ = key;
    drawSelection();
    replotIfSized(plot_);
}

std::vector<QString> TradeoffView::frontKeys() const
{
    std::vector<QString> keys;
    for (size_t i : front_) keys.push_back(candidates_[points_[i].candidate].key);
    return keys;
}

std::vector<QString> TradeoffView::beyondBudgetKeys() const
{
    std::vector<QString> keys;
    for (const Point& p : points_)
        if (p.beyond) keys.push_back(candidates_[p.candidate].key);
    return keys;
}

void TradeoffView::exportPlot(const QString& path) { savePlot(plot_, path); }

void TradeoffView::exportCsv(const QString& path)
{
    QStringList header{"key", "label", "plugin"};
    for (const QString& m : store::metricNames()) header << m;
    header << "on_front" << "fits_budget";
    std::set<size_t> onFront;
    for (size_t i : front_) onFront.insert(points_[i].candidate);
    std::vector<QStringList> rows;
    for (size_t i = 0; i < candidates_.size(); ++i) {
        const CandidateInfo& c = candidates_[i];
        QStringList row{c.key, c.label, c.plugin};
        for (const QString& m : store::metricNames()) {
            const auto it = c.metrics.find(m);
            row << (it != c.metrics.end() ? exact(it->second) : QString());
        }
        const std::optional<bool> fits = fitsBudgets(c);
        row << (onFront.count(i) ? "true" : "false") << (fits ? (*fits ? "true" : "false") : QString());
        rows.push_back(row);
    }
    writeCsv(path, header, rows);
}

std::optional<bool> TradeoffView::fitsBudgets(const CandidateInfo& c) const
{
    bool fits = true;
    for (const auto& b : budgets_) {
        if (!b) continue;
        const auto it = c.metrics.find(b->metric);
        if (it == c.metrics.end()) return std::nullopt;
        fits = fits && !beyond(*b, it->second);
    }
    return fits;
}

void TradeoffView::suggestBudget(int slot)
{
    // The median over the candidates, so a budget switched on shows at once.
    const QString m = budgetMetric_[slot]->currentData().toString();
    std::vector<double> values;
    for (const CandidateInfo& c : candidates_)
        if (auto it = c.metrics.find(m); it != c.metrics.end()) values.push_back(it->second);
    if (values.empty()) return;
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2), values.end());
    const QSignalBlocker block(budgetValue_[slot]);
    budgetValue_[slot]->setValue(values[values.size() / 2] * axisOf(m).scale);
}

void TradeoffView::readBudgetControls()
{
    for (int i = 0; i < 2; ++i) {
        if (!budgetOn_[i]->isChecked()) {
            budgets_[i].reset();
            continue;
        }
        const QString m = budgetMetric_[i]->currentData().toString();
        budgets_[i] = Budget{m, budgetValue_[i]->value() / axisOf(m).scale};
    }
    refresh();
}

void TradeoffView::showBudgetControls()
{
    for (int i = 0; i < 2; ++i) {
        const QSignalBlocker b1(budgetOn_[i]), b2(budgetMetric_[i]), b3(budgetValue_[i]);
        budgetOn_[i]->setChecked(budgets_[i].has_value());
        if (budgets_[i]) {
            budgetMetric_[i]->setCurrentIndex(budgetMetric_[i]->findData(budgets_[i]->metric));
            budgetValue_[i]->setValue(budgets_[i]->limit * axisOf(budgets_[i]->metric).scale);
        }
        const QString m = budgetMetric_[i]->currentData().toString();
        budgetValue_[i]->setPrefix(store::maximizedByDefault(m) ? "≥ " : "≤ ");
        budgetValue_[i]->setSuffix(" " + axisOf(m).unit);
    }
}

void TradeoffView::refresh()
{
    plot_->clearGraphs();
    plot_->clearItems();
    points_.clear();
    front_.clear();
    const MetricAxis &ax = axisOf(x_), &ay = axisOf(y_);

    // The points, in the project's (the store's) order: the front's ties then fall as joule pareto's.
    std::vector<store::MetricPoint> metricPoints;
    std::set<QString> targets;
    for (size_t i = 0; i < candidates_.size(); ++i) {
        const CandidateInfo& c = candidates_[i];
        const auto x = c.metrics.find(x_), y = c.metrics.find(y_);
        if (x == c.metrics.end() || y == c.metrics.end()) continue;
        metricPoints.push_back({static_cast<int64_t>(points_.size()), x->second, y->second});
        points_.push_back({i, x->second, y->second, false, fitsBudgets(c) == false});
        targets.insert(c.runTarget);
    }
    const bool maxX = store::maximizedByDefault(x_), maxY = store::maximizedByDefault(y_);
    for (const store::MetricPoint& p : store::paretoFront(metricPoints, maxX, maxY)) {
        front_.push_back(static_cast<size_t>(p.id));
        points_[static_cast<size_t>(p.id)].onFront = true;
    }

    // Energy and latency are the run's estimate on its target; name it when all runs share one.
    auto label = [&](const MetricAxis& a) {
        QString text = axisLabel(a);
        if ((a.metric == "energy_uj" || a.metric == "latency_ms") && targets.size() == 1)
            text = QString("%1 (%2, on %3)").arg(a.title, a.unit, *targets.begin());
        return text;
    };
    plot_->xAxis->setLabel(label(ax));
    plot_->yAxis->setLabel(label(ay));
    auto* title = qobject_cast<QCPTextElement*>(plot_->plotLayout()->element(0, 0));
    QString heading = tr("%1 against %2").arg(ay.title, ax.title);
    title->setText(heading.replace(0, 1, heading[0].toUpper()));

    if (points_.empty()) {
        plot_->legend->setVisible(false);
        auto* t = new QCPItemText(plot_);
        t->position->setType(QCPItemPosition::ptAxisRectRatio);
        t->position->setCoords(0.5, 0.45);
        t->setText(candidates_.empty() ? tr("No stored candidates: run joule optimize or joule sweep, or Run here.")
                                       : tr("No stored candidate has both %1 and %2\n(energy is not known for a measured target).")
                                             .arg(ax.title, ay.title));
        t->setColor(QColor("#5b6470"));
        summary_->setText(candidates_.empty() ? QString() : counted(static_cast<qsizetype>(candidates_.size()), tr("stored candidate"), tr("stored candidates")) + tr(", none plotted"));
        plot_->xAxis->setRange(0, 1);
        plot_->yAxis->setRange(0, 1);
        replotIfSized(plot_);
        return;
    }

    // The front first (under the points), as the staircase of what it dominates.
    QCPGraph* front = plot_->addGraph();
    front->setObjectName("front");
    front->setName(tr("Pareto front"));
    front->setLineStyle(maxX ? QCPGraph::lsStepRight : QCPGraph::lsStepLeft);
    front->setPen(QPen(kFront, 1.6));
    for (size_t i : front_) front->addData(points_[i].x * ax.scale, points_[i].y * ay.scale);

    // One series per plugin (baselines first, grey), then what is beyond a budget.
    std::map<QString, std::vector<size_t>> byPlugin;
    std::vector<size_t> greyed;
    for (size_t i = 0; i < points_.size(); ++i)
        (points_[i].beyond ? greyed : byPlugin[candidates_[points_[i].candidate].plugin]).push_back(i);
    auto series = [&](const QString& name, const QString& objectName, const QColor& colour, const std::vector<size_t>& members) {
        QCPGraph* g = plot_->addGraph();
        g->setObjectName(objectName);
        g->setName(name);
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(colour.darker(135), 1.2), colour, 9));
        for (size_t i : members) g->addData(points_[i].x * ax.scale, points_[i].y * ay.scale);
    };
    int colour = 0;
    for (const auto& [plugin, members] : byPlugin)
        series(plugin.isEmpty() ? tr("baseline") : plugin, "points:" + plugin,
               plugin.isEmpty() ? kBaseline : kPalette[colour++ % std::size(kPalette)], members);
    if (!greyed.empty()) series(tr("beyond budget"), "points:beyond-budget", kBeyond, greyed);

    // The ranges hold every point, the budget lines on the axes and the live point.
    std::vector<double> xs, ys;
    for (const Point& p : points_) {
        xs.push_back(p.x * ax.scale);
        ys.push_back(p.y * ay.scale);
    }
    for (const auto& b : budgets_) {
        if (b && b->metric == x_) xs.push_back(b->limit * ax.scale);
        if (b && b->metric == y_) ys.push_back(b->limit * ay.scale);
    }
    if (live_) {
        xs.push_back(live_->x() * ax.scale);
        ys.push_back(live_->y() * ay.scale);
    }
    plot_->xAxis->setRange(padded(xs));
    plot_->yAxis->setRange(padded(ys));
    plot_->legend->setVisible(true);

    QString text = counted(pointCount(), tr("candidate"), tr("candidates")) + " · " + tr("%1 on the front").arg(front_.size());
    if (const qsizetype left = static_cast<qsizetype>(candidates_.size()) - pointCount(); left > 0)
        text += " · " + tr("%1 without %2 or %3").arg(left).arg(ax.title, ay.title);
    if (budgets_[0] || budgets_[1]) text += " · " + tr("%1 beyond budget").arg(greyed.size());
    summary_->setText(text);

    drawBudgets();
    drawSelection();
    drawLive();
    fitLegend();
    replotIfSized(plot_);
}

void TradeoffView::fitLegend() { plot_->legend->setMaximumSize(plot_->legend->minimumOuterSizeHint()); }

void TradeoffView::drawBudgets()
{
    const MetricAxis &ax = axisOf(x_), &ay = axisOf(y_);
    for (const auto& b : budgets_) {
        if (!b) continue;
        for (const bool vertical : {true, false}) {
            if (b->metric != (vertical ? x_ : y_)) continue;
            const double at = b->limit * (vertical ? ax : ay).scale;
            auto* line = new QCPItemStraightLine(plot_);
            line->setObjectName(kBudgetItem);
            line->setLayer("grid");
            line->point1->setCoords(vertical ? at : 0, vertical ? 0 : at);
            line->point2->setCoords(vertical ? at : 1, vertical ? 1 : at);
            line->setPen(QPen(QColor("#c8423b"), 1.4, Qt::DashLine));
            auto* text = new QCPItemText(plot_);
            text->setObjectName(kBudgetItem);
            text->position->setTypeX(vertical ? QCPItemPosition::ptPlotCoords : QCPItemPosition::ptAxisRectRatio);
            text->position->setTypeY(vertical ? QCPItemPosition::ptAxisRectRatio : QCPItemPosition::ptPlotCoords);
            text->position->setCoords(vertical ? at : 0.99, vertical ? 0.01 : at);
            text->setPositionAlignment(vertical ? (Qt::AlignLeft | Qt::AlignTop) : (Qt::AlignRight | Qt::AlignBottom));
            text->setPadding(QMargins(4, 2, 4, 2));
            text->setText(tr("budget: %1").arg(budgetText(*b)));
            text->setColor(QColor("#a3332d"));
        }
    }
}

void TradeoffView::drawSelection()
{
    for (int i = plot_->graphCount() - 1; i >= 0; --i)
        if (plot_->graph(i)->objectName() == kSelection) plot_->removeGraph(i);
    for (const Point& p : points_)
        if (candidates_[p.candidate].key == selected_) {
            QCPGraph* ring = plot_->addGraph();
            ring->setObjectName(kSelection);
            ring->setLineStyle(QCPGraph::lsNone);
            ring->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(kFront, 2), Qt::NoBrush, 17));
            ring->setData({p.x * axisOf(x_).scale}, {p.y * axisOf(y_).scale});
            ring->removeFromLegend();
        }
}

void TradeoffView::drawLive()
{
    for (int i = plot_->graphCount() - 1; i >= 0; --i)
        if (plot_->graph(i)->objectName() == kLiveGraph) plot_->removeGraph(i);
    for (int i = plot_->itemCount() - 1; i >= 0; --i)
        if (plot_->item(i)->objectName() == kLiveGraph) plot_->removeItem(i);
    if (!live_ || points_.empty()) return;
    const double x = live_->x() * axisOf(x_).scale, y = live_->y() * axisOf(y_).scale;
    QCPGraph* g = plot_->addGraph();
    g->setObjectName(kLiveGraph);
    g->setName(liveLabel_.isEmpty() ? tr("what-if") : tr("what-if: %1").arg(liveLabel_));
    g->setLineStyle(QCPGraph::lsNone);
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(kLive.darker(140), 1.4), kLive, 13));
    g->setData({x}, {y});
    fitLegend();
    // Keep the marker inside the ranges as it moves.
    if (!plot_->xAxis->range().contains(x)) plot_->xAxis->setRange(plot_->xAxis->range().expanded(x));
    if (!plot_->yAxis->range().contains(y)) plot_->yAxis->setRange(plot_->yAxis->range().expanded(y));
    if (liveLabel_.isEmpty()) return;
    auto* text = new QCPItemText(plot_);
    text->setObjectName(kLiveGraph);
    text->position->setCoords(x, y);
    text->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    text->setPadding(QMargins(9, 0, 0, 6));
    text->setText(liveLabel_);
    text->setColor(kLive.darker(150));
}

int TradeoffView::pointAt(const QPoint& pos) const
{
    int best = -1;
    double bestDistance = 10.0;   // pixels
    for (size_t i = 0; i < points_.size(); ++i) {
        const double x = plot_->xAxis->coordToPixel(points_[i].x * axisOf(x_).scale);
        const double y = plot_->yAxis->coordToPixel(points_[i].y * axisOf(y_).scale);
        if (const double d = std::hypot(x - pos.x(), y - pos.y()); d < bestDistance) {
            bestDistance = d;
            best = static_cast<int>(i);
        }
    }
    return best;
}

QString TradeoffView::describe(const Point& p) const
{
    const CandidateInfo& c = candidates_[p.candidate];
    QString text = QString("<b>%1</b><br>%2 · %3").arg(c.label.toHtmlEscaped(), c.plugin.isEmpty() ? tr("baseline") : c.plugin.toHtmlEscaped(), c.key);
    QStringList figures;
    for (const QString& m : store::metricNames())
        if (auto it = c.metrics.find(m); it != c.metrics.end()) figures << axisOf(m).title + " " + formatted(m, it->second);
    text += "<br>" + figures.join(", ");
    text += "<br>" + tr("estimated on %1").arg(c.runTarget.toHtmlEscaped());
    if (p.onFront) text += " · " + tr("on the Pareto front");
    if (p.beyond) text += " · " + tr("beyond the budget");
    return text;
}

} // namespace joule::ui
