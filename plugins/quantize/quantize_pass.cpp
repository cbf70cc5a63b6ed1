#include "quantize_pass.h"

#include "plugin/parameter.h"
#include "quant/pipeline.h"

#include <QJsonArray>
#include <algorithm>
#include <atomic>

namespace joule::plugins {
namespace {

quant::PipelineOptions pipelineOptions(const QVariantMap& p)
{
    quant::PipelineOptions o;
    o.quantizer.activations = p.value("activations").toString() == "int8" ? quant::ActivationType::Int8
                                                                           : quant::ActivationType::UInt8;
    o.quantizer.weights = p.value("weights").toString() == "per_tensor" ? quant::WeightGranularity::PerTensor
                                                                         : quant::WeightGranularity::PerChannel;
    o.range.method = quant::calibrationMethodFromName(p.value("calibration").toString().toStdString());
    o.range.percentile = p.value("percentile").toDouble();
    o.calibrationSamples = p.value("calibration_samples").toLongLong();
    o.cle = p.value("cle").toBool();
    o.biasCorrection = p.value("bias_correction").toBool();
    o.biasCorrectionSamples = p.value("bias_correction_samples").toLongLong();
    o.sqnrSamples = p.value("sqnr_samples").toLongLong();
    o.mixedPrecision = p.value("mixed_precision").toBool();
    o.mixed.metric = p.value("sensitivity").toString() == "sqnr" ? quant::MixedPrecisionOptions::Metric::Sqnr
                                                                 : quant::MixedPrecisionOptions::Metric::Accuracy;
    o.mixed.validationSamples = p.value("validation_samples").toLongLong();
    return o;
}

QString describe(const QVariantMap& p)
{
    QString label = QString("%1/%2 %3, %4").arg(p.value("activations").toString(), "int8",
                                                 p.value("weights").toString().replace('_', '-'),
                                                 p.value("calibration").toString());
    if (p.value("cle").toBool()) label += ", CLE";
    if (p.value("bias_correction").toBool()) label += ", bias correction";
    return label;
}

// Up to `max` indices of the front (sorted by weight memory): both ends, then evenly spaced.
std::vector<size_t> pickFromFront(const std::vector<size_t>& front, size_t max)
{
    if (front.size() <= max) return front;
    std::vector<size_t> out;
    for (size_t k = 0; k < max; ++k) {
        const size_t i = max == 1 ? front.size() - 1 : k * (front.size() - 1) / (max - 1);
        if (out.empty() || out.back() != front[i]) out.push_back(front[i]);
    }
    return out;
}

} // namespace

std::vector<plugin::Candidate> QuantizePass::run(const plugin::Candidate& input, const QVariantMap& params,
                                                 plugin::PassContext& ctx)
{
    if (input.graphs.size() != 1 || input.policy.value("kind").toString() != "plain")
        throw plugin::PluginError("candidate '" + input.id + "' is not a plain one-graph candidate");
    if (!ctx.calibration()) throw plugin::PluginError("needs calibration data (recipe 'datasets.calibration')");
    quant::PipelineOptions o = pipelineOptions(params);
    if (o.mixedPrecision) {
        if (!ctx.validation())
            throw plugin::PluginError("mixed_precision needs validation data (recipe 'datasets.validation')");
        o.mixed.validation = ctx.validation();
        if (ctx.target())
            o.mixed.energyUj = [&ctx](const Graph& g) { return ctx.estimate(g).energyUj; };
    }
    // The context's cancellation is polled through progress(); core/quant polls this flag.
    std::atomic<bool> cancel{false};
    o.cancel = &cancel;
    o.progress = [&ctx, &cancel](double f, const std::string& what) {
        if (ctx.cancelled()) cancel = true;
        ctx.progress(std::clamp(f, 0.0, 1.0), QString::fromStdString(what));
        ctx.throwIfCancelled();
    };
    const quant::PipelineResult r = quant::quantizeModel(input.graphs.front(), *ctx.calibration(), ctx.preprocessing(), o);

    plugin::Candidate base;
    base.graphs = {r.model.graph};
    base.label = describe(params);
    base.notes = r.notes;
    base.notes["weight_bits"] = 8;
    if (!r.mixed) return {base};

    std::vector<plugin::Candidate> out;
    const auto& configs = r.mixed->configurations;
    const size_t max = static_cast<size_t>(std::max<qlonglong>(1, params.value("max_candidates").toLongLong()));
    for (size_t i : pickFromFront(r.mixed->front, max)) {
        const quant::PrecisionConfiguration& c = configs[i];
        plugin::Candidate cand = base;
        cand.graphs = {c.model.graph};
        QJsonArray int4;
        for (const auto& [node, bits] : c.weightBits)
            if (bits == 4) int4.append(QString::fromStdString(node));
        cand.notes["int4_layers"] = int4;
        cand.notes["weight_bytes"] = c.weightBytes;
        cand.notes["validation_accuracy"] = c.accuracy;
        cand.notes["pareto_front"] = true;
        cand.notes.remove("weight_bits");
        cand.label = c.int4Layers == 0 ? base.label + ", all int8"
                                       : base.label + QString(", %1 int4 layers").arg(c.int4Layers);
        out.push_back(std::move(cand));
    }
    return out;
}

} // namespace joule::plugins
