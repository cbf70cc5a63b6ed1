#include "views/node_inspector.h"

#include "views/layer_table.h"

#include <QFileInfo>
#include <QJsonDocument>

#include <cmath>

namespace joule::ui {

TensorSummary summarize(const Tensor& t)
{
    TensorSummary s;
    s.elements = t.numel();
    if (s.elements == 0 || t.dtype() == DataType::String) return s;
    double sum = 0, sum2 = 0;
    int64_t zeros = 0;
    s.min = s.max = t.asDouble(0);
    for (int64_t i = 0; i < s.elements; ++i) {
        const double v = t.asDouble(i);
        s.min = std::min(s.min, v);
        s.max = std::max(s.max, v);
        sum += v;
        sum2 += v * v;
        zeros += v == 0.0;
    }
    const double n = static_cast<double>(s.elements);
    s.mean = sum / n;
    s.stddev = std::sqrt(std::max(0.0, sum2 / n - s.mean * s.mean));
    s.zeroShare = static_cast<double>(zeros) / n;
    return s;
}

namespace {

QString esc(const QString& s) { return s.toHtmlEscaped(); }

QString row(const QString& key, const QString& value)
{
    return "<tr><td style='color:#555;padding-right:10px'>" + esc(key) + "</td><td>" + value + "</td></tr>";
}

QString attributeText(const Attribute& a)
{
    auto join = [](const auto& v) {
        QStringList parts;
        for (const auto& x : v) {
            if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::string>) parts << QString::fromStdString(x);
            else parts << QString::number(x);
        }
        return "[" + parts.join(", ") + "]";
    };
    switch (a.kind) {
    case Attribute::Kind::Int: return QString::number(a.i);
    case Attribute::Kind::Float: return QString::number(a.f);
    case Attribute::Kind::String: return QString::fromStdString(a.s);
    case Attribute::Kind::Tensor: return QString("tensor %1 %2").arg(dataTypeName(a.t.dtype()), QString::fromStdString(shapeToString(a.t.shape())));
    case Attribute::Kind::Ints: return join(a.ints);
    case Attribute::Kind::Floats: return join(a.floats);
    case Attribute::Kind::Strings: return join(a.strings);
    case Attribute::Kind::Graph: return "subgraph";
    }
    return {};
}

QString describe(const ValueInfo& v)
{
    QString text = QString::fromUtf8(dataTypeName(v.dtype));
    if (v.hasShape) text += " " + QString::fromStdString(shapeToString(v.shape));
    if (v.quant) text += QString(", quantized (%1 scale%2)").arg(v.quant->scale.size()).arg(v.quant->scale.size() == 1 ? "" : "s");
    return text;
}

QString valueText(const Graph& graph, const std::string& name)
{
    if (const Tensor* t = graph.initializer(name)) {
        const TensorSummary s = summarize(*t);
        QString text = QString("%1 %2 (weight, %3 values)").arg(dataTypeName(t->dtype()), QString::fromStdString(shapeToString(t->shape())))
                           .arg(formatCount(static_cast<double>(s.elements)));
        if (t->dtype() != DataType::String && s.elements > 0)
            text += QString("<br><span style='color:#555'>min %1 · max %2 · mean %3 · std %4 · zeros %5 %</span>")
                        .arg(s.min, 0, 'g', 4).arg(s.max, 0, 'g', 4).arg(s.mean, 0, 'g', 4).arg(s.stddev, 0, 'g', 4)
                        .arg(100.0 * s.zeroShare, 0, 'f', 1);
        if (const QuantParams* q = t->quant())
            text += QString("<br><span style='color:#555'>quantized, %1 scale(s)</span>").arg(q->scale.size());
        return text;
    }
    if (const ValueInfo* v = graph.valueInfo(name)) return esc(describe(*v));
    for (const ValueInfo& v : graph.inputs())
        if (v.name == name) return esc(describe(v)) + " (graph input)";
    return "—";
}

} // namespace

NodeInspector::NodeInspector(QWidget* parent) : QTextBrowser(parent)
{
    setOpenLinks(false);
    showNothing();
}

void NodeInspector::showNothing()
{
    setHtml("<p style='color:#777'>" + tr("Open a model (File ▸ Open, or drop a file here). Select a node in the graph or the "
                                          "layer table to see its details.") + "</p>");
}

