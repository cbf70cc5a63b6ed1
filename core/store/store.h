#pragma once
// The experiment store: one SQLite file per project (WAL, foreign keys on), every finished run kept.
//
//   store::Store s("project/joule.db");                 // created if missing, migrated if older
//   int64_t run = s.addRun(result);                      // one transaction: models, datasets,
//                                                        // candidates, graphs, metrics, layers, records
//   for (const auto& c : s.candidates()) c.accuracy;     // every candidate of every run
//   auto records = s.records(c.id);                      // one per test input
//
// Tables: models (content hash), datasets (spec, offset, limit, content hash), runs (recipe, target,
// sweep point), candidates (parent, plugin, parameters and policy as JSON, graphs as content-addressed
// ONNX blobs), blobs, evaluations (metrics, estimates), layer_costs, records, stage_outputs (adaptive
// candidates' what-if data). A file that is not a
// Joule store (PRAGMA application_id), or is of a newer schema, is refused with a StoreError naming
// the file and left byte for byte as it was; an older schema is migrated on open, in one transaction.

#include "plugin/recipe_runner.h"

#include <QJsonObject>
#include <QString>

#include <cstdint>
#include <optional>
#include <tuple>
#include <stdexcept>
#include <vector>

struct sqlite3;

namespace joule::store {

class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline constexpr int kSchemaVersion = 3;     // 1: the first schema; 2 adds sweep points to runs; 3 stage outputs
inline constexpr int kApplicationId = 0x4A4F554C;   // "JOUL"

struct RunSummary {
    int64_t id = 0;
    QString recipe;        // the recipe file (absolute)
    QByteArray recipeJson; // the recipe's bytes as they were run
    QString name;
    QString target;
    QString finishedAt;    // ISO 8601, UTC
    QString pointKey;      // a sweep point's key, empty for a plain optimize run
    QJsonObject point;     // the sweep point's parameters
    int64_t candidates = 0;
    plugin::DatasetRef test; // the test set its candidates were evaluated on (records index into it)
};

struct StoredCandidate {
    int64_t id = 0;        // unique in the store
    int64_t runId = 0;
    QString cid;           // the id within its run ("baseline", "c1", ...)
    QString label, plugin, parent;
    QJsonObject params, policy;
    QJsonObject notes;     // what the plugin reported (calibration, per-layer SQNR, sensitivity scan, ...)
    QString target;
    int64_t samples = 0;
    double accuracy = 0;
    int64_t macs = 0;
    double latencyMs = 0;
    std::optional<double> energyUj;
    int64_t weightBytes = 0, flashBytes = 0, arenaBytes = 0;
    bool fits = false;
    std::vector<QString> graphHashes;   // sha256 of each graph's ONNX bytes, in the blobs table

    // A metric by its JSON name (accuracy, energy_uj, latency_ms, macs, weight_bytes, flash_bytes,
    // arena_bytes); nullopt when unknown. StoreError for a name that is not a metric.
    std::optional<double> metric(const QString& name) const;
};

class Store {
public:
    explicit Store(const QString& path);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    const QString& path() const { return path_; }
    int schemaVersion() const;

    // Records a finished optimize run, in one transaction. `pointKey` names a sweep point (unique in
    // the store); `point` holds its parameters.
    int64_t addRun(const plugin::OptimizeResult& result, const QString& pointKey = {}, const QJsonObject& point = {});
    bool hasPoint(const QString& pointKey) const;

    std::vector<RunSummary> runs() const;
    // With `details` false, params, policy and graph hashes are left empty (listing is faster).
    std::vector<StoredCandidate> candidates(std::optional<int64_t> runId = std::nullopt, bool details = true) const;
    // Only these candidates (by store-wide id), with details.
    std::vector<StoredCandidate> candidatesById(const std::vector<int64_t>& ids) const;
    // (candidate id, x, y) of every candidate that has both metrics, straight from the evaluations.
    std::vector<std::tuple<int64_t, double, double>> metricPairs(const QString& x, const QString& y) const;
    std::vector<eval::InputRecord> records(int64_t candidateId) const;
    // An adaptive candidate's outputs of every stage on every test input (what `joule whatif` needs),
    // and its policy into `policy` when given; nullopt for a plain candidate, or one recorded before
    // schema 3. StoreError naming the store and candidate when the data is unreadable.
    std::optional<adaptive::StageOutputs> stageOutputs(int64_t candidateId, adaptive::Policy* policy = nullptr) const;
    // The ONNX bytes of a stored graph.
    QByteArray graph(const QString& hash) const;
    // Copies every run of the store at `other` that this one lacks (a sweep point it has, or a run
    // with the same recipe bytes and finish time, is skipped), in one transaction. `other` is checked
    // as any store is on open (and migrated if older). Returns (runs added, runs skipped).
    std::pair<int64_t, int64_t> mergeFrom(const QString& other);

    // PRAGMA integrity_check: "ok", or what SQLite found.
    QString integrityCheck() const;

private:
    void exec(const char* sql) const;
    QString path_;
    sqlite3* db_ = nullptr;
};

// Metric names candidates can be compared on, for joule pareto.
const std::vector<QString>& metricNames();
// Whether larger is better when not told otherwise: accuracy; every other metric is minimized.
bool maximizedByDefault(const QString& metric);

// One candidate over two metrics (`id` is the caller's, e.g. the store-wide candidate id).
struct MetricPoint {
    int64_t id = 0;
    double x = 0, y = 0;
};
// The points no other beats on both metrics (maximizeX/Y: larger is better), ordered by x from best:
// what joule pareto prints. Of points with the same x and y only one is kept, the one the sort puts
// first, so the same points in the same order always give the same front.
std::vector<MetricPoint> paretoFront(std::vector<MetricPoint> points, bool maximizeX, bool maximizeY);

} // namespace joule::store
