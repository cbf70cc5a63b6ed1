// joule runs list|show|export, joule pareto, joule sweep: the experiment store from the command line.
#include "cli_common.h"

#include "eval/evaluator.h"
#include "onnx/onnx_io.h"
#include "plugin/plugin_manager.h"
#include "plugin/recipe_runner.h"
#include "store/store.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QLocale>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>

namespace joule::cli {

namespace {

std::atomic<bool> g_sweepCancel{false};
extern "C" void onSweepInterrupt(int)
{
    g_sweepCancel.store(true);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
}


QJsonObject candidateJson(const store::StoredCandidate& c)
{
    QJsonObject o{{"id", static_cast<qint64>(c.id)},
                       {"run", static_cast<qint64>(c.runId)},
                       {"candidate", c.cid},
                       {"label", c.label},
                       {"plugin", c.plugin.isEmpty() ? QJsonValue() : QJsonValue(c.plugin)},
                       {"parent", c.parent.isEmpty() ? QJsonValue() : QJsonValue(c.parent)},
                       {"target", c.target},
                       {"samples", static_cast<qint64>(c.samples)},
                       {"accuracy", c.accuracy},
                       {"macs", static_cast<qint64>(c.macs)},
                       {"latency_ms", c.latencyMs},
                       {"energy_uj", optionalNumber(c.energyUj)},
                       {"weight_bytes", static_cast<qint64>(c.weightBytes)},
                       {"flash_bytes", static_cast<qint64>(c.flashBytes)},
                       {"arena_bytes", static_cast<qint64>(c.arenaBytes)},
                       {"fits", c.fits}};
    o["params"] = c.params;
    o["policy"] = c.policy;
    return o;
}

std::unique_ptr<store::Store> openStore(const QCommandLineParser& parser)
{
    return std::make_unique<store::Store>(existingStoreOption(parser));
}

// "PLUGIN.KEY=V1,V2,..." -> (plugin, key, values). A value is a number, true/false, or text.
struct Grid {
    QString plugin, key;
    QVariantList values;
};

Grid parseGrid(const QString& spec)
{
    const qsizetype eq = spec.indexOf('='), dot = spec.indexOf('.');
    if (eq <= 0 || dot <= 0 || dot > eq)
        throw CliError("--grid " + spec.toStdString() + ": expected PLUGIN.KEY=V1,V2,... (e.g. quantize.calibration=minmax,mse)");
    Grid g{spec.left(dot), spec.mid(dot + 1, eq - dot - 1), {}};
    for (const QString& v : spec.mid(eq + 1).split(',', Qt::SkipEmptyParts)) {
        bool isInt = false, isDouble = false;
        const qlonglong i = v.toLongLong(&isInt);
        const double d = v.toDouble(&isDouble);
        if (isInt) g.values << QVariant(i);
        else if (isDouble) g.values << QVariant(d);
        else if (v == "true" || v == "false") g.values << QVariant(v == "true");
        else g.values << QVariant(v);
    }
    if (g.values.isEmpty()) throw CliError("--grid " + spec.toStdString() + ": no values");
    return g;
}

QString canonical(const QJsonObject& o) { return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact)); }

// A sweep point's values ("PLUGIN.KEY": value) set on every step of that plugin.
void applyPoint(plugin::Recipe& recipe, const QJsonObject& point)
{
    for (auto it = point.begin(); it != point.end(); ++it)
        for (auto& s : recipe.steps)
            if (s.plugin == it.key().section('.', 0, 0)) s.params[it.key().section('.', 1)] = it.value().toVariant();
}

