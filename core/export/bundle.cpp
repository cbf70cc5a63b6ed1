#include "export/bundle.h"

#include "data/dataset.h"
#include "onnx/onnx_io.h"
#include "plugin/model_card.h"
#include "plugin/recipe_runner.h"
#include "runtime/qdq_lower.h"
#include "runtime/session.h"
#include "store/store.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QUuid>

#include <algorithm>
#include <cmath>

namespace joule::exporter {
namespace {

QString sha256(const QByteArray& bytes) { return QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex()); }

QByteArray resource(const QString& path)
{
    QFile f(":/joule/" + path);
    if (!f.open(QIODevice::ReadOnly)) throw std::logic_error(("resource " + path + " is not built into the library").toStdString());
    return f.readAll();
}

std::string stageInput(const Graph& g) { return g.requiredInputs().at(0).name; }

QString html(const QString& s) { return s.toHtmlEscaped(); }

QString jsonText(const QJsonValue& v)
{
    if (v.isDouble()) return QString::number(v.toDouble(), 'g', 6);
    if (v.isBool()) return v.toBool() ? "yes" : "no";
    if (v.isString()) return v.toString();
    if (v.isNull() || v.isUndefined()) return "-";
    return QString::fromUtf8(QJsonDocument(v.isObject() ? QJsonDocument(v.toObject()) : QJsonDocument(v.toArray())).toJson(QJsonDocument::Compact));
}

QString table(const QList<QPair<QString, QString>>& rows)
{
    QString t = "<table>\n";
    for (const auto& [k, v] : rows) t += "<tr><th>" + html(k) + "</th><td>" + html(v) + "</td></tr>\n";
    return t + "</table>\n";
}

// A self-contained page for people: what was exported, what the studio promised, what the build took.
QByteArray reportHtml(const QJsonObject& m)
{
    const QJsonObject cand = m["candidate"].toObject(), est = m["estimate"].toObject(), c = m["c"].toObject();
    const QJsonObject cm = m["cortex_m4"].toObject();
    QString page = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html(m["name"].toString()) +
                   " — Joule Studio export</title>\n<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
                   "table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left}"
                   "th{background:#f3f3f3;font-weight:normal;color:#555}code{background:#f3f3f3}</style></head><body>\n";
    page += "<h1>" + html(m["name"].toString()) + "</h1>\n<p>Exported by Joule Studio " + html(m["studio"].toObject()["version"].toString()) +
            " on " + html(m["exported_at"].toString()) + " from " + html(m["origin"].toString()) + ".</p>\n";
    page += "<h2>Candidate</h2>\n" + table({{"id", cand["id"].toString()},
                                            {"label", cand["label"].toString()},
                                            {"plugin", jsonText(cand["plugin"])},
                                            {"parameters", jsonText(cand["params"])},
                                            {"policy", jsonText(cand["policy"])},
                                            {"model", m["model"].toObject()["file"].toString()},
                                            {"model sha256", m["model"].toObject()["sha256"].toString()}});
    page += "<h2>What the studio measured and estimated</h2>\n" +
            table({{"accuracy (test set)", m["accuracy"].isDouble() ? QString::number(100 * m["accuracy"].toDouble(), 'f', 2) + " %" : "-"},
                   {"test inputs", jsonText(m["samples"])},
                   {"target", m["target"].toString()},
                   {"latency (ms, estimated)", jsonText(est["latency_ms"])},
                   {"energy (µJ, estimated)", jsonText(est["energy_uj"])},
                   {"MACs", jsonText(est["macs"])},
                   {"weights (bytes)", jsonText(est["weight_bytes"])},
                   {"flash (bytes, estimated)", jsonText(est["flash_bytes"])},
                   {"arena (bytes, estimated)", jsonText(est["arena_bytes"])},
                   {"fits the target", jsonText(est["fits"])}});
    if (!c.isEmpty()) {
        page += "<h2>The C model</h2>\n" +
                table({{"files", c["header"].toString() + ", " + c["source"].toString()},
                       {"static arena (bytes)", jsonText(c["arena_bytes"])},
                       {"constants (bytes)", jsonText(c["const_bytes"])},
                       {"of which weights and biases", jsonText(c["weight_bytes"])},
                       {"input", jsonText(c["input_size"]) + " int8 codes, scale " + jsonText(c["input_scale"]) + ", zero point " + jsonText(c["input_zero_point"])},
                       {"output", jsonText(c["output_size"]) + " int8 codes, scale " + jsonText(c["output_scale"]) + ", zero point " + jsonText(c["output_zero_point"])},
                       {"output quantization", c["output_quantization"].toString()},
                       {"kernels", jsonText(c["kernels"])}});
    }
    if (!cm.isEmpty()) {
        if (cm["built"].toBool()) {
            const QJsonObject mo = cm["model"].toObject(), fw = cm["firmware"].toObject();
            page += "<h2>Cortex-M4 build</h2>\n<p><code>" + html(cm["compiler"].toString()) + "</code>, <code>" + html(cm["flags"].toString()) + "</code></p>\n" +
                    table({{"model flash (text + data, bytes)", jsonText(mo["flash_bytes"])},
                           {"model static RAM (data + bss, bytes)", jsonText(mo["ram_bytes"])},
                           {"planner's arena (bytes)", jsonText(c["arena_bytes"])},
                           {"weights (bytes)", jsonText(est["weight_bytes"])},
                           {"firmware (text / data / bss)", jsonText(fw["text"]) + " / " + jsonText(fw["data"]) + " / " + jsonText(fw["bss"])}});
        } else {
            page += "<h2>Cortex-M4 build</h2>\n<p>Not built: " + html(cm["error"].toString()) + "</p>\n";
        }
    }
    page += "<h2>Files</h2>\n<table><tr><th>file</th><th>bytes</th><th>sha256</th></tr>\n";
    for (const QJsonValue& f : m["files"].toArray())
        page += "<tr><td>" + html(f["path"].toString()) + "</td><td>" + QString::number(f["bytes"].toInteger()) + "</td><td><code>" +
                f["sha256"].toString() + "</code></td></tr>\n";
    page += "</table>\n</body></html>\n";
    return page.toUtf8();
}

struct Tool {
    int exitCode = -1;
    QString output;
};

Tool runTool(const QString& program, const QStringList& args, const QString& dir)
{
    QProcess p;
    p.setWorkingDirectory(dir);
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(program, args);
    if (!p.waitForStarted(10000)) return {-1, program + " could not be started (" + p.errorString() + ")"};
    if (!p.waitForFinished(180000)) {
        p.kill();
        return {-1, program + " did not finish within 180 s"};
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromLocal8Bit(p.readAll())};
}

// Berkeley output of arm-none-eabi-size: "text data bss dec hex filename" rows.
bool parseSize(const QString& out, const QString& file, int64_t& text, int64_t& data, int64_t& bss)
{
    for (const QString& line : out.split('\n')) {
        const QStringList f = line.split(QRegularExpression("\\s+"), Qt::SkipEmptyParts);
        if (f.size() >= 6 && QFileInfo(f[5]).fileName() == file) {
            text = f[0].toLongLong();
            data = f[1].toLongLong();
            bss = f[2].toLongLong();
            return true;
        }
    }
    return false;
}

const QString kArmFlags = "-std=c99 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2 -ffp-contract=off -Wall -Werror -pedantic";

} // namespace

