// Draws a laid-out graph (graph_layout.h) in a QGraphicsScene: a rounded box per node, a spline with an
// arrow head per tensor use, an ellipse per graph input and output. Nodes are coloured by one metric on
// a yellow -> dark red ramp (log scale when the values span more than two decades); the legend is
// painted over the viewport, bottom-left.
//
//   joule::ui::GraphView view;
//   view.setGraph(joule::onnx::loadModel("model.onnx"));
//   view.setNodeValues(energyPerNode, "energy", "µJ");
//   view.find("conv");                     // selects the next matching node, emits nodeSelected
//
// Scene coordinates are the layout's (points). A node press selects it at once; an empty-space click
// clears the selection on release, so that dragging the background to pan keeps it.
#include "graph/graph_view.h"

#include <QApplication>
#include <QFontMetricsF>
#include <QGraphicsEllipseItem>
#include <QGraphicsItem>
#include <QGraphicsPathItem>
#include <QGraphicsPolygonItem>
#include <QGraphicsScene>
#include <QGraphicsSimpleTextItem>
#include <QKeyEvent>
#include <QLinearGradient>
#include <QMouseEvent>
#include <QPainter>
#include <QStyleOptionGraphicsItem>
#include <QWheelEvent>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace joule::ui {

namespace {

constexpr double kMinScale = 0.05;
constexpr double kMaxScale = 8.0;
constexpr double kMaxFitScale = 1.5;      // a small graph is not blown up past this when fitted
constexpr double kReadableScale = 0.9;    // the first view of a tall graph: its top, at this zoom
constexpr double kZoomStep = 1.25;
constexpr double kSceneMargin = 40.0;
constexpr double kCornerRadius = 6.0;
constexpr int kTitlePixels = 13;
constexpr int kNamePixels = 11;

const QColor kBackground(0xfa, 0xfa, 0xf7);
const QColor kBorder(0x3c, 0x3c, 0x3c);
const QColor kNoValue(0xdc, 0xdc, 0xdc);
const QColor kEdge(0x70, 0x70, 0x70);
const QColor kTerminal(0xe6, 0xee, 0xf7);
const QColor kHighlight(0x15, 0x65, 0xc0);
const QColor kDarkText(0x1e, 0x1e, 0x1e);
const QColor kLightText(0xff, 0xff, 0xff);

// A sequential ramp, light yellow to dark red (ColorBrewer YlOrRd without its near-white end, so the
// lowest value still stands apart from the grey of "no value").
const std::array<QColor, 8> kRamp = {QColor(0xff, 0xed, 0xa0), QColor(0xfe, 0xd9, 0x76), QColor(0xfe, 0xb2, 0x4c),
                                     QColor(0xfd, 0x8d, 0x3c), QColor(0xfc, 0x4e, 0x2a), QColor(0xe3, 0x1a, 0x1c),
                                     QColor(0xbd, 0x00, 0x26), QColor(0x80, 0x00, 0x26)};

QColor rampColor(double t)
{
    const double x = std::clamp(t, 0.0, 1.0) * static_cast<double>(kRamp.size() - 1);
    const size_t i = std::min(static_cast<size_t>(x), kRamp.size() - 2);
    const double f = x - static_cast<double>(i);
    const QColor& a = kRamp[i];
    const QColor& b = kRamp[i + 1];
    auto mix = [f](int u, int v) { return static_cast<int>(std::lround(u + (v - u) * f)); };
    return QColor(mix(a.red(), b.red()), mix(a.green(), b.green()), mix(a.blue(), b.blue()));
}

QColor textColorOn(const QColor& fill)
{
    // Relative luminance (sRGB approximated by gamma 2.2): white text only on dark fills.
    auto lin = [](int c) { return std::pow(c / 255.0, 2.2); };
    const double y = 0.2126 * lin(fill.red()) + 0.7152 * lin(fill.green()) + 0.0722 * lin(fill.blue());
    return y > 0.18 ? kDarkText : kLightText;
}

QString formatValue(double v)
{
    const double a = std::abs(v);
    if (a >= 1000 && a < 1e6)
        return QString::number(v, 'f', 0);
    return QString::number(v, 'g', 3);
}

// Maps values to [0, 1]: linear from the smallest to the largest finite value, or logarithmic from the
// smallest positive one when they span more than two decades (zeros then take the low end).
struct ColorScale {
    bool valid = false;
    bool log = false;
    double lo = 0, hi = 0;

