#include "views/per_layer_view.h"

#include "plots/plot_export.h"

#include "cost/target_profile.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QLabel>
#include <QSplitter>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace joule::ui {

LayerSide layerSide(const Project& project, const CandidateInfo& candidate, const QString& target)
{
    const LoadedGraph& g = project.graph(candidate);
    return LayerSide{candidate.label, g.graph, g.stats, project.estimate(candidate, target), candidate.notes};
}


namespace {

const QColor kCandidate("#2f6db5");
const QColor kParent("#b3bcc8");
const QColor kInt4("#e07b39");
const QColor kNoWeights("#9aa5b1");
const QColor kSelected(255, 213, 79, 90);
const char* const kSelection = "selection";   // object name of what marks the selected layer

// The rows of a side that cost something, in execution order.
std::vector<const NodeCost*> costedRows(const LayerSide& side, const std::vector<NodeCost>& rows)
{
    std::vector<const NodeCost*> out;
    for (const cost::LayerEstimate& l : side.estimate.layers) {
        const int node = side.stats->layers[l.layer].node;
        if (node < 0 || node >= static_cast<int>(rows.size())) continue;
        const NodeCost& r = rows[static_cast<size_t>(node)];
        if (r.layer == static_cast<int>(l.layer) && r.status.isEmpty() && r.kernelClass != "free") out.push_back(&r);
    }
    return out;
}

std::optional<double> valueOf(const NodeCost& r, Metric m)
{
    const double v = metricValues({r}, m).front();
    return std::isnan(v) ? std::nullopt : std::optional(v);
}

// "stage2/shortcut/Conv", elided in the middle to fit a tick label.
QString tickLabel(const QString& name, const QFont& font)
{
    QString s = name.startsWith('/') ? name.mid(1) : name;
    return QFontMetrics(font).elidedText(s, Qt::ElideMiddle, 150);
}

QString exact(double v) { return QString::number(v, 'g', 10); }

// "estimated on stm32l4r5", or "measured on <CPU>".
QString whereFrom(const cost::ModelEstimate& e, const QString& target)
{
    if (!e.measured) return PerLayerView::tr("estimated on %1").arg(target);
    return e.measuredOn.empty() ? PerLayerView::tr("measured on this machine")
                                : PerLayerView::tr("measured on %1").arg(QString::fromStdString(e.measuredOn));
}

QCustomPlot* makePlot(const QString& name, const QString& title)
{
    auto* plot = new QCustomPlot;
    plot->setObjectName(name);
    plot->setMinimumHeight(220);
    plot->setAntialiasedElements(QCP::aeAll);
    plot->plotLayout()->insertRow(0);
    QFont f = plot->font();
    f.setBold(true);
    plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot, title, f));
    plot->xAxis->grid()->setVisible(false);
    plot->yAxis->grid()->setSubGridVisible(false);
    plot->yAxis->grid()->setPen(QPen(QColor(0, 0, 0, 30), 1, Qt::DotLine));
    plot->xAxis->setSubTicks(false);
    plot->xAxis->setTickLength(0, 4);
    for (QCPAxis* a : {plot->xAxis, plot->yAxis}) {
        a->setBasePen(QPen(QColor("#667080")));
        a->setTickPen(QPen(QColor("#667080")));
        a->setSubTickPen(QPen(QColor("#667080")));
        a->setTickLabelColor(QColor("#333a44"));
        a->setLabelColor(QColor("#333a44"));
    }
    QFont legendFont = plot->font();
    legendFont.setPointSizeF(legendFont.pointSizeF() * 0.9);
    plot->legend->setFont(legendFont);
    plot->legend->setBrush(QColor(255, 255, 255, 220));
    plot->legend->setBorderPen(QPen(QColor("#c8ced6")));
    plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    return plot;
}