std::optional<Format> formatFromName(const QString& name)
{
    if (name == "c") return Format::C;
    if (name == "onnx") return Format::Onnx;
    if (name == "bundle") return Format::Bundle;
    return std::nullopt;
}

std::pair<float, int32_t> calibrateOutput(const ExportCandidate& candidate, int limit)
{
    const plugin::Recipe& r = candidate.recipe;
    const plugin::DatasetRef ref = r.calibration ? *r.calibration : r.test;
    const data::Preprocessing prep = plugin::preprocessingFromCard(r.model);
    const data::LabeledImages all = data::loadDataset(ref.spec.toStdString(), prep);
    const int64_t take = ref.limit >= 0 ? std::min<int64_t>(ref.limit, limit) : limit;
    const data::LabeledImages d = plugin::inputRange(all, ref.offset, take);
    std::vector<std::unique_ptr<rt::Session>> sessions;
    for (const Graph& g : candidate.graphs) sessions.push_back(std::make_unique<rt::Session>(rt::hasQdq(g) ? rt::lowerQdq(g) : g));
    const bool earlyExit = candidate.policy["kind"].toString() == "early_exit";
    float largest = 0;
    const int64_t batch = 100;
    for (int64_t begin = 0; begin < d.size(); begin += batch) {
        const Tensor x = data::imageBatch(d, prep, begin, std::min(batch, d.size() - begin));
        Tensor feed = x;
        for (size_t s = 0; s < sessions.size(); ++s) {
            const Graph& g = sessions[s]->graph();
            const auto out = sessions[s]->run({{stageInput(g), earlyExit ? feed : x}});
            const Tensor& y = out.at(g.outputs().at(0).name);
            for (float v : y.values<float>()) largest = std::max(largest, std::fabs(v));
            if (earlyExit && s + 1 < sessions.size()) feed = out.at(g.outputs().at(1).name);
        }
    }
    return {largest > 0 ? largest / 127.0f : 1.0f, 0};
}