    static ColorScale of(const std::vector<double>& values)
    {
        ColorScale s;
        double minPositive = std::numeric_limits<double>::infinity();
        bool negative = false;
        for (double v : values) {
            if (!std::isfinite(v))
                continue;
            s.lo = s.valid ? std::min(s.lo, v) : v;
            s.hi = s.valid ? std::max(s.hi, v) : v;
            s.valid = true;
            negative = negative || v < 0;
            if (v > 0)
                minPositive = std::min(minPositive, v);
        }
        if (s.valid && !negative && std::isfinite(minPositive) && s.hi / minPositive > 100.0) {
            s.log = true;
            s.lo = minPositive;
        }
        return s;
    }
    double position(double v) const
    {
        if (hi <= lo)
            return 0.5;
        if (log)
            return v <= lo ? 0.0 : (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
        return (v - lo) / (hi - lo);
    }
};

QFont pixelFont(int pixels, bool bold)
{
    QFont f = QApplication::font();
    f.setPixelSize(pixels);
    f.setBold(bold);
    return f;
}

class NodeItem : public QGraphicsItem {
public:
    enum { Type = UserType + 1 };

    NodeItem(int index, const LaidOutNode& n)
        : index_(index), rect_(n.rect), titleFont_(pixelFont(kTitlePixels, true)), nameFont_(pixelFont(kNamePixels, false))
    {
        const double textWidth = rect_.width() - 10;
        title_ = QFontMetricsF(titleFont_).elidedText(n.title, Qt::ElideRight, textWidth);
        name_ = QFontMetricsF(nameFont_).elidedText(n.subtitle, Qt::ElideMiddle, textWidth);
        setZValue(2);
    }

    int type() const override { return Type; }
    int index() const { return index_; }
    const QRectF& rect() const { return rect_; }
    QColor fill() const { return fill_; }
    void setFill(const QColor& c) { fill_ = c; update(); }
    void setHighlighted(bool on) { highlighted_ = on; update(); }

