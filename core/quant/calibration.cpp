#include "quant/calibration.h"

#include "quant/observe.h"
#include "quant/quant_error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace joule::quant {

// ---- Histogram ----

void Histogram::add(const float* values, int64_t count)
{
    float mn = std::numeric_limits<float>::infinity(), mx = -mn;
    for (int64_t i = 0; i < count; ++i)
        if (std::isfinite(values[i])) {
            mn = std::min(mn, values[i]);
            mx = std::max(mx, values[i]);
        }
    if (!(mn <= mx)) return;   // nothing finite
    if (bins_.empty()) {
        bins_.assign(kBins, 0.0);
        const double span = static_cast<double>(mx) - mn;
        if (span > 0) {
            width_ = span / kBins * (1 + 1e-9);
            lo_ = mn;
        } else {
            width_ = std::max(std::fabs(static_cast<double>(mn)), 1e-6) * 2e-3;
            lo_ = mn - width_ * (kBins / 2);
        }
    }
    while (mn < lo_) growDown();
    while (mx >= hi()) growUp();
    for (int64_t i = 0; i < count; ++i) {
        const float x = values[i];
        if (!std::isfinite(x)) continue;
        const int b = std::clamp(static_cast<int>((x - lo_) / width_), 0, kBins - 1);
        bins_[static_cast<size_t>(b)] += 1;
        total_ += 1;
        if (x == 0.0f) zeros_ += 1;
    }
}

void Histogram::growUp()
{
    std::vector<double> merged(kBins, 0.0);
    for (int i = 0; i < kBins / 2; ++i) merged[i] = bins_[2 * i] + bins_[2 * i + 1];
    bins_.swap(merged);
    width_ *= 2;
}

void Histogram::growDown()
{
    std::vector<double> merged(kBins, 0.0);
    for (int i = 0; i < kBins / 2; ++i) merged[kBins / 2 + i] = bins_[2 * i] + bins_[2 * i + 1];
    bins_.swap(merged);
    lo_ -= width_ * kBins;
    width_ *= 2;
}

// ---- Collection ----

CalibrationStats collectStatistics(const Graph& graph, const data::LabeledImages& images,
                                   const data::Preprocessing& prep, const CollectOptions& options)
{
    CalibrationStats stats;
    RunOptions run;
    run.first = options.first;
    run.count = options.count;
    run.progress = options.progress;
    run.cancel = options.cancel;
    runObserved(graph, images, prep, run, [&](const std::string& name, const Tensor& value) {
        if (name.empty() || value.numel() == 0) return;
        TensorStats& s = stats[name];
        const float* p = value.data<float>();
        const int64_t n = value.numel();
        float mn = std::numeric_limits<float>::infinity(), mx = -mn;
        for (int64_t i = 0; i < n; ++i)
            if (std::isfinite(p[i])) {
                mn = std::min(mn, p[i]);
                mx = std::max(mx, p[i]);
            }
        if (!(mn <= mx)) return;
        if (s.count == 0) {
            s.min = mn;
            s.max = mx;
        } else {
            s.min = std::min(s.min, mn);
            s.max = std::max(s.max, mx);
        }
        s.count += n;
        s.histogram.add(p, n);
    });
    return stats;
}

// ---- Range choice ----

const char* calibrationMethodName(CalibrationMethod m)
{
    switch (m) {
    case CalibrationMethod::MinMax: return "minmax";
    case CalibrationMethod::Percentile: return "percentile";
    case CalibrationMethod::Entropy: return "entropy";
    case CalibrationMethod::Mse: return "mse";
    }
    return "?";
}

CalibrationMethod calibrationMethodFromName(const std::string& name)
{
    for (CalibrationMethod m : {CalibrationMethod::MinMax, CalibrationMethod::Percentile, CalibrationMethod::Entropy,
                                CalibrationMethod::Mse})
        if (name == calibrationMethodName(m)) return m;
    throw QuantError("calibration method '" + name + "' is not one of minmax, percentile, entropy, mse");
}

