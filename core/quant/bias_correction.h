#pragma once
// Empirical bias correction of a quantized model (Nagel et al. 2019, section 4.2, empirical form).
//
//   joule::quant::correctBias(fp32, quantized, train, prep, {.count = 256});
//
// Layer by layer in execution order, for every quantized Conv / Gemm with an int32 bias: run the
// fp32 graph and the (already corrected upstream) QDQ graph on the same images, take the mean per
// output channel of the layer's own output (pre-activation, same tensor name in both graphs) and add
// E[y_fp32 - y_quant] to the bias, i.e. bias_code += round(mean difference / bias_scale). The bias
// initializer is replaced by a corrected copy; nothing else changes. Layers run in order because
// correcting one changes what every later layer sees.

#include "quant/observe.h"
#include "quant/quantizer.h"

#include <vector>

namespace joule::quant {

struct BiasShift {
    std::string node;
    double meanAbsShift = 0;     // mean |E[y_fp32 - y_quant]| over channels, before correction
    double meanAbsAfter = 0;     // the same measured after correcting (on the same images)
};

// Corrects `quantized` in place; returns one entry per corrected layer. `measureAfter` = false
// skips the second run per layer that fills BiasShift::meanAbsAfter (left 0).
std::vector<BiasShift> correctBias(const Graph& fp32, QuantizedModel& quantized, const data::LabeledImages& images,
                                   const data::Preprocessing& prep, const RunOptions& options, bool measureAfter = true);

// Per-channel mean of `tensor` (channel axis 1; [N, C, ...]) over the images.
std::vector<double> channelMeans(const Graph& g, const std::string& tensor, const data::LabeledImages& images,
                                 const data::Preprocessing& prep, const RunOptions& options);

} // namespace joule::quant
