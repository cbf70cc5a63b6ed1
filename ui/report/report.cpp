#include "report/report.h"

#include "plots/plot_export.h"
#include "store/store.h"
#include "views/layer_table.h"
#include "views/per_input_view.h"
#include "views/per_layer_view.h"
#include "views/tradeoff_view.h"

#include <qcustomplot.h>

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QTemporaryDir>

#include <algorithm>
#include <set>

namespace joule::ui {

namespace {

QString esc(const QString& s) { return s.toHtmlEscaped(); }

// A plot as an <img> with its PNG inline.
QString image(QCustomPlot* plot, const QTemporaryDir& tmp, int width, int height, const QString& alt)
{
    static int n = 0;
    const QString file = tmp.filePath(QString("plot%1.png").arg(++n));
    savePlot(plot, file, width, height);
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly)) throw ProjectError(file + ": cannot read the plot back");
    return QString("<img alt=\"%1\" width=\"%2\" src=\"data:image/png;base64,%3\">")
        .arg(esc(alt)).arg(width).arg(QString::fromLatin1(f.readAll().toBase64()));
}

QString metricCell(const CandidateInfo& c, const QString& metric)
{
    const auto it = c.metrics.find(metric);
    if (it == c.metrics.end()) return "<td class=n>—</td>";
    const double v = it->second;
    QString text;
    if (metric == "accuracy") text = QString::number(100.0 * v, 'f', 2) + " %";
    else if (metric.endsWith("_bytes")) text = formatBytes(v);
    else if (metric == "macs") text = formatCount(v);
    else text = QString::number(v, 'f', metric == "latency_ms" ? 3 : 2);
    return "<td class=n>" + text + "</td>";
}

