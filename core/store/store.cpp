#include "store/store.h"

#include "onnx/onnx_io.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QRandomGenerator>
#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

#include <unistd.h>

namespace joule::store {

namespace {

// The first schema. Later versions are reached by the migrations below, so a new store and a
// migrated one are built by the same statements.
const char* const kSchemaV1 = R"sql(
CREATE TABLE models (
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL UNIQUE,
  bytes INTEGER NOT NULL
);
CREATE TABLE datasets (
  id INTEGER PRIMARY KEY,
  spec TEXT NOT NULL,
  first INTEGER NOT NULL,
  count INTEGER NOT NULL,
  labels_sha256 TEXT NOT NULL,
  UNIQUE (spec, first, count, labels_sha256)
);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  recipe TEXT NOT NULL,
  name TEXT NOT NULL,
  recipe_json TEXT NOT NULL,
  model_id INTEGER NOT NULL REFERENCES models(id),
  test_dataset_id INTEGER NOT NULL REFERENCES datasets(id),
  target TEXT NOT NULL,
  finished_at TEXT NOT NULL
);
CREATE TABLE blobs (
  sha256 TEXT PRIMARY KEY,
  bytes BLOB NOT NULL
);
CREATE TABLE candidates (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  cid TEXT NOT NULL,
  parent TEXT,
  plugin TEXT,
  label TEXT NOT NULL,
  params TEXT NOT NULL,
  policy TEXT NOT NULL,
  notes TEXT NOT NULL,
  graphs TEXT NOT NULL,
  UNIQUE (run_id, cid)
);
CREATE TABLE evaluations (
  candidate_id INTEGER PRIMARY KEY REFERENCES candidates(id) ON DELETE CASCADE,
  target TEXT NOT NULL,
  samples INTEGER NOT NULL,
  accuracy REAL NOT NULL,
  macs INTEGER NOT NULL,
  latency_ms REAL NOT NULL,
  energy_uj REAL,
  weight_bytes INTEGER NOT NULL,
  flash_bytes INTEGER NOT NULL,
  arena_bytes INTEGER NOT NULL,
  fits INTEGER NOT NULL
);
CREATE TABLE layer_costs (
  candidate_id INTEGER NOT NULL REFERENCES candidates(id) ON DELETE CASCADE,
  layer INTEGER NOT NULL,
  name TEXT NOT NULL,
  op TEXT NOT NULL,
  macs INTEGER NOT NULL,
  latency_ms REAL NOT NULL,
  energy_uj REAL,
  PRIMARY KEY (candidate_id, layer)
);
CREATE TABLE records (
  candidate_id INTEGER NOT NULL REFERENCES candidates(id) ON DELETE CASCADE,
  input INTEGER NOT NULL,
  label INTEGER NOT NULL,
  prediction INTEGER NOT NULL,
  correct INTEGER NOT NULL,
  top1_probability REAL NOT NULL,
  margin REAL NOT NULL,
  entropy REAL NOT NULL,
  stage INTEGER NOT NULL,
  macs INTEGER NOT NULL,
  latency_ms REAL,
  energy_uj REAL,
  PRIMARY KEY (candidate_id, input)
);
)sql";

// Migration to version i + 2 is kMigrations[i] (from 1 to 2 is kMigrations[0]).
const char* const kMigrations[] = {
    // 2: sweep points, so a sweep run again skips the points it already has.
    R"sql(
ALTER TABLE runs ADD COLUMN point_key TEXT;
ALTER TABLE runs ADD COLUMN point TEXT;
CREATE UNIQUE INDEX runs_point_key ON runs(point_key) WHERE point_key IS NOT NULL;
)sql",
    // 3: an adaptive candidate's stage outputs (every stage on every test input), so what-if works
    // from the store: the what-if JSON (docs/adaptive.md), zlib-compressed (qCompress).
    R"sql(
