#include "cost/estimator.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace joule::cost {

namespace {

constexpr size_t kArenaAlignment = 16;   // docs/cost-model.md §5

double idleOfOthers(const TargetProfile& t, size_t cluster)
{
    double idle = 0.0;
    for (size_t i = 0; i < t.clusters.size(); ++i)
        if (i != cluster) idle += t.clusters[i].idlePowerMw.value;
    return idle;
}

double powerWhileRunning(const TargetProfile& t, size_t cluster)
{
    return t.clusters[cluster].activePowerMw.value + idleOfOthers(t, cluster);
}

int64_t activationBytes(const ActivationValue& v, Precision precision)
{
    if (isFloating(v.dtype)) return v.elements * (precision == Precision::Fp32 ? 4 : 1);
    return static_cast<int64_t>(storageBytes(v.dtype, v.elements));
}

// Sum of the buffers alive across the boundary just before `step` (they must reach a new cluster).
int64_t liveBytesBefore(const MemoryEstimate& m, int step)
{
    int64_t live = 0;
    for (const auto& b : m.buffers)
        if (b.firstStep < step && b.lastStep >= step) live += static_cast<int64_t>(b.bytes);
    return live;
}

MappingProblem mappingProblem(const TargetProfile& target, const std::vector<LayerEstimate>& layers,
                              const std::vector<size_t>& costed, const MemoryEstimate& memory)
{
    MappingProblem p;
    const size_t nc = target.clusters.size();
    for (size_t idx : costed) {
        const LayerEstimate& l = layers[idx];
        std::vector<double> t(nc), e(nc), st(nc), se(nc);
        const int64_t live = liveBytesBefore(memory, static_cast<int>(l.layer));
        for (size_t c = 0; c < nc; ++c) {
            const Cluster& cl = target.clusters[c];
            t[c] = l.perCluster[c].latencyMs;
            e[c] = l.perCluster[c].energyUj;
            const double cycles = cl.clusterSwitchCycles.value + static_cast<double>(live) * cl.clusterSwitchCyclesPerByte.value;
            st[c] = cycles / (cl.clockMhz.value * 1000.0);
            se[c] = powerWhileRunning(target, c) * st[c];
        }
        p.latencyMs.push_back(std::move(t));
        p.energyUj.push_back(std::move(e));
        p.switchMs.push_back(std::move(st));
        p.switchUj.push_back(std::move(se));
    }
    return p;
}

// Assigns clusters to every layer (free layers stay where the previous layer ran) and fills the summary.
MappingSummary mapLayers(const TargetProfile& target, std::vector<LayerEstimate>& layers, const MemoryEstimate& memory,
                         const EstimateOptions& options)
{
    std::vector<size_t> costed;
    for (size_t i = 0; i < layers.size(); ++i)
        if (layers[i].kernelClass != KernelClass::Free) costed.push_back(i);
    const MappingProblem problem = mappingProblem(target, layers, costed, memory);

    MappingSummary summary;
    summary.budgetMs = options.latencyBudgetMs;
    Mapping m;
    if (options.latencyBudgetMs) {
        m = budgetedMapping(problem, *options.latencyBudgetMs, options.budgetBuckets);
        const Mapping cheapest = minEnergyMapping(problem);
        summary.method = !m.meetsBudget ? "min-latency" : (m.cluster == cheapest.cluster ? "min-energy" : "exact-dp");
    } else {
        m = minEnergyMapping(problem);
        summary.method = "min-energy";
    }
    summary.meetsBudget = m.meetsBudget;
    summary.switches = m.switches;
    summary.layersOnCluster.assign(target.clusters.size(), 0);
    for (size_t c = 0; c < target.clusters.size(); ++c) {
        const Mapping all = evaluateMapping(problem, std::vector<int>(costed.size(), static_cast<int>(c)));
        summary.allOn.push_back({target.clusters[c].id, all.latencyMs, all.energyUj});
    }

    int current = m.cluster.empty() ? 0 : m.cluster.front();
    size_t next = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
        LayerEstimate& l = layers[i];
        if (next < costed.size() && costed[next] == i) {
            const int c = m.cluster[next];
            if (next > 0 && c != current) {
                l.switchMs = problem.switchMs[next][static_cast<size_t>(c)];
                l.switchUj = problem.switchUj[next][static_cast<size_t>(c)];
            }
            current = c;
            ++summary.layersOnCluster[static_cast<size_t>(c)];
            ++next;
        }
        l.cluster = current;
    }
    return summary;
}

} // namespace