const char* kStyle = R"css(
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; } .sub { color: #666; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { padding: 3px 8px; border-bottom: 1px solid #eee; }
th { text-align: left; background: #f4f4f4; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.front td:first-child { font-weight: bold; } img { display: block; margin: 0.8em 0; max-width: 100%; }
.note { color: #666; font-size: 0.85em; }
)css";

} // namespace

QString writeReport(const Project& project, const QString& dir, const ReportOptions& options)
{
    if (!QDir().mkpath(dir)) throw ProjectError(dir + ": cannot create the folder");
    QTemporaryDir tmp;
    if (!tmp.isValid()) throw ProjectError("cannot make a temporary folder for the report's plots");
    auto step = [&](double f, const QString& what) {
        if (options.cancel && options.cancel->load()) throw plugin::Cancelled();
        if (options.progress) options.progress(f, what);
    };

    std::vector<const CandidateInfo*> stored;
    for (const CandidateInfo& c : project.candidates())
        if (c.storeId > 0) stored.push_back(&c);
    if (stored.empty()) throw ProjectError(project.path() + ": the project has no recorded runs to report on");

    step(0.05, "trade-off");
    TradeoffView tradeoff;
    tradeoff.resize(1000, 600);
    tradeoff.setProject(&project);
    tradeoff.setAxes("energy_uj", "accuracy");
    const std::vector<QString> front = tradeoff.frontKeys();
    const std::set<QString> onFront(front.begin(), front.end());

    QString html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + esc(project.title()) +
                   " — Joule Studio report</title><style>" + kStyle + "</style></head><body>";
    html += "<h1>" + esc(QFileInfo(project.path()).fileName()) + "</h1>";
    html += "<p class=sub>Joule Studio report · " + esc(QDateTime::currentDateTimeUtc().toString(Qt::ISODate)) + " · " +
            QString::number(project.runs().size()) + " runs, " + QString::number(stored.size()) +
            " candidates. Accuracy is measured by the Joule engine on each run's test set; latency and energy are " +
            "estimated on the target each run names (per input, expected, for adaptive candidates).</p>";

    html += "<h2>Candidates</h2><table><tr><th>candidate</th><th>label</th><th>plugin</th><th>from</th><th>target</th>";
    for (const QString& m : store::metricNames()) html += "<th>" + esc(m) + "</th>";
    html += "<th>fits</th></tr>";
    for (const CandidateInfo* c : stored) {
        html += QString("<tr%1><td>%2</td><td>%3</td><td>%4</td><td>%5</td><td>%6</td>")
                    .arg(onFront.count(c->key) ? " class=front" : "", esc(c->key), esc(c->label), esc(c->plugin.isEmpty() ? "—" : c->plugin),
                         esc(c->parentKey.isEmpty() ? "—" : c->parentKey), esc(c->runTarget));
        for (const QString& m : store::metricNames()) html += metricCell(*c, m);
        html += "<td>" + QString(c->fits ? "yes" : "no") + "</td></tr>";
    }
    html += "</table><p class=note>Bold: on the Pareto front of accuracy against energy.</p>";

    html += "<h2>Trade-off: accuracy against energy</h2>";
    html += image(tradeoff.plot(), tmp, 1000, 560, "accuracy against energy per input, every candidate, Pareto front");
    html += "<p>Pareto front, cheapest first: " + esc(QStringList(front.begin(), front.end()).join(", ")) + ".</p>";

    // Sections: the front first, then the others, up to maxCandidates.
    std::vector<const CandidateInfo*> sections;
    for (const QString& k : front)
        if (const CandidateInfo* c = project.find(k)) sections.push_back(c);
    for (const CandidateInfo* c : stored)
        if (!onFront.count(c->key)) sections.push_back(c);
    if (static_cast<int>(sections.size()) > options.maxCandidates) sections.resize(static_cast<size_t>(options.maxCandidates));

    PerLayerView perLayer;
    perLayer.resize(1000, 700);
    PerInputView perInput;
    perInput.resize(1200, 800);
    for (size_t i = 0; i < sections.size(); ++i) {
        const CandidateInfo& c = *sections[i];
        step(0.1 + 0.85 * static_cast<double>(i) / static_cast<double>(sections.size()), "candidate " + c.key);
        const QString target = options.target.isEmpty() ? c.runTarget : options.target;
        html += "<h2>" + esc(c.key) + " · " + esc(c.label) + "</h2>";
        if (c.policyKind == "plain") {
            std::optional<LayerSide> parent;
            if (const CandidateInfo* p = project.find(c.parentKey)) parent = layerSide(project, *p, target);
            perLayer.setCandidate(layerSide(project, c, target), parent, target);
            html += "<p class=sub>Per layer on " + esc(target) + (parent ? ", against " + esc(c.parentKey) : QString()) + ".</p>";
            html += image(perLayer.barsPlot(), tmp, 1000, 380, "energy per layer");
            if (perLayer.sqnrPlot()->isVisibleTo(&perLayer)) html += image(perLayer.sqnrPlot(), tmp, 1000, 300, "per-layer SQNR");
        } else {
            html += "<p class=sub>Adaptive (" + esc(c.policyKind) + "): energy and latency are expected values per input.</p>";
        }
        const std::shared_ptr<const InputsOf> in = project.inputs(c);
        perInput.setData(perInputData(c.label, *in));
        html += "<p>" + esc(perInput.summaryText()).replace("\n", "<br>") + "</p>";
        html += image(perInput.confusionPlot(), tmp, 620, 560, "confusion matrix");
        html += image(perInput.confidencePlot(), tmp, 620, 360, "confidence of correct and wrong answers");
        if (c.policyKind != "plain") html += image(perInput.energyPlot(), tmp, 620, 360, "energy per input");
    }
    html += "<p class=note>Made by Joule Studio from " + esc(QDir::toNativeSeparators(project.storePath())) + ".</p></body></html>";

    step(0.98, "writing");
    const QString file = QDir(dir).filePath("index.html");
    QSaveFile out(file);
    if (!out.open(QIODevice::WriteOnly)) throw ProjectError(file + ": cannot write: " + out.errorString());
    out.write(html.toUtf8());
    if (!out.commit()) throw ProjectError(file + ": cannot write: " + out.errorString());
    step(1.0, "done");
    return file;
}

} // namespace joule::ui