// `joule runs list --json` over a large store is written as text directly: building one QJsonObject
// per candidate first took most of the time of listing 10,000 runs. The output is the same document
// (tst_cli_docs parses it and compares its keys with the contract).
class ListingWriter {
public:
    void key(const char* k)
    {
        separator();
        out_ += '"';
        out_ += k;
        out_ += "\":";
        fresh_ = true;
    }
    void string(const QString& s)
    {
        separator();
        out_ += '"';
        for (char c : s.toUtf8()) {
            if (c == '"' || c == '\\') {
                out_ += '\\';
                out_ += c;
            } else if (static_cast<unsigned char>(c) < 0x20) {
                char esc[8];
                std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned char>(c));
                out_ += esc;
            } else {
                out_ += c;
            }
        }
        out_ += '"';
    }
    void stringOrNull(const QString& s) { s.isEmpty() ? raw("null") : string(s); }
    void number(int64_t v) { raw(QByteArray::number(static_cast<qint64>(v))); }
    void number(double v) { raw(QByteArray::number(v, 'g', QLocale::FloatingPointShortest)); }
    void number(const std::optional<double>& v) { v ? number(*v) : raw("null"); }
    void boolean(bool v) { raw(v ? "true" : "false"); }
    void raw(const QByteArray& json)
    {
        separator();
        out_ += json;
    }
    void open(char c)
    {
        separator();
        out_ += c;
        fresh_ = true;
    }
    void close(char c)
    {
        out_ += c;
        fresh_ = false;
    }
    const QByteArray& text() const { return out_; }

private:
    void separator()
    {
        if (!fresh_) out_ += ',';
        fresh_ = false;
    }
    QByteArray out_;
    bool fresh_ = true;
};

} // namespace