namespace {

// Value below which a fraction q of the histogram's mass lies (linear inside the bin).
double quantile(const Histogram& h, double q)
{
    const double target = q * h.total();
    double cumulative = 0;
    const auto& bins = h.bins();
    for (int i = 0; i < Histogram::kBins; ++i) {
        if (cumulative + bins[i] >= target && bins[i] > 0) {
            const double inside = (target - cumulative) / bins[i];
            return h.lo() + (i + std::clamp(inside, 0.0, 1.0)) * h.width();
        }
        cumulative += bins[i];
    }
    return h.hi();
}

double klDivergence(const std::vector<double>& p, const std::vector<double>& q)
{
    double sp = 0, sq = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        sp += p[i];
        sq += q[i];
    }
    if (sp <= 0 || sq <= 0) return std::numeric_limits<double>::infinity();
    double kl = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        if (p[i] <= 0) continue;
        const double pi = p[i] / sp;
        const double qi = q[i] > 0 ? q[i] / sq : 1e-12;   // smoothing: P has mass Q lacks
        kl += pi * std::log(pi / qi);
    }
    return kl;
}

// KL(P || Q) of keeping bins [begin, end): P = those bins with both tails folded into the edge bins,
// Q = the kept bins (without tails) merged into `levels` groups, each spread over its non-empty bins.
double clippingDivergence(const std::vector<double>& hist, int begin, int end, int levels, std::vector<double>& p,
                          std::vector<double>& q)
{
    const int k = end - begin;
    p.assign(hist.begin() + begin, hist.begin() + end);
    q.assign(static_cast<size_t>(k), 0.0);
    for (int i = 0; i < begin; ++i) p.front() += hist[i];
    for (int i = end; i < static_cast<int>(hist.size()); ++i) p.back() += hist[i];
    for (int g = 0; g < levels; ++g) {
        const int start = static_cast<int>(static_cast<int64_t>(g) * k / levels);
        const int stop = g + 1 == levels ? k : static_cast<int>(static_cast<int64_t>(g + 1) * k / levels);
        double sum = 0;
        int nonEmpty = 0;
        for (int i = start; i < stop; ++i) {
            sum += hist[begin + i];
            if (hist[begin + i] > 0) ++nonEmpty;
        }
        if (nonEmpty == 0) continue;
        for (int i = start; i < stop; ++i)
            if (hist[begin + i] > 0) q[i] = sum / nonEmpty;
    }
    return klDivergence(p, q);
}

// TensorRT's search generalised to asymmetric ranges: windows of k >= levels bins around the zero
// bin, keeping the data's proportion of negative and positive bins, for every k up to the data's span.
Range entropyRange(const TensorStats& s, int levels)
{
    const Histogram& h = s.histogram;
    std::vector<double> hist = h.bins();
    auto binOf = [&](double x) { return std::clamp(static_cast<int>((x - h.lo()) / h.width()), 0, Histogram::kBins - 1); };
    const int b0 = binOf(s.min), b1 = binOf(s.max) + 1;
    const int zero = std::clamp(binOf(0.0), b0, b1);
    const int span = b1 - b0;
    if (span <= levels) return {s.min, s.max};
    // Exact zeros are coded exactly by any range; as a spike in P they would make tiny ranges look best.
    hist[static_cast<size_t>(binOf(0.0))] -= std::min(hist[static_cast<size_t>(binOf(0.0))], h.exactZeros());
    const double negFraction = static_cast<double>(zero - b0) / span;
    double best = std::numeric_limits<double>::infinity();
    int bestBegin = b0, bestEnd = b1;
    std::vector<double> p, q;
    for (int k = levels; k <= span; ++k) {
        const int left = static_cast<int>(std::lround(negFraction * k));
        const int begin = zero - left, end = begin + k;
        if (begin < b0 || end > b1) continue;
        const double kl = clippingDivergence(hist, begin, end, levels, p, q);
        if (kl < best) {
            best = kl;
            bestBegin = begin;
            bestEnd = end;
        }
    }
    return {static_cast<float>(h.lo() + bestBegin * h.width()), static_cast<float>(h.lo() + bestEnd * h.width())};
}