QCPBars* makeBars(QCustomPlot* plot, const QColor& colour)
{
    auto* b = new QCPBars(plot->xAxis, plot->yAxis);
    b->setPen(QPen(colour.darker(115)));
    b->setBrush(colour);
    return b;
}

// Layer names as the ticks of a category axis at 0, 1, 2, ...
void setCategoryTicks(QCustomPlot* plot, const QStringList& names)
{
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    for (int i = 0; i < names.size(); ++i) ticker->addTick(i, tickLabel(names[i], plot->xAxis->tickLabelFont()));
    plot->xAxis->setTicker(ticker);
    plot->xAxis->setTickLabelRotation(-50);
    plot->xAxis->setRange(-0.6, std::max<double>(0.4, names.size() - 0.4));
}

// A sentence in the middle of the plot instead of data (and axes).
void showMessage(QCustomPlot* plot, const QString& text)
{
    plot->xAxis->setVisible(false);
    plot->yAxis->setVisible(false);
    auto* t = new QCPItemText(plot);
    t->position->setType(QCPItemPosition::ptAxisRectRatio);
    t->position->setCoords(0.5, 0.45);
    t->setText(text);
    t->setColor(QColor("#5b6470"));
    t->setClipToAxisRect(false);
}

// A band behind category `index` of the plot.
void markCategory(QCustomPlot* plot, int index)
{
    auto* band = new QCPItemRect(plot);
    band->setObjectName(kSelection);
    band->setLayer("grid");
    band->topLeft->setTypeY(QCPItemPosition::ptAxisRectRatio);
    band->bottomRight->setTypeY(QCPItemPosition::ptAxisRectRatio);
    band->topLeft->setCoords(index - 0.5, 0.0);
    band->bottomRight->setCoords(index + 0.5, 1.0);
    band->setPen(Qt::NoPen);
    band->setBrush(kSelected);
}

// The category under `pos`, or -1.
int categoryAt(const QCustomPlot* plot, const QPoint& pos, int count)
{
    if (!plot->axisRect()->rect().contains(pos)) return -1;
    const long i = std::lround(plot->xAxis->pixelToCoord(pos.x()));
    return i >= 0 && i < count ? static_cast<int>(i) : -1;
}

} // namespace