int runRuns(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("The runs of an experiment store: list them, show one run's candidates, or export a "
                                     "candidate's per-input records.\n  joule runs list --store FILE [--json|--csv]\n"
                                     "  joule runs show RUN --store FILE [--json]\n  joule runs export CANDIDATE --store FILE --csv\n"
                                     "  joule runs rebuild CANDIDATE --store FILE [--json]   (same metrics and graph bytes, or exit 1)");
    parser.addPositionalArgument("action", "list, show RUN, export CANDIDATE or rebuild CANDIDATE (the store-wide candidate id).");
    parser.addOption({"store", "The experiment store.", "FILE"});
    parser.addOption({"json", "Print one JSON document on stdout."});
    parser.addOption({"csv", "Print CSV on stdout."});
    parseOrExit(parser, args);
    const QStringList pos = parser.positionalArguments();
    if (pos.isEmpty()) throw CliError("give list, show RUN or export CANDIDATE (see --help)");
    const QString action = pos.front();
    const auto db = openStore(parser);
    auto idArgument = [&]() -> int64_t {
        bool ok = false;
        const qlonglong id = pos.size() == 2 ? pos[1].toLongLong(&ok) : 0;
        if (!ok || id < 1) throw CliError("joule runs " + action.toStdString() + " needs one id (a positive integer)");
        return id;
    };
    if (action == "list") {
        if (pos.size() != 1) throw CliError("joule runs list takes no further argument");
        const auto candidates = db->candidates(std::nullopt, false);
        if (parser.isSet("json")) {
            ListingWriter w;
            w.open('{');
            w.key("store");
            w.string(db->path());
            w.key("schema_version");
            w.number(static_cast<int64_t>(db->schemaVersion()));
            w.key("runs");
            w.open('[');
            size_t next = 0;   // candidates are ordered by id, so by run too
            for (const auto& r : db->runs()) {
                w.open('{');
                w.key("id");
                w.number(r.id);
                w.key("recipe");
                w.string(r.recipe);
                w.key("name");
                w.string(r.name);
                w.key("target");
                w.string(r.target);
                w.key("finished_at");
                w.string(r.finishedAt);
                w.key("point");
                w.raw(r.pointKey.isEmpty() ? QByteArray("null") : QJsonDocument(r.point).toJson(QJsonDocument::Compact));
                w.key("candidates");
                w.open('[');
                for (; next < candidates.size() && candidates[next].runId == r.id; ++next) {
                    const auto& c = candidates[next];
                    w.open('{');
                    w.key("id"); w.number(c.id);
                    w.key("run"); w.number(c.runId);
                    w.key("candidate"); w.string(c.cid);
                    w.key("label"); w.string(c.label);
                    w.key("plugin"); w.stringOrNull(c.plugin);
                    w.key("parent"); w.stringOrNull(c.parent);
                    w.key("target"); w.string(c.target);
                    w.key("samples"); w.number(c.samples);
                    w.key("accuracy"); w.number(c.accuracy);
                    w.key("macs"); w.number(c.macs);
                    w.key("latency_ms"); w.number(c.latencyMs);
                    w.key("energy_uj"); w.number(c.energyUj);
                    w.key("weight_bytes"); w.number(c.weightBytes);
                    w.key("flash_bytes"); w.number(c.flashBytes);
                    w.key("arena_bytes"); w.number(c.arenaBytes);
                    w.key("fits"); w.boolean(c.fits);
                    w.close('}');
                }
                w.close(']');
                w.close('}');
            }
            w.close(']');
            w.close('}');
            std::fwrite(w.text().constData(), 1, static_cast<size_t>(w.text().size()), stdout);
            std::fputc('\n', stdout);
            return 0;
        }
        if (parser.isSet("csv")) {
            std::printf("run,candidate_id,candidate,plugin,label,target,accuracy,macs,latency_ms,energy_uj,weight_bytes,flash_bytes,arena_bytes,fits\n");
            for (const auto& c : candidates) {
                QString label = c.label;
                label.replace('"', "\"\"");
                std::printf("%lld,%lld,%s,%s,\"%s\",%s,%.6f,%lld,%.6g,%s,%lld,%lld,%lld,%d\n", static_cast<long long>(c.runId),
                            static_cast<long long>(c.id), qPrintable(c.cid), qPrintable(c.plugin), qPrintable(label), qPrintable(c.target),
                            c.accuracy, static_cast<long long>(c.macs), c.latencyMs,
                            c.energyUj ? QByteArray::number(*c.energyUj, 'g', 8).constData() : "", static_cast<long long>(c.weightBytes),
                            static_cast<long long>(c.flashBytes), static_cast<long long>(c.arenaBytes), c.fits ? 1 : 0);
            }
            return 0;
        }
        std::printf("%-5s %-28s %-11s %-24s %s\n", "run", "recipe", "target", "finished (UTC)", "candidates / point");
        for (const auto& r : db->runs())
            std::printf("%-5lld %-28.28s %-11s %-24.24s %lld%s\n", static_cast<long long>(r.id), qPrintable(r.name), qPrintable(r.target),
                        qPrintable(r.finishedAt), static_cast<long long>(r.candidates),
                        r.pointKey.isEmpty() ? "" : qPrintable("  " + canonical(r.point)));
        return 0;
    }
    if (action == "show") {
        const int64_t id = idArgument();
        const auto candidates = db->candidates(id);
        if (candidates.empty()) throw CliError(db->path().toStdString() + ": no run " + std::to_string(id));
        if (parser.isSet("json")) {
            QJsonArray cs;
            for (const auto& c : candidates) cs.append(candidateJson(c));
            printJson(QJsonObject{{"store", db->path()}, {"run", static_cast<qint64>(id)}, {"candidates", cs}});
            return 0;
        }
        std::printf("%-6s %-9s %-12s %9s %11s %11s %12s  %s\n", "id", "candidate", "plugin", "accuracy", "latency_ms", "energy_uj",
                    "weight_B", "label");
        for (const auto& c : candidates)
            std::printf("%-6lld %-9s %-12s %8.2f%% %11.3f %11s %12lld  %s\n", static_cast<long long>(c.id), qPrintable(c.cid),
                        c.plugin.isEmpty() ? "-" : qPrintable(c.plugin), 100 * c.accuracy, c.latencyMs, energyText(c.energyUj).c_str(),
                        static_cast<long long>(c.weightBytes), qPrintable(c.label));
        return 0;
    }
    if (action == "rebuild") {
        // Runs the candidate's recipe again (the bytes stored with the run, at the sweep point's
        // values) and checks that the same candidate comes out: metrics and graph bytes.
        const int64_t id = idArgument();
        const auto found = db->candidatesById({id});
        if (found.empty()) throw CliError(db->path().toStdString() + ": no candidate " + std::to_string(id));
        const store::StoredCandidate& stored = found.front();
        store::RunSummary run;
        for (const auto& r : db->runs()) if (r.id == stored.runId) run = r;
        plugin::Recipe recipe = plugin::parseRecipe(run.recipeJson, run.recipe);
        applyPoint(recipe, run.point);
        plugin::PluginManager plugins;
        const plugin::OptimizeResult result = plugin::runRecipe(recipe, plugins);
        const plugin::CandidateResult* again = nullptr;
        for (const auto& c : result.candidates) if (c.candidate.id == stored.cid) again = &c;
        if (!again) throw CliError("rebuilding run " + std::to_string(run.id) + " made no candidate '" + stored.cid.toStdString() + "'");
        QStringList differences;
        auto compare = [&](const char* name, double was, double now) {
            if (std::fabs(was - now) > 1e-9 * std::max(1.0, std::fabs(was))) differences << QString("%1 %2 -> %3").arg(name).arg(was).arg(now);
        };
        compare("accuracy", stored.accuracy, again->test.accuracy);
        compare("macs", static_cast<double>(stored.macs), static_cast<double>(again->estimate.macs));
        compare("latency_ms", stored.latencyMs, again->estimate.latencyMs);
        compare("energy_uj", stored.energyUj.value_or(-1), again->estimate.energyUj.value_or(-1));
        compare("weight_bytes", static_cast<double>(stored.weightBytes), static_cast<double>(again->weightBytes));
        std::vector<QString> hashes;
        for (const Graph& g : again->candidate.graphs)
            hashes.push_back(QString::fromLatin1(QCryptographicHash::hash(QByteArray::fromStdString(onnx::serializeModel(g)),
                                                                          QCryptographicHash::Sha256).toHex()));
        if (hashes != stored.graphHashes) differences << "graph bytes differ";
        if (parser.isSet("json")) {
            printJson(QJsonObject{{"store", db->path()}, {"candidate", static_cast<qint64>(id)}, {"run", static_cast<qint64>(run.id)},
                                  {"same", differences.isEmpty()}, {"differences", QJsonArray::fromStringList(differences)}});
        } else {
            std::printf("candidate %lld (run %lld, %s): %s\n", static_cast<long long>(id), static_cast<long long>(run.id), qPrintable(stored.cid),
                        differences.isEmpty() ? "rebuilt with the same metrics and graph bytes" : qPrintable("differs: " + differences.join("; ")));
        }
        return differences.isEmpty() ? 0 : 1;
    }
    if (action == "export") {
        const int64_t id = idArgument();
        if (!parser.isSet("csv")) throw CliError("joule runs export writes the records as CSV: add --csv");
        eval::EvalResult r;
        r.records = db->records(id);
        if (r.records.empty()) throw CliError(db->path().toStdString() + ": no records for candidate " + std::to_string(id));
        const std::string text = eval::recordsCsv(r);
        std::fwrite(text.data(), 1, text.size(), stdout);
        return 0;
    }
    throw CliError("unknown action '" + action.toStdString() + "' (list, show, export or rebuild)");
}