void NodeInspector::showNode(const Graph& graph, const NodeCost& c, const QString& target)
{
    const Node& n = graph.nodes()[static_cast<size_t>(c.node)];
    QString html = "<h3 style='margin:0'>" + esc(c.op) + "</h3><p style='margin-top:2px'><code>" + esc(c.name) + "</code></p>";
    html += "<h4>" + tr("Cost on %1 (estimated)").arg(esc(target)) + "</h4><table>";
    if (c.layer < 0 || !c.status.isEmpty()) html += row(tr("status"), esc(c.status));
    if (c.layer >= 0) {
        html += row(tr("MACs"), formatCount(static_cast<double>(c.macs)));
        html += row(tr("cycles"), formatCount(c.cycles));
        html += row(tr("latency"), QString::number(c.latencyMs, 'f', 4) + " ms");
        html += row(tr("energy"), c.energyUj ? QString::number(*c.energyUj, 'f', 4) + " µJ" : tr("no energy model"));
        html += row(tr("share of total"), QString::number(100.0 * c.share, 'f', 1) + " %");
        html += row(tr("arena live while running"), QString::number(100.0 * c.arenaShare, 'f', 1) + " %");
        html += row(tr("precision"), esc(c.precision));
        html += row(tr("kernel class"), esc(c.kernelClass));
        html += row(tr("flash"), formatBytes(static_cast<double>(c.flashBytes)));
        if (!c.cluster.isEmpty()) html += row(tr("cluster"), esc(c.cluster));
    }
    html += "</table><h4>" + tr("Inputs") + "</h4><table>";
    for (const std::string& in : n.inputs)
        if (!in.empty()) html += row(QString::fromStdString(in), valueText(graph, in));
    html += "</table><h4>" + tr("Outputs") + "</h4><table>";
    for (const std::string& out : n.outputs)
        if (!out.empty()) html += row(QString::fromStdString(out), valueText(graph, out));
    html += "</table>";
    if (!n.attributes.empty()) {
        html += "<h4>" + tr("Attributes") + "</h4><table>";
        for (const auto& [key, a] : n.attributes) html += row(QString::fromStdString(key), esc(attributeText(a)));
        html += "</table>";
    }
    setHtml(html);
}

void NodeInspector::showCandidate(const CandidateInfo& c, const cost::ModelEstimate* e, const QString& target)
{
    QString html = "<h3 style='margin:0'>" + esc(c.label) + "</h3><table>";
    html += row(tr("candidate"), esc(c.key));
    html += row(tr("made by"), c.plugin.isEmpty() ? tr("—") : esc(c.plugin));
    if (!c.params.isEmpty()) html += row(tr("parameters"), "<code>" + esc(QString::fromUtf8(QJsonDocument(c.params).toJson(QJsonDocument::Compact))) + "</code>");
    html += row(tr("policy"), esc(c.policyKind));
    html += row(tr("accuracy"), c.accuracy ? QString("%1 % on %2 test inputs").arg(100.0 * *c.accuracy, 0, 'f', 2).arg(c.samples) : tr("not evaluated yet"));
    html += row(tr("weights"), formatBytes(static_cast<double>(c.weightBytes)));
    if (c.runEnergyUj) html += row(tr("energy per input"), QString("%1 µJ on %2 (the run's estimate%3)").arg(*c.runEnergyUj, 0, 'f', 2).arg(esc(c.runTarget), c.policyKind == "plain" ? "" : ", expected"));
    html += "</table>";
    if (e) {
        html += "<h4>" + tr("Graph shown, on %1 (estimated)").arg(esc(target)) + "</h4><table>";
        html += row(tr("MACs"), formatCount(static_cast<double>(e->macs)));
        html += row(tr("latency"), QString::number(e->latencyMs, 'f', 3) + " ms");
        html += row(tr("energy"), e->energyUj ? QString::number(*e->energyUj, 'f', 2) + " µJ" : tr("no energy model"));
        html += row(tr("arena"), formatBytes(static_cast<double>(e->memory.arenaBytes)));
        html += row(tr("flash"), formatBytes(static_cast<double>(e->memory.flashBytes)));
        html += row(tr("fits"), e->fit.fits() ? tr("yes") : tr("no") + QString(" (flash %1 of %2, RAM %3 of %4)")
                                                             .arg(formatBytes(e->fit.flashNeeded), formatBytes(e->fit.flashAvailable),
                                                                  formatBytes(e->fit.ramNeeded), formatBytes(e->fit.ramAvailable)));
        html += "</table>";
    }
    setHtml(html);
}

} // namespace joule::ui