PerLayerView::PerLayerView(QWidget* parent) : QWidget(parent)
{
    metricBox_ = new QComboBox;
    metricBox_->setObjectName("perLayerMetric");
    for (Metric m : {Metric::Energy, Metric::Latency, Metric::Macs}) {
        const QString unit = metricUnit(m);
        metricBox_->addItem(unit.isEmpty() ? metricName(m) : QString("%1 (%2)").arg(metricName(m), unit), static_cast<int>(m));
    }
    summary_ = new QLabel;
    summary_->setWordWrap(true);
    summary_->setTextFormat(Qt::RichText);
    status_ = new QLabel;
    status_->setObjectName("perLayerStatus");
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    barsPlot_ = makePlot("perLayerBars", tr("Energy per layer"));
    sqnrPlot_ = makePlot("perLayerSqnr", tr("Per-layer SQNR"));
    sensPlot_ = makePlot("perLayerSensitivity", tr("int4 sensitivity: accuracy cost against energy saved"));
    barsPlot_->setMinimumHeight(320);
    sensPlot_->xAxis->grid()->setVisible(true);
    sensPlot_->xAxis->grid()->setPen(sensPlot_->yAxis->grid()->pen());
    barsGroup_ = new QCPBarsGroup(barsPlot_);   // parent and candidate side by side
    barsGroup_->setSpacingType(QCPBarsGroup::stAbsolute);
    barsGroup_->setSpacing(1);

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Metric")));
    top->addWidget(metricBox_);
    top->addSpacing(12);
    top->addWidget(summary_, 1);
    notes_ = new QSplitter(Qt::Horizontal);
    notes_->addWidget(sqnrPlot_);
    notes_->addWidget(sensPlot_);
    notes_->setChildrenCollapsible(false);
    split_ = new QSplitter(Qt::Vertical);
    split_->addWidget(barsPlot_);
    split_->addWidget(notes_);
    split_->setChildrenCollapsible(false);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(split_, 1);
    layout->addWidget(status_);

    connect(metricBox_, &QComboBox::currentIndexChanged, this,
            [this] { setMetric(static_cast<Metric>(metricBox_->currentData().toInt())); });

    // Hover shows a layer's exact figures (tooltip and status line); a click selects it.
    auto layerAt = [this](QCustomPlot* plot, const QPoint& pos) -> QString {
        if (plot == barsPlot_) {
            const int i = groupAt(pos);
            return i >= 0 ? bars_[static_cast<size_t>(i)].layer : QString();
        }
        if (plot == sqnrPlot_) {
            const int i = categoryAt(sqnrPlot_, pos, static_cast<int>(sqnr_.size()));
            return i >= 0 ? sqnr_[static_cast<size_t>(i)].node : QString();
        }
        const int i = pointAt(pos);
        return i >= 0 ? std::get<0>(points_[static_cast<size_t>(i)]) : QString();
    };
    for (QCustomPlot* plot : {barsPlot_, sqnrPlot_, sensPlot_}) {
        plot->setMouseTracking(true);
        connect(plot, &QCustomPlot::mouseMove, this, [=, this](QMouseEvent* e) {
            hover(layerAt(plot, e->position().toPoint()), e->globalPosition().toPoint());
        });
        connect(plot, &QCustomPlot::mousePress, this, [=, this](QMouseEvent* e) {
            const QString layer = layerAt(plot, e->position().toPoint());
            if (layer.isEmpty()) return;
            selectLayer(layer);
            emit layerSelected(layer);
        });
    }
    clear();
}

void PerLayerView::clear()
{
    candidate_.reset();
    parent_.reset();
    rowsC_.clear();
    rowsP_.clear();
    bars_.clear();
    sqnr_.clear();
    points_.clear();
    selected_.clear();
    summary_->setText(tr("No candidate selected."));
    status_->clear();
    for (QCustomPlot* plot : {barsPlot_, sqnrPlot_, sensPlot_}) {
        plot->clearPlottables();
        plot->clearItems();
        plot->legend->setVisible(false);
        plot->xAxis->setVisible(true);
        plot->yAxis->setVisible(true);
    }
    setCategoryTicks(barsPlot_, {});
    barsPlot_->yAxis->setLabel(QString());
    replotIfSized(barsPlot_);
    sqnrPlot_->hide();
    sensPlot_->hide();
    notes_->hide();
}

void PerLayerView::setCandidate(const LayerSide& candidate, const std::optional<LayerSide>& parent, const QString& target)
{
    clear();
    candidate_ = candidate;
    parent_ = parent;
    target_ = target;
    rowsC_ = nodeCosts(*candidate.graph, *candidate.stats, candidate.estimate);
    if (parent) rowsP_ = nodeCosts(*parent->graph, *parent->stats, parent->estimate);

    auto energy = [](const cost::ModelEstimate& e) {
        return e.energyUj ? QString::number(*e.energyUj, 'f', 1) + " µJ" : tr("no energy (measured)");
    };
    QString text = tr("<b>%1</b> · %2").arg(candidate.label.toHtmlEscaped(), energy(candidate.estimate));
    if (parent) {
        text += tr(" — against its parent <b>%1</b> · %2").arg(parent->label.toHtmlEscaped(), energy(parent->estimate));
        if (candidate.estimate.energyUj && parent->estimate.energyUj && *parent->estimate.energyUj > 0)
            text += QString(" (%1%2 %)")
                        .arg(*candidate.estimate.energyUj >= *parent->estimate.energyUj ? "+" : "")
                        .arg(100.0 * (*candidate.estimate.energyUj / *parent->estimate.energyUj - 1.0), 0, 'f', 1);
    } else {
        text += tr(" — a root candidate, no parent to compare with");
    }
    const QString board = QString::fromStdString(candidate.estimate.targetName);
    text += " · " + whereFrom(candidate.estimate, target) + (board.isEmpty() ? QString() : " (" + board.toHtmlEscaped() + ")");
    summary_->setText(text);
    status_->setText(tr("Point at a layer for its exact figures; click to select it."));

    refreshBars();
    showSqnr();
    showSensitivity();
    // The notes' plots take the lower part when there are any (their first appearance sets the split).
    const bool notes = !sqnrPlot_->isHidden() || !sensPlot_->isHidden();
    notes_->setVisible(notes);
    if (notes && split_->sizes().value(1) == 0) {
        split_->setSizes({550, 450});
        notes_->setSizes({500, 500});
    }
}

