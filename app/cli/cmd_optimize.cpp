// joule optimize RECIPE.json [--export-dir DIR] [--json]
#include "cli_common.h"

#include "plugin/plugin_manager.h"
#include "plugin/recipe_runner.h"
#include "onnx/onnx_io.h"

#include <QDir>

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

QJsonValue optionalNumber(const std::optional<double>& v)
{
    return v ? QJsonValue(*v) : QJsonValue();
}

QJsonObject candidateToJson(const plugin::CandidateResult& r, const QString& target)
{
    const plugin::Candidate& c = r.candidate;
    const cost::ModelEstimate& e = r.estimate;
    return QJsonObject{{"id", c.id},
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
    parseOrExit(parser, args);
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1) throw CliError("joule optimize needs exactly one RECIPE.json (see --help)");

    const plugin::Recipe recipe = plugin::loadRecipe(positional.front());
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
