// joule eval MODEL --dataset SPEC [--limit N] [--records FILE.csv] [--scale F] [--mean F,...] [--std F,...] [--json]
#include "cli_common.h"

#include "data/dataset.h"
#include "cost/layer_stats.h"
#include "eval/evaluator.h"
#include "plugin/model_card.h"

#include <QFile>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace joule::cli {

namespace {

std::vector<float> floatList(const QCommandLineParser& parser, const QString& option)
{
    std::vector<float> out;
    for (const QString& part : parser.value(option).split(',', Qt::SkipEmptyParts)) {
        bool ok = false;
        const float v = part.trimmed().toFloat(&ok);
        if (!ok) throw CliError("--" + option.toStdString() + ": '" + part.toStdString() + "' is not a number");
        out.push_back(v);
    }
    if (out.empty()) throw CliError("--" + option.toStdString() + " needs at least one number");
    return out;
}

// The dataset's name for class c; a class of the model that the dataset's labels never reach is "c".
std::string className(const data::LabeledImages& dataset, size_t c)
{
    return c < dataset.classNames.size() ? dataset.classNames[c] : std::to_string(c);
}

} // namespace

int runEval(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Evaluates a classifier on a labeled dataset and keeps a record per input. Input = (pixel x scale - mean) / std "
        "per channel; the model card beside the model (MODEL.card.json) gives the defaults, else scale 1/255, mean 0, std 1.\n"
        "Dataset specs: fashion-mnist:train|test, idx:IMAGES,LABELS, npy:X.npy,Y.npy, folder:DIR.");
    parser.addPositionalArgument("MODEL", "ONNX model file.");
    parser.addOption({"dataset", "Dataset spec.", "SPEC"});
    parser.addOption({"limit", "Evaluate only the first N inputs.", "N"});
    parser.addOption({"records", "Write one CSV row per input to FILE.", "FILE"});
    parser.addOption({"scale", "Pixel scale.", "F"});
    parser.addOption({"mean", "Mean per channel (comma-separated).", "F,..."});
    parser.addOption({"std", "Standard deviation per channel (comma-separated).", "F,..."});
    parser.addOption({"threads", "Worker threads (default 2).", "N"});
    parser.addOption({"batch", "Inputs per run of the model, for models with a free batch dimension (default 8).", "N"});
    parser.addOption({"fake-quant", "Evaluate a QDQ model as simulated quantization in float, not on the integer engine."});
    parser.addOption({"json", "Print one JSON document on stdout."});
    parseOrExit(parser, args);
    if (parser.positionalArguments().size() != 1) throw CliError("give exactly one MODEL (see --help)");
    if (!parser.isSet("dataset")) throw CliError("--dataset SPEC is required (e.g. fashion-mnist:test)");

    const QString modelPath = parser.positionalArguments().front();
    QString cardPath;
    data::Preprocessing prep = plugin::preprocessingFromCard(modelPath, &cardPath);
    if (parser.isSet("scale")) prep.scale = floatList(parser, "scale").front();
    if (parser.isSet("mean")) prep.mean = floatList(parser, "mean");
    if (parser.isSet("std")) prep.std = floatList(parser, "std");

    const Graph graph = loadModelOrThrow(modelPath);
    const data::LabeledImages dataset = data::loadDataset(parser.value("dataset").toStdString(), prep);

    eval::EvalOptions options;
    options.workers = positiveIntOption(parser, "threads", 2);
    options.batchSize = positiveIntOption(parser, "batch", static_cast<int>(options.batchSize));
    options.limit = parser.isSet("limit") ? positiveIntOption(parser, "limit", 1) : -1;
    options.integerEngine = !parser.isSet("fake-quant");
    options.macsPerInput = cost::analyzeModel(graph).macs;   // recorded per input; no target, so no latency or energy
    const bool json = parser.isSet("json");
    if (!json && isatty(STDERR_FILENO))
        options.progress = [](int64_t done, int64_t total) {
            std::fprintf(stderr, "\r  evaluated %lld / %lld", static_cast<long long>(done), static_cast<long long>(total));
        };
    const eval::EvalResult r = eval::evaluate(graph, dataset, prep, options);
    if (options.progress) std::fprintf(stderr, "\n");
    if (parser.isSet("records")) eval::writeRecordsCsv(parser.value("records").toStdString(), r);

    if (json) {
        QJsonArray perClass, confusion, mean, stdev;
        for (size_t c = 0; c < r.perClassAccuracy.size(); ++c)
            perClass.append(QJsonObject{{"class", static_cast<int>(c)},
                                        {"name", QString::fromStdString(className(dataset, c))},
                                        {"samples", static_cast<qint64>(r.perClassSamples[c])},
                                        {"accuracy", r.perClassAccuracy[c]}});
        for (const auto& row : r.confusion) {
            QJsonArray a;
            for (int64_t v : row) a.append(static_cast<qint64>(v));
            confusion.append(a);
        }
        for (float v : prep.mean) mean.append(v);
        for (float v : prep.std) stdev.append(v);
        printJson(QJsonObject{{"model", modelPath},
                              {"dataset", parser.value("dataset")},
                              {"preprocessing", QJsonObject{{"scale", prep.scale}, {"mean", mean}, {"std", stdev},
                                                            {"from_card", cardPath.isEmpty() ? QJsonValue() : QJsonValue(cardPath)}}},
                              {"samples", static_cast<qint64>(r.samples)},
                              {"correct", static_cast<qint64>(r.correct)},
                              {"accuracy", r.accuracy},
                              {"images_per_s", r.imagesPerSecond},
                              {"seconds", r.seconds},
                              {"threads", options.workers},
                              {"per_class", perClass},
                              {"confusion", confusion}});
        return 0;
    }
    std::printf("%s on %s: accuracy %.2f%% (%lld / %lld), %.0f images/s measured with %d threads\n",
                modelPath.toStdString().c_str(), parser.value("dataset").toStdString().c_str(), 100.0 * r.accuracy,
                static_cast<long long>(r.correct), static_cast<long long>(r.samples), r.imagesPerSecond, options.workers);
    for (size_t c = 0; c < r.perClassAccuracy.size(); ++c)
        std::printf("  %-14s %6.2f%%  (%lld)\n", className(dataset, c).c_str(), 100.0 * r.perClassAccuracy[c],
                    static_cast<long long>(r.perClassSamples[c]));
    return 0;
}

} // namespace joule::cli