    // Room for the highlight outline (which is at least 3 px wide at any zoom).
    QRectF boundingRect() const override { return rect_.adjusted(-12, -12, 12, 12); }
    QPainterPath shape() const override
    {
        QPainterPath p;
        p.addRoundedRect(rect_, kCornerRadius, kCornerRadius);
        return p;
    }

    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget*) override
    {
        const double lod = option->levelOfDetailFromTransform(painter->worldTransform());
        if (highlighted_) {
            const double w = std::max(3.5, 3.0 / lod);
            painter->setPen(QPen(kHighlight, w));
            painter->setBrush(Qt::NoBrush);
            painter->drawRoundedRect(rect_.adjusted(-w / 2, -w / 2, w / 2, w / 2), kCornerRadius + w / 2, kCornerRadius + w / 2);
        }
        QPen border(kBorder, 1.0);
        border.setCosmetic(true);
        painter->setPen(border);
        painter->setBrush(fill_);
        painter->drawRoundedRect(rect_, kCornerRadius, kCornerRadius);

        if (lod * kNamePixels < 3.0)   // text under 3 px is noise
            return;
        painter->setPen(textColorOn(fill_));
        const QRectF inner = rect_.adjusted(5, 3, -5, -3);
        painter->setFont(titleFont_);
        if (name_.isEmpty()) {
            painter->drawText(inner, Qt::AlignCenter, title_);
            return;
        }
        painter->drawText(QRectF(inner.x(), inner.y(), inner.width(), inner.height() * 0.55), Qt::AlignHCenter | Qt::AlignBottom, title_);
        painter->setFont(nameFont_);
        painter->drawText(QRectF(inner.x(), inner.y() + inner.height() * 0.55, inner.width(), inner.height() * 0.45),
                          Qt::AlignHCenter | Qt::AlignTop, name_);
    }

private:
    int index_;
    QRectF rect_;
    QFont titleFont_, nameFont_;
    QString title_, name_;
    QColor fill_ = kNoValue;
    bool highlighted_ = false;
};

// Scales the view by `factor`, keeping the zoom within [kMinScale, kMaxScale], about its anchor.
void zoomBy(QGraphicsView* view, double factor)
{
    const double s = view->transform().m11();
    const double target = std::clamp(s * factor, kMinScale, kMaxScale);
    view->scale(target / s, target / s);
}

// A spline with a filled arrow head at its end, which the layout puts on the consumer's border.
void addEdge(QGraphicsScene* scene, const LaidOutEdge& e)
{
    if (e.path.isEmpty())
        return;
    auto* item = scene->addPath(e.path);
    QPen pen(kEdge, 1.2);
    pen.setCosmetic(true);
    item->setPen(pen);
    item->setToolTip(e.value);
    item->setZValue(0);

    const QPointF tip = e.path.currentPosition();
    QPointF before = e.path.elementAt(e.path.elementCount() - 2);
    if (QLineF(before, tip).length() < 1e-6)
        before = e.path.pointAtPercent(0.95);
    QLineF axis(tip, before);
    if (axis.length() < 1e-6)
        return;
    axis.setLength(9.0);
    const QPointF back = axis.p2();
    const QLineF normal = axis.normalVector().unitVector();
    const QPointF side = QPointF(normal.dx(), normal.dy()) * 4.0;
    auto* head = new QGraphicsPolygonItem(QPolygonF({tip, back + side, back - side}), item);
    head->setPen(Qt::NoPen);
    head->setBrush(kEdge);
}

void addTerminal(QGraphicsScene* scene, const LaidOutTerminal& t)
{
    auto* ellipse = scene->addEllipse(t.rect);
    QPen pen(kBorder, 1.0);
    pen.setCosmetic(true);
    ellipse->setPen(pen);
    ellipse->setBrush(kTerminal);
    ellipse->setZValue(1);
    ellipse->setToolTip(t.name);
    const QFont font = pixelFont(kNamePixels, false);
    auto* label = new QGraphicsSimpleTextItem(QFontMetricsF(font).elidedText(t.name, Qt::ElideMiddle, t.rect.width() - 16), ellipse);
    label->setFont(font);
    label->setBrush(kDarkText);
    const QRectF r = label->boundingRect();
    label->setPos(t.rect.center() - QPointF(r.width() / 2, r.height() / 2));
}

} // namespace

struct GraphView::Impl {
    QGraphicsScene* scene = nullptr;
    std::vector<NodeItem*> nodes;
    std::vector<QString> names, ops;
    std::vector<double> values;
    QString metric, unit;
    bool hasMetric = false;
    ColorScale scale;
    bool anyMissing = false;
    bool autoFit = false;          // the initial view, kept across resizes until the user zooms or pans
    bool pressOnEmpty = false;
    QPoint pressPos;

    QString tooltip(int i) const
    {
        QString t = "<b>" + ops[i].toHtmlEscaped() + "</b><br>" + (names[i].isEmpty() ? "(unnamed)" : names[i].toHtmlEscaped());
        if (hasMetric) {
            const double v = values[i];
            t += "<br>" + metric.toHtmlEscaped() + ": " +
                 (std::isfinite(v) ? formatValue(v) + (unit.isEmpty() ? "" : " " + unit.toHtmlEscaped()) : QString("no value"));
        }
        return t;
    }
};

