#include "cascade_pass.h"

#include "adaptive/cascade.h"
#include "plugin/parameter.h"

#include <QJsonArray>

namespace joule::plugins {

namespace {

QStringList listParam(const QVariantMap& params, const QString& key)
{
    QStringList out;
    for (const QString& part : params.value(key).toString().split(',', Qt::SkipEmptyParts)) out << part.trimmed();
    return out;
}

QString thresholdText(const adaptive::Policy& p)
{
    QStringList parts;
    for (const auto& t : p.thresholds) {
        if (p.rule == adaptive::StopRule::ClassMaxProb) parts << "per class";
        else parts << QString::number(t.front(), 'g', 4);
    }
    return parts.join(", ");
}

} // namespace

std::vector<plugin::Candidate> CascadePass::run(const plugin::Candidate& input, const QVariantMap& params, plugin::PassContext& ctx)
{
    const QStringList names = listParam(params, "stages");
    if (names.size() < 2)
        throw plugin::PluginError("parameter 'stages': a cascade needs at least two stages, cheapest first (e.g. little,big); got '" +
                                  params.value("stages").toString() + "'");
    const QStringList clusters = listParam(params, "clusters");
    if (!clusters.isEmpty() && clusters.size() != names.size())
        throw plugin::PluginError("parameter 'clusters': " + QString::number(names.size()) + " stages need " +
                                  QString::number(names.size()) + " clusters, got '" + params.value("clusters").toString() + "'");
    const auto rule = adaptive::ruleFromName(params.value("rule").toString().toStdString());
    if (!rule) throw plugin::PluginError("parameter 'rule': unknown rule '" + params.value("rule").toString() + "'");
    if (!ctx.validation())
        throw plugin::PluginError("a cascade step needs a validation set to tune its thresholds on (the recipe's "
                                  "\"datasets\": {\"validation\": ...}); the test set only reports");
    if (!ctx.target()) throw plugin::PluginError("a cascade step needs the recipe's \"target\" to cost its stages");

    plugin::Candidate out;
    adaptive::Policy policy;
    policy.kind = adaptive::PolicyKind::Cascade;
    policy.rule = *rule;
    std::vector<std::string> stageNames;
    QJsonArray stageNotes;
    for (qsizetype s = 0; s < names.size(); ++s) {
        const plugin::Candidate& stage = ctx.candidateFor(names[s]);
        if (stage.graphs.size() != 1)
            throw plugin::PluginError("stage '" + names[s] + "' (candidate " + stage.id + ") is not a plain model");
        out.graphs.push_back(stage.graphs.front());
        policy.stages.push_back({names[s].toStdString(), clusters.isEmpty() ? std::string() : clusters[s].toStdString()});
        stageNames.push_back(names[s].toStdString());
        stageNotes.append(QJsonObject{{"name", names[s]}, {"candidate", stage.id}, {"label", stage.label}});
    }
    try {
        adaptive::checkStagesAgree(out.graphs, stageNames);
    } catch (const adaptive::PolicyError& e) {
        throw plugin::PluginError("parameter 'stages': " + QString::fromStdString(e.what()));
    }
    const std::vector<adaptive::StageCost> costs = adaptive::stageCosts(out.graphs, policy, *ctx.target());

    ctx.progress(0.0, "scoring every stage on the validation set");
    eval::EvalOptions eo;
    eo.workers = ctx.evalWorkers();
    eo.cancel = ctx.cancelFlag();
    const adaptive::StageOutputs validation =
        adaptive::scoreStages(out.graphs, stageNames, costs, *ctx.validation(), ctx.preprocessing(), eo);
    ctx.throwIfCancelled();
    ctx.progress(0.8, "tuning thresholds");
    const adaptive::Tuned tuned = adaptive::tune(validation, policy.rule, params.value("max_drop").toDouble());
    policy.thresholds = tuned.thresholds;

    out.policy = policy.toJson();
    out.label = "cascade " + names.join(" -> ") + " (" + params.value("rule").toString() + " " + thresholdText(policy) + ")";
    out.notes["stages"] = stageNotes;
    out.notes["validation"] = adaptive::tunedToJson(tuned, validation.inputCount());
    ctx.progress(1.0, "tuned");
    (void)input;
    return {out};
}

} // namespace joule::plugins