CREATE TABLE stage_outputs (
  candidate_id INTEGER PRIMARY KEY REFERENCES candidates(id) ON DELETE CASCADE,
  data BLOB NOT NULL
);
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion - 1, "one migration per schema version");

class Statement {
public:
    Statement(sqlite3* db, const char* sql) : db_(db)
    {
        if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) throw StoreError(std::string("SQL: ") + sqlite3_errmsg(db));
    }
    ~Statement() { sqlite3_finalize(s_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int i, int64_t v) { return check(sqlite3_bind_int64(s_, i, v)); }
    Statement& bind(int i, double v) { return check(sqlite3_bind_double(s_, i, v)); }
    Statement& bind(int i, const std::optional<double>& v) { return v ? bind(i, *v) : check(sqlite3_bind_null(s_, i)); }
    Statement& bind(int i, const QString& v)
    {
        const QByteArray u = v.toUtf8();
        return check(sqlite3_bind_text(s_, i, u.constData(), static_cast<int>(u.size()), SQLITE_TRANSIENT));
    }
    Statement& bindNull(int i) { return check(sqlite3_bind_null(s_, i)); }
    Statement& bindNullable(int i, const QString& v) { return v.isEmpty() ? check(sqlite3_bind_null(s_, i)) : bind(i, v); }
    Statement& bindBlob(int i, const std::string& v)
    {
        return check(sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    }
    // True while there is a row.
    bool step()
    {
        const int rc = sqlite3_step(s_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw StoreError(std::string("SQL: ") + sqlite3_errmsg(db_));
    }
    void run()
    {
        step();
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }
    int64_t integer(int c) const { return sqlite3_column_int64(s_, c); }
    double real(int c) const { return sqlite3_column_double(s_, c); }
    bool isNull(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
    std::optional<double> optionalReal(int c) const { return isNull(c) ? std::nullopt : std::optional<double>(real(c)); }
    QString text(int c) const { return QString::fromUtf8(reinterpret_cast<const char*>(sqlite3_column_text(s_, c))); }
    QByteArray blob(int c) const
    {
        return QByteArray(static_cast<const char*>(sqlite3_column_blob(s_, c)), sqlite3_column_bytes(s_, c));
    }

private:
    Statement& check(int rc)
    {
        if (rc != SQLITE_OK) throw StoreError(std::string("SQL: ") + sqlite3_errmsg(db_));
        return *this;
    }
    sqlite3* db_;
    sqlite3_stmt* s_ = nullptr;
};

QString json(const QJsonObject& o) { return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact)); }
QJsonObject object(const QString& text) { return QJsonDocument::fromJson(text.toUtf8()).object(); }
QString sha256(const QByteArray& bytes) { return QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex()); }

// Reads application_id and user_version without writing anything: read-only, no journal changes.
std::pair<int, int> identify(const QString& path)
{
    sqlite3* db = nullptr;
    const QByteArray uri = "file:" + QFileInfo(path).absoluteFilePath().toUtf8() + "?mode=ro";
    if (sqlite3_open_v2(uri.constData(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) != SQLITE_OK) {
        const std::string why = db ? sqlite3_errmsg(db) : "cannot open";
        sqlite3_close(db);
        throw StoreError(path.toStdString() + ": cannot open (" + why + ")");
    }
    sqlite3_busy_timeout(db, 30000);   // a writer may hold the file for a moment
    int rc = SQLITE_OK;
    auto pragma = [db, &rc](const char* sql, int* value) {
        sqlite3_stmt* s = nullptr;
        rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
        if (rc == SQLITE_OK) rc = sqlite3_step(s);
        const bool ok = rc == SQLITE_ROW;
        if (ok) *value = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
        return ok;
    };
    int app = 0, version = 0;
    const bool ok = pragma("PRAGMA application_id", &app) && pragma("PRAGMA user_version", &version);
    const std::string why = sqlite3_errmsg(db);
    sqlite3_close(db);
    if (!ok && (rc & 0xff) == SQLITE_NOTADB)
        throw StoreError(path.toStdString() + ": not a Joule store (not an SQLite database); it was left untouched");
    if (!ok) throw StoreError(path.toStdString() + ": cannot read the store (" + why + ")");
    return {app, version};
}

} // namespace

