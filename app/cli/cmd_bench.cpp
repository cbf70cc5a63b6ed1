// joule bench MODEL [--threads N] [--runs R] [--warmup W] [--precision fp32|int8] [--json]
#include "cli_common.h"

#include "cost/host_profiler.h"
#include "cost/layer_stats.h"
#include "quant/minmax.h"
#include "runtime/qdq_lower.h"
#include "runtime/session.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>

namespace joule::cli {

namespace {

// The graph --precision int8 runs: a QDQ model lowered to integer ops, or an fp32 model first
// quantized with min-max ranges from 8 seeded random inputs of its shape (labelled as such: a
// speed measurement, not an accuracy one; the quantization plugin makes calibrated models).
Graph int8Graph(const Graph& graph, const std::map<std::string, Shape>& inputShapes, QString* how)
{
    if (rt::hasQdq(graph)) {
        *how = "qdq-model";
        return rt::lowerQdq(graph);
    }
    std::vector<std::map<std::string, Tensor>> calibration;
    std::mt19937 rng(1);
    for (int i = 0; i < 8; ++i) calibration.push_back(cost::randomInputs(graph, rng, inputShapes));
    *how = "minmax-random-calibration";
    return rt::lowerQdq(quant::quantizeMinMax(graph, calibration));
}

} // namespace

int runBench(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("Measures inference latency of MODEL on this machine with a seeded random input "
                                     "of the model's shape (free dimensions = 1 unless --input-shape fixes them). A measurement, not an estimate.");
    parser.addPositionalArgument("MODEL", "ONNX model file.");
    parser.addOption({"threads", "Threads (default 1).", "N"});
    parser.addOption({"runs", "Timed runs (default 50).", "R"});
    parser.addOption({"warmup", "Untimed runs first (default 5).", "W"});
    parser.addOption({"precision", "fp32 (default) or int8: the integer engine on a QDQ model, or on an fp32 model "
                                   "first quantized with min-max ranges of 8 random inputs (JSON \"quantized\" says which).", "P"});
    addInputShapeOption(parser);
    parser.addOption({"json", "Print one JSON document on stdout."});
    parseOrExit(parser, args);
    if (parser.positionalArguments().size() != 1) throw CliError("give exactly one MODEL (see --help)");

    const QString precision = parser.isSet("precision") ? parser.value("precision") : "fp32";
    if (precision != "fp32" && precision != "int8")
        throw CliError("--precision must be fp32 or int8, got '" + precision.toStdString() + "'");
    const int threads = positiveIntOption(parser, "threads", 1);
    const int runs = positiveIntOption(parser, "runs", 50);
    const int warmup = nonNegativeIntOption(parser, "warmup", 5);

    const QString path = parser.positionalArguments().front();
    const Graph loaded = loadModelOrThrow(path);
    const auto inputShapes = inputShapesOption(parser, loaded);
    QString quantized;
    Graph graph = loaded;
    if (precision == "int8") {
        try {
            graph = int8Graph(loaded, inputShapes, &quantized);
        } catch (const std::exception& e) {
            throw CliError(path.toStdString() + ": cannot prepare the int8 graph: " + e.what());
        }
    }
    QJsonObject integerOps;
    for (const auto& [op, count] : rt::loweredOpCounts(graph))
        if (op.rfind("QLinear", 0) == 0 || op == "QGemm") integerOps[QString::fromStdString(op)] = count;
    std::mt19937 rng(0);
    const auto feeds = cost::randomInputs(graph, rng, inputShapes);

    rt::Session session(graph, {.threads = threads, .fuseActivations = true, .channelsLast = true});
    for (int i = 0; i < warmup; ++i) session.run(feeds);
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        session.run(feeds);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    const double median = cost::median(ms);
    std::sort(ms.begin(), ms.end());
    if (parser.isSet("json")) {
        QJsonObject doc{{"model", path}, {"target", "host"}, {"measured", true}, {"precision", precision},
                        {"median_ms", median}, {"min_ms", ms.front()}, {"max_ms", ms.back()},
                        {"runs", runs}, {"warmup", warmup}, {"threads", threads},
                        {"arena_bytes", static_cast<qint64>(session.arenaBytes())}};
        if (precision == "int8") {
            doc["quantized"] = quantized;
            doc["integer_ops"] = integerOps;
        }
        printJson(doc);
    } else {
        std::printf("%s: %s median %.3f ms, min %.3f ms over %d runs, %d thread%s (measured on this machine)%s\n",
                    path.toStdString().c_str(), precision.toStdString().c_str(), median, ms.front(), runs, threads,
                    threads == 1 ? "" : "s",
                    quantized.isEmpty() ? "" : qPrintable(" [int8: " + quantized + "]"));
    }
    return 0;
}

} // namespace joule::cli
