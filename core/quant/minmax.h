#pragma once
// Min-max quantization from explicit input tensors rather than a dataset: for speed measurements
// (`joule bench --precision int8` on an fp32 model) and tests, where no calibration images exist.
// Accuracy-minded quantization is quantizeModel() (pipeline.h), which the quantize plugin runs.
//
//   std::vector<std::map<std::string, Tensor>> feeds = ...;    // each: the model's one input, batch 1
//   joule::Graph qdq = joule::quant::quantizeMinMax(fp32, feeds);  // uint8 activations, int8 per channel
//
// The same quantizer as the plugin's (quantizeGraph) with CalibrationMethod::MinMax ranges over the
// given inputs. The graph must have exactly one required input; every feed gives it a [1, ...] tensor.

#include "ir/graph.h"
#include "quant/quantizer.h"

#include <map>
#include <string>
#include <vector>

namespace joule::quant {

Graph quantizeMinMax(const Graph& fp32, const std::vector<std::map<std::string, Tensor>>& feeds,
                     const QuantizerOptions& options = {});

} // namespace joule::quant