const std::vector<QString>& metricNames()
{
    static const std::vector<QString> names = {"accuracy", "energy_uj", "latency_ms", "macs", "weight_bytes", "flash_bytes", "arena_bytes"};
    return names;
}

bool maximizedByDefault(const QString& metric) { return metric == "accuracy"; }

std::vector<MetricPoint> paretoFront(std::vector<MetricPoint> points, bool maximizeX, bool maximizeY)
{
    // Signed so that both are minimized; sorted by x then y, a point is kept when it improves y.
    const double sx = maximizeX ? -1.0 : 1.0, sy = maximizeY ? -1.0 : 1.0;
    for (MetricPoint& p : points) {
        p.x *= sx;
        p.y *= sy;
    }
    std::sort(points.begin(), points.end(), [](const MetricPoint& a, const MetricPoint& b) { return a.x != b.x ? a.x < b.x : a.y < b.y; });
    std::vector<MetricPoint> front;
    double bestY = std::numeric_limits<double>::infinity();
    for (const MetricPoint& p : points)
        if (p.y < bestY) {
            bestY = p.y;
            front.push_back({p.id, sx * p.x, sy * p.y});
        }
    return front;
}

std::optional<double> StoredCandidate::metric(const QString& name) const
{
    if (name == "accuracy") return accuracy;
    if (name == "energy_uj") return energyUj;
    if (name == "latency_ms") return latencyMs;
    if (name == "macs") return static_cast<double>(macs);
    if (name == "weight_bytes") return static_cast<double>(weightBytes);
    if (name == "flash_bytes") return static_cast<double>(flashBytes);
    if (name == "arena_bytes") return static_cast<double>(arenaBytes);
    QStringList known;
    for (const QString& n : metricNames()) known << n;
    throw StoreError("unknown metric '" + name.toStdString() + "' (metrics: " + known.join(", ").toStdString() + ")");
}

namespace {

// A new store is built in a temporary file beside `path` and linked into place, so a reader opening
// `path` meanwhile sees either no file or a whole store; link() fails on an existing `path`, so two
// processes creating the same store at once end up sharing one (the loser discards its own).
void createStore(const QString& path)
{
    const QString tmp = path + ".new-" + QString::number(QCoreApplication::applicationPid()) + "-" +
                        QString::number(QRandomGenerator::global()->generate());
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(tmp.toUtf8().constData(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
        sqlite3_close(db);
        throw StoreError(path.toStdString() + ": cannot create the store (" + tmp.toStdString() + " cannot be written)");
    }
    // WAL from the start, so no reader ever meets the switch from the rollback journal.
    std::string sql = std::string("PRAGMA journal_mode = WAL; BEGIN;") + kSchemaV1;
    for (const char* m : kMigrations) sql += m;
    sql += "PRAGMA application_id = " + std::to_string(kApplicationId) + "; PRAGMA user_version = " +
           std::to_string(kSchemaVersion) + "; COMMIT;";
    char* error = nullptr;
    const bool ok = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) == SQLITE_OK;
    const std::string why = error ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    if (!ok) {
        QFile::remove(tmp);
        throw StoreError(path.toStdString() + ": cannot create the store (" + why + ")");
    }
    const int linked = ::link(tmp.toUtf8().constData(), path.toUtf8().constData());
    const int err = errno;
    QFile::remove(tmp);
    if (linked != 0 && err != EEXIST)
        throw StoreError(path.toStdString() + ": cannot create the store (" + std::strerror(err) + ")");
}

} // namespace