GraphView::GraphView(QWidget* parent) : QGraphicsView(parent), d_(new Impl)
{
    d_->scene = new QGraphicsScene(this);
    setScene(d_->scene);
    setRenderHints(QPainter::Antialiasing | QPainter::TextAntialiasing | QPainter::SmoothPixmapTransform);
    setBackgroundBrush(kBackground);
    setDragMode(QGraphicsView::ScrollHandDrag);
    setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
    setResizeAnchor(QGraphicsView::AnchorViewCenter);
    // The legend is fixed in the viewport, so scrolled pixels cannot be reused.
    setViewportUpdateMode(QGraphicsView::FullViewportUpdate);
    setFocusPolicy(Qt::StrongFocus);
}

GraphView::~GraphView()
{
    delete d_;
}

void GraphView::setGraph(const Graph& graph)
{
    setLayout(layoutGraph(graph));   // laid out before clearing: a failure keeps what is shown
}

void GraphView::setLayout(const GraphLayout& layout)
{
    clear();
    for (const auto& e : layout.edges)
        addEdge(d_->scene, e);
    for (const auto& t : layout.inputs)
        addTerminal(d_->scene, t);
    for (const auto& t : layout.outputs)
        addTerminal(d_->scene, t);
    for (const auto& n : layout.nodes) {
        auto* item = new NodeItem(n.node, n);
        d_->scene->addItem(item);
        d_->nodes.push_back(item);
        d_->names.push_back(n.subtitle);
        d_->ops.push_back(n.title);
    }
    d_->values.assign(d_->nodes.size(), std::numeric_limits<double>::quiet_NaN());
    for (size_t i = 0; i < d_->nodes.size(); ++i)
        d_->nodes[i]->setToolTip(d_->tooltip(static_cast<int>(i)));
    setSceneRect(layout.bounds.adjusted(-kSceneMargin, -kSceneMargin, kSceneMargin, kSceneMargin));
    showStart();
}

void GraphView::showStart()
{
    const QRectF r = sceneRect();
    if (r.isEmpty())
        return;
    const double fitWidth = viewport()->width() / r.width();
    if (std::min(fitWidth, viewport()->height() / r.height()) >= kReadableScale) {
        fitAll();
    } else {
        const double s = std::clamp(std::min(kReadableScale, fitWidth), kMinScale, kMaxScale);
        setTransform(QTransform::fromScale(s, s));
        centerOn(r.center().x(), r.top() + viewport()->height() / (2 * s));
    }
    d_->autoFit = true;
}

void GraphView::clear()
{
    d_->scene->clear();
    d_->nodes.clear();
    d_->names.clear();
    d_->ops.clear();
    d_->values.clear();
    d_->metric.clear();
    d_->unit.clear();
    d_->hasMetric = false;
    d_->scale = {};
    d_->anyMissing = false;
    d_->autoFit = false;
    selected_ = -1;
    setSceneRect(QRectF());
    resetTransform();
    viewport()->update();
}

void GraphView::setNodeValues(const std::vector<double>& values, const QString& metric, const QString& unit)
{
    if (values.size() != d_->nodes.size())
        throw std::invalid_argument("graph view: " + std::to_string(values.size()) + " values for a graph of " +
                                    std::to_string(d_->nodes.size()) + " nodes (one per node, NaN for none)");
    d_->values = values;
    d_->metric = metric;
    d_->unit = unit;
    d_->hasMetric = true;
    d_->scale = ColorScale::of(values);
    d_->anyMissing = std::any_of(values.begin(), values.end(), [](double v) { return !std::isfinite(v); });
    for (size_t i = 0; i < values.size(); ++i) {
        const double v = values[i];
        d_->nodes[i]->setFill(std::isfinite(v) ? rampColor(d_->scale.position(v)) : kNoValue);
        d_->nodes[i]->setToolTip(d_->tooltip(static_cast<int>(i)));
    }
    viewport()->update();
}

int GraphView::nodeItemCount() const
{
    const auto items = d_->scene->items();
    return static_cast<int>(std::count_if(items.begin(), items.end(), [](const QGraphicsItem* i) { return i->type() == NodeItem::Type; }));
}