void writeFolder(const QString& dir, const std::map<QString, QByteArray>& files, bool force)
{
    const QFileInfo info(QDir::cleanPath(QFileInfo(dir).absoluteFilePath()));   // "out/" is "out"
    const QString path = info.absoluteFilePath();
    if (info.exists() && !info.isDir()) throw ExportError(path.toStdString() + " exists and is not a folder");
    if (info.exists() && !force) {
        const QStringList entries = QDir(path).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden);
        if (!entries.isEmpty())
            throw ExportError(path.toStdString() + " already holds " + std::to_string(entries.size()) + " entr" +
                              (entries.size() == 1 ? "y" : "ies") + " (e.g. '" + entries.front().toStdString() +
                              "'); export into a new or empty folder, or replace it as a whole (--force)");
    }
    const QString parent = info.absolutePath();
    if (!QDir().mkpath(parent)) throw ExportError("cannot create folder " + parent.toStdString());
    QTemporaryDir tmp(parent + "/." + info.fileName() + ".joule-export-XXXXXX");
    if (!tmp.isValid()) throw ExportError("cannot create a temporary folder in " + parent.toStdString() + ": " + tmp.errorString().toStdString());
    for (const auto& [rel, bytes] : files) {
        const QString file = tmp.filePath(rel);
        QDir().mkpath(QFileInfo(file).absolutePath());
        QFile f(file);
        if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size() || !f.flush())
            throw ExportError("cannot write " + file.toStdString() + ": " + f.errorString().toStdString());
    }
    QString old;
    if (info.exists()) {
        old = parent + "/." + info.fileName() + ".joule-old-" + QUuid::createUuid().toString(QUuid::Id128).left(12);
        if (!QDir().rename(path, old)) throw ExportError("cannot move the old " + path.toStdString() + " aside");
    }
    if (!QDir().rename(tmp.path(), path)) {
        if (!old.isEmpty()) QDir().rename(old, path);
        throw ExportError("cannot rename the written folder to " + path.toStdString());
    }
    tmp.setAutoRemove(false);
    // QTemporaryDir made it private (0700); an export is an ordinary folder.
    QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner | QFileDevice::ReadGroup |
                                    QFileDevice::ExeGroup | QFileDevice::ReadOther | QFileDevice::ExeOther);
    if (!old.isEmpty()) QDir(old).removeRecursively();
}

std::map<QString, QByteArray> cortexMFiles(const QString& name)
{
    QByteArray main = resource("cortex_m/main.c");
    main.replace("NAME", name.toUtf8());
    QByteArray make = resource("cortex_m/Makefile");
    make.replace("NAME", name.toUtf8());
    return {{"cortex_m/startup.c", resource("cortex_m/startup.c")},
            {"cortex_m/mps2_an386.ld", resource("cortex_m/mps2_an386.ld")},
            {"cortex_m/main.c", main},
            {"cortex_m/Makefile", make}};
}

