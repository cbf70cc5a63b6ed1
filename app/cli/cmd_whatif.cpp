// joule whatif STAGES.json | --store FILE --candidate ID  [--rule R] [--thresholds LIST | --sweep N] [--json]
#include "cli_common.h"

#include "adaptive/whatif.h"
#include "store/store.h"

#include <QFile>
#include <QJsonArray>

#include <chrono>
#include <cstdio>

namespace joule::cli {

namespace {

QJsonObject percentiles(const adaptive::Percentiles& p)
{
    return QJsonObject{{"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}, {"max", p.max}};
}

QJsonValue thresholdsJson(adaptive::Policy policy, const std::vector<std::vector<double>>& t)
{
    policy.thresholds = t;
    return policy.toJson().value("thresholds");
}

// LIST: one value for every stage but the last, or one per such stage; class_max_prob: one per class
// (for every stage), or classes x (stages - 1).
std::vector<std::vector<double>> parseThresholds(const QString& list, adaptive::StopRule rule, const adaptive::StageOutputs& out)
{
    std::vector<double> values;
    for (const QString& part : list.split(',', Qt::SkipEmptyParts)) {
        bool ok = false;
        const double v = part.trimmed().toDouble(&ok);
        if (!ok) throw CliError("--thresholds: '" + part.toStdString() + "' is not a number");
        values.push_back(v);
    }
    const size_t stages = out.stageCount() - 1;
    const size_t per = rule == adaptive::StopRule::ClassMaxProb ? static_cast<size_t>(out.classes) : 1;
    std::vector<std::vector<double>> t;
    if (values.size() == per) {
        t.assign(stages, values);
    } else if (values.size() == per * stages) {
        for (size_t s = 0; s < stages; ++s) t.emplace_back(values.begin() + static_cast<long>(s * per), values.begin() + static_cast<long>((s + 1) * per));
    } else {
        throw CliError("--thresholds: " + std::string(adaptive::ruleName(rule)) + " over " + std::to_string(out.stageCount()) +
                       " stages takes " + std::to_string(per) + (stages > 1 ? " or " + std::to_string(per * stages) : std::string()) +
                       " values, got " + std::to_string(values.size()));
    }
    try {
        for (const auto& v : t) adaptive::checkThresholds(rule, v, out.classes);
    } catch (const adaptive::PolicyError& e) {
        throw CliError(std::string("--thresholds: ") + e.what());
    }
    return t;
}

} // namespace

int runWhatif(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Accuracy and expected cost per input of an adaptive policy at other thresholds, recomputed from every stage's "
        "stored answers (joule optimize --records-dir DIR writes DIR/<candidate>.stages.json), without running a model.");
    parser.addPositionalArgument("STAGES", "A stage-outputs file (<candidate>.stages.json); or give --store and --candidate.");
    parser.addOption({"store", "Read the stage outputs of --candidate from this experiment store instead of a file.", "FILE"});
    parser.addOption({"candidate", "The store-wide id of an adaptive candidate (joule runs show lists them).", "ID"});
    parser.addOption({"rule", "max_prob, margin, entropy or class_max_prob (default: the candidate's own).", "R"});
    parser.addOption({"thresholds", "Comma-separated thresholds (default: the candidate's own); class_max_prob takes one per class.", "LIST"});
    parser.addOption({"sweep", "Evaluate N thresholds spread over the rule's range and print the Pareto front.", "N"});
    parser.addOption({"json", "Print one JSON document on stdout."});
    parseOrExit(parser, args);
    const bool fromStore = parser.isSet("store") || parser.isSet("candidate");
    if (fromStore && !(parser.isSet("store") && parser.isSet("candidate"))) throw CliError("give --store FILE and --candidate ID together");
    if (fromStore && !parser.positionalArguments().isEmpty()) throw CliError("give a STAGES file or --store and --candidate, not both");
    if (!fromStore && parser.positionalArguments().size() != 1) throw CliError("give exactly one STAGES file, or --store and --candidate (see --help)");
    if (parser.isSet("sweep") && parser.isSet("thresholds")) throw CliError("give --thresholds or --sweep, not both");

    adaptive::Policy policy;
    adaptive::StageOutputs out;
    QString path;
    std::optional<int64_t> candidate;
    if (fromStore) {
        path = existingStoreOption(parser);
        bool ok = false;
        candidate = parser.value("candidate").toLongLong(&ok);
        if (!ok || *candidate <= 0) throw CliError("--candidate: '" + parser.value("candidate").toStdString() + "' is not a candidate id (a positive integer)");
        const store::Store db(path);
        if (db.candidatesById({*candidate}).empty()) throw CliError(path.toStdString() + ": no candidate " + std::to_string(*candidate));
        auto stored = db.stageOutputs(*candidate, &policy);
        if (!stored) throw CliError(path.toStdString() + ": candidate " + std::to_string(*candidate) + " is not adaptive (no stage outputs stored)");
        out = std::move(*stored);
    } else {
        path = parser.positionalArguments().front();
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly)) throw CliError(path.toStdString() + ": cannot read (" + f.errorString().toStdString() + ")");
        QJsonParseError pe;
        const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &pe);
        if (pe.error != QJsonParseError::NoError || !doc.isObject())
            throw CliError(path.toStdString() + ": not JSON (" + pe.errorString().toStdString() + ")");
        out = adaptive::stageOutputsFromJson(doc.object(), path.toStdString(), &policy);
    }
    // The source in JSON: the file, and the candidate when read from a store.
    const auto source = [&](QJsonObject o) {
        o["file"] = path;
        if (candidate) o["candidate"] = static_cast<qint64>(*candidate);
        return o;
    };

    adaptive::StopRule rule = policy.rule;
    if (parser.isSet("rule")) {
        const auto r = adaptive::ruleFromName(parser.value("rule").toStdString());
        if (!r) throw CliError("--rule must be max_prob, margin, entropy or class_max_prob, got '" + parser.value("rule").toStdString() + "'");
        rule = *r;
    }
    const bool json = parser.isSet("json");

    if (parser.isSet("sweep")) {
        const int n = positiveIntOption(parser, "sweep", 1000);
        const auto t0 = std::chrono::steady_clock::now();
        const auto points = adaptive::sweep(out, rule, n);
        const auto front = adaptive::paretoFront(points);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (json) {
            QJsonArray list;
            for (const auto& p : front)
                list.append(QJsonObject{{"thresholds", thresholdsJson(policy, p.thresholds)}, {"accuracy", p.accuracy},
                                        {"energy_uj", p.expectedEnergyUj}, {"latency_ms", p.expectedLatencyMs}});
            printJson(source(QJsonObject{{"rule", adaptive::ruleName(rule)}, {"samples", static_cast<qint64>(out.inputCount())},
                                         {"points", n}, {"sweep_ms", ms}, {"front", list}}));
            return 0;
        }
        std::printf("%s: %s over %lld inputs, %d thresholds in %.1f ms; Pareto front (%zu points):\n", path.toStdString().c_str(),
                    adaptive::ruleName(rule), static_cast<long long>(out.inputCount()), n, ms, front.size());
        std::printf("  %10s %9s %12s %11s\n", "threshold", "accuracy", "energy_uj", "latency_ms");
        for (const auto& p : front)
            std::printf("  %10.4f %8.2f%% %12.2f %11.3f\n", p.thresholds.front().front(), 100 * p.accuracy, p.expectedEnergyUj,
                        p.expectedLatencyMs);
        return 0;
    }

    std::vector<std::vector<double>> thresholds = policy.thresholds;
    if (parser.isSet("thresholds")) thresholds = parseThresholds(parser.value("thresholds"), rule, out);
    else if (rule != policy.rule) throw CliError("--rule " + parser.value("rule").toStdString() + " needs --thresholds (or --sweep)");
    const adaptive::Outcome o = adaptive::simulate(out, rule, thresholds);
    if (json) {
        QJsonArray answered;
        for (size_t s = 0; s < o.answered.size(); ++s)
            answered.append(QJsonObject{{"stage", QString::fromStdString(out.stageNames[s])}, {"share", o.answered[s]}});
        printJson(source(QJsonObject{{"rule", adaptive::ruleName(rule)},
                              {"thresholds", thresholdsJson(policy, thresholds)},
                              {"samples", static_cast<qint64>(o.samples)},
                              {"accuracy", o.accuracy},
                              {"macs", o.expectedMacs},
                              {"latency_ms", o.expectedLatencyMs},
                              {"energy_uj", o.expectedEnergyUj ? QJsonValue(*o.expectedEnergyUj) : QJsonValue()},
                              {"answered", answered},
                              {"latency_ms_percentiles", percentiles(o.latencyMs)},
                              {"energy_uj_percentiles", o.energyUj ? QJsonValue(percentiles(*o.energyUj)) : QJsonValue()}}));
        return 0;
    }
    std::printf("%s: %s, %lld inputs: accuracy %.2f%%, expected per input %.3f ms, %s uJ, %.0f MACs\n", path.toStdString().c_str(),
                adaptive::ruleName(rule), static_cast<long long>(o.samples), 100 * o.accuracy, o.expectedLatencyMs,
                energyText(o.expectedEnergyUj).c_str(), o.expectedMacs);
    for (size_t s = 0; s < o.answered.size(); ++s)
        std::printf("  %-16s answered %5.1f%%\n", out.stageNames[s].c_str(), 100 * o.answered[s]);
    return 0;
}

} // namespace joule::cli
