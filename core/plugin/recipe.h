#pragma once
// A recipe: which model, which data, which target, and which plugin steps to run (docs/plugins.md).
//
//   {
//     "model": "../models/fmnist_resnet8.onnx",            // relative to the recipe file
//     "datasets": {"calibration": {"spec": "fashion-mnist:train", "limit": 1000},
//                  "validation": {"spec": "fashion-mnist:train", "offset": 50000, "limit": 2000},
//                  "test": "fashion-mnist:test"},           // a spec string, or {"spec", "offset", "limit"}
//     "models": {"little": "../models/fmnist_little.onnx"}, // optional: more models, by name
//     "target": "stm32l4r5",
//     "steps": [{"plugin": "quantize", "params": {"activations": "uint8"}}]
//   }
//
//   Recipe r = loadRecipe("resources/recipes/fmnist_resnet8_int8.json");
//   std::vector<QVariantMap> params = resolveStepParams(r, plugins);   // checked against the manifests
//
// Errors are RecipeError, one line naming the recipe file and the JSON field, e.g.
//   "fmnist.json: field 'steps[0].params': plugin 'quantize': parameter 'bits': 12 is above the maximum 8".

#include "plugin/parameter.h"

#include <QByteArray>
#include <QString>
#include <QVariantMap>

#include <optional>
#include <stdexcept>
#include <vector>

namespace joule::plugin {

class PluginManager;

class RecipeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    explicit RecipeError(const QString& message) : std::runtime_error(message.toStdString()) {}
};

struct DatasetRef {
    QString spec;          // a dataset spec (docs/architecture.md), e.g. "fashion-mnist:train"
    int64_t offset = 0;    // skip the first `offset` inputs
    int64_t limit = -1;    // then take N inputs only; -1 = all the rest
};

struct RecipeStep {
    QString plugin;
    QVariantMap params;    // as written (resolved against the manifest by resolveStepParams)
};

struct Recipe {
    QString file;                            // the recipe's path
    QString name;                            // optional "name"; else the file's base name
    QString model;                           // absolute path
    // Further models by name ("models": {"little": PATH}, relative to the recipe), in file order: each
    // becomes a root candidate that steps run on, and that multi-model steps (cascade) name.
    std::vector<std::pair<QString, QString>> models;
    std::optional<DatasetRef> calibration, validation;
    DatasetRef test;                         // required: every candidate is evaluated on it
    QString target;                          // target profile id
    std::vector<RecipeStep> steps;
    QByteArray source;                       // the JSON it was parsed from; recipeToJson() for one made in code
};

// Parses and checks a recipe: JSON shape, field types, the model file exists. Unknown fields are
// errors (a typo must not silently be ignored). Does not check plugins or the target (see below).
Recipe parseRecipe(const QByteArray& json, const QString& file);
Recipe loadRecipe(const QString& path);

// The recipe as JSON that parseRecipe(json, recipe.file) reads back to the same recipe: paths relative
// to the recipe file's folder, parameters as given. For recipes made in code (the studio's runs).
QByteArray recipeToJson(const Recipe& recipe);

// Every step's plugin exists (usable) and its params resolve against the manifest; one resolved
// map per step. RecipeError naming the file and 'steps[i].plugin' / 'steps[i].params' otherwise.
std::vector<QVariantMap> resolveStepParams(const Recipe& recipe, const PluginManager& plugins);

} // namespace joule::plugin
