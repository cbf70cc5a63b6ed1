#include "plugin/recipe.h"

#include "plugin/plugin_manager.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace joule::plugin {

namespace {

class Fields {
public:
    explicit Fields(QString file) : file_(std::move(file)) {}
    [[noreturn]] void fail(const QString& field, const QString& what) const
    {
        throw RecipeError(file_ + ": field '" + field + "': " + what);
    }
    void onlyKnown(const QJsonObject& o, const QString& at, const QStringList& known) const
    {
        for (auto it = o.begin(); it != o.end(); ++it)
            if (!known.contains(it.key()))
                fail(at.isEmpty() ? it.key() : at + "." + it.key(), "unknown field (expected one of: " + known.join(", ") + ")");
    }
    QString string(const QJsonObject& o, const QString& key, const QString& at) const
    {
        const QJsonValue v = o.value(key);
        if (v.isUndefined()) fail(at, "missing");
        if (!v.isString() || v.toString().isEmpty()) fail(at, "must be a non-empty string");
        return v.toString();
    }

private:
    QString file_;
};

DatasetRef datasetRef(const Fields& f, const QJsonValue& v, const QString& at)
{
    DatasetRef ref;
    if (v.isString()) {
        ref.spec = v.toString();
    } else if (v.isObject()) {
        const QJsonObject o = v.toObject();
        f.onlyKnown(o, at, {"spec", "offset", "limit"});
        ref.spec = f.string(o, "spec", at + ".spec");
        auto count = [&](const char* key, double minimum) {
            const QJsonValue l = o.value(key);
            const double d = l.toDouble(-1);
            if (!l.isDouble() || d < minimum || d > 1e12 || d != static_cast<double>(static_cast<int64_t>(d)))
                f.fail(at + "." + key, minimum > 0 ? "must be a positive integer" : "must be a non-negative integer");
            return static_cast<int64_t>(d);
        };
        if (o.contains("offset")) ref.offset = count("offset", 0);
        if (o.contains("limit")) ref.limit = count("limit", 1);
    } else {
        f.fail(at, "must be a dataset spec string or {\"spec\": ..., \"offset\": N, \"limit\": N}");
    }
    if (ref.spec.isEmpty()) f.fail(at, "the dataset spec is empty");
    if (!ref.spec.contains(':')) f.fail(at, "'" + ref.spec + "' is not a dataset spec (fashion-mnist:test, idx:..., npy:..., folder:...)");
    return ref;
}

} // namespace

Recipe parseRecipe(const QByteArray& json, const QString& file)
{
    const Fields f(file);
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        throw RecipeError(file + ": not valid JSON at offset " + QString::number(error.offset) + ": " + error.errorString());
    if (!doc.isObject()) throw RecipeError(file + ": a recipe is a JSON object");
    const QJsonObject root = doc.object();
    f.onlyKnown(root, "", {"name", "description", "model", "models", "datasets", "target", "steps"});

    Recipe r;
    r.file = file;
    r.source = json;
    r.name = root.contains("name") ? f.string(root, "name", "name") : QFileInfo(file).completeBaseName();
    if (root.contains("description") && !root.value("description").isString()) f.fail("description", "must be a string");

    const QString model = f.string(root, "model", "model");
    const QDir base = QFileInfo(file).absoluteDir();
    r.model = QDir::cleanPath(base.absoluteFilePath(model));
    if (!QFileInfo(r.model).isFile()) f.fail("model", "file not found: " + r.model);
    if (root.contains("models")) {
        if (!root.value("models").isObject()) f.fail("models", "must be an object {\"NAME\": \"PATH\", ...}");
        const QJsonObject models = root.value("models").toObject();
        for (auto it = models.begin(); it != models.end(); ++it) {
            const QString at = "models." + it.key();
            if (it.key() == "model") f.fail(at, "the name 'model' is taken by the recipe's own model");
            if (!it.value().isString()) f.fail(at, "must be a model path (relative to the recipe)");
            const QString path = QDir::cleanPath(base.absoluteFilePath(it.value().toString()));
            if (!QFileInfo(path).isFile()) f.fail(at, "file not found: " + path);
            r.models.emplace_back(it.key(), path);
        }
    }

    const QJsonValue ds = root.value("datasets");
    if (ds.isUndefined()) f.fail("datasets", "missing (needs at least \"test\")");
    if (!ds.isObject()) f.fail("datasets", "must be an object {\"calibration\", \"validation\", \"test\"}");
    const QJsonObject datasets = ds.toObject();
    f.onlyKnown(datasets, "datasets", {"calibration", "validation", "test"});
    if (!datasets.contains("test")) f.fail("datasets.test", "missing: every candidate is evaluated on the test set");
    r.test = datasetRef(f, datasets.value("test"), "datasets.test");
    if (datasets.contains("calibration")) r.calibration = datasetRef(f, datasets.value("calibration"), "datasets.calibration");
    if (datasets.contains("validation")) r.validation = datasetRef(f, datasets.value("validation"), "datasets.validation");

    r.target = f.string(root, "target", "target");

    const QJsonValue steps = root.value("steps");
    if (steps.isUndefined()) f.fail("steps", "missing (an array of {\"plugin\", \"params\"}, possibly empty)");
    if (!steps.isArray()) f.fail("steps", "must be an array of {\"plugin\", \"params\"}");
    const QJsonArray array = steps.toArray();
    for (qsizetype i = 0; i < array.size(); ++i) {
        const QString at = "steps[" + QString::number(i) + "]";
        if (!array[i].isObject()) f.fail(at, "must be an object {\"plugin\", \"params\"}");
        const QJsonObject s = array[i].toObject();
        f.onlyKnown(s, at, {"plugin", "params"});
        RecipeStep step;
        step.plugin = f.string(s, "plugin", at + ".plugin");
        if (s.contains("params")) {
            if (!s.value("params").isObject()) f.fail(at + ".params", "must be an object of parameter values");
            const QJsonObject p = s.value("params").toObject();
            for (auto it = p.begin(); it != p.end(); ++it)
                if (it.value().isArray() || it.value().isObject() || it.value().isNull())
                    f.fail(at + ".params." + it.key(), "must be a number, string or bool");
            step.params = p.toVariantMap();
        }
        r.steps.push_back(std::move(step));
    }
    return r;
}

