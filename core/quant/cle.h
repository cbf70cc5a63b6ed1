#pragma once
// Cross-layer equalization (Nagel et al., "Data-Free Quantization Through Weight Equalization and
// Bias Correction", ICCV 2019) on an fp32 graph.
//
//   joule::quant::CleReport report;
//   joule::Graph eq = joule::quant::equalizeCrossLayer(fp32, {.data = &train, .prep = prep}, &report);
//
// Pattern: Conv A -> [Relu | Clip(0, M)] -> Conv B, where A's output and the activation's output
// each have that single consumer, and B reads the activation as its input (B may be depthwise or
// grouped; so may A). For each channel i of A's output, r1 = max|W_A[i,...]| and r2 = max|W_B[...]|
// over the weights of B that read channel i; s = sqrt(r1 / r2); then W_A[i] /= s, b_A[i] /= s and
// B's weights reading channel i *= s, after which both ranges equal sqrt(r1 r2). Since
// relu(x / s) = relu(x) / s for s > 0 the network's function is unchanged (exact up to float
// rounding). Sweeps over all pairs repeat until no scale moves by more than 1e-4 (at most 50).
//
// Clip(0, M) is exact only where the clip never acts: clip(x / s, 0, M) = clip(x, 0, M) / s for all
// observed x iff max x <= M and max x / s <= M. With `data` given (ClipHandling::ExactOnData), each
// channel's pre-activation maximum is measured on `samples` images; a channel whose maximum exceeds
// M keeps scale 1, the others keep their cumulative scale >= max / M. So the graph's outputs on those
// images are unchanged. ClipHandling::Approximate equalizes fully and keeps the clip at M (changes
// the function where the scaled channel would have clipped elsewhere); its effect on accuracy is
// measured in docs/quantization.md.

#include "data/dataset.h"
#include "ir/graph.h"

#include <string>
#include <vector>

namespace joule::quant {

enum class ClipHandling { ExactOnData, Approximate };

struct CleOptions {
    ClipHandling clip = ClipHandling::ExactOnData;
    const data::LabeledImages* data = nullptr;   // needed for ExactOnData when a pair has a Clip
    data::Preprocessing prep;
    int64_t first = 0;
    int64_t samples = 256;
    int maxSweeps = 50;
};

struct ClePair {
    std::string first, second;     // node names
    std::string activation;        // "Relu", "Clip" or "" (direct)
    int64_t channels = 0;
    int64_t pinnedChannels = 0;    // Clip: channels kept at scale 1 because the clip acts on them
};

struct CleReport {
    std::vector<ClePair> pairs;
    int sweeps = 0;
};

// Returns the equalized copy; `fp32` is not modified.
Graph equalizeCrossLayer(const Graph& fp32, const CleOptions& options = {}, CleReport* report = nullptr);

} // namespace joule::quant
