#include "kmeans.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace weight_clustering {

namespace {

// Index of the centroid nearest to v: centroids are sorted, so it is one of the two around v.
uint8_t nearest(const std::vector<float>& c, float v)
{
    const auto it = std::lower_bound(c.begin(), c.end(), v);
    if (it == c.begin()) return 0;
    if (it == c.end()) return static_cast<uint8_t>(c.size() - 1);
    const auto hi = static_cast<size_t>(it - c.begin());
    return static_cast<uint8_t>(v - c[hi - 1] <= c[hi] - v ? hi - 1 : hi);
}

} // namespace

Clustering kmeans1d(std::span<const float> weights, int k, Init init, int maxIterations)
{
    if (k < 1 || k > 256) throw std::invalid_argument("k-means: " + std::to_string(k) + " clusters (1 to 256 are possible)");
    if (weights.empty()) throw std::invalid_argument("k-means: no weights");
    const auto [lo, hi] = std::minmax_element(weights.begin(), weights.end());
    Clustering c;
    c.centroids.resize(static_cast<size_t>(k));
    if (init == Init::Linear) {
        for (int j = 0; j < k; ++j)
            c.centroids[static_cast<size_t>(j)] = k == 1 ? 0.5f * (*lo + *hi) : *lo + (*hi - *lo) * static_cast<float>(j) / static_cast<float>(k - 1);
    } else {
        std::vector<float> sorted(weights.begin(), weights.end());
        std::sort(sorted.begin(), sorted.end());
        for (int j = 0; j < k; ++j) {
            const auto at = static_cast<size_t>((j + 0.5) / k * static_cast<double>(sorted.size()));
            c.centroids[static_cast<size_t>(j)] = sorted[std::min(at, sorted.size() - 1)];
        }
    }
    std::sort(c.centroids.begin(), c.centroids.end());

    c.assignment.assign(weights.size(), 0);
    for (size_t i = 0; i < weights.size(); ++i) c.assignment[i] = nearest(c.centroids, weights[i]);
    std::vector<double> sum(static_cast<size_t>(k));
    std::vector<int64_t> count(static_cast<size_t>(k));
    for (c.iterations = 0; c.iterations < maxIterations;) {
        // Update: each centroid moves to the mean of its weights (an empty cluster stays where it is).
        std::fill(sum.begin(), sum.end(), 0.0);
        std::fill(count.begin(), count.end(), 0);
        for (size_t i = 0; i < weights.size(); ++i) {
            sum[c.assignment[i]] += weights[i];
            ++count[c.assignment[i]];
        }
        for (size_t j = 0; j < c.centroids.size(); ++j)
            if (count[j]) c.centroids[j] = static_cast<float>(sum[j] / static_cast<double>(count[j]));
        // An empty cluster is wasted palette: move it onto the weight that is worst served now, which
        // can only lower the error (that weight's error becomes zero).
        for (size_t j = 0; j < c.centroids.size(); ++j) {
            if (count[j]) continue;
            size_t worst = 0;
            double worstError = -1.0;
            for (size_t i = 0; i < weights.size(); ++i) {
                const double d = weights[i] - c.centroids[c.assignment[i]];
                if (d * d > worstError) worstError = d * d, worst = i;
            }
            if (worstError <= 0.0) break;   // every weight sits on a centroid already
            --count[c.assignment[worst]];
            c.centroids[j] = weights[worst];
            c.assignment[worst] = static_cast<uint8_t>(j);
            count[j] = 1;
        }
        // Reseeded clusters break the order; the assignment below starts afresh from the sorted list.
        std::sort(c.centroids.begin(), c.centroids.end());
        // Assignment: the nearest centroid.
        bool changed = false;
        double error = 0.0;
        for (size_t i = 0; i < weights.size(); ++i) {
            const uint8_t a = nearest(c.centroids, weights[i]);
            changed = changed || a != c.assignment[i];
            c.assignment[i] = a;
            const double d = weights[i] - c.centroids[a];
            error += d * d;
        }
        ++c.iterations;
        c.errorPerIteration.push_back(error);
        c.sumSquaredError = error;
        if (!changed) break;
    }
    if (c.iterations == 0) {
        for (size_t i = 0; i < weights.size(); ++i) {
            const double d = weights[i] - c.centroids[c.assignment[i]];
            c.sumSquaredError += d * d;
        }
    }
    return c;
}

} // namespace weight_clustering
