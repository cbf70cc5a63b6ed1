#include "quant/pipeline.h"

#include "eval/evaluator.h"

#include <QJsonArray>

namespace joule::quant {
namespace {

void report(const PipelineOptions& o, double f, const std::string& what)
{
    if (o.cancel && o.cancel->load()) throw eval::Cancelled();
    if (o.progress) o.progress(f, what);
}

std::function<void(double)> stage(const PipelineOptions& o, double from, double to, const std::string& what)
{
    if (!o.progress) return nullptr;
    return [&o, from, to, what](double f) { o.progress(from + (to - from) * f, what); };
}

} // namespace

PipelineResult quantizeWithStats(const Graph& reference, const CalibrationStats& stats,
                                 const data::LabeledImages& calibration, const data::Preprocessing& prep,
                                 const PipelineOptions& options)
{
    PipelineResult r;
    r.reference = reference;
    RangeOptions range = options.range;
    range.levels = 256;
    report(options, 0.45, "choosing ranges");
    const std::map<std::string, Range> ranges = chooseRanges(stats, range);
    report(options, 0.5, "quantizing");
    r.model = quantizeGraph(reference, ranges, options.quantizer);
    QJsonObject notes;
    notes["calibration"] = calibrationMethodName(options.range.method);
    if (options.range.method == CalibrationMethod::Percentile) notes["percentile"] = options.range.percentile;
    notes["calibration_samples"] = static_cast<qint64>(std::min(options.calibrationSamples, calibration.size()));
    notes["calibration_data"] = QString::fromStdString(calibration.source);
    notes["activations"] = options.quantizer.activations == ActivationType::UInt8 ? "uint8" : "int8";
    notes["weights"] = options.quantizer.weights == WeightGranularity::PerChannel ? "per_channel" : "per_tensor";
    notes["weight_bytes"] = weightMemoryBytes(r.model);
    QJsonObject used;
    for (const auto& [name, rg] : ranges)
        if (r.model.graph.initializer(name + "_scale")) used[QString::fromStdString(name)] = QJsonArray{rg.lo, rg.hi};
    notes["ranges"] = used;
    if (options.biasCorrection) {
        RunOptions run;
        run.first = options.calibrationFirst;
        run.count = options.biasCorrectionSamples;
        run.cancel = options.cancel;
        run.progress = stage(options, 0.5, 0.85, "bias correction");
        const std::vector<BiasShift> shifts = correctBias(reference, r.model, calibration, prep, run);
        QJsonArray a;
        for (const BiasShift& s : shifts)
            a.append(QJsonObject{{"node", QString::fromStdString(s.node)}, {"mean_abs_shift", s.meanAbsShift},
                                 {"mean_abs_after", s.meanAbsAfter}});
        notes["bias_correction"] = a;
    }
    if (options.sqnrSamples > 0) {
        RunOptions run;
        run.first = options.calibrationFirst;
        run.count = options.sqnrSamples;
        run.cancel = options.cancel;
        run.progress = stage(options, 0.85, 1.0, "per-layer SQNR");
        r.sqnr = layerSqnr(reference, r.model, calibration, prep, run);
        notes["sqnr"] = sqnrToJson(r.sqnr);
    }
    if (options.mixedPrecision) {
        MixedPrecisionOptions mo = options.mixed;
        mo.prep = prep;
        mo.cancel = options.cancel;
        if (options.biasCorrection) {
            mo.calibration = &calibration;
            mo.biasCorrection.first = options.calibrationFirst;
            mo.biasCorrection.count = options.biasCorrectionSamples;
        }
        if (options.progress) mo.progress = [&options](double f, const std::string& what) { options.progress(f, what); };
        r.mixed = searchMixedPrecision(reference, ranges, options.quantizer, mo);
        QJsonArray sens;
        for (const LayerSensitivity& s : r.mixed->sensitivity)
            sens.append(QJsonObject{{"node", QString::fromStdString(s.node)}, {"weights", static_cast<qint64>(s.weights)},
                                    {"int4_score", s.score}, {"loss", s.loss}});
        notes["sensitivity"] = sens;
        notes["sensitivity_metric"] = mo.metric == MixedPrecisionOptions::Metric::Accuracy ? "accuracy" : "sqnr_db";
    }
    r.notes = notes;
    report(options, 1.0, "done");
    return r;
}

PipelineResult quantizeModel(const Graph& fp32, const data::LabeledImages& calibration, const data::Preprocessing& prep,
                             const PipelineOptions& options)
{
    Graph reference = fp32;
    QJsonObject cleNotes;
    if (options.cle) {
        report(options, 0.0, "cross-layer equalization");
        CleReport cr;
        CleOptions cle;
        cle.clip = options.cleClip;
        cle.data = &calibration;
        cle.prep = prep;
        cle.first = options.calibrationFirst;
        reference = equalizeCrossLayer(fp32, cle, &cr);
        QJsonArray pairs;
        for (const ClePair& p : cr.pairs)
            pairs.append(QJsonObject{{"first", QString::fromStdString(p.first)}, {"second", QString::fromStdString(p.second)},
                                     {"activation", QString::fromStdString(p.activation)},
                                     {"channels", static_cast<qint64>(p.channels)},
                                     {"pinned_channels", static_cast<qint64>(p.pinnedChannels)}});
        cleNotes = QJsonObject{{"pairs", pairs}, {"sweeps", cr.sweeps},
                               {"clip", options.cleClip == ClipHandling::ExactOnData ? "exact_on_data" : "approximate"}};
    }
    report(options, 0.1, "calibrating");
    CollectOptions collect;
    collect.first = options.calibrationFirst;
    collect.count = options.calibrationSamples;
    collect.progress = stage(options, 0.1, 0.45, "calibrating");
    collect.cancel = options.cancel;
    const CalibrationStats stats = collectStatistics(reference, calibration, prep, collect);
    PipelineResult r = quantizeWithStats(reference, stats, calibration, prep, options);
    if (options.cle) r.notes["cle"] = cleNotes;
    return r;
}

} // namespace joule::quant