int runStoreCommand(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("joule store merge A.db B.db ... --into C.db: copies every run of A, B, ... that C lacks into "
                                     "C (created if missing), one transaction per store; a sweep point or run C already has is "
                                     "skipped, so merging twice adds nothing.");
    parser.addPositionalArgument("merge", "The action (merge), then the stores to merge from.");
    parser.addOption({"into", "The store to merge into.", "FILE"});
    parseOrExit(parser, args);
    const QStringList pos = parser.positionalArguments();
    if (pos.isEmpty() || pos.front() != "merge") throw CliError("the store action is merge (see --help)");
    if (pos.size() < 2) throw CliError("joule store merge needs at least one store to merge from");
    if (!parser.isSet("into")) throw CliError("--into FILE is required");
    for (qsizetype i = 1; i < pos.size(); ++i)
        if (!QFileInfo::exists(pos[i])) throw CliError(pos[i].toStdString() + ": no such store");
    store::Store into(parser.value("into"));
    for (qsizetype i = 1; i < pos.size(); ++i) {
        if (QFileInfo(pos[i]).canonicalFilePath() == QFileInfo(into.path()).canonicalFilePath())
            throw CliError(pos[i].toStdString() + ": is the store merged into");
        const auto [added, skipped] = into.mergeFrom(pos[i]);
        std::cerr << "joule store merge: " << pos[i].toStdString() << ": " << added << " runs added, " << skipped << " already in "
                  << into.path().toStdString() << "\n";
    }
    return 0;
}

