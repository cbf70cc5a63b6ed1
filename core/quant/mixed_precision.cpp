#include "quant/mixed_precision.h"

#include "eval/evaluator.h"
#include "quant/bias_correction.h"
#include "quant/quant_error.h"
#include "quant/sqnr.h"

#include <algorithm>
#include <numeric>

namespace joule::quant {
namespace {

class Search {
public:
    Search(const Graph& reference, const std::map<std::string, Range>& ranges, const QuantizerOptions& base,
           const MixedPrecisionOptions& o)
        : reference_(reference), ranges_(ranges), base_(base), o_(o)
    {
        if (!o.validation) throw QuantError("mixed precision needs validation images");
    }

    QuantizedModel build(const std::map<std::string, int>& bits) const
    {
        QuantizerOptions q = base_;
        for (const auto& [node, b] : bits) q.weightBits[node] = b;
        QuantizedModel m = quantizeGraph(reference_, ranges_, q);
        if (o_.calibration && o_.biasCorrection.count > 0) {
            RunOptions run = o_.biasCorrection;
            run.progress = nullptr;
            run.cancel = o_.cancel;
            correctBias(reference_, m, *o_.calibration, o_.prep, run, false);
        }
        return m;
    }

    double accuracy(const Graph& g) const
    {
        eval::EvalOptions e;
        e.limit = o_.validationSamples;
        e.cancel = o_.cancel;
        return eval::evaluate(g, *o_.validation, o_.prep, e).accuracy;
    }

    // Output SQNR (dB) of the model's first output against the fp32 reference.
    double outputSqnr(const QuantizedModel& m) const
    {
        const std::string out = reference_.outputs().front().name;
        QuantizedModel probe = m;
        probe.layers = {QuantizedLayer{.node = out, .output = out, .dequantized = out}};
        RunOptions run;
        run.count = o_.sqnrSamples;
        run.cancel = o_.cancel;
        return layerSqnr(reference_, probe, *o_.validation, o_.prep, run).front().sqnrDb;
    }

    double score(const QuantizedModel& m) const
    {
        return o_.metric == MixedPrecisionOptions::Metric::Accuracy ? accuracy(m.graph) : outputSqnr(m);
    }

    void progress(double f, const std::string& what) const
    {
        if (o_.cancel && o_.cancel->load()) throw eval::Cancelled();
        if (o_.progress) o_.progress(f, what);
    }

    MixedPrecisionResult run();

private:
    const Graph& reference_;
    const std::map<std::string, Range>& ranges_;
    const QuantizerOptions& base_;
    const MixedPrecisionOptions& o_;
};

MixedPrecisionResult Search::run()
{
    MixedPrecisionResult r;
    progress(0.0, "all-int8 baseline");
    const QuantizedModel int8 = build({});
    std::vector<const QuantizedLayer*> mac;
    for (const QuantizedLayer& l : int8.layers)
        if (l.weightBits == 8) mac.push_back(&l);
    if (mac.empty()) throw QuantError("graph '" + reference_.name + "' has no quantized layer with weights");
    const double baseline = score(int8);

    // 1. Sensitivity, one layer in int4 at a time.
    const size_t steps = mac.size() * 2 + 1;
    for (size_t i = 0; i < mac.size(); ++i) {
        progress(static_cast<double>(i + 1) / steps, "sensitivity of " + mac[i]->node);
        const QuantizedModel one = build({{mac[i]->node, 4}});
        LayerSensitivity s{.node = mac[i]->node, .weights = mac[i]->weightCount,
                           .savedBytes = mac[i]->weightCount / 2.0, .score = score(one)};
        s.loss = baseline - s.score;
        r.sensitivity.push_back(s);
    }
    std::stable_sort(r.sensitivity.begin(), r.sensitivity.end(), [](const LayerSensitivity& a, const LayerSensitivity& b) {
        const double ka = std::max(0.0, a.loss) / a.savedBytes, kb = std::max(0.0, b.loss) / b.savedBytes;
        if (ka != kb) return ka < kb;
        return a.savedBytes > b.savedBytes;
    });

    // 2. The greedy sequence of configurations.
    std::map<std::string, int> bits;
    for (const QuantizedLayer* l : mac) bits[l->node] = 8;
    for (size_t k = 0; k <= mac.size(); ++k) {
        if (k > 0) bits[r.sensitivity[k - 1].node] = 4;
        progress(static_cast<double>(mac.size() + 1 + k) / steps, "configuration with " + std::to_string(k) + " int4 layers");
        PrecisionConfiguration c;
        c.weightBits = bits;
        c.model = k == 0 ? int8 : build(bits);
        c.accuracy = accuracy(c.model.graph);
        c.weightBytes = weightMemoryBytes(c.model);
        if (o_.energyUj) c.energyUj = o_.energyUj(c.model.graph);
        c.int4Layers = static_cast<int>(k);
        r.configurations.push_back(std::move(c));
    }
    r.front = paretoFront(r.configurations);
    progress(1.0, "done");
    return r;
}

} // namespace

std::vector<size_t> paretoFront(const std::vector<PrecisionConfiguration>& points)
{
    const bool useEnergy = std::all_of(points.begin(), points.end(), [](const auto& p) { return p.energyUj.has_value(); });
    auto dominates = [&](const PrecisionConfiguration& a, const PrecisionConfiguration& b) {
        const double ea = useEnergy ? *a.energyUj : 0, eb = useEnergy ? *b.energyUj : 0;
        const bool noWorse = a.accuracy >= b.accuracy && a.weightBytes <= b.weightBytes && ea <= eb;
        const bool better = a.accuracy > b.accuracy || a.weightBytes < b.weightBytes || ea < eb;
        return noWorse && better;
    };
    std::vector<size_t> front;
    for (size_t i = 0; i < points.size(); ++i) {
        bool dominated = false;
        for (size_t j = 0; j < points.size() && !dominated; ++j) dominated = j != i && dominates(points[j], points[i]);
        if (!dominated) front.push_back(i);
    }
    std::sort(front.begin(), front.end(), [&](size_t a, size_t b) { return points[a].weightBytes < points[b].weightBytes; });
    return front;
}

MixedPrecisionResult searchMixedPrecision(const Graph& reference, const std::map<std::string, Range>& ranges,
                                          const QuantizerOptions& base, const MixedPrecisionOptions& options)
{
    return Search(reference, ranges, base, options).run();
}

} // namespace joule::quant
