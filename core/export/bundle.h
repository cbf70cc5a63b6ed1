#pragma once
// `joule export`: a candidate as C for microcontrollers, as ONNX, or as a bundle of both with a
// manifest, a Cortex-M4 build's sizes and a report (docs/export.md).
//
//   ExportCandidate c = ...;                     // from a recipe run or an experiment store
//   QJsonObject manifest = exportCandidate(c, Format::Bundle, "out/model", {.name = "model"});
//
// The output folder is written beside (a temporary sibling folder), then renamed into place: it is
// complete or absent. A folder that exists and holds anything is refused unless `force`, which
// replaces it as a whole.

#include "adaptive/policy.h"
#include "export/c_export.h"
#include "plugin/recipe.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <vector>

namespace joule::exporter {

enum class Format { C, Onnx, Bundle };
std::optional<Format> formatFromName(const QString& name);   // "c", "onnx", "bundle"

// What is exported, with what the studio measured and estimated for it.
struct ExportCandidate {
    QString id;                  // within its run ("c1"), or the store-wide id
    QString origin;              // where it came from, for the manifest: "recipe FILE" or "store FILE"
    plugin::Recipe recipe;       // its recipe (datasets for the output quantization, the model file)
    QString label, plugin, parent;
    QJsonObject params, policy{{"kind", "plain"}}, notes;
    std::vector<Graph> graphs;
    QString target;
    std::optional<double> accuracy;
    int64_t samples = 0;
    QJsonObject estimate;        // latency_ms, energy_uj, macs, weight_bytes, flash_bytes, arena_bytes, fits
};

// A candidate of an experiment store, with its graphs, its run's recipe and its stored figures.
// ExportError (or store::StoreError) naming the store and the candidate when it cannot be read.
ExportCandidate candidateFromStore(const QString& storePath, int64_t id);

struct ExportOptions {
    QString name = "model";
    bool force = false;
    QString studioVersion;
    int calibrationLimit = 1000;     // inputs the output quantization is chosen on
    std::function<void(const QString&)> log{};
};

// Writes the export and returns its manifest (also written as manifest.json in a bundle). Throws
// ExportError (refused candidate, occupied folder, failed write) naming what is at fault.
QJsonObject exportCandidate(const ExportCandidate& candidate, Format format, const QString& outDir, const ExportOptions& options);

// The output quantization of NAME_run for a float model output: symmetric int8 over the largest
// |output| of any stage on `limit` inputs of the recipe's calibration set (its test set if it has
// none). Returns {scale, zero point}.
std::pair<float, int32_t> calibrateOutput(const ExportCandidate& candidate, int limit);

// Writes `files` (relative path -> bytes) as folder `dir`: into a temporary sibling, then renamed.
// Refuses (ExportError) a `dir` that is a file, or a non-empty folder unless `force`.
void writeFolder(const QString& dir, const std::map<QString, QByteArray>& files, bool force);

// A Cortex-M4 build of an exported model with arm-none-eabi-gcc: the model's object and a minimal
// firmware (the startup and linker script for QEMU's mps2-an386 that the export ships) linked.
struct CortexMBuild {
    bool built = false;
    QString error;                       // why not, when !built (e.g. the toolchain is missing)
    QString compiler;                    // "arm-none-eabi-gcc (...) 12.2.1"
    QString flags;
    int64_t modelText = 0, modelData = 0, modelBss = 0;   // arm-none-eabi-size of NAME.o
    int64_t firmwareText = 0, firmwareData = 0, firmwareBss = 0;   // of the linked ELF
};
CortexMBuild buildCortexM4(const CModel& model, const QString& name);

// The startup code, linker script and a main for the firmware, as files of the bundle
// (cortex_m/...): a `make` there builds and runs under QEMU.
std::map<QString, QByteArray> cortexMFiles(const QString& name);

} // namespace joule::exporter