QColor GraphView::nodeColor(int node) const
{
    if (node < 0 || node >= static_cast<int>(d_->nodes.size()))
        throw std::out_of_range("graph view: no node " + std::to_string(node) + " (the graph has " +
                                std::to_string(d_->nodes.size()) + " nodes)");
    return d_->nodes[node]->fill();
}

void GraphView::selectNode(int node)
{
    if (node < -1 || node >= static_cast<int>(d_->nodes.size()))
        throw std::out_of_range("graph view: cannot select node " + std::to_string(node) + " (the graph has " +
                                std::to_string(d_->nodes.size()) + " nodes)");
    highlight(node);
    if (node < 0)
        return;
    d_->autoFit = false;
    ensureVisible(d_->nodes[node]->rect(), 60, 60);
}

void GraphView::highlight(int node)
{
    if (selected_ >= 0)
        d_->nodes[selected_]->setHighlighted(false);
    selected_ = node;
    if (node >= 0)
        d_->nodes[node]->setHighlighted(true);
}

int GraphView::find(const QString& text)
{
    if (text.isEmpty() || d_->nodes.empty())
        return 0;
    const int n = static_cast<int>(d_->nodes.size());
    auto matches = [&](int i) {
        return d_->names[i].contains(text, Qt::CaseInsensitive) || d_->ops[i].contains(text, Qt::CaseInsensitive);
    };
    int count = 0, next = -1;
    for (int k = 1; k <= n; ++k) {    // from the node after the selection, wrapping around to it
        const int i = (selected_ + k + n) % n;
        if (matches(i)) {
            ++count;
            if (next < 0)
                next = i;
        }
    }
    if (next >= 0) {
        selectNode(next);
        emit nodeSelected(next);
    }
    return count;
}

void GraphView::fitAll()
{
    d_->autoFit = false;
    const QRectF r = sceneRect();
    if (r.isEmpty())
        return;
    fitInView(r, Qt::KeepAspectRatio);
    const double s = transform().m11();
    if (s > kMaxFitScale || s < kMinScale) {
        const double bounded = std::clamp(s, kMinScale, kMaxFitScale);
        setTransform(QTransform::fromScale(bounded, bounded));
        centerOn(r.center());
    }
}

void GraphView::zoomIn()
{
    setTransformationAnchor(QGraphicsView::AnchorViewCenter);
    zoomBy(this, kZoomStep);
    setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
    d_->autoFit = false;
}

void GraphView::zoomOut()
{
    setTransformationAnchor(QGraphicsView::AnchorViewCenter);
    zoomBy(this, 1.0 / kZoomStep);
    setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
    d_->autoFit = false;
}

void GraphView::wheelEvent(QWheelEvent* event)
{
    const int delta = event->angleDelta().y();
    if (delta == 0) {
        QGraphicsView::wheelEvent(event);
        return;
    }
    zoomBy(this, std::pow(1.0015, delta));   // anchored under the mouse
    d_->autoFit = false;
    event->accept();
}

void GraphView::mousePressEvent(QMouseEvent* event)
{
    d_->pressOnEmpty = false;
    if (event->button() == Qt::LeftButton) {
        d_->autoFit = false;
        d_->pressPos = event->pos();
        const auto under = items(event->pos());
        const auto it = std::find_if(under.begin(), under.end(), [](const QGraphicsItem* i) { return i->type() == NodeItem::Type; });
        if (it != under.end()) {
            const int node = static_cast<const NodeItem*>(*it)->index();
            highlight(node);
            emit nodeSelected(node);
        } else {
            d_->pressOnEmpty = true;
        }
    }
    QGraphicsView::mousePressEvent(event);   // starts the hand drag
}

void GraphView::mouseReleaseEvent(QMouseEvent* event)
{
    QGraphicsView::mouseReleaseEvent(event);
    if (event->button() != Qt::LeftButton || !d_->pressOnEmpty)
        return;
    d_->pressOnEmpty = false;
    if ((event->pos() - d_->pressPos).manhattanLength() >= QApplication::startDragDistance())
        return;   // a pan, not a click
    highlight(-1);
    emit nodeSelected(-1);
}