Precision modelPrecision(const ModelStats& stats)
{
    bool int8 = false, int4 = false;
    for (const auto& l : stats.layers) {
        if (!isMacClass(l.kernelClass) || !l.weightsConstant || !isInteger(l.weightType)) continue;
        if (l.weightType == DataType::Int4 || l.weightType == DataType::UInt4) int4 = true;
        else int8 = true;
    }
    return int8 ? Precision::Int8 : (int4 ? Precision::Int4 : Precision::Fp32);
}

Precision layerPrecision(const LayerStats& l, Precision requested)
{
    if (isMacClass(l.kernelClass)) {
        if (l.weightsConstant && isInteger(l.weightType))
            return (l.weightType == DataType::Int4 || l.weightType == DataType::UInt4) ? Precision::Int4 : Precision::Int8;
        if (!l.weightsConstant && requested == Precision::Int4) return Precision::Int8;   // activations are never int4
        return requested;
    }
    return requested == Precision::Fp32 && isFloating(l.computeType) ? Precision::Fp32 : Precision::Int8;
}

int64_t layerFlashBytes(const LayerStats& l, Precision p)
{
    if (l.kernelClass == KernelClass::Free) return 0;
    if (isMacClass(l.kernelClass)) {
        if (!l.weightsConstant) return 0;
        const auto weights = static_cast<int64_t>(std::ceil(static_cast<double>(l.weightElements) * bytesPerWeight(p)));
        const int64_t bias = (l.hasBias || p != Precision::Fp32) ? 4 * l.outChannels : 0;
        const int64_t requant = p != Precision::Fp32 ? 8 * l.outChannels : 0;
        return weights + bias + requant;
    }
    return l.constFloatElements * (p == Precision::Fp32 ? 4 : 1) + l.constOtherBytes;
}

LayerEstimate describeLayer(const LayerStats& l, size_t index, Precision requested)
{
    LayerEstimate le;
    le.layer = index;
    le.name = l.name;
    le.op = l.op;
    le.kernelClass = l.kernelClass;
    le.macs = l.macs;
    le.precision = layerPrecision(l, requested);
    le.flashBytes = layerFlashBytes(l, le.precision);
    le.fusedInto = l.fusedInto;
    return le;
}

LayerCost layerCost(const LayerStats& l, Precision p, const TargetProfile& target, size_t cluster)
{
    const Cluster& c = target.clusters.at(cluster);
    LayerCost r;
    r.kernelPrecision = p;
    if (l.kernelClass == KernelClass::Free) return r;
    if (isMacClass(l.kernelClass)) {
        const MacKernel* k = c.macKernel(l.kernelClass, p);
        if (!k && p == Precision::Int4) {
            k = c.macKernel(l.kernelClass, Precision::Int8);
            r.kernelPrecision = Precision::Int8;
        }
        if (!k) throw TargetProfileError(target.file.toStdString() + ": cluster '" + c.id + "' has no " +
                                         kernelClassName(l.kernelClass) + " kernel for " + precisionName(p));
        const double macs = static_cast<double>(l.macs);
        r.fetchedWeightBytes = l.weightsConstant
                                   ? macs * bytesPerWeight(p) / c.weightReuseOutputs.at(l.kernelClass).value
                                   : 0.0;
        r.cycles = macs * k->cyclesPerMac.value + static_cast<double>(l.outputs) * k->cyclesPerOutput.value +
                   static_cast<double>(l.patchElements) * k->cyclesPerPatchElement.value +
                   r.fetchedWeightBytes * c.weightFetchExtraCyclesPerByte.value + c.layerOverheadCycles.value;
    } else {
        const KernelClass cls = l.kernelClass == KernelClass::Pooling ? KernelClass::Pooling : KernelClass::Elementwise;
        r.kernelPrecision = p == Precision::Fp32 ? Precision::Fp32 : Precision::Int8;
        r.cycles = static_cast<double>(l.elements) * c.elementKernel(cls, p).cyclesPerElement.value +
                   c.layerOverheadCycles.value;
    }
    r.latencyMs = r.cycles / (c.clockMhz.value * 1000.0);
    r.energyUj = powerWhileRunning(target, cluster) * r.latencyMs +
                 r.fetchedWeightBytes * target.memory.weightFetchEnergyPjPerByte.value * 1e-6;
    return r;
}

