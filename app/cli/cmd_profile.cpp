// joule profile MODEL --target ID [--precision fp32|int8|int4] [--latency-budget-ms X] [--json]
#include "cli_common.h"

#include "cost/estimator.h"
#include "cost/host_profiler.h"
#include "cost/target_profile.h"

#include <QJsonArray>

#include <cstdio>
#include <iostream>

namespace joule::cli {

namespace {


QString className(const cost::LayerEstimate& l)
{
    return l.fusedInto >= 0 ? QStringLiteral("fused") : QString::fromLatin1(cost::kernelClassName(l.kernelClass));
}

QJsonObject layerToJson(const cost::ModelEstimate& e, const cost::TargetProfile* target, const cost::LayerEstimate& l)
{
    QJsonObject o{{"name", QString::fromStdString(l.name)},
                  {"op", QString::fromStdString(l.op)},
                  {"class", className(l)},
                  {"precision", cost::precisionName(l.precision)},
                  {"macs", static_cast<qint64>(l.macs)},
                  {"latency_ms", l.latencyMs},
                  {"energy_uj", optionalNumber(l.energyUj)},
                  {"flash_bytes", static_cast<qint64>(l.flashBytes)}};
    if (l.fusedInto >= 0) o["fused_into"] = QString::fromStdString(e.layers[static_cast<size_t>(l.fusedInto)].name);
    if (e.measured) return o;
    o["cycles"] = l.cycles;
    o["approximated"] = l.approximated;
    o["kernel_precision"] = cost::precisionName(l.perCluster[static_cast<size_t>(l.cluster)].kernelPrecision);
    if (target && target->clusters.size() > 1) {
        o["cluster"] = QString::fromStdString(target->clusters[static_cast<size_t>(l.cluster)].id);
        o["switch_ms"] = l.switchMs;
        o["switch_uj"] = l.switchUj;
        QJsonArray per;
        for (size_t c = 0; c < l.perCluster.size(); ++c)
            per.append(QJsonObject{{"cluster", QString::fromStdString(target->clusters[c].id)},
                                   {"cycles", l.perCluster[c].cycles},
                                   {"latency_ms", l.perCluster[c].latencyMs},
                                   {"energy_uj", l.perCluster[c].energyUj}});
        o["per_cluster"] = per;
    }
    return o;
}

QJsonObject mappingToJson(const cost::MappingSummary& m, const cost::TargetProfile& target)
{
    QJsonObject on, allOn;
    for (size_t c = 0; c < target.clusters.size(); ++c) on[QString::fromStdString(target.clusters[c].id)] = m.layersOnCluster[c];
    for (const auto& t : m.allOn)
        allOn[QString::fromStdString(t.cluster)] = QJsonObject{{"latency_ms", t.latencyMs}, {"energy_uj", t.energyUj}};
    return QJsonObject{{"budget_ms", optionalNumber(m.budgetMs)},
                       {"meets_budget", m.meetsBudget},
                       {"method", QString::fromStdString(m.method)},
                       {"switches", m.switches},
                       {"layers_on_cluster", on},
                       {"all_on_cluster", allOn}};
}

QStringList fitFailures(const cost::FitCheck& f)
{
    QStringList why;
    if (!f.flashFits())
        why << QString("flash: needs %1 bytes, has %2 (over by %3)").arg(f.flashNeeded).arg(f.flashAvailable).arg(f.flashNeeded - f.flashAvailable);
    if (!f.ramFits())
        why << QString("RAM: needs %1 bytes, has %2 (over by %3)").arg(f.ramNeeded).arg(f.ramAvailable).arg(f.ramNeeded - f.ramAvailable);
    return why;
}

QJsonObject estimateToJson(const QString& model, const cost::ModelEstimate& e, const cost::TargetProfile* target)
{
    QJsonArray layers;
    for (const auto& l : e.layers) layers.append(layerToJson(e, target, l));
    QJsonObject o{{"model", model},
                  {"target", QString::fromStdString(e.target)},
                  {"target_name", QString::fromStdString(e.targetName)},
                  {"estimated", !e.measured},
                  {"measured", e.measured},
                  {"precision", cost::precisionName(e.precision)},
                  {"macs", static_cast<qint64>(e.macs)},
                  {"latency_ms", e.latencyMs},
                  {"energy_uj", optionalNumber(e.energyUj)},
                  {"arena_bytes", static_cast<qint64>(e.memory.arenaBytes)},
                  {"arena_lower_bound_bytes", static_cast<qint64>(e.memory.arenaLowerBoundBytes)},
                  {"flash_bytes", static_cast<qint64>(e.memory.flashBytes)},
                  {"fits", e.fit.fits()},
                  {"layers", layers}};
    if (e.measured) {
        o["measured_on"] = QString::fromStdString(e.measuredOn);
        o["threads"] = e.threads;
        o["runs"] = e.runs;
        return o;
    }
    o["profile"] = target->file;
    o["cycles"] = e.cycles;
    o["memory"] = QJsonObject{{"flash_needed_bytes", static_cast<qint64>(e.fit.flashNeeded)},
                              {"flash_available_bytes", static_cast<qint64>(e.fit.flashAvailable)},
                              {"ram_needed_bytes", static_cast<qint64>(e.fit.ramNeeded)},
                              {"ram_available_bytes", static_cast<qint64>(e.fit.ramAvailable)},
                              {"runtime_flash_bytes", static_cast<qint64>(target->memory.runtimeFlashBytes.value)},
                              {"runtime_ram_bytes", static_cast<qint64>(target->memory.runtimeRamBytes.value)},
                              {"weights_share_ram", target->memory.weightsShareRam}};
    o["fit_failures"] = QJsonArray::fromStringList(fitFailures(e.fit));
    if (e.mapping) o["mapping"] = mappingToJson(*e.mapping, *target);
    return o;
}

void printText(const QString& model, const cost::ModelEstimate& e, const cost::TargetProfile* target)
{
    const bool multi = target && target->clusters.size() > 1;
    if (e.measured)
        std::printf("%s on host: MEASURED on %s, %d thread%s, median of %d runs, %s\n\n", model.toStdString().c_str(),
                    e.measuredOn.c_str(), e.threads, e.threads == 1 ? "" : "s", e.runs, cost::precisionName(e.precision));
    else
        std::printf("%s on %s (%s), %s, ESTIMATED from %s\n\n", model.toStdString().c_str(), e.target.c_str(),
                    e.targetName.c_str(), cost::precisionName(e.precision), target->file.toStdString().c_str());
    std::printf("  %-30s %-18s %-11s %-5s %s%13s %12s %10s %10s %6s\n", "layer", "op", "class", "type",
                multi ? "cluster  " : "", "MACs", e.measured ? "" : "cycles", "ms", "uJ", "%ms");
    for (const auto& l : e.layers) {
        const double share = e.latencyMs > 0 ? 100.0 * l.latencyMs / e.latencyMs : 0.0;
        const std::string cluster = multi ? target->clusters[static_cast<size_t>(l.cluster)].id : "";
        std::printf("  %-30.30s %-18.18s %-11s %-5s ", l.name.c_str(), l.op.c_str(), className(l).toStdString().c_str(),
                    cost::precisionName(l.precision));
        if (multi) std::printf("%-8s ", cluster.c_str());
        if (e.measured)
            std::printf("%13lld %12s %10.4f %10s %6.1f\n", static_cast<long long>(l.macs), "", l.latencyMs,
                        energyText(l.energyUj).c_str(), share);
        else
            std::printf("%13lld %12.0f %10.4f %10s %6.1f%s\n", static_cast<long long>(l.macs), l.cycles, l.latencyMs,
                        energyText(l.energyUj).c_str(), share, l.approximated ? "  (approximated)" : "");
    }
    std::printf("\n  total: %lld MACs, %.3f ms", static_cast<long long>(e.macs), e.latencyMs);
    std::printf(", %s uJ", energyText(e.energyUj).c_str());
    std::printf("%s\n", e.measured ? " (measured)" : " (estimated)");
    std::printf("  arena %lld bytes (lower bound %lld), weights in flash %lld bytes\n",
                static_cast<long long>(e.memory.arenaBytes), static_cast<long long>(e.memory.arenaLowerBoundBytes),
                static_cast<long long>(e.memory.flashBytes));
    if (!e.measured) {
        std::printf("  flash %lld of %lld bytes, RAM %lld of %lld bytes (runtime included): %s\n",
                    static_cast<long long>(e.fit.flashNeeded), static_cast<long long>(e.fit.flashAvailable),
                    static_cast<long long>(e.fit.ramNeeded), static_cast<long long>(e.fit.ramAvailable),
                    e.fit.fits() ? "fits" : "DOES NOT FIT");
        for (const QString& why : fitFailures(e.fit)) std::printf("    %s\n", why.toStdString().c_str());
    }
    if (e.mapping) {
        const auto& m = *e.mapping;
        std::printf("  mapping (%s", m.method.c_str());
        if (m.budgetMs) std::printf(", budget %.3f ms: %s", *m.budgetMs, m.meetsBudget ? "met" : "NOT MET");
        std::printf("): %d switch%s;", m.switches, m.switches == 1 ? "" : "es");
        for (size_t c = 0; c < target->clusters.size(); ++c)
            std::printf(" %d layers on %s", m.layersOnCluster[c], target->clusters[c].id.c_str());
        std::printf("\n");
        for (const auto& t : m.allOn)
            std::printf("    all layers on %-8s %.3f ms, %.1f uJ\n", t.cluster.c_str(), t.latencyMs, t.energyUj);
    }
}

double budgetOption(const QCommandLineParser& parser)
{
    bool ok = false;
    const double v = parser.value("latency-budget-ms").toDouble(&ok);
    if (!ok || !(v > 0))
        throw CliError("--latency-budget-ms must be a number > 0, got '" + parser.value("latency-budget-ms").toStdString() + "'");
    return v;
}

} // namespace

int runProfile(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Per-layer and total MACs, latency, energy, arena, flash and fit of MODEL on a target board, estimated from "
        "its profile (docs/cost-model.md), or measured on this machine with --target host. Free dimensions = 1 unless "
        "--input-shape fixes them.");
    parser.addPositionalArgument("MODEL", "ONNX model file.");
    parser.addOption({"target", "Target profile id (see joule targets), or host.", "ID"});
    parser.addOption({"precision", "fp32, int8 or int4 (where the target has int4 kernels); default: the model's own.", "P"});
    parser.addOption({"latency-budget-ms", "Targets with several clusters: least-energy mapping within this latency.", "X"});
    parser.addOption({"threads", "host: threads (default 1).", "N"});
    parser.addOption({"runs", "host: timed runs (default 50).", "R"});
    parser.addOption({"warmup", "host: untimed runs first (default 5).", "W"});
    addInputShapeOption(parser);
    parser.addOption({"json", "Print one JSON document on stdout."});
    parseOrExit(parser, args);
    if (parser.positionalArguments().size() != 1) throw CliError("give exactly one MODEL (see --help)");
    if (!parser.isSet("target")) throw CliError("give --target ID (see joule targets)");

