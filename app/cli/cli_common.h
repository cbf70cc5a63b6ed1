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

// Prints one JSON document on stdout.
void printJson(const QJsonObject& doc);

QJsonArray shapeToJson(const Shape& shape);
// "float32" etc.
QString dtypeName(DataType t);

int positiveIntOption(const QCommandLineParser& parser, const QString& name, int fallback);

} // namespace joule::cli