void PerLayerView::setMetric(Metric m)
{
    const int index = metricBox_->findData(static_cast<int>(m));
    if (index < 0) return;
    metric_ = m;
    {
        const QSignalBlocker block(metricBox_);
        metricBox_->setCurrentIndex(index);
    }
    refreshBars();
}

void PerLayerView::refreshBars()
{
    QCustomPlot* plot = barsPlot_;
    plot->clearPlottables();
    plot->clearItems();
    plot->xAxis->setVisible(true);
    plot->yAxis->setVisible(true);
    bars_.clear();
    if (!candidate_) return;

    // The candidate's layers in order, the parent's value by name, then the parent's layers it lacks.
    std::map<QString, const NodeCost*> parentByName;
    std::vector<const NodeCost*> parentRows;
    if (parent_) parentRows = costedRows(*parent_, rowsP_);
    for (const NodeCost* r : parentRows) parentByName.emplace(r->name, r);
    std::set<QString> inCandidate;
    for (const NodeCost* r : costedRows(*candidate_, rowsC_)) {
        const auto p = parentByName.find(r->name);
        bars_.push_back({r->name, valueOf(*r, metric_), p != parentByName.end() ? valueOf(*p->second, metric_) : std::nullopt});
        inCandidate.insert(r->name);
    }
    for (const NodeCost* r : parentRows)
        if (!inCandidate.count(r->name)) bars_.push_back({r->name, std::nullopt, valueOf(*r, metric_)});

    QStringList names;
    QVector<double> ck, cv, pk, pv;
    for (size_t i = 0; i < bars_.size(); ++i) {
        names << bars_[i].layer;
        if (bars_[i].candidate) { ck << static_cast<double>(i); cv << *bars_[i].candidate; }
        if (bars_[i].parent) { pk << static_cast<double>(i); pv << *bars_[i].parent; }
    }
    setCategoryTicks(plot, names);
    const QString unit = metricUnit(metric_);
    QString title = metricName(metric_) + tr(" per layer");
    qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0))->setText(title.replace(0, 1, title[0].toUpper()));
    plot->yAxis->setLabel(QString("%1%2 · %3")
                              .arg(metricName(metric_), unit.isEmpty() ? QString() : " (" + unit + ")", whereFrom(candidate_->estimate, target_)));
    plot->yAxis->setNumberFormat(metric_ == Metric::Macs ? "gbc" : "g");
    plot->yAxis->setNumberPrecision(metric_ == Metric::Macs ? 2 : 6);

    if (ck.isEmpty() && pk.isEmpty()) {
        plot->legend->setVisible(false);
        showMessage(plot, metric_ == Metric::Energy && candidate_->estimate.measured
                              ? tr("No energy per layer: %1 was measured on this machine, which has no energy counter.\n"
                                   "Choose latency or MACs.").arg(candidate_->label)
                              : tr("No costed layers."));
        plot->yAxis->setRange(0, 1);
        replotIfSized(plot);
        return;
    }
    const auto measured = [this](const LayerSide& s) {
        return metric_ == Metric::Energy && s.estimate.measured ? tr(" (measured: no energy)") : QString();
    };
    const double width = parent_ ? 0.4 : 0.6;
    if (parent_) {
        QCPBars* p = makeBars(plot, kParent);
        p->setName(tr("parent · %1").arg(parent_->label) + measured(*parent_));
        p->setWidth(width);
        p->setData(pk, pv, true);
        p->setBarsGroup(barsGroup_);
    }
    QCPBars* c = makeBars(plot, kCandidate);
    c->setName(tr("candidate · %1").arg(candidate_->label) + measured(*candidate_));
    c->setWidth(width);
    c->setData(ck, cv, true);
    c->setBarsGroup(barsGroup_);
    double top = 0.0;
    for (double v : cv) top = std::max(top, v);
    for (double v : pv) top = std::max(top, v);
    plot->yAxis->setRange(0, top > 0 ? top * 1.1 : 1.0);
    plot->legend->setVisible(true);
    selectLayer(selected_);
}