void GraphView::resizeEvent(QResizeEvent* event)
{
    QGraphicsView::resizeEvent(event);
    if (d_->autoFit)
        showStart();
}

void GraphView::keyPressEvent(QKeyEvent* event)
{
    switch (event->key()) {
    case Qt::Key_F: fitAll(); break;
    case Qt::Key_Plus:
    case Qt::Key_Equal: zoomIn(); break;
    case Qt::Key_Minus: zoomOut(); break;
    default: QGraphicsView::keyPressEvent(event); return;
    }
    event->accept();
}

void GraphView::drawForeground(QPainter* painter, const QRectF&)
{
    if (!d_->hasMetric)
        return;
    painter->save();
    painter->resetTransform();   // viewport pixels
    painter->setRenderHint(QPainter::Antialiasing);

    const QFont titleFont = pixelFont(12, true), labelFont = pixelFont(11, false);
    const QFontMetricsF tm(titleFont), lm(labelFont);
    QString title = d_->metric + (d_->unit.isEmpty() ? QString() : " (" + d_->unit + ")");
    if (d_->scale.log)
        title += ", log scale";
    const double pad = 10, barWidth = 180, barHeight = 12;
    const bool bar = d_->scale.valid;
    const QString note = bar ? (d_->anyMissing ? QString("no value") : QString()) : QString("no values");
    const double width = std::max({barWidth, tm.horizontalAdvance(title), lm.horizontalAdvance(note) + 18}) + 2 * pad;
    double height = pad + tm.height() + 4;
    if (bar)
        height += barHeight + 3 + lm.height();
    if (!note.isEmpty())
        height += 4 + lm.height();
    height += pad;

    const QRectF panel(12, viewport()->height() - 12 - height, width, height);
    painter->setPen(QPen(QColor(0, 0, 0, 60), 1));
    painter->setBrush(QColor(255, 255, 255, 225));
    painter->drawRoundedRect(panel, 6, 6);

    double y = panel.top() + pad;
    painter->setPen(kDarkText);
    painter->setFont(titleFont);
    painter->drawText(QRectF(panel.left() + pad, y, width - 2 * pad, tm.height()), Qt::AlignLeft | Qt::AlignVCenter, title);
    y += tm.height() + 4;
    painter->setFont(labelFont);
    if (bar) {
        const QRectF barRect(panel.left() + pad, y, barWidth, barHeight);
        QLinearGradient gradient(barRect.topLeft(), barRect.topRight());
        for (size_t i = 0; i < kRamp.size(); ++i)
            gradient.setColorAt(static_cast<double>(i) / static_cast<double>(kRamp.size() - 1), kRamp[i]);
        painter->setPen(QPen(kBorder, 0.8));
        painter->setBrush(gradient);
        painter->drawRect(barRect);
        y += barHeight + 3;
        painter->setPen(kDarkText);
        const QRectF labels(barRect.left(), y, barWidth, lm.height());
        painter->drawText(labels, Qt::AlignLeft | Qt::AlignVCenter, formatValue(d_->scale.lo));
        painter->drawText(labels, Qt::AlignRight | Qt::AlignVCenter, formatValue(d_->scale.hi));
        y += lm.height();
    }
    if (!note.isEmpty()) {
        y += 4;
        const QRectF swatch(panel.left() + pad, y + (lm.height() - 10) / 2, 12, 10);
        painter->setPen(QPen(kBorder, 0.8));
        painter->setBrush(kNoValue);
        painter->drawRect(swatch);
        painter->setPen(kDarkText);
        painter->drawText(QRectF(swatch.right() + 6, y, width, lm.height()), Qt::AlignLeft | Qt::AlignVCenter, note);
    }
    painter->restore();
}

} // namespace joule::ui