CortexMBuild buildCortexM4(const CModel& model, const QString& name)
{
    CortexMBuild b;
    b.flags = kArmFlags;
    QTemporaryDir dir;
    if (!dir.isValid()) {
        b.error = "cannot create a temporary folder";
        return b;
    }
    std::map<QString, QByteArray> files = cortexMFiles(name);
    files[name + ".h"] = QByteArray::fromStdString(model.header);
    files[name + ".c"] = QByteArray::fromStdString(model.source);
    for (const auto& [rel, bytes] : files) {
        const QString p = dir.filePath(QFileInfo(rel).fileName());
        QFile f(p);
        if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size()) {
            b.error = "cannot write " + p;
            return b;
        }
    }
    const Tool version = runTool("arm-none-eabi-gcc", {"--version"}, dir.path());
    if (version.exitCode != 0) {
        b.error = "arm-none-eabi-gcc is not installed (Debian: gcc-arm-none-eabi, libnewlib-arm-none-eabi; packaging/install-deps.sh installs them)";
        return b;
    }
    b.compiler = version.output.section('\n', 0, 0).trimmed();
    const QStringList flags = kArmFlags.split(' ');
    const Tool obj = runTool("arm-none-eabi-gcc", flags + QStringList{"-I.", "-c", name + ".c", "-o", name + ".o"}, dir.path());
    if (obj.exitCode != 0) {
        b.error = "arm-none-eabi-gcc failed on " + name + ".c: " + obj.output.left(2000);
        return b;
    }
    const Tool elf = runTool("arm-none-eabi-gcc", flags + QStringList{"-I.", "-T", "mps2_an386.ld", "--specs=rdimon.specs", "startup.c", "main.c",
                                                                       name + ".o", "-o", "firmware.elf"},
                             dir.path());
    if (elf.exitCode != 0) {
        b.error = "linking the Cortex-M4 firmware failed: " + elf.output.left(2000);
        return b;
    }
    const Tool size = runTool("arm-none-eabi-size", {name + ".o", "firmware.elf"}, dir.path());
    if (size.exitCode != 0 || !parseSize(size.output, name + ".o", b.modelText, b.modelData, b.modelBss) ||
        !parseSize(size.output, "firmware.elf", b.firmwareText, b.firmwareData, b.firmwareBss)) {
        b.error = "arm-none-eabi-size failed: " + size.output.left(2000);
        return b;
    }
    b.built = true;
    return b;
}

ExportCandidate candidateFromStore(const QString& path, int64_t id)
{
    if (!QFileInfo(path).isFile()) throw ExportError(path.toStdString() + ": no such experiment store");
    const store::Store db(path);
    const auto found = db.candidatesById({id});
    if (found.empty()) throw ExportError(path.toStdString() + ": no candidate " + std::to_string(id));
    const store::StoredCandidate& c = found.front();
    store::RunSummary run;
    for (const store::RunSummary& r : db.runs())
        if (r.id == c.runId) run = r;
    ExportCandidate x;
    x.id = QString::number(c.id);
    x.origin = "store " + QFileInfo(path).absoluteFilePath() + ", run " + QString::number(c.runId) + ", candidate " + c.cid;
    try {
        x.recipe = plugin::parseRecipe(run.recipeJson, run.recipe);
    } catch (const std::exception& e) {
        throw ExportError(path.toStdString() + ": candidate " + std::to_string(id) + ": its run's recipe no longer loads: " + e.what());
    }
    x.label = c.label;
    x.plugin = c.plugin;
    x.parent = c.parent;
    x.params = c.params;
    x.policy = c.policy;
    x.notes = c.notes;
    for (size_t i = 0; i < c.graphHashes.size(); ++i) {
        const QByteArray bytes = db.graph(c.graphHashes[i]);
        x.graphs.push_back(onnx::loadModelFromBytes(bytes.toStdString(), path.toStdString() + ": candidate " + std::to_string(id) + " graph " + std::to_string(i)));
    }
    x.target = c.target;
    x.accuracy = c.accuracy;
    x.samples = c.samples;
    x.estimate = QJsonObject{{"macs", static_cast<qint64>(c.macs)},
                             {"latency_ms", c.latencyMs},
                             {"energy_uj", c.energyUj ? QJsonValue(*c.energyUj) : QJsonValue()},
                             {"weight_bytes", static_cast<qint64>(c.weightBytes)},
                             {"flash_bytes", static_cast<qint64>(c.flashBytes)},
                             {"arena_bytes", static_cast<qint64>(c.arenaBytes)},
                             {"fits", c.fits}};
    return x;
}

