#pragma once
// One-dimensional k-means (Lloyd's algorithm) for weight sharing, as in Han et al., "Deep Compression"
// (ICLR 2016), section 3: every weight of a layer is replaced by the nearest of k shared values.
//
//   Clustering c = kmeans1d(weights, 16, Init::Linear, 50);
//   for (size_t i = 0; i < weights.size(); ++i) weights[i] = c.centroids[c.assignment[i]];
//
// Centroids come back sorted ascending. A cluster left empty is moved onto the weight farthest from its
// centroid (so no palette entry is wasted while weights differ). Deterministic.

#include <cstdint>
#include <span>
#include <vector>

namespace weight_clustering {

enum class Init {
    Linear,    // evenly spaced between min and max: keeps the few large weights, which matter most
    Density,   // at the (j + 0.5) / k quantiles of the weights
};

struct Clustering {
    std::vector<float> centroids;        // k values, ascending
    std::vector<uint8_t> assignment;     // per weight, index into centroids (k <= 256)
    double sumSquaredError = 0.0;        // sum over weights of (weight - its centroid)^2
    int iterations = 0;                  // Lloyd iterations run
    std::vector<double> errorPerIteration;   // sumSquaredError after each iteration (non-increasing)
};

// Throws std::invalid_argument for k outside [1, 256] or no weights.
Clustering kmeans1d(std::span<const float> weights, int k, Init init, int maxIterations);

} // namespace weight_clustering
