#include "project/project.h"

#include "onnx/onnx_io.h"
#include "store/store.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

namespace joule::ui {

namespace {

enum class FileKind { Model, Recipe, Store };

// By extension, else by the first bytes: SQLite's header, a JSON object, else an ONNX protobuf.
FileKind kindOf(const QString& path)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == "onnx") return FileKind::Model;
    if (suffix == "json") return FileKind::Recipe;
    if (suffix == "db" || suffix == "sqlite") return FileKind::Store;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) throw ProjectError(path + ": cannot read: " + f.errorString());
    const QByteArray head = f.read(16);
    if (head.startsWith("SQLite format 3")) return FileKind::Store;
    if (head.trimmed().startsWith('{')) return FileKind::Recipe;
    return FileKind::Model;
}

LoadedGraph analyzed(Graph graph)
{
    LoadedGraph g;
    auto owned = std::make_shared<Graph>(std::move(graph));
    g.stats = std::make_shared<cost::ModelStats>(cost::analyzeModel(*owned));
    g.layout = std::make_shared<GraphLayout>(layoutGraph(*owned));
    g.graph = std::move(owned);
    return g;
}

LoadedGraph loadModelFile(const QString& path)
{
    try {
        return analyzed(onnx::loadModel(path.toStdString()));
    } catch (const onnx::ModelError& e) {
        throw ProjectError(e.what());   // already names the file and the node or field
    } catch (const std::exception& e) {
        throw ProjectError(path + ": " + e.what());
    }
}

CandidateInfo fromStored(const store::StoredCandidate& s)
{
    CandidateInfo c;
    c.key = QString::number(s.runId) + "/" + s.cid;
    c.cid = s.cid;
    c.runId = s.runId;
    c.storeId = s.id;
    c.label = s.label;
    c.plugin = s.plugin;
    c.parentKey = s.parent.isEmpty() ? QString() : QString::number(s.runId) + "/" + s.parent;
    c.params = s.params;
    c.policy = s.policy;
    c.notes = s.notes;
    c.policyKind = s.policy.value("kind").toString("plain");
    c.accuracy = s.accuracy;
    c.samples = s.samples;
    c.runTarget = s.target;
    c.runEnergyUj = s.energyUj;
    c.runLatencyMs = s.latencyMs;
    c.weightBytes = s.weightBytes;
    for (const QString& m : store::metricNames())
        if (const std::optional<double> v = s.metric(m)) c.metrics[m] = *v;
    c.fits = s.fits;
    if (!s.graphHashes.empty()) c.graphHash = s.graphHashes.back();
    return c;
}

RunInfo fromStored(const store::RunSummary& r)
{
    return {.id = r.id, .name = r.name, .target = r.target, .finishedAt = r.finishedAt, .recipeFile = r.recipe, .test = r.test};
}

// Every run and candidate of the store at `path`, read in one go (the store is closed after).
void readStore(const QString& path, std::vector<RunInfo>& runs, std::vector<CandidateInfo>& candidates,
               QByteArray* lastRecipe, QString* lastRecipeFile)
{
    try {
        store::Store db(path);
        for (const store::RunSummary& r : db.runs()) {
            runs.push_back(fromStored(r));
            if (lastRecipe) *lastRecipe = r.recipeJson;
            if (lastRecipeFile) *lastRecipeFile = r.recipe;
        }
        for (const store::StoredCandidate& s : db.candidates()) candidates.push_back(fromStored(s));
    } catch (const store::StoreError& e) {
        throw ProjectError(e.what());   // names the file: not a Joule store, a newer schema, unreadable
    }
}

} // namespace

Project Project::open(const QString& file, const std::atomic<bool>* cancel)
{
    const QString path = QFileInfo(file).absoluteFilePath();
    if (!QFileInfo(path).isFile()) throw ProjectError(path + ": no such file");
    Project p;
    p.path_ = path;
    switch (kindOf(path)) {
    case FileKind::Model:
        p.kind_ = Kind::Model;
        p.modelPath_ = path;
        break;
    case FileKind::Recipe:
        p.kind_ = Kind::Recipe;
        try {
            p.recipe_ = plugin::loadRecipe(path);
        } catch (const std::exception& e) {
            throw ProjectError(e.what());
        }
        p.modelPath_ = p.recipe_->model;
        break;
    case FileKind::Store:
        p.kind_ = Kind::Store;
        p.storePath_ = path;
        break;
    }
    if (p.kind_ != Kind::Store) p.storePath_ = QFileInfo(path).absoluteDir().filePath("joule.db");

    // The opened model (or the recipe's) comes first; it is loaded before the store so a broken model
    // is reported as such.
    if (!p.modelPath_.isEmpty()) {
        p.graphs_[QString()] = loadModelFile(p.modelPath_);
        CandidateInfo m;
        m.key = m.cid = "model";
        m.label = QFileInfo(p.modelPath_).completeBaseName() + " (" + (p.kind_ == Kind::Recipe ? "the recipe's model" : "opened model") + ")";
        m.weightBytes = plugin::weightMemoryBytes(*p.graphs_[QString()].graph);
        p.candidates_.push_back(std::move(m));
    }
    if (cancel && cancel->load()) throw plugin::Cancelled();
    if (QFileInfo::exists(p.storePath_)) {
        QByteArray lastRecipe;
        QString lastRecipeFile;
        readStore(p.storePath_, p.runs_, p.candidates_, &lastRecipe, &lastRecipeFile);
        if (p.kind_ == Kind::Store && !lastRecipe.isEmpty()) {
            // A store project runs from its last run's recipe when that recipe's model is still there.
            try {
                p.recipe_ = plugin::parseRecipe(lastRecipe, lastRecipeFile);
                p.modelPath_ = p.recipe_->model;
            } catch (const std::exception&) {
                p.recipe_.reset();   // the store still opens; runs need a recipe or a model opened
            }
        }
    }
    return p;
}

