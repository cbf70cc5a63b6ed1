#include "cli_common.h"

#include "help_text.h"
#include "onnx/onnx_io.h"

#include <QFileInfo>
#include <QJsonArray>

#include <cstdio>
#include <iostream>

namespace joule::cli {

void parseOrExit(QCommandLineParser& parser, const QStringList& args)
{
    parser.addHelpOption();
    if (!parser.parse(args)) throw CliError(parser.errorText().toStdString() + " (see " + args.front().toStdString() + " --help)");
    if (parser.isSet("help")) {
        std::cout << app::helpText(parser, args.front()).toStdString();
        std::exit(0);
    }
}

Graph loadModelOrThrow(const QString& path)
{
    return onnx::loadModel(path.toStdString());
}

void printJson(const QJsonObject& doc, bool compact)
{
    const QByteArray text = QJsonDocument(doc).toJson(compact ? QJsonDocument::Compact : QJsonDocument::Indented);
    std::cout.write(text.constData(), text.size());
    if (compact) std::cout << "\n";
    std::cout.flush();
}

QJsonArray shapeToJson(const Shape& shape)
{
    QJsonArray a;
    for (int64_t d : shape) a.append(d < 0 ? QJsonValue() : QJsonValue(static_cast<qint64>(d)));
    return a;
}

QString dtypeName(DataType t) { return QString::fromLatin1(dataTypeName(t)); }

namespace {

int intOptionAtLeast(const QCommandLineParser& parser, const QString& name, int fallback, int minimum, const char* what)
{
    if (!parser.isSet(name)) return fallback;
    bool ok = false;
    const int v = parser.value(name).toInt(&ok);
    if (!ok || v < minimum) throw CliError("--" + name.toStdString() + " must be " + what + ", got '" + parser.value(name).toStdString() + "'");
    return v;
}

} // namespace

int positiveIntOption(const QCommandLineParser& parser, const QString& name, int fallback)
{
    return intOptionAtLeast(parser, name, fallback, 1, "a positive integer");
}

QString existingStoreOption(const QCommandLineParser& parser)
{
    if (!parser.isSet("store")) throw CliError("--store FILE is required");
    const QString path = parser.value("store");
    if (!QFileInfo::exists(path)) throw CliError(path.toStdString() + ": no such store (joule optimize or joule sweep makes one)");
    return path;
}

int nonNegativeIntOption(const QCommandLineParser& parser, const QString& name, int fallback)
{
    return intOptionAtLeast(parser, name, fallback, 0, "an integer >= 0");
}

QJsonValue optionalNumber(const std::optional<double>& v) { return v ? QJsonValue(*v) : QJsonValue(); }

std::string energyText(const std::optional<double>& uj)
{
    if (!uj) return "-";
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", *uj);
    return text;
}

void addInputShapeOption(QCommandLineParser& parser)
{
    parser.addOption({"input-shape",
                      "Shape of a model input with free dimensions, e.g. input=1,3,224,224 (repeat for several inputs; "
                      "free dimensions of inputs not given are 1).",
                      "NAME=D0,D1,..."});
}

std::map<std::string, Shape> inputShapesOption(const QCommandLineParser& parser, const Graph& graph)
{
    std::map<std::string, Shape> shapes;
    const std::vector<ValueInfo> inputs = graph.requiredInputs();
    for (const QString& spec : parser.values("input-shape")) {
        const qsizetype eq = spec.indexOf('=');
        if (eq <= 0) throw CliError("--input-shape " + spec.toStdString() + ": expected NAME=D0,D1,... (e.g. input=1,3,224,224)");
        const std::string name = spec.left(eq).toStdString();
        const ValueInfo* decl = nullptr;
        for (const auto& v : inputs) if (v.name == name) decl = &v;
        if (!decl) {
            std::string names;
            for (const auto& v : inputs) names += (names.empty() ? "" : ", ") + v.name;
            throw CliError("--input-shape " + spec.toStdString() + ": the model has no input '" + name + "' (inputs: " + names + ")");
        }
        Shape shape;
        for (const QString& part : spec.mid(eq + 1).split(',')) {
            bool ok = false;
            const qlonglong d = part.trimmed().toLongLong(&ok);
            if (!ok || d < 1)
                throw CliError("--input-shape " + spec.toStdString() + ": dimension '" + part.toStdString() + "' is not an integer >= 1");
            shape.push_back(d);
        }
        if (decl->hasShape) {
            if (shape.size() != decl->shape.size())
                throw CliError("--input-shape " + spec.toStdString() + ": input '" + name + "' has rank " +
                               std::to_string(decl->shape.size()) + " " + shapeToString(decl->shape) + ", got " +
                               std::to_string(shape.size()) + " dimensions");
            for (size_t d = 0; d < shape.size(); ++d)
                if (decl->shape[d] >= 0 && decl->shape[d] != shape[d])
                    throw CliError("--input-shape " + spec.toStdString() + ": dimension " + std::to_string(d) + " of input '" + name +
                                   "' is fixed at " + std::to_string(decl->shape[d]) + " " + shapeToString(decl->shape));
        }
        if (!shapes.emplace(name, shape).second)
            throw CliError("--input-shape: input '" + name + "' is given twice");
    }
    return shapes;
}

} // namespace joule::cli