void PerLayerView::showSqnr()
{
    QCustomPlot* plot = sqnrPlot_;
    sqnr_.clear();
    if (!candidate_ || !candidate_->notes.contains("sqnr")) return;
    for (const QJsonValue& v : candidate_->notes.value("sqnr").toArray()) {
        const QJsonObject o = v.toObject();
        if (!o.value("sqnr_db").isDouble()) continue;
        sqnr_.push_back({o.value("node").toString(), o.value("weight_bits").toInt(), o.value("sqnr_db").toDouble()});
    }
    plot->show();
    struct Series { int bits; QString name; QColor colour; };
    const Series series[] = {{8, tr("int8 weights"), kCandidate}, {4, tr("int4 weights"), kInt4}, {0, tr("no weights"), kNoWeights}};
    auto seriesOf = [](int bits) { return bits == 8 || bits == 4 ? bits : 0; };
    double top = 0.0;
    for (const Series& s : series) {
        QVector<double> keys, values;
        for (size_t i = 0; i < sqnr_.size(); ++i)
            if (seriesOf(sqnr_[i].bits) == s.bits) {
                keys << static_cast<double>(i);
                values << sqnr_[i].db;
                top = std::max(top, sqnr_[i].db);
            }
        if (keys.isEmpty()) continue;
        QCPBars* b = makeBars(plot, s.colour);
        b->setName(s.name);
        b->setWidth(0.7);
        b->setData(keys, values, true);
    }
    QStringList names;
    for (const SqnrBar& s : sqnr_) names << s.node;
    setCategoryTicks(plot, names);
    plot->yAxis->setLabel(tr("SQNR of the layer output (dB)"));
    plot->yAxis->setRange(0, top > 0 ? top * 1.3 : 1.0);   // room for the legend above the bars
    plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);   // one row
    plot->legend->setVisible(!sqnr_.empty());
    if (sqnr_.empty()) showMessage(plot, tr("The notes hold no finite SQNR."));
    replotIfSized(plot);
}

