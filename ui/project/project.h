#pragma once
// What the studio has open: a model, a recipe or an experiment store, and the candidates to show.
//
//   Project p = Project::open("resources/recipes/fmnist_resnet8_int8.json");   // throws ProjectError
//   p.title();                     // "fmnist_resnet8_int8 — resources/recipes/joule.db"
//   p.candidates();                // the opened model first, then every stored candidate
//   p.estimate(p.candidates()[0], "stm32l4r5");   // on a target, cached
//
// The project is the experiment store: for a model or a recipe it is the store beside the file
// (`joule.db`, as `joule optimize` uses), created only when the first run is recorded; a store file
// is its own project. Opening reads everything it shows up front (graphs are parsed, layers
// analysed), so call it off the GUI thread for large models. Nothing is written on open.

#include "cost/estimator.h"
#include "cost/layer_stats.h"
#include "cost/target_profile.h"
#include "graph/graph_layout.h"
#include "ir/graph.h"
#include "plugin/recipe.h"
#include "plugin/pass.h"
#include "plugin/recipe_runner.h"

#include <QJsonObject>
#include <QString>

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

namespace joule::ui {

// A file the studio cannot open, or a run it cannot record: one line naming the file and what is wrong.
class ProjectError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    explicit ProjectError(const QString& message) : std::runtime_error(message.toStdString()) {}
};

// One candidate as the studio shows it.
struct CandidateInfo {
    QString key;                 // unique in the project: "model", or "RUN/CID" for a stored one
    QString cid;                 // its id within its run ("baseline", "c1"); "model" for the opened model
    int64_t runId = 0;           // 0 for the opened model
    int64_t storeId = 0;         // the store's candidate id, 0 for the opened model
    QString label, plugin;       // plugin empty for a baseline or the opened model
    QString parentKey;           // the candidate it came from, empty for a root
    QJsonObject params, policy;
    QJsonObject notes;           // the plugin's report: "sqnr" per layer, "sensitivity" scan, ...
    QString policyKind = "plain";
    std::optional<double> accuracy;   // on the run's test set; none for the opened model
    int64_t samples = 0;
    QString runTarget;           // the target the run estimated on
    std::optional<double> runEnergyUj, runLatencyMs;   // as the run estimated them (expected, for adaptive)
    int64_t weightBytes = 0;
    std::map<QString, double> metrics;   // by store::metricNames() name, each one the store has a value of
    bool fits = false;           // on the run's target (flash and RAM)
    QString graphHash;           // of the graph shown (the last stage of an adaptive one); empty for the opened model
};

// A graph the studio shows, its layers and its drawing layout, made once per project (off the GUI
// thread when a job opens or records it).
struct LoadedGraph {
    std::shared_ptr<const Graph> graph;
    std::shared_ptr<const cost::ModelStats> stats;
    std::shared_ptr<const GraphLayout> layout;
};

struct RunInfo {
    int64_t id = 0;
    QString name, target, finishedAt;
    QString recipeFile;
    plugin::DatasetRef test;     // the test set the run evaluated on
};

// What a stored candidate did on each test input: its records, the inputs themselves, and for an
// adaptive candidate every stage's answers and its policy (for a live what-if).
struct InputsOf {
    std::vector<eval::InputRecord> records;
    std::shared_ptr<const data::LabeledImages> images;   // null when the data cannot be read here (said in `imagesError`)
    QString imagesError;
    std::optional<adaptive::StageOutputs> stages;
    std::optional<adaptive::Policy> policy;
};

class Project {
public:
    enum class Kind { Model, Recipe, Store };

    // Opens an ONNX model (.onnx), a recipe (.json) or a store (.db, or any SQLite file). Throws
    // ProjectError naming the file: missing, unreadable, not a model / recipe / Joule store, a store
    // of a newer version. `cancel` is checked between candidates.
    static Project open(const QString& path, const std::atomic<bool>* cancel = nullptr);

    Kind kind() const { return kind_; }
    const QString& path() const { return path_; }            // the file opened
    const QString& storePath() const { return storePath_; }  // the project's store (may not exist yet)
    const QString& modelPath() const { return modelPath_; }  // the model runs start from
    const std::optional<plugin::Recipe>& recipe() const { return recipe_; }   // the recipe opened, or the last run's
    QString title() const;

    const std::vector<CandidateInfo>& candidates() const { return candidates_; }
    const std::vector<RunInfo>& runs() const { return runs_; }
    const CandidateInfo* find(const QString& key) const;
    int indexOf(const QString& key) const;

    // The candidate's graph and layers: loaded from the store on first use, then cached. Throws
    // ProjectError naming the store and the candidate when its graph cannot be read.
    const LoadedGraph& graph(const CandidateInfo& c) const;
    // Read from the store on first use, then cached (the test set once per run). Throws ProjectError
    // for the opened model (it has no records) or an unreadable store.
    std::shared_ptr<const InputsOf> inputs(const CandidateInfo& c) const;
    // The candidate's graph on `target` ("host" is not offered: the studio shows estimates), cached.
    // Throws what the cost model throws (e.g. no int4 kernels on the target).
    const cost::ModelEstimate& estimate(const CandidateInfo& c, const QString& target) const;

    // A finished run, recorded: the candidates as the store now holds them, ready to append (made
    // off the GUI thread by recordRun below).
    struct RecordedRun {
        RunInfo run;
        std::vector<CandidateInfo> candidates;
        std::map<QString, LoadedGraph> graphs;   // by hash: the run's graphs, already in memory
    };
    // Records `result` in the store at `storePath` (created if missing) and reads back what the
    // studio shows of it. Throws ProjectError naming the store.
    static RecordedRun recordRun(const QString& storePath, const plugin::OptimizeResult& result);
    void append(RecordedRun run);

private:
    Kind kind_ = Kind::Model;
    QString path_, storePath_, modelPath_;
    std::optional<plugin::Recipe> recipe_;
    std::vector<CandidateInfo> candidates_;
    std::vector<RunInfo> runs_;
    mutable std::map<QString, LoadedGraph> graphs_;   // by graph hash; "" = the opened model
    mutable std::map<std::pair<QString, QString>, cost::ModelEstimate> estimates_;
    mutable std::map<QString, cost::TargetProfile> targets_;
    mutable std::map<QString, std::shared_ptr<const InputsOf>> inputs_;                   // by candidate key
    mutable std::map<QString, std::shared_ptr<const data::LabeledImages>> testSets_;      // by "spec@offset+limit"
};

// The profiles the target selector offers, by id (cost::findTargetFiles), with their names.
std::vector<std::pair<QString, QString>> availableTargets();

} // namespace joule::ui