Store::Store(const QString& path) : path_(path)
{
    int version = 0;
    if (!QFileInfo::exists(path)) createStore(path);
    {   // checked read-only first: nothing is written to a file that is not ours
        if (QFileInfo(path).size() == 0) throw StoreError(path.toStdString() + ": not a Joule store (an empty file); it was left untouched");
        const auto [app, v] = identify(path);
        if (app != kApplicationId)
            throw StoreError(path.toStdString() + ": not a Joule store (SQLite application_id " + std::to_string(app) + "); it was left untouched");
        if (v > kSchemaVersion)
            throw StoreError(path.toStdString() + ": store schema version " + std::to_string(v) + " is newer than this joule's (" +
                             std::to_string(kSchemaVersion) + "); use a newer joule. It was left untouched");
        if (v < 1) throw StoreError(path.toStdString() + ": a Joule store without a schema version; it was left untouched");
        version = v;
    }
    if (sqlite3_open_v2(path.toUtf8().constData(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
        const std::string why = db_ ? sqlite3_errmsg(db_) : "cannot open";
        sqlite3_close(db_);
        db_ = nullptr;
        throw StoreError(path.toStdString() + ": cannot open (" + why + ")");
    }
    sqlite3_busy_timeout(db_, 30000);
    try {
        exec("PRAGMA journal_mode = WAL");
        exec("PRAGMA foreign_keys = ON");
        exec("PRAGMA synchronous = NORMAL");
        if (version < kSchemaVersion) {
            exec("BEGIN IMMEDIATE");
            version = schemaVersion();   // another process may have migrated it meanwhile
            for (int v = version; v < kSchemaVersion; ++v) exec(kMigrations[v - 1]);
            exec(("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str());
            exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
            exec("COMMIT");
        }
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

Store::~Store() { sqlite3_close(db_); }

void Store::exec(const char* sql) const
{
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
        const std::string why = error ? error : "error";
        sqlite3_free(error);
        throw StoreError(path_.toStdString() + ": " + why);
    }
}

int Store::schemaVersion() const
{
    Statement s(db_, "PRAGMA user_version");
    return s.step() ? static_cast<int>(s.integer(0)) : 0;
}

int64_t Store::addRun(const plugin::OptimizeResult& result, const QString& pointKey, const QJsonObject& point)
{
    const plugin::Recipe& recipe = result.recipe;
    QFile modelFile(recipe.model);
    if (!modelFile.open(QIODevice::ReadOnly)) throw StoreError(recipe.model.toStdString() + ": cannot read the model to record it");
    const QByteArray modelBytes = modelFile.readAll();
    // The bytes the recipe was parsed from (or made into, for a recipe built in code), so that what
    // is stored is what ran even when the file changed since.
    QFile recipeFile(recipe.file);
    const QString recipeJson = !recipe.source.isEmpty() ? QString::fromUtf8(recipe.source)
                               : recipeFile.open(QIODevice::ReadOnly) ? QString::fromUtf8(recipeFile.readAll())
                                                                      : QString();
    QByteArray labels;
    if (!result.candidates.empty())
        for (const auto& r : result.candidates.front().test.records) labels += QByteArray::number(static_cast<qint64>(r.label)) + ",";

    exec("BEGIN IMMEDIATE");
    try {
        Statement model(db_, "INSERT INTO models (path, sha256, bytes) VALUES (?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET path = path RETURNING id");
        model.bind(1, recipe.model).bind(2, sha256(modelBytes)).bind(3, static_cast<int64_t>(modelBytes.size()));
        model.step();
        const int64_t modelId = model.integer(0);
        Statement dataset(db_, "INSERT INTO datasets (spec, first, count, labels_sha256) VALUES (?, ?, ?, ?) "
                               "ON CONFLICT DO UPDATE SET spec = spec RETURNING id");
        dataset.bind(1, recipe.test.spec).bind(2, recipe.test.offset).bind(3, recipe.test.limit).bind(4, sha256(labels));
        dataset.step();
        const int64_t datasetId = dataset.integer(0);
        Statement run(db_, "INSERT INTO runs (recipe, name, recipe_json, model_id, test_dataset_id, target, finished_at, point_key, point) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
        run.bind(1, QFileInfo(recipe.file).absoluteFilePath()).bind(2, recipe.name).bind(3, recipeJson).bind(4, modelId).bind(5, datasetId).bind(6, result.target)
            .bind(7, QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs)).bindNullable(8, pointKey)
            .bindNullable(9, point.isEmpty() ? QString() : json(point));
        run.step();
        const int64_t runId = run.integer(0);

        Statement blob(db_, "INSERT OR IGNORE INTO blobs (sha256, bytes) VALUES (?, ?)");
        Statement cand(db_, "INSERT INTO candidates (run_id, cid, parent, plugin, label, params, policy, notes, graphs) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
        Statement evaluation(db_, "INSERT INTO evaluations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        Statement layer(db_, "INSERT INTO layer_costs VALUES (?, ?, ?, ?, ?, ?, ?)");
        Statement record(db_, "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        Statement stages(db_, "INSERT INTO stage_outputs VALUES (?, ?)");
        for (const plugin::CandidateResult& r : result.candidates) {
            const plugin::Candidate& c = r.candidate;
            QJsonArray hashes;
            for (const Graph& g : c.graphs) {
                const std::string bytes = onnx::serializeModel(g);
                const QString h = sha256(QByteArray::fromStdString(bytes));
                blob.bind(1, h).bindBlob(2, bytes).run();
                hashes.append(h);
            }
            cand.bind(1, runId).bind(2, c.id).bindNullable(3, c.parentId).bindNullable(4, c.plugin).bind(5, c.label)
                .bind(6, json(QJsonObject::fromVariantMap(c.params))).bind(7, json(c.policy)).bind(8, json(c.notes))
                .bind(9, QString::fromUtf8(QJsonDocument(hashes).toJson(QJsonDocument::Compact)));
            cand.step();
            const int64_t id = cand.integer(0);
            const cost::ModelEstimate& e = r.estimate;
            evaluation.bind(1, id).bind(2, result.target).bind(3, r.test.samples).bind(4, r.test.accuracy).bind(5, e.macs)
                .bind(6, e.latencyMs).bind(7, e.energyUj).bind(8, r.weightBytes).bind(9, e.memory.flashBytes)
                .bind(10, e.memory.arenaBytes).bind(11, static_cast<int64_t>(e.fit.fits())).run();
            if (!r.adaptive)
                for (size_t l = 0; l < e.layers.size(); ++l)
                    layer.bind(1, id).bind(2, static_cast<int64_t>(l)).bind(3, QString::fromStdString(e.layers[l].name))
                        .bind(4, QString::fromStdString(e.layers[l].op)).bind(5, e.layers[l].macs).bind(6, e.layers[l].latencyMs)
                        .bind(7, e.layers[l].energyUj).run();
            for (const eval::InputRecord& rec : r.test.records)
                record.bind(1, id).bind(2, rec.index).bind(3, rec.label).bind(4, rec.prediction).bind(5, static_cast<int64_t>(rec.correct))
                    .bind(6, static_cast<double>(rec.top1Probability)).bind(7, static_cast<double>(rec.margin))
                    .bind(8, static_cast<double>(rec.entropy)).bind(9, static_cast<int64_t>(rec.stage)).bind(10, rec.macs)
                    .bind(11, rec.latencyMs).bind(12, rec.energyUj).run();
            if (r.adaptive) {
                const QJsonObject what = adaptive::stageOutputsToJson(r.adaptive->all, r.adaptive->policy);
                stages.bind(1, id).bindBlob(2, qCompress(QJsonDocument(what).toJson(QJsonDocument::Compact), 6).toStdString()).run();
            }
            // RETURNING statements are reset here, after their row was read.
            cand.run();
        }
        model.run();
        dataset.run();
        run.run();
        exec("COMMIT");
        return runId;
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

std::optional<adaptive::StageOutputs> Store::stageOutputs(int64_t candidateId, adaptive::Policy* policy) const
{
    Statement s(db_, "SELECT data FROM stage_outputs WHERE candidate_id = ?");
    s.bind(1, candidateId);
    if (!s.step()) return std::nullopt;
    const std::string where = path_.toStdString() + ": candidate " + std::to_string(candidateId) + ": stage outputs";
    const QByteArray bytes = qUncompress(s.blob(0));
    if (bytes.isEmpty()) throw StoreError(where + ": not readable (corrupt data)");
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject()) throw StoreError(where + ": not valid JSON");
    try {
        return adaptive::stageOutputsFromJson(doc.object(), where, policy);
    } catch (const std::exception& e) {
        throw StoreError(e.what());
    }
}

bool Store::hasPoint(const QString& pointKey) const
{
    Statement s(db_, "SELECT 1 FROM runs WHERE point_key = ?");
    s.bind(1, pointKey);
    return s.step();
}

std::vector<RunSummary> Store::runs() const
{
    Statement s(db_, "SELECT r.id, r.recipe, r.name, r.target, r.finished_at, COALESCE(r.point_key, ''), COALESCE(r.point, ''), "
                     "(SELECT COUNT(*) FROM candidates c WHERE c.run_id = r.id), r.recipe_json, d.spec, d.first, d.count "
                     "FROM runs r JOIN datasets d ON d.id = r.test_dataset_id ORDER BY r.id");
    std::vector<RunSummary> out;
    while (s.step()) {
        out.push_back({s.integer(0), s.text(1), s.text(8).toUtf8(), s.text(2), s.text(3), s.text(4), s.text(5), object(s.text(6)), s.integer(7),
                       plugin::DatasetRef{.spec = s.text(9), .offset = s.integer(10), .limit = s.integer(11)}});
    }
    return out;
}

namespace {

const char* const kCandidateColumns =
    "SELECT c.id, c.run_id, c.cid, c.label, COALESCE(c.plugin, ''), COALESCE(c.parent, ''), c.params, c.policy, "
    "e.target, e.samples, e.accuracy, e.macs, e.latency_ms, e.energy_uj, e.weight_bytes, e.flash_bytes, "
    "e.arena_bytes, e.fits, c.graphs, c.notes FROM candidates c JOIN evaluations e ON e.candidate_id = c.id ";

void readCandidates(Statement& s, bool details, std::vector<StoredCandidate>& out);

} // namespace

std::vector<StoredCandidate> Store::candidatesById(const std::vector<int64_t>& ids) const
{
    std::vector<StoredCandidate> out;
    for (int64_t id : ids) {
        Statement s(db_, (std::string(kCandidateColumns) + "WHERE c.id = ?1").c_str());
        s.bind(1, id);
        readCandidates(s, true, out);
    }
    return out;
}

std::vector<std::tuple<int64_t, double, double>> Store::metricPairs(const QString& x, const QString& y) const
{
    for (const QString& m : {x, y})
        if (std::find(metricNames().begin(), metricNames().end(), m) == metricNames().end()) StoredCandidate{}.metric(m);   // throws naming it
    const std::string sql = "SELECT candidate_id, " + x.toStdString() + ", " + y.toStdString() + " FROM evaluations WHERE " +
                            x.toStdString() + " IS NOT NULL AND " + y.toStdString() + " IS NOT NULL ORDER BY candidate_id";
    Statement s(db_, sql.c_str());
    std::vector<std::tuple<int64_t, double, double>> out;
    while (s.step()) out.emplace_back(s.integer(0), s.real(1), s.real(2));
    return out;
}

std::vector<StoredCandidate> Store::candidates(std::optional<int64_t> runId, bool details) const
{
    Statement s(db_, (std::string(kCandidateColumns) + "WHERE ?1 IS NULL OR c.run_id = ?1 ORDER BY c.id").c_str());
    if (runId) s.bind(1, *runId);
    std::vector<StoredCandidate> out;
    readCandidates(s, details, out);
    return out;
}

namespace {

void readCandidates(Statement& s, bool details, std::vector<StoredCandidate>& out)
{
    while (s.step()) {
        StoredCandidate c;
        c.id = s.integer(0);
        c.runId = s.integer(1);
        c.cid = s.text(2);
        c.label = s.text(3);
        c.plugin = s.text(4);
        c.parent = s.text(5);
        if (details) {
            c.params = object(s.text(6));
            c.policy = object(s.text(7));
            for (const auto& h : QJsonDocument::fromJson(s.text(18).toUtf8()).array()) c.graphHashes.push_back(h.toString());
            c.notes = object(s.text(19));
        }
        c.target = s.text(8);
        c.samples = s.integer(9);
        c.accuracy = s.real(10);
        c.macs = s.integer(11);
        c.latencyMs = s.real(12);
        c.energyUj = s.optionalReal(13);
        c.weightBytes = s.integer(14);
        c.flashBytes = s.integer(15);
        c.arenaBytes = s.integer(16);
        c.fits = s.integer(17) != 0;
        out.push_back(std::move(c));
    }
}

} // namespace

std::vector<eval::InputRecord> Store::records(int64_t candidateId) const
{
    Statement s(db_, "SELECT input, label, prediction, correct, top1_probability, margin, entropy, stage, macs, latency_ms, energy_uj "
                     "FROM records WHERE candidate_id = ? ORDER BY input");
    s.bind(1, candidateId);
    std::vector<eval::InputRecord> out;
    while (s.step()) {
        eval::InputRecord r;
        r.index = s.integer(0);
        r.label = s.integer(1);
        r.prediction = s.integer(2);
        r.correct = s.integer(3) != 0;
        r.top1Probability = static_cast<float>(s.real(4));
        r.margin = static_cast<float>(s.real(5));
        r.entropy = static_cast<float>(s.real(6));
        r.stage = static_cast<int>(s.integer(7));
        r.macs = s.integer(8);
        r.latencyMs = s.optionalReal(9);
        r.energyUj = s.optionalReal(10);
        out.push_back(r);
    }
    return out;
}

std::pair<int64_t, int64_t> Store::mergeFrom(const QString& other)
{
    { Store check(other); }   // refuses what is not a store, migrates an older one
    Statement attach(db_, "ATTACH DATABASE ? AS src");
    attach.bind(1, other);
    attach.run();
    int64_t added = 0, skipped = 0;
    try {
        exec("BEGIN IMMEDIATE");
        exec("INSERT OR IGNORE INTO main.blobs SELECT sha256, bytes FROM src.blobs");
        Statement runs(db_, "SELECT r.id, r.point_key, r.recipe_json, r.finished_at, m.path, m.sha256, m.bytes, d.spec, d.first, d.count, "
                            "d.labels_sha256 FROM src.runs r JOIN src.models m ON m.id = r.model_id "
                            "JOIN src.datasets d ON d.id = r.test_dataset_id ORDER BY r.id");
        Statement known(db_, "SELECT 1 FROM main.runs WHERE (?1 IS NOT NULL AND point_key = ?1) OR "
                             "(?1 IS NULL AND point_key IS NULL AND recipe_json = ?2 AND finished_at = ?3)");
        Statement model(db_, "INSERT INTO main.models (path, sha256, bytes) VALUES (?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET path = path RETURNING id");
        Statement dataset(db_, "INSERT INTO main.datasets (spec, first, count, labels_sha256) VALUES (?, ?, ?, ?) "
                               "ON CONFLICT DO UPDATE SET spec = spec RETURNING id");
        Statement run(db_, "INSERT INTO main.runs (recipe, name, recipe_json, model_id, test_dataset_id, target, finished_at, point_key, point) "
                           "SELECT recipe, name, recipe_json, ?2, ?3, target, finished_at, point_key, point FROM src.runs WHERE id = ?1 RETURNING id");
        Statement candidates(db_, "SELECT id FROM src.candidates WHERE run_id = ? ORDER BY id");
        Statement candidate(db_, "INSERT INTO main.candidates (run_id, cid, parent, plugin, label, params, policy, notes, graphs) "
                                 "SELECT ?2, cid, parent, plugin, label, params, policy, notes, graphs FROM src.candidates WHERE id = ?1 RETURNING id");
        Statement evaluation(db_, "INSERT INTO main.evaluations SELECT ?2, target, samples, accuracy, macs, latency_ms, energy_uj, weight_bytes, "
                                  "flash_bytes, arena_bytes, fits FROM src.evaluations WHERE candidate_id = ?1");
        Statement layers(db_, "INSERT INTO main.layer_costs SELECT ?2, layer, name, op, macs, latency_ms, energy_uj FROM src.layer_costs "
                              "WHERE candidate_id = ?1");
        Statement records(db_, "INSERT INTO main.records SELECT ?2, input, label, prediction, correct, top1_probability, margin, entropy, "
                               "stage, macs, latency_ms, energy_uj FROM src.records WHERE candidate_id = ?1");
        Statement stages(db_, "INSERT INTO main.stage_outputs SELECT ?2, data FROM src.stage_outputs WHERE candidate_id = ?1");
        while (runs.step()) {
            const int64_t srcRun = runs.integer(0);
            if (runs.isNull(1)) known.bindNull(1);
            else known.bind(1, runs.text(1));
            known.bind(2, runs.text(2)).bind(3, runs.text(3));
            const bool have = known.step();
            known.run();
            if (have) {
                ++skipped;
                continue;
            }
            model.bind(1, runs.text(4)).bind(2, runs.text(5)).bind(3, runs.integer(6));
            model.step();
            const int64_t modelId = model.integer(0);
            model.run();
            dataset.bind(1, runs.text(7)).bind(2, runs.integer(8)).bind(3, runs.integer(9)).bind(4, runs.text(10));
            dataset.step();
            const int64_t datasetId = dataset.integer(0);
            dataset.run();
            run.bind(1, srcRun).bind(2, modelId).bind(3, datasetId);
            run.step();
            const int64_t newRun = run.integer(0);
            run.run();
            candidates.bind(1, srcRun);
            std::vector<int64_t> ids;
            while (candidates.step()) ids.push_back(candidates.integer(0));
            candidates.run();
            for (int64_t c : ids) {
                candidate.bind(1, c).bind(2, newRun);
                candidate.step();
                const int64_t newC = candidate.integer(0);
                candidate.run();
                evaluation.bind(1, c).bind(2, newC).run();
                layers.bind(1, c).bind(2, newC).run();
                records.bind(1, c).bind(2, newC).run();
                stages.bind(1, c).bind(2, newC).run();
            }
            ++added;
        }
        exec("COMMIT");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_exec(db_, "DETACH DATABASE src", nullptr, nullptr, nullptr);
        throw;
    }
    exec("DETACH DATABASE src");
    return {added, skipped};
}

QString Store::integrityCheck() const
{
    Statement s(db_, "PRAGMA integrity_check");
    QStringList lines;
    while (s.step()) lines << s.text(0);
    return lines.join("; ");
}

QByteArray Store::graph(const QString& hash) const
{
    Statement s(db_, "SELECT bytes FROM blobs WHERE sha256 = ?");
    s.bind(1, hash);
    if (!s.step()) throw StoreError(path_.toStdString() + ": no graph " + hash.toStdString());
    return s.blob(0);
}

} // namespace joule::store