void PerLayerView::showSensitivity()
{
    QCustomPlot* plot = sensPlot_;
    points_.clear();
    if (!candidate_ || !candidate_->notes.contains("sensitivity")) return;
    plot->show();
    const bool accuracy = candidate_->notes.value("sensitivity_metric").toString() != "sqnr_db";
    lossScale_ = accuracy ? 100.0 : 1.0;
    plot->xAxis->setLabel(tr("energy saved with int4 instead of int8 weights (µJ, estimated on %1)").arg(target_));
    plot->yAxis->setLabel(accuracy ? tr("validation accuracy lost (points)") : tr("output SQNR lost (dB)"));

    cost::TargetProfile profile;
    try {
        profile = cost::loadTarget(target_);
    } catch (const std::exception& e) {
        showMessage(plot, QString::fromUtf8(e.what()));
        replotIfSized(plot);
        return;
    }
    if (!profile.anyClusterHasInt4()) {
        showMessage(plot, tr("%1 has no int4 kernels: int4 weights would run as int8 there,\n"
                             "so the sensitivity scan has no energy to trade.").arg(target_));
        replotIfSized(plot);
        return;
    }
    std::map<std::string, size_t> layerOf;
    for (size_t i = 0; i < candidate_->stats->layers.size(); ++i) layerOf.emplace(candidate_->stats->layers[i].name, i);
    for (const QJsonValue& v : candidate_->notes.value("sensitivity").toArray()) {
        const QJsonObject o = v.toObject();
        const auto it = layerOf.find(o.value("node").toString().toStdString());
        if (it == layerOf.end() || !o.value("loss").isDouble()) continue;
        const cost::LayerStats& ls = candidate_->stats->layers[it->second];
        const auto& layers = candidate_->estimate.layers;
        const size_t cluster = it->second < layers.size() ? static_cast<size_t>(layers[it->second].cluster) : 0;
        const double saved = cost::layerCost(ls, cost::Precision::Int8, profile, cluster).energyUj -
                             cost::layerCost(ls, cost::Precision::Int4, profile, cluster).energyUj;
        points_.emplace_back(o.value("node").toString(), saved, o.value("loss").toDouble());
    }
    if (points_.empty()) {
        showMessage(plot, tr("No sensitivity entry names a layer of this graph."));
        replotIfSized(plot);
        return;
    }
    QVector<double> xs, ys;
    double xMax = 0.0, yMax = 0.0;
    for (const auto& [name, x, y] : points_) {
        xs << x;
        ys << lossScale_ * y;
        xMax = std::max(xMax, std::abs(x));
        yMax = std::max(yMax, std::abs(lossScale_ * y));
    }
    for (int axis = 0; axis < 2; ++axis) {
        auto* zero = new QCPItemStraightLine(plot);
        zero->point1->setCoords(0, 0);
        zero->point2->setCoords(axis == 0 ? 1 : 0, axis == 0 ? 0 : 1);
        zero->setPen(QPen(QColor("#8a939f"), 1, Qt::DashLine));
        zero->setLayer("grid");
    }
    QCPGraph* g = plot->addGraph();
    g->setLineStyle(QCPGraph::lsNone);
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(kInt4.darker(130), 1.2), kInt4, 9));
    g->setData(xs, ys);
    g->removeFromLegend();
    const double padX = xMax > 0 ? 0.15 * xMax : 1.0, padY = yMax > 0 ? 0.2 * yMax : 0.5;
    plot->xAxis->setRange(std::min(0.0, *std::min_element(xs.begin(), xs.end())) - padX,
                          std::max(0.0, *std::max_element(xs.begin(), xs.end())) + padX);
    plot->yAxis->setRange(std::min(0.0, *std::min_element(ys.begin(), ys.end())) - padY,
                          std::max(0.0, *std::max_element(ys.begin(), ys.end())) + padY);

    // Labels on the points farthest from the origin (relative to the axes' spans), at most five.
    std::vector<size_t> order(points_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto reach = [&](size_t i) {
        return std::hypot(xMax > 0 ? xs[static_cast<int>(i)] / xMax : 0.0, yMax > 0 ? ys[static_cast<int>(i)] / yMax : 0.0);
    };
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return reach(a) > reach(b); });
    order.resize(std::min<size_t>(order.size(), 5));
    for (size_t i : order) {
        auto* t = new QCPItemText(plot);
        t->position->setCoords(xs[static_cast<int>(i)], ys[static_cast<int>(i)]);
        t->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
        t->setPadding(QMargins(6, 0, 0, 4));
        t->setText(tickLabel(std::get<0>(points_[i]), t->font()));
        t->setColor(QColor("#333a44"));
    }
    replotIfSized(plot);
}