    const QString targetId = parser.value("target");
    std::optional<cost::Precision> precision;
    if (parser.isSet("precision")) {
        precision = cost::precisionFromName(parser.value("precision").toStdString());
        if (!precision)
            throw CliError("--precision must be fp32, int8 or int4, got '" + parser.value("precision").toStdString() + "'");
    }
    std::optional<double> budget;
    if (parser.isSet("latency-budget-ms")) budget = budgetOption(parser);
    const bool host = targetId == "host";
    if (!host && (parser.isSet("threads") || parser.isSet("runs") || parser.isSet("warmup")))
        throw CliError("--threads, --runs and --warmup apply to --target host only");
    if (host && budget) throw CliError("--latency-budget-ms needs a target with several clusters, not host");
    std::optional<cost::TargetProfile> target;
    if (!host) target = cost::loadTarget(targetId);

    const QString path = parser.positionalArguments().front();
    const Graph graph = loadModelOrThrow(path);
    const auto inputShapes = inputShapesOption(parser, graph);
    const cost::ModelStats stats = cost::analyzeModel(graph, inputShapes);

    cost::ModelEstimate e;
    if (host) {
        const cost::Precision own = cost::modelPrecision(stats);
        if (precision && *precision != own)
            throw CliError(std::string("--target host measures the model as stored (") + cost::precisionName(own) +
                           "); quantize it first to measure " + cost::precisionName(*precision));
        e = cost::measureOnHost(graph, stats, {.threads = positiveIntOption(parser, "threads", 1),
                                               .runs = positiveIntOption(parser, "runs", 50),
                                               .warmup = nonNegativeIntOption(parser, "warmup", 5),
                                               .inputShapes = inputShapes});
    } else {
        e = cost::estimateModel(stats, *target, {.precision = precision, .latencyBudgetMs = budget});
    }

    if (parser.isSet("json")) printJson(estimateToJson(path, e, target ? &*target : nullptr));
    else printText(path, e, target ? &*target : nullptr);
    return 0;
}

} // namespace joule::cli
