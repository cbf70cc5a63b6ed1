#pragma once
// Per-layer signal-to-quantization-noise ratio of a quantized model against its fp32 source.
//
//   auto layers = joule::quant::layerSqnr(fp32, quantized, images, prep, {.count = 64});
//   layers[0].sqnrDb;    // 10 log10(sum x^2 / sum (x - x_q)^2) over every element of every image
//
// For each QuantizedLayer, x is the fp32 graph's value of `layer.output` and x_q the QDQ graph's
// `layer.dequantized` (what the next layer consumes: weight, input and output rounding included).
// Both graphs run on the same images. A layer with no error gets +infinity.

#include "quant/observe.h"
#include "quant/quantizer.h"

#include <QJsonArray>

#include <set>

namespace joule::quant {

struct LayerSqnr {
    std::string node;
    std::string op;
    int weightBits = 0;
    double signalPower = 0;   // sum x^2
    double noisePower = 0;    // sum (x - x_q)^2
    double sqnrDb = 0;
};

// SQNR in dB of `signal` against `signal - noisy` (+inf when equal).
double sqnrDb(double signalPower, double noisePower);

std::vector<LayerSqnr> layerSqnr(const Graph& fp32, const QuantizedModel& quantized, const data::LabeledImages& images,
                                 const data::Preprocessing& prep, const RunOptions& options);

// [{"node","op","weight_bits","sqnr_db"}] for Candidate::notes (infinite SQNR as null).
QJsonArray sqnrToJson(const std::vector<LayerSqnr>& layers);

} // namespace joule::quant