void PerLayerView::selectLayer(const QString& name)
{
    selected_ = name;
    for (QCustomPlot* plot : {barsPlot_, sqnrPlot_, sensPlot_}) {
        for (int i = plot->itemCount() - 1; i >= 0; --i)
            if (plot->item(i)->objectName() == kSelection) plot->removeItem(i);
        for (int i = plot->graphCount() - 1; i >= 0; --i)
            if (plot->graph(i)->objectName() == kSelection) plot->removeGraph(i);
    }
    if (!name.isEmpty()) {
        for (size_t i = 0; i < bars_.size(); ++i)
            if (bars_[i].layer == name) markCategory(barsPlot_, static_cast<int>(i));
        for (size_t i = 0; i < sqnr_.size(); ++i)
            if (sqnr_[i].node == name) markCategory(sqnrPlot_, static_cast<int>(i));
        for (const auto& [layer, x, y] : points_)
            if (layer == name) {
                QCPGraph* ring = sensPlot_->addGraph();
                ring->setObjectName(kSelection);
                ring->setLineStyle(QCPGraph::lsNone);
                ring->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(QColor("#1d2733"), 2), Qt::NoBrush, 16));
                ring->setData({x}, {lossScale_ * y});
                ring->removeFromLegend();
            }
        status_->setText(describe(name));
    }
    for (QCustomPlot* plot : {barsPlot_, sqnrPlot_, sensPlot_}) replotIfSized(plot);
}

QString PerLayerView::status() const { return status_->text(); }

void PerLayerView::hover(const QString& layer, const QPoint& globalPos)
{
    if (layer.isEmpty()) {
        QToolTip::hideText();
        return;
    }
    const QString text = describe(layer);
    status_->setText(text);
    QToolTip::showText(globalPos, text);
}

QString PerLayerView::describe(const QString& layer) const
{
    auto figures = [&](const std::vector<NodeCost>& rows) -> QString {
        for (const NodeCost& r : rows)
            if (r.name == layer && r.layer >= 0 && r.status.isEmpty())
                return QString("%1 µJ, %2 ms, %3 MACs")
                    .arg(r.energyUj ? exact(*r.energyUj) : QString("—"), exact(r.latencyMs), QLocale().toString(r.macs));
        return tr("not a costed layer here");
    };
    QString text = layer + " — " + tr("candidate: %1").arg(figures(rowsC_));
    if (parent_) text += " · " + tr("parent: %1").arg(figures(rowsP_));
    for (const SqnrBar& s : sqnr_)
        if (s.node == layer) text += " · " + tr("SQNR %1 dB").arg(s.db, 0, 'f', 2);
    for (const auto& [name, saved, loss] : points_)
        if (name == layer)
            text += " · " + (saved >= 0 ? tr("int4 weights save %1 µJ").arg(exact(saved)) : tr("int4 weights cost %1 µJ more").arg(exact(-saved))) +
                    (lossScale_ == 100.0 ? tr(", lose %1 points of accuracy").arg(exact(100.0 * loss)) : tr(", lose %1 dB of SQNR").arg(exact(loss)));
    return text;
}

int PerLayerView::groupAt(const QPoint& pos) const { return categoryAt(barsPlot_, pos, static_cast<int>(bars_.size())); }

int PerLayerView::pointAt(const QPoint& pos) const
{
    int best = -1;
    double bestDistance = 10.0;   // pixels
    for (size_t i = 0; i < points_.size(); ++i) {
        const double x = sensPlot_->xAxis->coordToPixel(std::get<1>(points_[i]));
        const double y = sensPlot_->yAxis->coordToPixel(lossScale_ * std::get<2>(points_[i]));
        if (const double d = std::hypot(x - pos.x(), y - pos.y()); d < bestDistance) {
            bestDistance = d;
            best = static_cast<int>(i);
        }
    }
    return best;
}

} // namespace joule::ui