MemoryEstimate planActivations(const ModelStats& stats, Precision precision)
{
    MemoryEstimate m;
    const auto& values = stats.values;
    m.bufferOfValue.assign(values.size(), -1);
    for (size_t i = 0; i < values.size(); ++i) {
        size_t root = i;
        while (values[root].aliasOf >= 0) root = static_cast<size_t>(values[root].aliasOf);
        const auto bytes = static_cast<size_t>(activationBytes(values[i], precision));
        if (root == i) {
            m.bufferOfValue[i] = static_cast<int>(m.buffers.size());
            m.buffers.push_back({bytes, values[i].firstStep, values[i].lastStep});
            continue;
        }
        const int b = m.bufferOfValue[root];
        m.bufferOfValue[i] = b;
        rt::BufferRequest& r = m.buffers[static_cast<size_t>(b)];
        r.bytes = std::max(r.bytes, bytes);
        r.firstStep = std::min(r.firstStep, values[i].firstStep);
        r.lastStep = std::max(r.lastStep, values[i].lastStep);
    }
    m.plan = rt::planMemory(m.buffers, kArenaAlignment);
    m.arenaBytes = static_cast<int64_t>(m.plan.arenaBytes);
    m.arenaLowerBoundBytes = static_cast<int64_t>(m.plan.lowerBoundBytes);
    return m;
}

FitCheck checkFit(const MemoryEstimate& memory, const MemorySpec& spec)
{
    FitCheck f;
    f.flashNeeded = memory.flashBytes + static_cast<int64_t>(spec.runtimeFlashBytes.value);
    f.flashAvailable = static_cast<int64_t>(spec.flashBytes.value);
    f.ramNeeded = memory.arenaBytes + static_cast<int64_t>(spec.runtimeRamBytes.value) +
                  (spec.weightsShareRam ? memory.flashBytes : 0);
    f.ramAvailable = static_cast<int64_t>(spec.ramBytes.value);
    return f;
}

ModelEstimate estimateModel(const ModelStats& stats, const TargetProfile& target, const EstimateOptions& options)
{
    const Precision requested = options.precision.value_or(modelPrecision(stats));
    if (requested == Precision::Int4 && !target.anyClusterHasInt4())
        throw TargetProfileError("target '" + target.id + "' has no int4 kernels (" + target.file.toStdString() +
                                 "); use int8");
    if (options.latencyBudgetMs && target.clusters.size() < 2)
        throw std::invalid_argument("a latency budget needs a target with several clusters; '" + target.id +
                                    "' has one");
    if (options.latencyBudgetMs && !(*options.latencyBudgetMs > 0))
        throw std::invalid_argument("the latency budget must be > 0 ms");

    ModelEstimate e;
    e.target = target.id;
    e.targetName = target.name;
    e.precision = requested;
    e.macs = stats.macs;
    for (size_t i = 0; i < stats.layers.size(); ++i) {
        const LayerStats& l = stats.layers[i];
        LayerEstimate le = describeLayer(l, i, requested);
        le.approximated = l.kernelClass == KernelClass::Other;
        for (size_t c = 0; c < target.clusters.size(); ++c) le.perCluster.push_back(layerCost(l, le.precision, target, c));
        e.memory.flashBytes += le.flashBytes;
        e.layers.push_back(std::move(le));
    }
    const int64_t flash = e.memory.flashBytes;
    e.memory = planActivations(stats, requested);
    e.memory.flashBytes = flash;
    e.fit = checkFit(e.memory, target.memory);

    if (target.clusters.size() > 1) e.mapping = mapLayers(target, e.layers, e.memory, options);
    double energy = 0.0;
    for (auto& l : e.layers) {
        const LayerCost& c = l.perCluster[static_cast<size_t>(l.cluster)];
        l.cycles = c.cycles;
        l.latencyMs = c.latencyMs;
        l.energyUj = c.energyUj;
        e.cycles += c.cycles;
        e.latencyMs += c.latencyMs + l.switchMs;
        energy += c.energyUj + l.switchUj;
    }
    e.energyUj = energy;
    return e;
}

} // namespace joule::cost
