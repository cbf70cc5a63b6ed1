// joule info MODEL [--json]
#include "cli_common.h"

#include "cost/layer_stats.h"

#include <QJsonArray>

#include <cstdio>
#include <iostream>

namespace joule::cli {

namespace {

QJsonArray valuesToJson(const std::vector<ValueInfo>& values)
{
    QJsonArray arr;
    for (const auto& v : values)
        arr.append(QJsonObject{{"name", QString::fromStdString(v.name)},
                               {"shape", shapeToJson(v.shape)},
                               {"dtype", dtypeName(v.dtype)}});
    return arr;
}

QJsonObject layerToJson(const cost::LayerStats& l)
{
    QJsonArray shapes;
    for (const auto& s : l.outputShapes) shapes.append(shapeToJson(s));
    return QJsonObject{{"name", QString::fromStdString(l.name)},
                       {"op", QString::fromStdString(l.op)},
                       {"class", cost::kernelClassName(l.kernelClass)},
                       {"output_shapes", shapes},
                       {"macs", static_cast<qint64>(l.macs)},
                       {"params", static_cast<qint64>(l.params)},
                       {"weight_bytes", static_cast<qint64>(l.weightBytes)},
                       {"activation_in_bytes", static_cast<qint64>(l.activationInBytes)},
                       {"activation_out_bytes", static_cast<qint64>(l.activationOutBytes)}};
}

std::string shapesText(const std::vector<Shape>& shapes)
{
    std::string s;
    for (const auto& sh : shapes) s += (s.empty() ? "" : " ") + shapeToString(sh);
    return s;
}

} // namespace

int runInfo(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("Inputs, outputs, opset, node count and a per-layer table (MACs, parameters, "
                                     "activation bytes; free dimensions taken as 1 unless --input-shape fixes them).");
    parser.addPositionalArgument("MODEL", "ONNX model file.");
    addInputShapeOption(parser);
    parser.addOption({"json", "Print one JSON document on stdout."});
    parseOrExit(parser, args);
    if (parser.positionalArguments().size() != 1) throw CliError("give exactly one MODEL (see --help)");

    const QString path = parser.positionalArguments().front();
    const Graph graph = loadModelOrThrow(path);
    const cost::ModelStats stats = cost::analyzeModel(graph, inputShapesOption(parser, graph));

    if (parser.isSet("json")) {
        QJsonArray layers;
        for (const auto& l : stats.layers) layers.append(layerToJson(l));
        printJson(QJsonObject{{"model", path},
                              {"inputs", valuesToJson(graph.requiredInputs())},
                              {"outputs", valuesToJson(graph.outputs())},
                              {"opset", static_cast<qint64>(graph.opset(""))},
                              {"nodes", static_cast<qint64>(graph.nodes().size())},
                              {"params", static_cast<qint64>(stats.params)},
                              {"weight_bytes", static_cast<qint64>(stats.weightBytes)},
                              {"macs", static_cast<qint64>(stats.macs)},
                              {"arena_bytes", static_cast<qint64>(stats.arenaBytes)},
                              {"arena_lower_bound_bytes", static_cast<qint64>(stats.arenaLowerBoundBytes)},
                              {"layers", layers}});
        return 0;
    }

    std::cout << path.toStdString() << "\n  opset " << graph.opset("") << ", " << graph.nodes().size() << " nodes, "
              << stats.params << " parameters (" << stats.weightBytes << " bytes), " << stats.macs << " MACs, arena "
              << stats.arenaBytes << " bytes (lower bound " << stats.arenaLowerBoundBytes << ")\n";
    for (const auto& v : graph.requiredInputs())
        std::cout << "  input  " << v.name << " " << shapeToString(v.shape) << " " << dataTypeName(v.dtype) << "\n";
    for (const auto& v : graph.outputs())
        std::cout << "  output " << v.name << " " << shapeToString(v.shape) << " " << dataTypeName(v.dtype) << "\n";
    std::printf("\n  %-28s %-20s %-11s %-20s %12s %9s\n", "layer", "op", "class", "output", "MACs", "params");
    for (const auto& l : stats.layers)
        std::printf("  %-28.28s %-20.20s %-11s %-20.20s %12lld %9lld\n", l.name.c_str(), l.op.c_str(),
                    cost::kernelClassName(l.kernelClass), shapesText(l.outputShapes).c_str(),
                    static_cast<long long>(l.macs), static_cast<long long>(l.params));
    return 0;
}

} // namespace joule::cli