Recipe loadRecipe(const QString& path)
{
    QFile file(path);
    if (!file.exists()) throw RecipeError(path + ": no such file");
    if (!file.open(QIODevice::ReadOnly)) throw RecipeError(path + ": cannot read: " + file.errorString());
    return parseRecipe(file.readAll(), path);
}

namespace {

QJsonValue datasetJson(const DatasetRef& d)
{
    if (d.offset == 0 && d.limit < 0) return d.spec;
    QJsonObject o{{"spec", d.spec}};
    if (d.offset != 0) o["offset"] = static_cast<qint64>(d.offset);
    if (d.limit >= 0) o["limit"] = static_cast<qint64>(d.limit);
    return o;
}

} // namespace

QByteArray recipeToJson(const Recipe& recipe)
{
    const QDir base = QFileInfo(recipe.file).absoluteDir();
    QJsonObject root{{"name", recipe.name}, {"model", base.relativeFilePath(recipe.model)}, {"target", recipe.target}};
    if (!recipe.models.empty()) {
        QJsonObject models;
        for (const auto& [name, path] : recipe.models) models[name] = base.relativeFilePath(path);
        root["models"] = models;
    }
    QJsonObject datasets{{"test", datasetJson(recipe.test)}};
    if (recipe.calibration) datasets["calibration"] = datasetJson(*recipe.calibration);
    if (recipe.validation) datasets["validation"] = datasetJson(*recipe.validation);
    root["datasets"] = datasets;
    QJsonArray steps;
    for (const RecipeStep& step : recipe.steps)
        steps.append(QJsonObject{{"plugin", step.plugin}, {"params", QJsonObject::fromVariantMap(step.params)}});
    root["steps"] = steps;
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

std::vector<QVariantMap> resolveStepParams(const Recipe& recipe, const PluginManager& plugins)
{
    std::vector<QVariantMap> out;
    for (size_t i = 0; i < recipe.steps.size(); ++i) {
        const RecipeStep& step = recipe.steps[i];
        const QString at = "steps[" + QString::number(i) + "]";
        const PluginInfo* info = plugins.find(step.plugin);
        if (!info) {
            QString why = "no plugin named '" + step.plugin + "' (see joule plugins)";
            for (const PluginInfo& p : plugins.plugins())
                if (p.name == step.plugin) { why = "plugin '" + step.plugin + "' is broken: " + p.error; break; }
            throw RecipeError(recipe.file + ": field '" + at + ".plugin': " + why);
        }
        try {
            out.push_back(resolveParams(info->params, step.params, "plugin '" + step.plugin + "'"));
        } catch (const PluginError& e) {
            throw RecipeError(recipe.file + ": field '" + at + ".params': " + e.what());
        }
    }
    return out;
}

} // namespace joule::plugin