// Expected squared error of quantizing the histogram to `levels` codes over [a, b].
double expectedSquaredError(const Histogram& h, double a, double b, int levels)
{
    const double step = (b - a) / (levels - 1);
    const double rounding = step * step / 12.0;
    double err = 0;
    for (int i = 0; i < Histogram::kBins; ++i) {
        const double c = h.bins()[i];
        if (c == 0) continue;
        const double x = h.binCentre(i);
        if (x < a) err += c * (a - x) * (a - x);
        else if (x > b) err += c * (x - b) * (x - b);
        else err += c * rounding;
    }
    return err;
}

Range mseRange(const TensorStats& s, int levels)
{
    constexpr int kSteps = 400;
    const Histogram& h = s.histogram;
    const double mn = std::min(0.0f, s.min), mx = std::max(0.0f, s.max);
    double bestA = mn, bestB = mx, best = expectedSquaredError(h, mn, mx, levels);
    for (int k = 1; k < kSteps; ++k) {
        const double t = static_cast<double>(k) / kSteps;
        const double e = expectedSquaredError(h, mn * t, mx * t, levels);
        if (e < best) {
            best = e;
            bestA = mn * t;
            bestB = mx * t;
        }
    }
    if (mn < 0 && mx > 0) {   // refine each side with the other fixed
        const double fixedB = bestB;
        for (int k = 1; k <= kSteps; ++k) {
            const double a = mn * k / kSteps;
            const double e = expectedSquaredError(h, a, fixedB, levels);
            if (e < best) {
                best = e;
                bestA = a;
            }
        }
        const double fixedA = bestA;
        for (int k = 1; k <= kSteps; ++k) {
            const double b = mx * k / kSteps;
            const double e = expectedSquaredError(h, fixedA, b, levels);
            if (e < best) {
                best = e;
                bestB = b;
            }
        }
    }
    return {static_cast<float>(bestA), static_cast<float>(bestB)};
}

} // namespace

Range chooseRange(const TensorStats& s, const RangeOptions& options)
{
    if (options.levels < 4) throw QuantError("calibration needs at least 4 quantization levels");
    Range r{s.min, s.max};
    const Histogram& h = s.histogram;
    if (!h.empty() && s.max > s.min) {
        switch (options.method) {
        case CalibrationMethod::MinMax: break;
        case CalibrationMethod::Percentile: {
            if (!(options.percentile > 50 && options.percentile <= 100))
                throw QuantError("percentile must lie in (50, 100], got " + std::to_string(options.percentile));
            const double p = options.percentile / 100.0;
            if (s.min >= 0) {
                r.hi = static_cast<float>(quantile(h, p));
            } else {
                r.lo = static_cast<float>(quantile(h, (1 - p) / 2));
                r.hi = static_cast<float>(quantile(h, 1 - (1 - p) / 2));
            }
            break;
        }
        case CalibrationMethod::Entropy: r = entropyRange(s, options.levels); break;
        case CalibrationMethod::Mse: r = mseRange(s, options.levels); break;
        }
        r.lo = std::clamp(r.lo, s.min, s.max);
        r.hi = std::clamp(r.hi, s.min, s.max);
    }
    r.lo = std::min(r.lo, 0.0f);
    r.hi = std::max(r.hi, 0.0f);
    return r;
}

std::map<std::string, Range> chooseRanges(const CalibrationStats& stats, const RangeOptions& options)
{
    std::map<std::string, Range> out;
    for (const auto& [name, s] : stats) out[name] = chooseRange(s, options);
    return out;
}

} // namespace joule::quant
