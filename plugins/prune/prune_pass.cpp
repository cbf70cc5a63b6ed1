#include "prune_pass.h"

#include "plugin/parameter.h"
#include "prune/channel_groups.h"
#include "prune/prune.h"
#include "runtime/qdq_lower.h"

#include <QJsonArray>

#include <algorithm>
#include <atomic>

namespace joule::plugins {
namespace {

std::vector<std::string> excludeList(const QVariantMap& p)
{
    std::vector<std::string> out;
    for (const QString& s : p.value("exclude").toString().split(',', Qt::SkipEmptyParts)) out.push_back(s.trimmed().toStdString());
    return out;
}

prune::Importance importanceOf(const QString& s)
{
    if (s == "l2") return prune::Importance::L2;
    if (s == "geometric_median") return prune::Importance::GeometricMedian;
    if (s == "activation") return prune::Importance::Activation;
    return prune::Importance::L1;
}

// Each layer pruned alone by the amount, without recovery, scored on `data`: [{layer, accuracy}].
QJsonObject sensitivityScan(const Graph& graph, const QVariantMap& params, plugin::PassContext& ctx, const data::LabeledImages& data)
{
    const bool channels = params.value("mode").toString() != "unstructured";
    const double amount = params.value("amount").toDouble();
    const int64_t limit = params.value("scan_samples").toLongLong();
    const std::vector<std::string> userExclude = excludeList(params);
    // The layers: prunable channel groups by their first producer, or every layer with weights.
    std::vector<std::string> layers;
    if (channels) {
        for (const prune::ChannelGroup& g : prune::channelGroups(graph))
            if (g.prunable) layers.push_back(g.name);
    } else {
        for (const Node& n : graph.nodes())
            if ((n.opType == "Conv" || n.opType == "Gemm" || n.opType == "MatMul") && n.hasInput(1) && graph.initializer(n.inputs[1])) layers.push_back(n.name);
    }
    QJsonArray rows;
    const double base = ctx.evaluate(graph, data, limit).accuracy;
    for (size_t i = 0; i < layers.size(); ++i) {
        ctx.throwIfCancelled();
        ctx.progress(static_cast<double>(i) / static_cast<double>(layers.size()), QString("sensitivity of %1").arg(QString::fromStdString(layers[i])));
        if (std::find(userExclude.begin(), userExclude.end(), layers[i]) != userExclude.end()) continue;
        std::vector<std::string> others = userExclude;
        for (const std::string& l : layers)
            if (l != layers[i]) others.push_back(l);
        Graph alone;
        try {
            if (channels) alone = prune::pruneChannels(graph, {.importance = importanceOf(params.value("importance").toString()), .amount = amount,
                                                              .scope = prune::Scope::Layer, .exclude = others, .data = ctx.calibration(),
                                                              .prep = ctx.preprocessing()}).graph;
            else alone = prune::pruneMagnitude(graph, {.amount = amount, .scope = prune::Scope::Layer, .exclude = others}).graph;
        } catch (const std::invalid_argument& e) {
            rows.append(QJsonObject{{"layer", QString::fromStdString(layers[i])}, {"error", e.what()}});
            continue;
        }
        const double a = ctx.evaluate(alone, data, limit).accuracy;
        rows.append(QJsonObject{{"layer", QString::fromStdString(layers[i])}, {"accuracy", a}, {"drop", base - a}});
    }
    return QJsonObject{{"amount", amount}, {"samples", static_cast<qint64>(std::min<int64_t>(limit, data.size()))}, {"accuracy", base}, {"layers", rows}};
}

} // namespace

std::vector<plugin::Candidate> PrunePass::run(const plugin::Candidate& input, const QVariantMap& params, plugin::PassContext& ctx)
{
    if (input.graphs.size() != 1 || input.policy.value("kind").toString() != "plain")
        throw plugin::PluginError("candidate '" + input.id + "' is not a plain one-graph candidate");
    const Graph& graph = input.graphs.front();
    if (rt::hasQdq(graph)) throw plugin::PluginError("candidate '" + input.id + "' is quantized; prune the fp32 model, then quantize");
    const QString mode = params.value("mode").toString();
    const double amount = params.value("amount").toDouble();
    const prune::Scope scope = params.value("scope").toString() == "global" ? prune::Scope::Global : prune::Scope::Layer;
    plugin::Candidate out;
    QJsonObject scan;
    if (params.value("sensitivity_scan").toBool()) {
        const data::LabeledImages* data = ctx.validation() ? ctx.validation() : ctx.calibration();
        if (!data) throw plugin::PluginError("sensitivity_scan needs validation or calibration data in the recipe");
        try {
            scan = sensitivityScan(graph, params, ctx, *data);
        } catch (const std::invalid_argument& e) {
            throw plugin::PluginError(e.what());
        }
    }
    try {
        if (mode == "unstructured") {
            const prune::UnstructuredResult r = prune::pruneMagnitude(graph, {.amount = amount, .scope = scope, .exclude = excludeList(params)});
            out.graphs = {r.graph};
            out.label = QString("%1 % of weights zeroed (%2)").arg(100.0 * amount, 0, 'f', 0).arg(params.value("scope").toString());
            QJsonObject sparsity;
            for (const auto& [layer, s] : r.sparsity) sparsity[QString::fromStdString(layer)] = s;
            out.notes["sparsity"] = sparsity;
            out.notes["weights_zeroed"] = static_cast<qint64>(r.zeroed);
            out.notes["weights"] = static_cast<qint64>(r.weights);
            if (!scan.isEmpty()) out.notes["sensitivity"] = scan;
            out.notes["saves"] = "storage only where the weights are stored sparse; the studio's targets and exports store them dense, "
                                 "so MACs, latency and energy are unchanged";
            return {out};
        }
        prune::ChannelPruneOptions po{.importance = importanceOf(params.value("importance").toString()), .amount = amount, .scope = scope,
                                      .exclude = excludeList(params), .data = ctx.calibration(), .prep = ctx.preprocessing()};
        if (po.importance == prune::Importance::Activation && !ctx.calibration())
            throw plugin::PluginError("importance 'activation' needs calibration data (recipe 'datasets.calibration')");
        const prune::ChannelPruneResult r = prune::pruneChannels(graph, po);
        out.graphs = {r.graph};
        const bool recover = params.value("recovery").toBool();
        if (recover) {
            if (!ctx.calibration()) throw plugin::PluginError("recovery needs calibration data (recipe 'datasets.calibration'), or set recovery false");
            std::atomic<bool> cancel{false};
            prune::RecoveryOptions o;
            o.data = ctx.calibration();
            o.prep = ctx.preprocessing();
            o.samples = params.value("recovery_samples").toLongLong();
            o.cancel = &cancel;
            o.progress = [&ctx, &cancel](double f, const std::string& what) {
                if (ctx.cancelled()) cancel = true;
                ctx.progress(std::clamp(f, 0.0, 1.0), QString::fromStdString(what));
                ctx.throwIfCancelled();
            };
            out.graphs = {prune::recoverLeastSquares(graph, r, o)};
        }
        QJsonArray layers;
        int64_t before = 0, after = 0;
        for (const prune::PrunedLayer& l : r.layers) {
            layers.append(QJsonObject{{"layer", QString::fromStdString(l.name)}, {"channels", static_cast<qint64>(l.before)}, {"kept", static_cast<qint64>(l.after)}});
            before += l.before;
            after += l.after;
        }
        out.notes["channels"] = layers;
        if (!scan.isEmpty()) out.notes["sensitivity"] = scan;
        out.notes["recovery"] = recover;
        out.label = QString("%1 % of channels removed (%2, %3%4)")
                        .arg(100.0 * static_cast<double>(before - after) / static_cast<double>(std::max<int64_t>(before, 1)), 0, 'f', 0)
                        .arg(params.value("importance").toString(), params.value("scope").toString(), recover ? ", recovered" : "");
    } catch (const std::invalid_argument& e) {
        throw plugin::PluginError(e.what());
    }
    return {out};
}

} // namespace joule::plugins
