#include "cli_common.h"

#include "onnx/onnx_io.h"

#include <QJsonArray>

#include <cstdio>
#include <iostream>

namespace joule::cli {

void parseOrExit(QCommandLineParser& parser, const QStringList& args)
{
    parser.addHelpOption();
    if (!parser.parse(args)) throw CliError(parser.errorText().toStdString());
    if (parser.isSet("help")) {
        std::cout << parser.helpText().toStdString();
        std::exit(0);
    }
}

Graph loadModelOrThrow(const QString& path)
{
    return onnx::loadModel(path.toStdString());
}

void printJson(const QJsonObject& doc)
{
    std::cout << QJsonDocument(doc).toJson(QJsonDocument::Indented).toStdString();
    std::cout.flush();
}

QJsonArray shapeToJson(const Shape& shape)
{
    QJsonArray a;
    for (int64_t d : shape) a.append(d < 0 ? QJsonValue() : QJsonValue(static_cast<qint64>(d)));
    return a;
}

QString dtypeName(DataType t) { return QString::fromLatin1(dataTypeName(t)); }

int positiveIntOption(const QCommandLineParser& parser, const QString& name, int fallback)
{
    if (!parser.isSet(name)) return fallback;
    bool ok = false;
    const int v = parser.value(name).toInt(&ok);
    if (!ok || v < 1) throw CliError("--" + name.toStdString() + " must be a positive integer, got '" + parser.value(name).toStdString() + "'");
    return v;
}

} // namespace joule::cli
