#pragma once
// Activation statistics and the ranges chosen from them.
//
//   auto train = joule::data::loadDataset("fashion-mnist:train");
//   joule::quant::CalibrationStats stats = joule::quant::collectStatistics(fp32, train, prep, {.count = 1000});
//   auto ranges = joule::quant::chooseRanges(stats, {.method = CalibrationMethod::Entropy});
//   ranges.at("/Relu_output_0");     // {lo, hi}: the real interval the 8-bit codes will cover
//
// Every float32 value the graph computes (and its input) gets its exact min / max and a 2048-bin
// histogram. The histogram's range starts at the first batch's min / max and doubles (towards the
// side that overflowed, merging bin pairs, so no count moves to a wrong bin) whenever a later value
// falls outside. Methods (levels = 256 codes of an 8-bit activation):
//   minmax      [min, max]
//   percentile  non-negative values: [0, p-th percentile]; signed: the (100-p)/2-th .. (100+p)/2-th
//   entropy     TensorRT's KL-divergence search, generalised to asymmetric ranges: for every window
//               of k >= levels bins around the zero bin (keeping the data's share of negative bins),
//               P = the window's bins with both tails folded into its edge bins, Q = the window
//               merged into `levels` groups, each spread back over its non-empty bins; the window
//               minimising KL(P || Q) is the range. Exact zeros are left out of P and Q: every range
//               represents 0 exactly, and the ReLU spike at 0 would otherwise favour tiny ranges.
//   mse         the interval minimising expected squared error over the histogram: clipping error
//               (distance of each bin centre beyond the interval)^2 plus rounding error step^2 / 12
//               inside it; searched over 400 shrink factors of [min, max] (and for signed values
//               of each side independently around the best symmetric shrink)
// Every range is widened to contain 0 (so zero has an exact code).

#include "data/dataset.h"
#include "ir/graph.h"

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace joule::quant {

// A histogram over [lo, lo + bins * width) that grows by doubling its width.
class Histogram {
public:
    static constexpr int kBins = 2048;
    void add(const float* values, int64_t count);
    bool empty() const { return total_ == 0; }
    double lo() const { return lo_; }
    double width() const { return width_; }
    double hi() const { return lo_ + width_ * kBins; }
    double total() const { return total_; }
    double exactZeros() const { return zeros_; }   // values exactly 0 (ReLU's clipped half), also in their bin
    const std::vector<double>& bins() const { return bins_; }
    double binCentre(int i) const { return lo_ + (i + 0.5) * width_; }

private:
    void growUp();
    void growDown();
    std::vector<double> bins_;
    double lo_ = 0, width_ = 0, total_ = 0, zeros_ = 0;
};

struct TensorStats {
    float min = 0, max = 0;
    int64_t count = 0;
    Histogram histogram;
};

using CalibrationStats = std::map<std::string, TensorStats>;

struct CollectOptions {
    int64_t first = 0;      // first image of the calibration set
    int64_t count = 1000;   // images used (clipped to the set's size)
    std::function<void(double)> progress;   // fraction done
    const std::atomic<bool>* cancel = nullptr;   // set: throws eval::Cancelled
};

// Runs the fp32 graph over the calibration images and records every float32 value it computes.
CalibrationStats collectStatistics(const Graph& graph, const data::LabeledImages& images,
                                   const data::Preprocessing& prep, const CollectOptions& options = {});

enum class CalibrationMethod { MinMax, Percentile, Entropy, Mse };
const char* calibrationMethodName(CalibrationMethod m);    // "minmax", "percentile", "entropy", "mse"
CalibrationMethod calibrationMethodFromName(const std::string& name);   // throws QuantError

struct Range {
    float lo = 0, hi = 0;
};

struct RangeOptions {
    CalibrationMethod method = CalibrationMethod::MinMax;
    double percentile = 99.99;   // in (50, 100]
    int levels = 256;            // codes of the activation type
};

// The range of one tensor's statistics by the chosen method (always containing 0).
Range chooseRange(const TensorStats& stats, const RangeOptions& options);
// chooseRange for every tensor.
std::map<std::string, Range> chooseRanges(const CalibrationStats& stats, const RangeOptions& options);

} // namespace joule::quant
