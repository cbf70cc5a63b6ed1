// joule optimize RECIPE.json [--export-dir DIR] [--json]
#include "cli_common.h"

#include "adaptive/whatif.h"
#include "store/store.h"
#include "plugin/plugin_manager.h"
#include "plugin/recipe_runner.h"
#include "onnx/onnx_io.h"

#include <QDir>
#include <QFileInfo>
#include <QSaveFile>

#include <QJsonArray>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>

namespace joule::cli {

namespace {

std::atomic<bool> g_cancel{false};

extern "C" void onInterrupt(int)
{
    g_cancel.store(true);
    std::signal(SIGINT, SIG_DFL);   // a second Ctrl-C ends the process at once
    std::signal(SIGTERM, SIG_DFL);
}


QJsonObject percentilesToJson(const adaptive::Percentiles& p)
{
    return QJsonObject{{"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}, {"max", p.max}};
}

QJsonValue thresholdsToJson(const adaptive::Policy& policy, const std::vector<std::vector<double>>& thresholds)
{
    adaptive::Policy p = policy;
    p.thresholds = thresholds;
    return p.toJson().value("thresholds");
}

// What an adaptive candidate adds: the share each stage answered, the cost distribution per input,
// each stage alone, and the what-if front on the test set.
void addAdaptive(QJsonObject& o, const plugin::AdaptiveResult& a)
{
    QJsonArray stages, front;
    for (size_t s = 0; s < a.policy.stages.size(); ++s)
        stages.append(QJsonObject{{"name", QString::fromStdString(a.policy.stages[s].name)},
                                  {"answered", a.outcome.answered[s]},
                                  {"executed", static_cast<qint64>(a.executed[s])},
                                  {"macs", static_cast<qint64>(a.costs[s].macs)},
                                  {"latency_ms", a.costs[s].latencyMs},
                                  {"energy_uj", optionalNumber(a.costs[s].energyUj)},
                                  {"accuracy_alone", a.stageAccuracy[s]}});
    for (const auto& p : a.front)
        front.append(QJsonObject{{"thresholds", thresholdsToJson(a.policy, p.thresholds)},
                                 {"accuracy", p.accuracy},
                                 {"energy_uj", p.expectedEnergyUj},
                                 {"latency_ms", p.expectedLatencyMs}});
    o["expected"] = true;
    o["shared_weight_bytes"] = static_cast<qint64>(a.sharedWeightBytes);
    o["stages"] = stages;
    o["latency_ms_percentiles"] = percentilesToJson(a.outcome.latencyMs);
    o["energy_uj_percentiles"] = a.outcome.energyUj ? QJsonValue(percentilesToJson(*a.outcome.energyUj)) : QJsonValue();
    o["front"] = front;
}

QJsonObject candidateToJson(const plugin::CandidateResult& r, const QString& target)
{
    const plugin::Candidate& c = r.candidate;
    const cost::ModelEstimate& e = r.estimate;
    QJsonObject o{{"id", c.id},
                       {"label", c.label},
                       {"plugin", c.plugin.isEmpty() ? QJsonValue() : QJsonValue(c.plugin)},
                       {"params", QJsonObject::fromVariantMap(c.params)},
                       {"parent", c.parentId.isEmpty() ? QJsonValue() : QJsonValue(c.parentId)},
                       {"step", r.step},
                       {"policy", c.policy},
                       {"notes", c.notes},
                       {"samples", static_cast<qint64>(r.test.samples)},
                       {"accuracy", r.test.accuracy},
                       {"target", target},
                       {"precision", QString::fromLatin1(cost::precisionName(e.precision))},
                       {"macs", static_cast<qint64>(e.macs)},
                       {"latency_ms", e.latencyMs},
                       {"energy_uj", optionalNumber(e.energyUj)},
                       {"weight_bytes", static_cast<qint64>(r.weightBytes)},
                       {"flash_bytes", static_cast<qint64>(e.memory.flashBytes)},
                       {"arena_bytes", static_cast<qint64>(e.memory.arenaBytes)},
                       {"arena_lower_bound_bytes", static_cast<qint64>(e.memory.arenaLowerBoundBytes)},
                       {"fits", e.fit.fits()}};
    if (r.adaptive) addAdaptive(o, *r.adaptive);
    return o;
}

QString paramsText(const QVariantMap& params)
{
    QStringList parts;
    for (auto it = params.begin(); it != params.end(); ++it) parts << it.key() + "=" + it.value().toString();
    return parts.join(" ");
}

} // namespace

int runOptimize(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Runs a recipe (docs/plugins.md): loads its model, datasets and target, runs its plugin steps in order (each "
        "step on every candidate of the previous one), evaluates the fp32 baseline and every resulting candidate on "
        "the test set and estimates each on the recipe's target. Progress goes to stderr; Ctrl-C cancels (exit 130).");
    parser.addPositionalArgument("recipe", "The recipe JSON file.");
    parser.addOption({"json", "Print one JSON document on stdout."});
    parser.addOption({"export-dir",
                      "Write every candidate's graph as an ONNX model to DIR/<id>.onnx (quantized candidates in QDQ "
                      "form, which ONNX Runtime runs; a candidate with several graphs as DIR/<id>_<n>.onnx).",
                      "dir"});
    parser.addOption({"store",
                      "Record the run in this experiment store (SQLite; created if missing). Default: joule.db in the "
                      "recipe's folder.",
                      "file"});
    parser.addOption({"no-store", "Do not record the run in any store."});
    parser.addOption({"records-dir",
                      "Write every candidate's per-input records to DIR/<id>.csv (stage, MACs, latency and energy per "
                      "input), and for an adaptive candidate every stage's answers to DIR/<id>.stages.json for joule whatif.",
                      "dir"});
    parseOrExit(parser, args);
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) throw CliError("joule optimize needs exactly one RECIPE.json (see --help)");

    const plugin::Recipe recipe = plugin::loadRecipe(positional.front());
    if (parser.isSet("store") && parser.isSet("no-store")) throw CliError("give --store FILE or --no-store, not both");
    // Opened (created, migrated, or refused) before any work, so a bad store costs nothing.
    std::unique_ptr<store::Store> db;
    if (!parser.isSet("no-store"))
        db = std::make_unique<store::Store>(parser.isSet("store") ? parser.value("store")
                                                                  : QFileInfo(recipe.file).absoluteDir().filePath("joule.db"));
    plugin::PluginManager plugins;

    g_cancel.store(false);
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    plugin::OptimizeResult result;
    try {
        result = plugin::runRecipe(recipe, plugins, {.cancel = &g_cancel, .log = [](const QString& line) {
                                                         std::cerr << "joule optimize: " << line.toStdString() << "\n";
                                                     }});
    } catch (const eval::Cancelled&) {
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGTERM, SIG_DFL);
        std::cerr << "joule optimize: cancelled\n";
        return 130;
    }
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);

