// joule run MODEL --input NAME=FILE.npy ... --output-dir DIR [--fake-quant] [--input-shape NAME=D0,...]
#include "cli_common.h"

#include "data/npy.h"
#include "runtime/qdq_lower.h"
#include "runtime/session.h"

#include <QDir>

#include <iostream>

namespace joule::cli {

int runRun(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Runs MODEL on the given inputs and writes DIR/<output name>.npy for every output. A quantized model (QDQ form) "
        "runs on the integer engine, as joule eval and the exported C do; --fake-quant runs its QDQ graph in float instead.");
    parser.addPositionalArgument("MODEL", "ONNX model file.");
    parser.addOption({"input", "Input tensor NAME=FILE.npy (repeat for several inputs; FILE.npy alone when the model "
                               "has one input).", "NAME=FILE"});
    parser.addOption({"output-dir", "Directory for the outputs (created if missing).", "DIR"});
    parser.addOption({"threads", "Threads (default 1).", "N"});
    parser.addOption({"fake-quant", "Run a QDQ model as simulated quantization in float, not on the integer engine."});
    parser.addOption({"input-shape", "Fix the free dimensions of an input, e.g. input=1,3,224,224: its file must have "
                                     "this shape (repeat for several inputs).", "NAME=D0,D1,..."});
    parseOrExit(parser, args);
    if (parser.positionalArguments().size() != 1) throw CliError("give exactly one MODEL (see --help)");
    if (!parser.isSet("output-dir")) throw CliError("--output-dir DIR is required");

    const Graph graph = loadModelOrThrow(parser.positionalArguments().front());
    const auto required = graph.requiredInputs();
    const auto shapes = inputShapesOption(parser, graph);

    std::map<std::string, Tensor> feeds;
    for (const QString& spec : parser.values("input")) {
        const qsizetype eq = spec.indexOf('=');
        std::string name = eq > 0 ? spec.left(eq).toStdString() : std::string();
        const std::string file = (eq > 0 ? spec.mid(eq + 1) : spec).toStdString();
        if (name.empty()) {
            if (required.size() != 1)
                throw CliError("--input " + spec.toStdString() + ": the model has " + std::to_string(required.size()) +
                               " inputs; name it as NAME=FILE.npy");
            name = required.front().name;
        }
        const ValueInfo* decl = nullptr;
        for (const auto& v : graph.inputs()) if (v.name == name) decl = &v;
        if (!decl) throw CliError("--input " + spec.toStdString() + ": the model has no input '" + name + "'");
        Tensor t = data::readNpy(file);
        const std::string why = rt::feedMismatch(*decl, t);
        if (!why.empty()) throw CliError(file + ": " + why);
        if (auto s = shapes.find(name); s != shapes.end() && s->second != t.shape())
            throw CliError(file + ": input '" + name + "' has shape " + shapeToString(t.shape()) + ", --input-shape gives " +
                           shapeToString(s->second));
        feeds[name] = std::move(t);
    }
    for (const auto& v : required)
        if (!feeds.count(v.name)) throw CliError("input '" + v.name + "' is missing (give --input " + v.name + "=FILE.npy)");

    // A QDQ model runs on the integer engine unless --fake-quant asks for the float simulation.
    const bool integer = rt::hasQdq(graph) && !parser.isSet("fake-quant");
    rt::Session session(integer ? rt::lowerQdq(graph) : graph,
                        {.threads = positiveIntOption(parser, "threads", 1), .fuseActivations = true, .channelsLast = true});
    const auto outputs = session.run(feeds);

    const QString dir = parser.value("output-dir");
    if (!QDir().mkpath(dir)) throw CliError(dir.toStdString() + ": cannot create the output directory");
    for (const auto& [name, t] : outputs) {
        if (name.find('/') != std::string::npos || name == "." || name == "..")
            throw CliError("output '" + name + "' cannot be used as a file name");
        data::writeNpy(QDir(dir).filePath(QString::fromStdString(name) + ".npy").toStdString(), t);
    }
    return 0;
}

} // namespace joule::cli