int runPareto(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("The Pareto front of every stored candidate over two metrics (accuracy, energy_uj, latency_ms, "
                                     "macs, weight_bytes, flash_bytes, arena_bytes). By default accuracy is maximized and the "
                                     "others minimized.");
    parser.addOption({"store", "The experiment store.", "FILE"});
    parser.addOption({"x", "First metric (default energy_uj).", "METRIC"});
    parser.addOption({"y", "Second metric (default accuracy).", "METRIC"});
    parser.addOption({"minimize", "Minimize this metric.", "METRIC"});
    parser.addOption({"maximize", "Maximize this metric.", "METRIC"});
    parser.addOption({"json", "Print one JSON document on stdout."});
    parseOrExit(parser, args);
    const QString x = parser.isSet("x") ? parser.value("x") : "energy_uj", y = parser.isSet("y") ? parser.value("y") : "accuracy";
    auto maximized = [&](const QString& m) {
        if (parser.values("maximize").contains(m)) return true;
        if (parser.values("minimize").contains(m)) return false;
        return store::maximizedByDefault(m);
    };
    for (const QString& m : parser.values("minimize") + parser.values("maximize"))
        if (m != x && m != y) throw CliError("--minimize/--maximize " + m.toStdString() + ": not one of --x and --y");
    const auto db = openStore(parser);
    std::vector<store::MetricPoint> points;
    try {
        // Candidates without a value of a metric (no energy on a measured target) are left out.
        for (const auto& [id, vx, vy] : db->metricPairs(x, y)) points.push_back({id, vx, vy});
    } catch (const store::StoreError& e) {
        throw CliError(std::string("--x/--y: ") + e.what());
    }
    const std::vector<store::MetricPoint> front = store::paretoFront(points, maximized(x), maximized(y));
    std::vector<int64_t> frontIds;
    for (const store::MetricPoint& p : front) frontIds.push_back(p.id);
    const std::vector<store::StoredCandidate> frontCandidates = db->candidatesById(frontIds);
    if (parser.isSet("json")) {
        QJsonArray list;
        for (const auto& c : frontCandidates) list.append(candidateJson(c));
        printJson(QJsonObject{{"store", db->path()}, {"x", x}, {"y", y}, {"maximize_x", maximized(x)}, {"maximize_y", maximized(y)},
                              {"candidates", static_cast<qint64>(points.size())}, {"front", list}});
        return 0;
    }
    std::printf("Pareto front of %zu candidates: %s (%s) against %s (%s)\n", points.size(), qPrintable(x), maximized(x) ? "max" : "min",
                qPrintable(y), maximized(y) ? "max" : "min");
    std::printf("  %-6s %-5s %-9s %14s %14s  %s\n", "id", "run", "candidate", qPrintable(x), qPrintable(y), "label");
    for (size_t k = 0; k < front.size(); ++k) {
        const store::StoredCandidate& c = frontCandidates[k];
        std::printf("  %-6lld %-5lld %-9s %14.6g %14.6g  %s\n", static_cast<long long>(c.id), static_cast<long long>(c.runId),
                    qPrintable(c.cid), front[k].x, front[k].y, qPrintable(c.label));
    }
    return 0;
}

