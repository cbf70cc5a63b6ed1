#include "early_exit_pass.h"

#include "adaptive/cascade.h"
#include "adaptive/early_exit.h"
#include "plugin/parameter.h"

#include <QJsonArray>

namespace joule::plugins {

namespace {

using adaptive::StageOutputs;

// The stage outputs without stage `drop` (< last): its segment still runs, so its cost moves to the next.
StageOutputs withoutStage(const StageOutputs& all, size_t drop)
{
    StageOutputs out = all;
    out.costs[drop + 1].macs += out.costs[drop].macs;
    out.costs[drop + 1].latencyMs += out.costs[drop].latencyMs;
    if (out.costs[drop + 1].energyUj && out.costs[drop].energyUj) *out.costs[drop + 1].energyUj += *out.costs[drop].energyUj;
    out.costs.erase(out.costs.begin() + static_cast<long>(drop));
    out.scores.erase(out.scores.begin() + static_cast<long>(drop));
    out.stageNames.erase(out.stageNames.begin() + static_cast<long>(drop));
    return out;
}

double expectedCost(const adaptive::Tuned& t)
{
    return t.outcome.expectedEnergyUj ? *t.outcome.expectedEnergyUj : t.outcome.expectedLatencyMs;
}

struct Built {
    std::vector<Graph> segments;
    adaptive::Policy policy;
    std::vector<adaptive::StageCost> costs;
    std::vector<std::string> names;
};

Built build(const Graph& model, const std::vector<std::string>& exits, const std::vector<adaptive::Head>& heads,
            adaptive::StopRule rule, const cost::TargetProfile& target)
{
    Built b;
    b.segments = adaptive::splitAtExits(model, exits, heads);
    b.policy.kind = adaptive::PolicyKind::EarlyExit;
    b.policy.rule = rule;
    for (const auto& e : exits) b.names.push_back(e);
    b.names.push_back("final");
    for (const auto& n : b.names) b.policy.stages.push_back({n, ""});
    b.costs = adaptive::stageCosts(b.segments, b.policy, target);
    return b;
}

} // namespace

std::vector<plugin::Candidate> EarlyExitPass::run(const plugin::Candidate& input, const QVariantMap& params, plugin::PassContext& ctx)
{
    if (input.graphs.size() != 1) throw plugin::PluginError("early exits need a plain model (one graph), got candidate " + input.id);
    const Graph& model = input.graphs.front();
    const auto rule = adaptive::ruleFromName(params.value("rule").toString().toStdString());
    if (!rule) throw plugin::PluginError("parameter 'rule': unknown rule '" + params.value("rule").toString() + "'");
    if (!ctx.calibration())
        throw plugin::PluginError("an early_exit step needs training images for its heads (the recipe's \"datasets\": {\"calibration\": ...})");
    if (!ctx.validation())
        throw plugin::PluginError("an early_exit step needs a validation set to tune its thresholds on (the recipe's "
                                  "\"datasets\": {\"validation\": ...}); the test set only reports");
    if (!ctx.target()) throw plugin::PluginError("an early_exit step needs the recipe's \"target\" to cost its segments");

    std::vector<std::string> exits;
    for (const QString& e : params.value("exits").toString().split(',', Qt::SkipEmptyParts)) exits.push_back(e.trimmed().toStdString());
    try {
        if (exits.empty()) exits = adaptive::defaultExits(model);
        adaptive::checkExits(model, exits);
    } catch (const adaptive::PolicyError& e) {
        throw plugin::PluginError("parameter 'exits': " + QString::fromStdString(e.what()));
    }

    ctx.progress(0.0, "capturing features for the exit heads");
    const data::LabeledImages& train = *ctx.calibration();
    const int64_t samples = std::min<int64_t>(params.value("train_samples").toLongLong(), train.size());
    const auto features = adaptive::captureFeatures(model, exits, train, ctx.preprocessing(), samples, ctx.cancelFlag());
    // The heads answer the model's classes: its declared output width, else the training data's.
    const int64_t declared = eval::declaredOutputWidth(model.outputs().front());
    const int64_t classes = declared > 0 ? declared : static_cast<int64_t>(train.classNames.size());
    std::vector<adaptive::Head> heads;
    QJsonArray headNotes;
    for (size_t e = 0; e < exits.size(); ++e) {
        ctx.throwIfCancelled();
        ctx.progress(0.2 + 0.2 * static_cast<double>(e) / static_cast<double>(exits.size()), "training exit heads");
        heads.push_back(adaptive::trainHead(features[e], train.labels, classes,
                                            {.iterations = static_cast<int>(params.value("iterations").toLongLong()),
                                             .l2 = params.value("l2").toDouble()}));
        headNotes.append(QJsonObject{{"exit", QString::fromStdString(exits[e])},
                                     {"channels", static_cast<qint64>(heads.back().channels)},
                                     {"train_accuracy", heads.back().trainAccuracy}});
    }

    ctx.progress(0.4, "scoring every exit on the validation set");
    eval::EvalOptions eo;
    eo.workers = ctx.evalWorkers();
    eo.cancel = ctx.cancelFlag();
    Built b = build(model, exits, heads, *rule, *ctx.target());
    StageOutputs validation = adaptive::scoreChain(b.segments, b.names, b.costs, *ctx.validation(), ctx.preprocessing(), eo);

    // Drop, one at a time, the exit whose removal lowers the expected cost most, while one does.
    const double maxDrop = params.value("max_drop").toDouble();
    std::vector<size_t> kept(exits.size());
    for (size_t e = 0; e < kept.size(); ++e) kept[e] = e;
    QJsonArray dropped;
    double best = expectedCost(adaptive::tune(validation, *rule, maxDrop));
    for (;;) {
        ctx.throwIfCancelled();
        std::optional<size_t> drop;
        for (size_t k = 0; k < kept.size() && validation.stageCount() > 2; ++k) {
            const double cost = expectedCost(adaptive::tune(withoutStage(validation, k), *rule, maxDrop));
            if (cost < best) {
                best = cost;
                drop = k;
            }
        }
        if (!drop) break;
        dropped.append(QString::fromStdString(exits[kept[*drop]]));
        validation = withoutStage(validation, *drop);
        kept.erase(kept.begin() + static_cast<long>(*drop));
    }
    double fullCost = 0;   // every input through every segment
    for (const auto& c : validation.costs) fullCost += c.energyUj.value_or(c.latencyMs);
    if (best >= fullCost) {
        QStringList tried;
        for (const auto& e : exits) tried << QString::fromStdString(e);
        throw plugin::PluginError("no exit pays for its own cost on the validation set (exits tried: " + tried.join(", ") + ")");
    }
    if (!dropped.isEmpty()) {
        // Rebuild the kept exits into their own segments (costs without the dropped heads).
        std::vector<std::string> keptExits;
        std::vector<adaptive::Head> keptHeads;
        for (size_t k : kept) {
            keptExits.push_back(exits[k]);
            keptHeads.push_back(heads[k]);
        }
        b = build(model, keptExits, keptHeads, *rule, *ctx.target());
        validation = adaptive::scoreChain(b.segments, b.names, b.costs, *ctx.validation(), ctx.preprocessing(), eo);
    }
    ctx.progress(0.9, "tuning thresholds");
    const adaptive::Tuned tuned = adaptive::tune(validation, *rule, maxDrop);
    b.policy.thresholds = tuned.thresholds;

    plugin::Candidate out;
    out.graphs = b.segments;
    out.policy = b.policy.toJson();
    QStringList names;
    for (size_t s = 0; s + 1 < b.names.size(); ++s) names << QString::fromStdString(b.names[s]);
    out.label = "early exits at " + names.join(", ") + " (" + params.value("rule").toString() + ")";
    out.notes["heads"] = headNotes;
    out.notes["dropped_exits"] = dropped;
    out.notes["validation"] = adaptive::tunedToJson(tuned, validation.inputCount());
    ctx.progress(1.0, "tuned");
    return {out};
}

} // namespace joule::plugins
