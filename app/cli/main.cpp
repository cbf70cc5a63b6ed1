// joule: the command-line face of Joule Studio. See `joule --help` and docs/architecture.md (the CLI).
#include "cli_common.h"

#include <QApplication>
#include <QCoreApplication>

#include <memory>

#include <iostream>
#include <map>

namespace joule::cli {
int runInfo(const QStringList& args);
int runRun(const QStringList& args);
int runBench(const QStringList& args);
int runEval(const QStringList& args);
int runProfile(const QStringList& args);
int runTargets(const QStringList& args);
int runPlugins(const QStringList& args);
int runOptimize(const QStringList& args);
int runWhatif(const QStringList& args);
int runRuns(const QStringList& args);
int runPareto(const QStringList& args);
int runSweep(const QStringList& args);
int runStoreCommand(const QStringList& args);
int runExport(const QStringList& args);
int runReport(const QStringList& args);
} // namespace joule::cli

namespace {

struct Command {
    int (*run)(const QStringList&);
    const char* summary;
};

const std::map<QString, Command>& commands()
{
    using namespace joule::cli;
    static const std::map<QString, Command> table = {
        {"info", {runInfo, "inputs, outputs, opset, node count and a per-layer table of a model"}},
        {"run", {runRun, "run a model on .npy inputs and write its outputs as .npy"}},
        {"bench", {runBench, "measure inference latency on this machine"}},
        {"eval", {runEval, "accuracy on a labeled dataset, with a record per input"}},
        {"profile", {runProfile, "per-layer latency, energy, arena, flash and fit on a target board"}},
        {"targets", {runTargets, "list the target profiles joule profile accepts"}},
        {"plugins", {runPlugins, "list the optimization plugins found, with their parameters or why they are broken"}},
        {"optimize", {runOptimize, "run a recipe: plugin steps, then accuracy and cost of every candidate"}},
        {"whatif", {runWhatif, "an adaptive policy at other thresholds, from stored stage outputs"}},
        {"sweep", {runSweep, "run a recipe over parameter grids into a store; resumes, shards"}},
        {"runs", {runRuns, "list, show and export the runs of an experiment store"}},
        {"pareto", {runPareto, "the Pareto front of every stored candidate over two metrics"}},
        {"store", {runStoreCommand, "merge experiment stores (the shards of a sweep) into one"}},
        {"export", {runExport, "a candidate as C for microcontrollers, as ONNX, or as a bundle with a manifest"}},
        {"report", {runReport, "the experiment store as one self-contained HTML report with plots"}},
    };
    return table;
}

void printUsage(std::ostream& out)
{
    out << "usage: joule COMMAND [options]   (joule COMMAND --help for details)\n\ncommands:\n";
    for (const auto& [name, cmd] : commands())
        out << "  " << name.toStdString() << std::string(10 - static_cast<size_t>(name.size()), ' ') << cmd.summary << "\n";
}

} // namespace

int main(int argc, char** argv)
{
    // `report` draws with the studio's views: it needs widgets, on the offscreen platform unless one is set.
    const bool widgets = argc > 1 && QByteArray(argv[1]) == "report";
    if (widgets && !qEnvironmentVariableIsSet("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    std::unique_ptr<QCoreApplication> owned = widgets ? std::make_unique<QApplication>(argc, argv) : std::make_unique<QCoreApplication>(argc, argv);
    QCoreApplication& app = *owned;
    QCoreApplication::setApplicationName("joule");
    QCoreApplication::setApplicationVersion(JOULE_VERSION);
    QStringList args = app.arguments();
    if (args.size() < 2) {
        printUsage(std::cerr);   // a missing command is an error: usage goes to stderr
        return 1;
    }
    if (args[1] == "--help" || args[1] == "-h" || args[1] == "help") {
        printUsage(std::cout);
        return 0;
    }
    if (args[1] == "--version") {
        std::cout << "joule " << JOULE_VERSION << "\n";
        return 0;
    }
    const QString name = args[1];
    auto it = commands().find(name);
    if (it == commands().end()) {
        std::cerr << "joule: unknown command '" << name.toStdString() << "' (see joule --help)\n";
        return 1;
    }
    args.removeAt(1);
    args[0] = "joule " + name;
    try {
        return it->second.run(args);
    } catch (const std::exception& e) {
        std::string msg = e.what();
        for (auto& c : msg) if (c == '\n') c = ' ';
        std::cerr << "joule " << name.toStdString() << ": " << msg << "\n";
        return 1;
    }
}
