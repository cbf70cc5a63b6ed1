#pragma once
// Shared plumbing of the `joule` subcommands: argument parsing, errors, JSON output.
//
// A command is `int run(const QStringList& args)`: it throws CliError (or any exception the core
// throws) for user errors, which main() prints as one line on stderr with exit code 1.

#include "ir/graph.h"

#include <QCommandLineParser>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStringList>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace joule::cli {

class CliError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Parses `args` (args[0] is "joule <command>"); handles --help (prints, exits 0).
void parseOrExit(QCommandLineParser& parser, const QStringList& args);

// Loads and checks a model; errors name the file.
Graph loadModelOrThrow(const QString& path);

// Prints one JSON document on stdout (indented; compact for large listings).
void printJson(const QJsonObject& doc, bool compact = false);

QJsonArray shapeToJson(const Shape& shape);
// "float32" etc.
QString dtypeName(DataType t);

// A number, or JSON null where it is unknown.
QJsonValue optionalNumber(const std::optional<double>& v);

// Energy in µJ with two decimals for text output, or "-" where it is unknown (no power model).
std::string energyText(const std::optional<double>& uj);

int positiveIntOption(const QCommandLineParser& parser, const QString& name, int fallback);
// An integer >= 0 (e.g. --warmup), else a CliError naming the option and the value.
int nonNegativeIntOption(const QCommandLineParser& parser, const QString& name, int fallback);

// --store FILE, which must exist (commands that read a store never make one), else a CliError
// naming the option or the file.
QString existingStoreOption(const QCommandLineParser& parser);

// --input-shape NAME=D0,D1,... (repeatable): fixes the free dimensions of a model input. Unlisted
// inputs keep their declared shape with free dimensions = 1.
void addInputShapeOption(QCommandLineParser& parser);
// The shapes given with --input-shape, checked against the model: the input exists, the rank is the
// declared one, fixed dimensions keep their declared size, and every dimension is >= 1.
std::map<std::string, Shape> inputShapesOption(const QCommandLineParser& parser, const Graph& graph);

} // namespace joule::cli