QString Project::title() const
{
    const QString name = QFileInfo(path_).fileName();
    if (kind_ == Kind::Store) return name;
    return name + " — " + QDir(QFileInfo(path_).absolutePath()).relativeFilePath(storePath_)
           + (QFileInfo::exists(storePath_) ? QString() : " (new)");
}

const CandidateInfo* Project::find(const QString& key) const
{
    const int i = indexOf(key);
    return i < 0 ? nullptr : &candidates_[static_cast<size_t>(i)];
}

int Project::indexOf(const QString& key) const
{
    for (size_t i = 0; i < candidates_.size(); ++i)
        if (candidates_[i].key == key) return static_cast<int>(i);
    return -1;
}

const LoadedGraph& Project::graph(const CandidateInfo& c) const
{
    if (auto it = graphs_.find(c.graphHash); it != graphs_.end()) return it->second;
    QByteArray bytes;
    try {
        bytes = store::Store(storePath_).graph(c.graphHash);
    } catch (const store::StoreError& e) {
        throw ProjectError(e.what());
    }
    if (bytes.isEmpty()) throw ProjectError(storePath_ + ": candidate " + c.key + ": its graph " + c.graphHash + " is not in the store");
    try {
        const std::string origin = (storePath_ + ": candidate " + c.key).toStdString();
        return graphs_[c.graphHash] = analyzed(onnx::loadModelFromBytes(bytes.toStdString(), origin));
    } catch (const std::exception& e) {
        throw ProjectError(storePath_ + ": candidate " + c.key + ": " + e.what());
    }
}

std::shared_ptr<const InputsOf> Project::inputs(const CandidateInfo& c) const
{
    if (auto it = inputs_.find(c.key); it != inputs_.end()) return it->second;
    if (c.storeId <= 0) throw ProjectError(c.label + ": not evaluated yet (run a plugin, or open a recipe's store, to get per-input records)");
    auto out = std::make_shared<InputsOf>();
    try {
        const store::Store db(storePath_);
        out->records = db.records(c.storeId);
        adaptive::Policy policy;
        out->stages = db.stageOutputs(c.storeId, &policy);
        if (out->stages) out->policy = policy;
    } catch (const store::StoreError& e) {
        throw ProjectError(e.what());
    }
    const RunInfo* run = nullptr;
    for (const RunInfo& r : runs_)
        if (r.id == c.runId) run = &r;
    if (run && !run->test.spec.isEmpty()) {
        const QString key = run->test.spec + "@" + QString::number(run->test.offset) + "+" + QString::number(run->test.limit);
        auto it = testSets_.find(key);
        if (it == testSets_.end()) {
            try {
                const data::LabeledImages all = data::loadDataset(run->test.spec.toStdString());
                it = testSets_.emplace(key, std::make_shared<data::LabeledImages>(plugin::inputRange(all, run->test.offset, run->test.limit))).first;
            } catch (const std::exception& e) {
                out->imagesError = run->test.spec + ": " + QString::fromUtf8(e.what());
            }
        }
        if (it != testSets_.end()) out->images = it->second;
    }
    inputs_[c.key] = out;
    return out;
}

const cost::ModelEstimate& Project::estimate(const CandidateInfo& c, const QString& target) const
{
    const auto key = std::make_pair(c.key, target);
    if (auto it = estimates_.find(key); it != estimates_.end()) return it->second;
    auto t = targets_.find(target);
    if (t == targets_.end()) t = targets_.emplace(target, cost::loadTarget(target)).first;
    return estimates_[key] = cost::estimateModel(*graph(c).stats, t->second);
}

Project::RecordedRun Project::recordRun(const QString& storePath, const plugin::OptimizeResult& result)
{
    RecordedRun out;
    try {
        store::Store db(storePath);
        const int64_t id = db.addRun(result);
        for (const store::RunSummary& r : db.runs())
            if (r.id == id) out.run = fromStored(r);
        for (const store::StoredCandidate& s : db.candidates(id)) {
            CandidateInfo c = fromStored(s);
            for (const plugin::CandidateResult& r : result.candidates)
                if (r.candidate.id == s.cid && !c.graphHash.isEmpty() && !out.graphs.count(c.graphHash)) {
                    auto graph = std::make_shared<Graph>(r.candidate.graphs.back());
                    auto layout = std::make_shared<GraphLayout>(layoutGraph(*graph));
                    out.graphs[c.graphHash] = {std::move(graph), std::make_shared<cost::ModelStats>(r.stats), std::move(layout)};
                }
            out.candidates.push_back(std::move(c));
        }
    } catch (const store::StoreError& e) {
        throw ProjectError(e.what());
    }
    return out;
}

void Project::append(RecordedRun run)
{
    runs_.push_back(run.run);
    for (auto& [hash, g] : run.graphs) graphs_.emplace(hash, std::move(g));
    for (CandidateInfo& c : run.candidates) candidates_.push_back(std::move(c));
}

std::vector<std::pair<QString, QString>> availableTargets()
{
    std::vector<std::pair<QString, QString>> out;
    for (const cost::TargetFile& f : cost::findTargetFiles()) {
        try {
            out.emplace_back(f.id, QString::fromStdString(cost::loadTargetProfile(f.path).name));
        } catch (const std::exception&) {
            out.emplace_back(f.id, f.id + " (broken profile)");
        }
    }
    return out;
}

} // namespace joule::ui
