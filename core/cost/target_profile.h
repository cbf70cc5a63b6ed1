#pragma once
// Target profiles: what one board costs per MAC, per element and per byte (docs/cost-model.md §2).
//
//   joule::cost::TargetProfile t = joule::cost::loadTarget("stm32l4r5");   // by id, from the search path
//   const auto& m4 = t.clusters.front();
//   double cpm = m4.macKernel(KernelClass::Conv, Precision::Int8)->cyclesPerMac.value;   // 1.5
//   std::string why = m4.macKernel(KernelClass::Conv, Precision::Int8)->cyclesPerMac.source;
//   std::string citation = t.sources.at(why);
//
// The loader is strict: a missing, unknown or mistyped field, a value out of range, a unit other than
// the one the field name asks for, or a `source` that is not a key of `sources` throws
// TargetProfileError with one line naming the file and the field path, e.g.
//   "resources/targets/stm32l4r5.json: field 'clusters[0].clock_mhz' is missing".
//
// Search path for profiles, first match of an id wins: every directory in $JOULE_TARGET_PATH
// (separated by ':'), <executable dir>/../share/joule/targets (installed), then the source tree's
// resources/targets. `host` is reserved for the measuring profile (cost/host_profiler.h).

#include "cost/layer_stats.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace joule::cost {

class TargetProfileError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Data type a kernel runs at: the type of its weights (activations are int8 for int8 and int4).
enum class Precision { Fp32, Int8, Int4 };
const char* precisionName(Precision p);                       // "fp32", "int8", "int4"
std::optional<Precision> precisionFromName(const std::string& name);
double bytesPerWeight(Precision p);                           // 4, 1, 0.5

// One number of a profile and the key of its citation in `sources`.
struct Constant {
    double value = 0.0;
    std::string source;
};

struct MacKernel {
    Constant cyclesPerMac;
    Constant cyclesPerOutput;
    Constant cyclesPerPatchElement;
};

struct ElementKernel {
    Constant cyclesPerElement;
};

struct Cluster {
    std::string id;
    std::string name;
    Constant cores;
    Constant clockMhz;
    Constant activePowerMw;
    Constant idlePowerMw;
    Constant layerOverheadCycles;
    Constant clusterSwitchCycles;
    Constant clusterSwitchCyclesPerByte;
    Constant weightFetchExtraCyclesPerByte;
    std::map<KernelClass, Constant> weightReuseOutputs;                    // conv, depthwise, pointwise, fc
    std::map<KernelClass, std::map<Precision, MacKernel>> macKernels;      // fp32 and int8 always, int4 optional
    std::map<KernelClass, std::map<Precision, ElementKernel>> elementKernels;   // elementwise, pooling: fp32, int8

    // nullptr when the cluster has no kernel of that class and type (int4 only).
    const MacKernel* macKernel(KernelClass k, Precision p) const;
    const ElementKernel& elementKernel(KernelClass k, Precision activations) const;
};

struct MemorySpec {
    Constant flashBytes;
    Constant ramBytes;
    Constant runtimeFlashBytes;
    Constant runtimeRamBytes;
    Constant weightFetchEnergyPjPerByte;
    bool weightsShareRam = false;
    std::string weightsShareRamSource;
};

struct TargetProfile {
    QString file;              // where it was loaded from
    std::string id;
    std::string name;
    std::string description;
    std::string kind;          // "mcu", "multicore-mcu", "big-little"
    std::vector<Cluster> clusters;
    MemorySpec memory;
    std::map<std::string, std::string> sources;

    bool anyClusterHasInt4() const;
    int clusterIndex(const std::string& clusterId) const;   // -1 if absent
};

// Parses one profile. `file` names it in errors; the id must equal its base name without ".json".
TargetProfile parseTargetProfile(const QByteArray& json, const QString& file);
TargetProfile loadTargetProfile(const QString& path);

QStringList targetSearchPath();
struct TargetFile {
    QString id;
    QString path;
};
// Every *.json on the search path, one per id (first directory wins), sorted by id.
std::vector<TargetFile> findTargetFiles();
// Throws TargetProfileError for an unknown id, listing the known ones.
TargetProfile loadTarget(const QString& id);
// Loads every profile found; the first broken one throws.
std::vector<TargetProfile> loadAllTargets();

} // namespace joule::cost