    int64_t runId = 0;
    if (db) {
        runId = db->addRun(result);
        std::cerr << "joule optimize: recorded as run " << runId << " in " << db->path().toStdString() << "\n";
    }

    // Exported files by candidate id (each written atomically by saveModel).
    std::map<QString, QStringList> exported;
    if (parser.isSet("export-dir")) {
        const QString dir = parser.value("export-dir");
        if (!QDir().mkpath(dir)) throw CliError("--export-dir " + dir.toStdString() + ": cannot create the directory");
        for (const auto& r : result.candidates) {
            const auto& graphs = r.candidate.graphs;
            for (size_t g = 0; g < graphs.size(); ++g) {
                const QString file = QDir(dir).filePath(r.candidate.id + (graphs.size() > 1 ? "_" + QString::number(g) : QString()) + ".onnx");
                onnx::saveModel(graphs[g], file.toStdString());
                exported[r.candidate.id] << file;
            }
        }
    }

    if (parser.isSet("records-dir")) {
        const QString dir = parser.value("records-dir");
        if (!QDir().mkpath(dir)) throw CliError("--records-dir " + dir.toStdString() + ": cannot create the directory");
        for (const auto& r : result.candidates) {
            eval::writeRecordsCsv(QDir(dir).filePath(r.candidate.id + ".csv").toStdString(), r.test);
            if (!r.adaptive) continue;
            const QString file = QDir(dir).filePath(r.candidate.id + ".stages.json");
            QSaveFile f(file);
            const QByteArray bytes = QJsonDocument(adaptive::stageOutputsToJson(r.adaptive->all, r.adaptive->policy)).toJson(QJsonDocument::Compact);
            if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size() || !f.commit())
                throw CliError(file.toStdString() + ": cannot write (" + f.errorString().toStdString() + ")");
        }
    }

    if (parser.isSet("json")) {
        QJsonArray list;
        for (const auto& r : result.candidates) {
            QJsonObject c = candidateToJson(r, result.target);
            if (auto it = exported.find(r.candidate.id); it != exported.end()) c["files"] = QJsonArray::fromStringList(it->second);
            list.append(c);
        }
        printJson(QJsonObject{{"recipe", recipe.file},
                              {"name", recipe.name},
                              {"model", recipe.model},
                              {"target", QJsonObject{{"id", result.target}, {"name", result.targetName}, {"estimated", true}}},
                              {"card", result.cardPath.isEmpty() ? QJsonValue() : QJsonValue(result.cardPath)},
                              {"test", QJsonObject{{"spec", recipe.test.spec},
                                                   {"limit", recipe.test.limit < 0 ? QJsonValue() : QJsonValue(static_cast<qint64>(recipe.test.limit))}}},
                              {"store", db ? QJsonValue(QJsonObject{{"file", db->path()}, {"run", static_cast<qint64>(runId)}}) : QJsonValue()},
                              {"candidates", list}});
        return 0;
    }
    std::printf("recipe %s: model %s, test %s, estimates on %s (%s)\n", recipe.name.toUtf8().constData(),
                recipe.model.toUtf8().constData(), recipe.test.spec.toUtf8().constData(), result.target.toUtf8().constData(),
                result.targetName.toUtf8().constData());
    std::printf("%-9s %-16s %9s %11s %11s %12s %12s %11s  %s\n", "id", "plugin", "accuracy", "latency_ms", "energy_uj",
                "weight_B", "flash_B", "arena_B", "label / params");
    for (const auto& r : result.candidates) {
        const auto& e = r.estimate;
        std::printf("%-9s %-16s %8.2f%% %11.3f %11s %12lld %12lld %11lld  %s%s\n", r.candidate.id.toUtf8().constData(),
                    (r.candidate.plugin.isEmpty() ? QString("-") : r.candidate.plugin).toUtf8().constData(),
                    r.test.accuracy * 100, e.latencyMs, energyText(e.energyUj).c_str(), static_cast<long long>(r.weightBytes),
                    static_cast<long long>(e.memory.flashBytes), static_cast<long long>(e.memory.arenaBytes),
                    r.candidate.label.toUtf8().constData(),
                    r.candidate.params.isEmpty() ? "" : ("  [" + paramsText(r.candidate.params) + "]").toUtf8().constData());
    }
    // Adaptive candidates: who answered, what it cost per input, each stage alone.
    for (const auto& r : result.candidates) {
        if (!r.adaptive) continue;
        const auto& a = *r.adaptive;
        std::printf("\n%s: %s, expected per input on %s: %.3f ms, %s uJ, %.0f MACs\n", r.candidate.id.toUtf8().constData(),
                    r.candidate.label.toUtf8().constData(), result.target.toUtf8().constData(), a.outcome.expectedLatencyMs,
                    energyText(a.outcome.expectedEnergyUj).c_str(), a.outcome.expectedMacs);
        std::printf("%-16s %9s %9s %12s %11s %11s %15s\n", "stage", "answered", "ran on", "MACs", "latency_ms", "energy_uj",
                    "accuracy alone");
        for (size_t s = 0; s < a.policy.stages.size(); ++s)
            std::printf("%-16s %8.1f%% %9lld %12lld %11.3f %11s %14.2f%%\n", a.policy.stages[s].name.c_str(),
                        100 * a.outcome.answered[s], static_cast<long long>(a.executed[s]),
                        static_cast<long long>(a.costs[s].macs), a.costs[s].latencyMs, energyText(a.costs[s].energyUj).c_str(),
                        100 * a.stageAccuracy[s]);
        if (a.outcome.energyUj)
            std::printf("energy per input: p50 %.1f, p90 %.1f, p99 %.1f, worst %.1f uJ; what-if front: %zu points\n",
                        a.outcome.energyUj->p50, a.outcome.energyUj->p90, a.outcome.energyUj->p99, a.outcome.energyUj->max,
                        a.front.size());
    }
    // Per-layer report of quantized candidates: SQNR of each layer's output, fp32 against quantized.
    for (const auto& r : result.candidates) {
        const QJsonArray layers = r.candidate.notes.value("sqnr").toArray();
        if (layers.isEmpty()) continue;
        std::printf("\n%s: per-layer SQNR, fp32 against quantized output\n%-40s %-18s %5s %9s\n",
                    r.candidate.id.toUtf8().constData(), "layer", "op", "bits", "sqnr_db");
        for (const auto& v : layers) {
            const QJsonObject l = v.toObject();
            const int bits = l.value("weight_bits").toInt();
            std::printf("%-40s %-18s %5s %9.2f\n", l.value("node").toString().toUtf8().constData(),
                        l.value("op").toString().toUtf8().constData(), bits ? QByteArray::number(bits).constData() : "-",
                        l.value("sqnr_db").toDouble());
        }
    }
    return 0;
}

} // namespace joule::cli
