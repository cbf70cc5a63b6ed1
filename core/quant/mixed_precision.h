#pragma once
// Mixed int4 / int8 weight precision: per-layer sensitivity, then a greedy search whose
// configurations are filtered to the Pareto front of (accuracy, estimated energy, weight memory).
//
//   MixedPrecisionOptions o;
//   o.validation = &val;  o.prep = prep;  o.validationSamples = 2000;
//   o.energyUj = [&](const Graph& g) { return estimate(g).energyUj; };   // optional cost model
//   MixedPrecisionResult r = searchMixedPrecision(reference, ranges, {.weights = PerChannel}, o);
//   for (size_t i : r.front) r.configurations[i].weightBits ...
//
// Sensitivity of a MAC layer = validation accuracy (or, with Metric::Sqnr, the SQNR in dB of the
// model's output) when only that layer's weights are int4 and every other layer is int8, against
// the all-int8 model. Greedy order: smallest loss per saved weight byte first (loss = accuracy
// drop, or SQNR drop in dB; clipped at 0), ties broken by the larger saving. The search evaluates
// configuration k = "the first k layers of that order in int4" for k = 0 .. layers, each quantized
// from the same ranges (and bias-corrected when asked, since int4 weights shift layer means), and
// returns them all with the indices of the non-dominated ones: higher accuracy, lower energy and
// lower weight memory are better. Weight memory counts int4 as half a byte per weight (MAC layer
// weights only; biases are int32 either way).

#include "quant/observe.h"
#include "quant/quantizer.h"

#include <optional>

namespace joule::quant {

struct MixedPrecisionOptions {
    enum class Metric { Accuracy, Sqnr } metric = Metric::Accuracy;
    const data::LabeledImages* validation = nullptr;   // accuracy of every configuration
    data::Preprocessing prep;
    int64_t validationSamples = 2000;                  // first N images of `validation`
    // Bias correction of every configuration on these calibration images (count 0 = off).
    const data::LabeledImages* calibration = nullptr;
    RunOptions biasCorrection{.first = 0, .count = 0, .batch = 32, .progress = {}, .cancel = nullptr};
    int64_t sqnrSamples = 64;                          // Metric::Sqnr: images of `validation`
    std::function<std::optional<double>(const Graph&)> energyUj;   // estimated energy, optional
    std::function<void(double, const std::string&)> progress;
    const std::atomic<bool>* cancel = nullptr;
};

struct LayerSensitivity {
    std::string node;
    int64_t weights = 0;
    double savedBytes = 0;      // weights / 2
    double score = 0;           // accuracy (fraction) or output SQNR (dB) with only this layer int4
    double loss = 0;            // baseline score - score
};

struct PrecisionConfiguration {
    std::map<std::string, int> weightBits;   // node -> 4 or 8
    QuantizedModel model;
    double accuracy = 0;                     // on validationSamples images
    double weightBytes = 0;
    std::optional<double> energyUj;
    int int4Layers = 0;
};

struct MixedPrecisionResult {
    std::vector<LayerSensitivity> sensitivity;     // greedy order
    std::vector<PrecisionConfiguration> configurations;   // [0] = all int8
    std::vector<size_t> front;                     // non-dominated configurations, by weight memory
};

MixedPrecisionResult searchMixedPrecision(const Graph& reference, const std::map<std::string, Range>& ranges,
                                          const QuantizerOptions& base, const MixedPrecisionOptions& options);

// Indices of the points not dominated by another (higher accuracy, lower energy, lower memory are
// better; energy compared only when every point has one).
std::vector<size_t> paretoFront(const std::vector<PrecisionConfiguration>& points);

} // namespace joule::quant