int runSweep(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Runs a recipe over the product of parameter grids and records every point in the store, one transaction per "
        "point. Running it again resumes: points the store already has are skipped. --shard I/N runs every N-th point "
        "from the I-th (0-based), for spreading a sweep over a cluster (one store per shard; joule store merge joins them).");
    parser.addPositionalArgument("recipe", "The recipe JSON file.");
    parser.addOption({"grid", "PLUGIN.KEY=V1,V2,... (repeat for a product), e.g. quantize.calibration=minmax,mse.", "SPEC"});
    parser.addOption({"random", "Run N points drawn from the product (seeded by --seed) instead of all.", "N"});
    parser.addOption({"seed", "Seed of --random (default 1).", "S"});
    parser.addOption({"shard", "Run share I of N (I from 0).", "I/N"});
    parser.addOption({"store", "The experiment store (created if missing).", "FILE"});
    parseOrExit(parser, args);
    if (parser.positionalArguments().size() != 1) throw CliError("give exactly one RECIPE.json (see --help)");
    if (!parser.isSet("store")) throw CliError("--store FILE is required");
    if (parser.values("grid").isEmpty()) throw CliError("give at least one --grid PLUGIN.KEY=V1,V2,...");
    plugin::Recipe recipe = plugin::loadRecipe(parser.positionalArguments().front());
    std::vector<Grid> grids;
    for (const QString& g : parser.values("grid")) {
        grids.push_back(parseGrid(g));
        bool found = false;
        for (const auto& s : recipe.steps) found = found || s.plugin == grids.back().plugin;
        if (!found) throw CliError("--grid " + g.toStdString() + ": the recipe has no step of plugin '" + grids.back().plugin.toStdString() + "'");
    }
    int shard = 0, shards = 1;
    if (parser.isSet("shard")) {
        const QStringList p = parser.value("shard").split('/');
        bool a = false, b = false;
        if (p.size() == 2) {
            shard = p[0].toInt(&a);
            shards = p[1].toInt(&b);
        }
        if (!a || !b || shards < 1 || shard < 0 || shard >= shards)
            throw CliError("--shard must be I/N with 0 <= I < N, got '" + parser.value("shard").toStdString() + "'");
    }
    // Every point of the product, in a fixed order (the last grid varies fastest).
    std::vector<QJsonObject> points{QJsonObject{}};
    for (const Grid& g : grids) {
        std::vector<QJsonObject> next;
        for (const QJsonObject& p : points)
            for (const QVariant& v : g.values) {
                QJsonObject q = p;
                q[g.plugin + "." + g.key] = QJsonValue::fromVariant(v);
                next.push_back(q);
            }
        points = std::move(next);
    }
    if (parser.isSet("random")) {
        const int n = positiveIntOption(parser, "random", 1);
        std::mt19937 rng(static_cast<unsigned>(nonNegativeIntOption(parser, "seed", 1)));
        std::shuffle(points.begin(), points.end(), rng);
        if (static_cast<size_t>(n) < points.size()) points.resize(static_cast<size_t>(n));
    }
    QFile recipeFile(recipe.file);
    const QByteArray recipeBytes = recipeFile.open(QIODevice::ReadOnly) ? recipeFile.readAll() : QByteArray();
    const QString recipeHash = QString::fromLatin1(QCryptographicHash::hash(recipeBytes, QCryptographicHash::Sha256).toHex());

    store::Store db(parser.value("store"));
    plugin::PluginManager plugins;
    g_sweepCancel.store(false);
    std::signal(SIGINT, onSweepInterrupt);
    std::signal(SIGTERM, onSweepInterrupt);
    int ran = 0, skipped = 0;
    for (size_t i = 0; i < points.size(); ++i) {
        if (static_cast<int>(i % static_cast<size_t>(shards)) != shard) continue;
        const QJsonObject& point = points[i];
        const QString key = recipeHash.left(16) + ":" + canonical(point);
        if (db.hasPoint(key)) {
            ++skipped;
            continue;
        }
        plugin::Recipe r = recipe;
        applyPoint(r, point);
        std::cerr << "joule sweep: point " << (i + 1) << "/" << points.size() << " " << canonical(point).toStdString() << "\n";
        plugin::OptimizeResult result;
        try {
            result = plugin::runRecipe(r, plugins, {.cancel = &g_sweepCancel});
        } catch (const eval::Cancelled&) {
            std::cerr << "joule sweep: cancelled; " << ran << " points recorded, run it again to resume\n";
            return 130;
        }
        db.addRun(result, key, point);
        ++ran;
    }
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    std::cerr << "joule sweep: " << ran << " points run, " << skipped << " already in " << db.path().toStdString() << "\n";
    return 0;
}

} // namespace joule::cli
