#pragma once
// The whole post-training quantization recipe in one call, as the quantize plugin runs it.
//
//   joule::quant::PipelineOptions o;
//   o.range.method = CalibrationMethod::Entropy;
//   o.quantizer.weights = WeightGranularity::PerTensor;
//   o.cle = o.biasCorrection = true;
//   joule::quant::PipelineResult r = joule::quant::quantizeModel(fp32, train, prep, o);
//   r.model.graph;   // QDQ graph;  r.notes: method, ranges, CLE pairs, bias shifts, per-layer SQNR
//
// Order (each step only when asked for, since all but calibration change numbers):
//   1. cross-layer equalization of the fp32 graph (needs calibration images for Clip pairs),
//   2. calibration statistics on images [calibrationFirst, + calibrationSamples) of `calibration`,
//   3. ranges by the chosen method, 4. QDQ quantization,
//   5. bias correction (needs the equalized fp32 graph as reference, so it comes after 4),
//   6. per-layer SQNR on sqnrSamples images (0 = skip),
//   7. the mixed-precision search when asked (its configurations are bias-corrected like step 5).

#include "quant/bias_correction.h"
#include "quant/calibration.h"
#include "quant/cle.h"
#include "quant/mixed_precision.h"
#include "quant/quantizer.h"
#include "quant/sqnr.h"

#include <QJsonObject>

namespace joule::quant {

struct PipelineOptions {
    RangeOptions range;
    QuantizerOptions quantizer;
    int64_t calibrationFirst = 0;
    int64_t calibrationSamples = 1000;
    bool cle = false;
    ClipHandling cleClip = ClipHandling::ExactOnData;
    bool biasCorrection = false;
    int64_t biasCorrectionSamples = 256;
    int64_t sqnrSamples = 64;
    // Mixed int4/int8 search (after quantization; uses the same ranges). Needs validation images.
    bool mixedPrecision = false;
    MixedPrecisionOptions mixed;          // validation, samples, energy; prep / calibration filled in
    std::function<void(double, const std::string&)> progress;
    const std::atomic<bool>* cancel = nullptr;
};

struct PipelineResult {
    Graph reference;              // the fp32 graph that was quantized (equalized when cle)
    QuantizedModel model;
    std::vector<LayerSqnr> sqnr;
    std::optional<MixedPrecisionResult> mixed;
    QJsonObject notes;
};

PipelineResult quantizeModel(const Graph& fp32, const data::LabeledImages& calibration, const data::Preprocessing& prep,
                             const PipelineOptions& options);

// Statistics are the slow part; callers that quantize one graph several ways compute them once.
PipelineResult quantizeWithStats(const Graph& reference, const CalibrationStats& stats,
                                 const data::LabeledImages& calibration, const data::Preprocessing& prep,
                                 const PipelineOptions& options);

} // namespace joule::quant