QJsonObject exportCandidate(const ExportCandidate& candidate, Format format, const QString& outDir, const ExportOptions& options)
{
    const std::string name = options.name.toStdString();
    if (!isCIdentifier(name)) throw ExportError("--name '" + name + "' is not a C identifier (letters, digits and '_', not starting with a digit)");
    if (candidate.graphs.empty()) throw ExportError("candidate " + candidate.id.toStdString() + " has no graph");
    const QString kind = candidate.policy["kind"].toString("plain");
    std::optional<adaptive::Policy> policy;
    if (kind != "plain") {
        try {
            policy = adaptive::Policy::fromJson(candidate.policy);
        } catch (const adaptive::PolicyError& e) {
            throw ExportError("candidate " + candidate.id.toStdString() + ": policy: " + e.what());
        }
    }
    const auto log = [&](const QString& line) { if (options.log) options.log(line); };

    QJsonObject manifest{{"name", options.name},
                         {"format", format == Format::C ? "c" : format == Format::Onnx ? "onnx" : "bundle"},
                         {"studio", QJsonObject{{"name", "Joule Studio"}, {"version", options.studioVersion}}},
                         {"exported_at", QDateTime::currentDateTimeUtc().toString(Qt::ISODate)},
                         {"origin", candidate.origin},
                         {"target", candidate.target},
                         {"samples", static_cast<qint64>(candidate.samples)},
                         {"estimate", candidate.estimate}};
    manifest["accuracy"] = candidate.accuracy ? QJsonValue(*candidate.accuracy) : QJsonValue();
    QFile modelFile(candidate.recipe.model);
    manifest["model"] = QJsonObject{{"file", candidate.recipe.model},
                                    {"sha256", modelFile.open(QIODevice::ReadOnly) ? sha256(modelFile.readAll()) : QString()}};
    manifest["candidate"] = QJsonObject{{"id", candidate.id},
                                        {"label", candidate.label},
                                        {"plugin", candidate.plugin.isEmpty() ? QJsonValue() : QJsonValue(candidate.plugin)},
                                        {"parent", candidate.parent},
                                        {"params", candidate.params},
                                        {"policy", candidate.policy}};

    std::map<QString, QByteArray> files;
    const QString cDir = format == Format::Bundle ? "c/" : "", onnxDir = format == Format::Bundle ? "onnx/" : "";
    std::optional<CModel> cModel;
    if (format != Format::Onnx) {
        log("generating C");
        COptions co{.name = name};
        QString quantNote;
        {
            // Refuse an unexportable candidate before spending time on data.
            cModel = generateC(candidate.graphs, policy ? &*policy : nullptr, co);
        }
        {
            log("choosing the int8 output quantization on calibration data");
            const auto [scale, zp] = calibrateOutput(candidate, options.calibrationLimit);
            co.outputScale = scale;
            co.outputZeroPoint = zp;
            cModel = generateC(candidate.graphs, policy ? &*policy : nullptr, co);
            const plugin::DatasetRef ref = candidate.recipe.calibration ? *candidate.recipe.calibration : candidate.recipe.test;
            quantNote = QString("symmetric int8 over the largest |output| on the first %1 inputs of %2 (offset %3); the float output of %4_run_f32 is exact")
                            .arg(ref.limit >= 0 ? std::min<int64_t>(ref.limit, options.calibrationLimit) : options.calibrationLimit)
                            .arg(ref.spec).arg(ref.offset).arg(options.name);
        }
        files[cDir + options.name + ".h"] = QByteArray::fromStdString(cModel->header);
        files[cDir + options.name + ".c"] = QByteArray::fromStdString(cModel->source);
        QJsonArray kernels;
        for (const std::string& k : cModel->kernels) kernels.append(QString::fromStdString(k));
        manifest["c"] = QJsonObject{{"header", cDir + options.name + ".h"},
                                    {"source", cDir + options.name + ".c"},
                                    {"arena_bytes", static_cast<qint64>(cModel->arenaBytes)},
                                    {"const_bytes", static_cast<qint64>(cModel->constBytes)},
                                    {"weight_bytes", static_cast<qint64>(cModel->weightBytes)},
                                    {"input_size", static_cast<qint64>(cModel->inputSize)},
                                    {"output_size", static_cast<qint64>(cModel->outputSize)},
                                    {"input_scale", static_cast<double>(cModel->inputScale)},
                                    {"input_zero_point", cModel->inputZeroPoint},
                                    {"output_scale", static_cast<double>(cModel->outputScale)},
                                    {"output_zero_point", cModel->outputZeroPoint},
                                    {"output_quantization", quantNote},
                                    {"stages", static_cast<qint64>(candidate.graphs.size())},
                                    {"kernels", kernels}};
    }
    if (format != Format::C) {
        log("writing ONNX");
        QJsonArray graphs;
        for (size_t s = 0; s < candidate.graphs.size(); ++s) {
            const QString file = onnxDir + options.name + (candidate.graphs.size() > 1 ? QString("_stage%1").arg(s) : QString()) + ".onnx";
            const QByteArray bytes = QByteArray::fromStdString(onnx::serializeModel(candidate.graphs[s]));
            files[file] = bytes;
            QJsonObject g{{"file", file}, {"sha256", sha256(bytes)}};
            if (policy) g["stage"] = QString::fromStdString(policy->stages[s].name);
            graphs.append(g);
        }
        manifest["graphs"] = graphs;
        if (policy) {
            QJsonObject p = policy->toJson();
            p["graphs"] = graphs;
            p["note"] = kind == "cascade" ? "run the stages in order on the same input; stop at the first whose softmax scores pass the rule"
                                          : "run the segments in order, each on the previous one's second output; stop at the first exit whose scores pass the rule";
            files[onnxDir + options.name + ".policy.json"] = QJsonDocument(p).toJson();
        }
    }
    if (format == Format::Bundle) {
        log("building for Cortex-M4 with arm-none-eabi-gcc");
        const CortexMBuild b = buildCortexM4(*cModel, options.name);
        QJsonObject cm{{"built", b.built}, {"flags", b.flags}};
        if (b.built) {
            cm["compiler"] = b.compiler;
            cm["model"] = QJsonObject{{"text", static_cast<qint64>(b.modelText)},
                                      {"data", static_cast<qint64>(b.modelData)},
                                      {"bss", static_cast<qint64>(b.modelBss)},
                                      {"flash_bytes", static_cast<qint64>(b.modelText + b.modelData)},
                                      {"ram_bytes", static_cast<qint64>(b.modelData + b.modelBss)}};
            cm["firmware"] = QJsonObject{{"text", static_cast<qint64>(b.firmwareText)},
                                         {"data", static_cast<qint64>(b.firmwareData)},
                                         {"bss", static_cast<qint64>(b.firmwareBss)},
                                         {"note", "startup, a main with static int8 input and output buffers that prints the answer, newlib with semihosting (rdimon), a 64 KB stack reserve"}};
            // NAME_run's int8 codes in and out live in the caller's buffers.
            const int64_t io = cModel->inputSize + cModel->outputSize;
            const int64_t planned = candidate.estimate["arena_bytes"].toInteger(cModel->arenaBytes);
            cm["io_bytes"] = static_cast<qint64>(io);
            cm["ram_over_arena"] = static_cast<double>(b.modelData + b.modelBss) / static_cast<double>(cModel->arenaBytes);
            cm["ram_over_planner"] = static_cast<double>(b.modelData + b.modelBss + io) / static_cast<double>(planned + io);
            const int64_t weights = candidate.estimate["weight_bytes"].toInteger(cModel->weightBytes);
            cm["flash_over_weights"] = static_cast<double>(b.modelText + b.modelData) / static_cast<double>(std::max<int64_t>(weights, 1));
        } else {
            cm["error"] = b.error;
            log("Cortex-M4 build not made: " + b.error);
        }
        manifest["cortex_m4"] = cm;
        for (auto& [rel, bytes] : cortexMFiles(options.name)) files[rel] = bytes;
    }
    QJsonArray list;
    for (const auto& [rel, bytes] : files) list.append(QJsonObject{{"path", rel}, {"bytes", static_cast<qint64>(bytes.size())}, {"sha256", sha256(bytes)}});
    manifest["files"] = list;
    if (format == Format::Bundle) {
        files["report.html"] = reportHtml(manifest);
        files["manifest.json"] = QJsonDocument(manifest).toJson();
    }
    log("writing " + outDir);
    writeFolder(outDir, files, options.force);
    return manifest;
}

} // namespace joule::exporter
