// joule report --store FILE --out DIR [--target ID]: the project as one self-contained HTML file.
#include "cli_common.h"

#include "report/report.h"

#include <cstdio>

namespace joule::cli {

int runReport(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("The experiment store as one self-contained HTML report (DIR/index.html, plots embedded): "
                                     "every candidate, the accuracy-energy Pareto front, and per candidate on it its layers "
                                     "against its parent and its answers per input. The studio's own views draw the plots.");
    parser.addOption({"store", "The experiment store.", "FILE"});
    parser.addOption({"out", "The folder to write index.html into (created if missing).", "DIR"});
    parser.addOption({"target", "Estimate per-layer figures on this target (default: each run's own).", "ID"});
    parser.addOption({"max-candidates", "Candidates with a section of their own, the front first (default 12).", "N"});
    parseOrExit(parser, args);
    const QString store = existingStoreOption(parser);
    if (!parser.isSet("out")) throw CliError("--out DIR is required");
    const ui::Project project = ui::Project::open(store);
    ui::ReportOptions options;
    options.target = parser.value("target");
    options.maxCandidates = positiveIntOption(parser, "max-candidates", 12);
    options.progress = [](double f, const QString& what) { std::fprintf(stderr, "report: %3.0f %% %s\n", 100 * f, qPrintable(what)); };
    const QString file = ui::writeReport(project, parser.value("out"), options);
    std::printf("%s\n", qPrintable(file));
    return 0;
}

} // namespace joule::cli
