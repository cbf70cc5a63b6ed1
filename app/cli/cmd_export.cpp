// joule export RECIPE.json | --store FILE  --candidate ID --format c|onnx|bundle --out DIR [--name NAME] [--force] [--json]
#include "cli_common.h"

#include "export/bundle.h"
#include "plugin/plugin_manager.h"
#include "plugin/recipe_runner.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>

#include <iostream>

namespace joule::cli {
namespace {

// A stored candidate; the id is checked here so the message names the option.
exporter::ExportCandidate storeCandidate(const QString& path, const QString& idText)
{
    bool ok = false;
    const int64_t id = idText.toLongLong(&ok);
    if (!ok || id <= 0) throw CliError("--candidate: '" + idText.toStdString() + "' is not a stored candidate id (a positive integer; joule runs show lists them)");
    return exporter::candidateFromStore(path, id);
}

exporter::ExportCandidate fromRecipe(const QString& file, const QString& id)
{
    const plugin::Recipe recipe = plugin::loadRecipe(file);
    plugin::PluginManager plugins;
    std::cerr << "joule export: running " << file.toStdString() << " to make candidate " << id.toStdString() << "\n";
    const plugin::OptimizeResult result = plugin::runRecipe(recipe, plugins, {.log = [](const QString& line) {
        std::cerr << "  " << line.toStdString() << "\n";
    }});
    QStringList ids;
    for (const plugin::CandidateResult& r : result.candidates) {
        ids << r.candidate.id;
        if (r.candidate.id != id) continue;
        const plugin::Candidate& c = r.candidate;
        const cost::ModelEstimate& e = r.estimate;
        exporter::ExportCandidate x;
        x.id = c.id;
        x.origin = "recipe " + QFileInfo(file).absoluteFilePath();
        x.recipe = recipe;
        x.label = c.label;
        x.plugin = c.plugin;
        x.parent = c.parentId;
        x.params = QJsonObject::fromVariantMap(c.params);
        x.policy = c.policy;
        x.notes = c.notes;
        x.graphs = c.graphs;
        x.target = result.target;
        x.accuracy = r.test.accuracy;
        x.samples = r.test.samples;
        x.estimate = QJsonObject{{"macs", static_cast<qint64>(e.macs)},
                                 {"latency_ms", e.latencyMs},
                                 {"energy_uj", optionalNumber(e.energyUj)},
                                 {"weight_bytes", static_cast<qint64>(r.weightBytes)},
                                 {"flash_bytes", static_cast<qint64>(e.memory.flashBytes)},
                                 {"arena_bytes", static_cast<qint64>(e.memory.arenaBytes)},
                                 {"fits", e.fit.fits()}};
        return x;
    }
    throw CliError(file.toStdString() + ": no candidate '" + id.toStdString() + "' (the run made: " + ids.join(", ").toStdString() + ")");
}

} // namespace

int runExport(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Exports a candidate for a board (docs/export.md): c = standalone C99 (NAME.h, NAME.c; int8 kernels bit-exact "
        "with the studio's integer engine, weights as const arrays, one static arena, the stopping rule of a cascade "
        "or early exit); onnx = the candidate's graphs (QDQ when quantized; one per stage plus NAME.policy.json); "
        "bundle = both, a Cortex-M4 build's flash and RAM, manifest.json and report.html. The folder is written "
        "beside and renamed into place; one that holds files is refused without --force.");
    parser.addPositionalArgument("RECIPE", "A recipe to run (the candidate is made anew); or give --store.");
    parser.addOption({"store", "Take the candidate from this experiment store instead of running a recipe.", "FILE"});
    parser.addOption({"candidate", "The candidate: its id in the recipe's run (baseline, c1, ...), or its store-wide id with --store.", "ID"});
    parser.addOption({"format", "c, onnx or bundle.", "FORMAT"});
    parser.addOption({"out", "The folder to write (created; must be new or empty unless --force).", "DIR"});
    parser.addOption({"name", "Prefix of the C API and the files (default: model).", "NAME", "model"});
    parser.addOption({"force", "Replace --out even if it holds files."});
    parser.addOption({"json", "Print the manifest as one JSON document on stdout."});
    parseOrExit(parser, args);

    const QStringList positional = parser.positionalArguments();
    const bool store = parser.isSet("store");
    if (store && !positional.isEmpty()) throw CliError("give a RECIPE or --store FILE, not both");
    if (!store && positional.size() != 1) throw CliError("joule export needs a RECIPE.json or --store FILE (see --help)");
    if (!parser.isSet("candidate")) throw CliError("--candidate ID is required");
    if (!parser.isSet("format")) throw CliError("--format is required: c, onnx or bundle");
    const auto format = exporter::formatFromName(parser.value("format"));
    if (!format) throw CliError("--format: '" + parser.value("format").toStdString() + "' is not one of c, onnx, bundle");
    if (!parser.isSet("out")) throw CliError("--out DIR is required");
    const QString name = parser.value("name");
    if (!exporter::isCIdentifier(name.toStdString()))
        throw CliError("--name: '" + name.toStdString() + "' is not a C identifier (letters, digits and '_', not starting with a digit)");
    const QString out = parser.value("out");
    // Checked before any work: an occupied folder must not cost a recipe run.
    const QFileInfo outInfo(out);
    if (outInfo.exists() && !outInfo.isDir()) throw CliError("--out: " + out.toStdString() + " exists and is not a folder");
    if (outInfo.exists() && !parser.isSet("force") && !QDir(out).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden).isEmpty())
        throw CliError("--out: " + out.toStdString() + " already holds files; export into a new or empty folder, or give --force to replace it");

    const exporter::ExportCandidate candidate = store ? storeCandidate(existingStoreOption(parser), parser.value("candidate"))
                                                      : fromRecipe(positional.front(), parser.value("candidate"));
    const QJsonObject manifest = exporter::exportCandidate(candidate, *format, out,
                                                           {.name = name,
                                                            .force = parser.isSet("force"),
                                                            .studioVersion = QCoreApplication::applicationVersion(),
                                                            .log = [](const QString& line) { std::cerr << "joule export: " << line.toStdString() << "\n"; }});
    if (parser.isSet("json")) {
        printJson(manifest);
    } else {
        std::cout << "wrote " << QFileInfo(out).absoluteFilePath().toStdString() << ":";
        for (const QJsonValue& f : manifest["files"].toArray()) std::cout << " " << f["path"].toString().toStdString();
        if (*format == exporter::Format::Bundle) std::cout << " manifest.json report.html";
        std::cout << "\n";
        const QJsonObject c = manifest["c"].toObject();
        if (!c.isEmpty())
            std::cout << "  C: arena " << c["arena_bytes"].toInteger() << " bytes, constants " << c["const_bytes"].toInteger()
                      << " bytes (weights " << c["weight_bytes"].toInteger() << ")\n";
        const QJsonObject cm = manifest["cortex_m4"].toObject();
        if (cm["built"].toBool())
            std::cout << "  Cortex-M4: flash " << cm["model"]["flash_bytes"].toInteger() << " bytes, static RAM "
                      << cm["model"]["ram_bytes"].toInteger() << " bytes\n";
        else if (!cm.isEmpty())
            std::cout << "  Cortex-M4: not built: " << cm["error"].toString().toStdString() << "\n";
    }
    return 0;
}

} // namespace joule::cli
