#pragma once
// The interpolation engine behind Resize (resize.cpp) and Upsample (upsample.cpp).
//
// The op kernels only read their attributes and inputs into a ResizeSpec (output shape, per-axis
// scales, mode, coordinate transform, ...); ResizeKernel<T> does the rest:
//   prepare(): for every axis whose mapping is not the identity, a table of taps per output
//              coordinate (clamped input index + weight, or "outside" for tf_crop_and_resize),
//              following the ONNX reference implementation: x_original from the coordinate
//              transformation, ratio = x_original - floor(x_original) taken as 1 when x_original is
//              an integer, edge-clamped neighbours, exclude_outside renormalisation, antialias
//              (opset 18) widening the linear/cubic kernel by 1/scale when downsampling.
//   eval():    nearest = one gather pass over the output; linear/cubic = one separable pass per
//              resized axis, innermost axis first (the same order the reference nests its 1-D
//              interpolations), intermediates in float (double for float64 tensors).

#include "runtime/registry.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>

namespace joule::rt::resize {

enum class Mode { Nearest, Linear, Cubic };
enum class Coord { HalfPixel, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNn, TfCropAndResize, HalfPixelSymmetric };
enum class Nearest { RoundPreferFloor, RoundPreferCeil, Floor, Ceil, Simple };

struct ResizeSpec {
    Mode mode = Mode::Nearest;
    Coord coord = Coord::HalfPixel;
    Nearest nearest = Nearest::RoundPreferFloor;
    double cubicA = -0.75;
    bool excludeOutside = false;
    bool antialias = false;
    double extrapolation = 0.0;
    Shape outShape;
    std::vector<double> scales;                 // per axis of X
    bool sizesGiven = false;                    // output length came from `sizes` (scale = out / in)
    std::vector<double> roiStart, roiEnd;       // per axis, tf_crop_and_resize only
};

inline Mode parseMode(const std::string& s)
{
    if (s == "nearest") return Mode::Nearest;
    if (s == "linear" || s == "bilinear" || s == "trilinear") return Mode::Linear;
    if (s == "cubic") return Mode::Cubic;
    throw KernelError("mode '" + s + "' is not one of nearest, linear, cubic");
}

inline Coord parseCoord(const std::string& s)
{
    if (s == "half_pixel") return Coord::HalfPixel;
    if (s == "pytorch_half_pixel") return Coord::PytorchHalfPixel;
    if (s == "align_corners") return Coord::AlignCorners;
    if (s == "asymmetric") return Coord::Asymmetric;
    if (s == "tf_half_pixel_for_nn") return Coord::TfHalfPixelForNn;
    if (s == "tf_crop_and_resize") return Coord::TfCropAndResize;
    if (s == "half_pixel_symmetric") return Coord::HalfPixelSymmetric;
    throw KernelError("coordinate_transformation_mode '" + s + "' is not known");
}

inline Nearest parseNearest(const std::string& s)
{
    if (s == "round_prefer_floor") return Nearest::RoundPreferFloor;
    if (s == "round_prefer_ceil") return Nearest::RoundPreferCeil;
    if (s == "floor") return Nearest::Floor;
    if (s == "ceil") return Nearest::Ceil;
    throw KernelError("nearest_mode '" + s + "' is not known");
}

// Input coordinate of output coordinate x along one axis; sets `outside` for tf_crop_and_resize
// coordinates beyond the input.
inline double originalCoordinate(const ResizeSpec& s, size_t axis, int64_t in, int64_t out, double x, bool& outside)
{
    const double scale = s.scales[axis];
    // The reference implementation measures the resized length as scale * in (not the rounded
    // output length) when the scale was given.
    const double lenResized = s.sizesGiven ? static_cast<double>(out) : scale * static_cast<double>(in);
    outside = false;
    switch (s.coord) {
    case Coord::HalfPixel: return (x + 0.5) / scale - 0.5;
    case Coord::HalfPixelSymmetric: {
        const double adjustment = static_cast<double>(out) / lenResized;
        const double center = static_cast<double>(in) / 2.0;
        const double offset = center * (1.0 - adjustment);
        return offset + (x + 0.5) / scale - 0.5;
    }
    case Coord::PytorchHalfPixel: return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case Coord::AlignCorners: return lenResized == 1.0 ? 0.0 : x * static_cast<double>(in - 1) / (lenResized - 1.0);
    case Coord::Asymmetric: return x / scale;
    case Coord::TfHalfPixelForNn: return (x + 0.5) / scale;
    case Coord::TfCropAndResize: {
        const double start = s.roiStart[axis], end = s.roiEnd[axis];
        double xo = lenResized == 1.0 ? (end - start) * static_cast<double>(in - 1) / 2.0
                                      : x * (end - start) * static_cast<double>(in - 1) / (lenResized - 1.0);
        xo += start * static_cast<double>(in - 1);
        outside = xo < 0.0 || xo > static_cast<double>(in - 1);
        return xo;
    }
    }
    return 0.0;
}

inline double cubicKernel(double x, double a)
{
    x = std::fabs(x);
    if (x <= 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
    return 0.0;
}

// Taps of one axis: for output coordinate j, taps*j .. taps*j+taps-1.
template <typename Acc> struct AxisTaps {
    int axis = 0;
    int64_t in = 0, out = 0;
    int taps = 1;
    std::vector<int64_t> index;    // clamped input index
    std::vector<Acc> weight;
    std::vector<uint8_t> outside;  // 1: the output is the extrapolation value
};

template <typename Acc>
AxisTaps<Acc> buildTaps(const ResizeSpec& s, int axis, int64_t in, int64_t out)
{
    AxisTaps<Acc> t;
    t.axis = axis;
    t.in = in;
    t.out = out;
    const double scale = s.scales[static_cast<size_t>(axis)];
    // Kernel support in input pixels: offsets start .. start + taps - 1 around floor(x_original).
    int start = 0;
    double kernelScale = 1.0;
    if (s.mode == Mode::Nearest) {
        t.taps = 1;
    } else {
        kernelScale = (s.antialias && scale < 1.0) ? scale : 1.0;
        const double radius = s.mode == Mode::Linear ? 1.0 : 2.0;
        start = static_cast<int>(std::floor(-radius / kernelScale)) + 1;
        t.taps = 2 - 2 * start;
    }
    t.index.resize(static_cast<size_t>(out * t.taps));
    t.weight.resize(static_cast<size_t>(out * t.taps));
    t.outside.assign(static_cast<size_t>(out), 0);
    std::vector<double> w(static_cast<size_t>(t.taps));
    for (int64_t j = 0; j < out; ++j) {
        bool outside = false;
        const double xo = originalCoordinate(s, static_cast<size_t>(axis), in, out, static_cast<double>(j), outside);
        t.outside[static_cast<size_t>(j)] = outside;
        int64_t* idx = &t.index[static_cast<size_t>(j * t.taps)];
        Acc* wt = &t.weight[static_cast<size_t>(j * t.taps)];
        const double fl = std::floor(xo);
        if (s.mode == Mode::Nearest) {
            int64_t i;
            const double ratio = xo - fl;
            if (ratio == 0.0) i = static_cast<int64_t>(xo);
            else {
                switch (s.nearest) {
                case Nearest::RoundPreferFloor: i = static_cast<int64_t>(ratio <= 0.5 ? fl : fl + 1); break;
                case Nearest::RoundPreferCeil: i = static_cast<int64_t>(ratio < 0.5 ? fl : fl + 1); break;
                case Nearest::Floor: i = static_cast<int64_t>(fl); break;
                case Nearest::Ceil: i = static_cast<int64_t>(fl + 1); break;
                case Nearest::Simple: i = static_cast<int64_t>(scale < 1.0 ? fl + 1 : fl); break;
                default: i = static_cast<int64_t>(fl);
                }
            }
            idx[0] = std::clamp<int64_t>(i, 0, in - 1);
            wt[0] = Acc(1);
            continue;
        }
        int64_t base = static_cast<int64_t>(fl);
        double ratio = xo - fl;
        if (ratio == 0.0) {   // the reference takes the left neighbour with ratio 1
            base -= 1;
            ratio = 1.0;
        }
        double sum = 0.0;
        for (int k = 0; k < t.taps; ++k) {
            const double d = (static_cast<double>(start + k) - ratio) * kernelScale;
            w[static_cast<size_t>(k)] = s.mode == Mode::Linear ? std::max(0.0, 1.0 - std::fabs(d)) : cubicKernel(d, s.cubicA);
            sum += w[static_cast<size_t>(k)];
        }
        if (kernelScale != 1.0 && sum != 0.0)
            for (double& v : w) v /= sum;
        if (s.excludeOutside) {
            double kept = 0.0;
            for (int k = 0; k < t.taps; ++k) {
                const int64_t i = base + start + k;
                if (i < 0 || i >= in) w[static_cast<size_t>(k)] = 0.0;
                kept += w[static_cast<size_t>(k)];
            }
            if (kept != 0.0)
                for (double& v : w) v /= kept;
        }
        for (int k = 0; k < t.taps; ++k) {
            idx[k] = std::clamp<int64_t>(base + start + k, 0, in - 1);
            wt[k] = static_cast<Acc>(w[static_cast<size_t>(k)]);
        }
    }
    return t;
}

// True when every output coordinate reads exactly its own input coordinate with weight 1.
template <typename Acc> bool isIdentity(const AxisTaps<Acc>& t)
{
    if (t.in != t.out) return false;
    for (int64_t j = 0; j < t.out; ++j) {
        if (t.outside[static_cast<size_t>(j)]) return false;
        for (int k = 0; k < t.taps; ++k) {
            const size_t p = static_cast<size_t>(j * t.taps + k);
            const Acc expected = t.index[p] == j ? Acc(1) : Acc(0);
            if (t.weight[p] != Acc(0) && (t.index[p] != j || t.weight[p] != expected)) return false;
        }
    }
    return true;
}

template <typename To, typename From> inline To convertValue(From v)
{
    if constexpr (std::is_integral_v<To> && !std::is_integral_v<From>) {
        const From r = std::nearbyint(v);
        if (!(r >= static_cast<From>(std::numeric_limits<To>::lowest()))) return std::numeric_limits<To>::lowest();
        if (r >= static_cast<From>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
        return static_cast<To>(r);
    } else {
        return static_cast<To>(v);
    }
}

constexpr int kMaxRank = 16;

template <typename T>
class ResizeKernel : public Kernel {
public:
    using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;

    // Implemented by the op: reads attributes and inputs into the spec.
    virtual ResizeSpec readSpec(PrepareContext& ctx) = 0;

    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        spec_ = readSpec(ctx);
        const int rank = x.rank();
        if (rank == 0) throw KernelError("input must have rank >= 1");
        if (rank > kMaxRank) throw UnsupportedError("rank above " + std::to_string(kMaxRank));
        if (static_cast<int>(spec_.outShape.size()) != rank || static_cast<int>(spec_.scales.size()) != rank)
            throw KernelError("scales/sizes must have one value per input dimension (" + std::to_string(rank) + ")");
        for (int64_t d : spec_.outShape)
            if (d < 0) throw KernelError("negative output dimension " + shapeToString(spec_.outShape));
        ctx.setOutput(0, x.dtype, spec_.outShape);
        inShape_ = x.shape;
        axes_.clear();
        empty_ = x.numel() == 0 || elementCount(spec_.outShape) == 0;
        if (empty_) return;
        for (int d = rank - 1; d >= 0; --d) {
            if (spec_.scales[static_cast<size_t>(d)] <= 0.0)
                throw KernelError("scale of axis " + std::to_string(d) + " must be > 0");
            AxisTaps<Acc> t = buildTaps<Acc>(spec_, d, x.shape[d], spec_.outShape[d]);
            if (!isIdentity(t)) axes_.push_back(std::move(t));
        }
        // Intermediate sizes of the separable passes (innermost axis first).
        size_t maxIntermediate = 0;
        if (spec_.mode != Mode::Nearest) {
            Shape cur = x.shape;
            for (size_t p = 0; p + 1 < axes_.size(); ++p) {
                cur[axes_[p].axis] = axes_[p].out;
                maxIntermediate = std::max(maxIntermediate, static_cast<size_t>(elementCount(cur)));
            }
        }
        intermediate_ = maxIntermediate;
        ctx.requestScratch(2 * maxIntermediate * sizeof(Acc));
    }

    void eval(EvalContext& ctx) override
    {
        if (empty_) return;
        const T* x = ctx.input(0).data<T>();
        T* y = ctx.output(0).data<T>();
        if (axes_.empty()) {
            std::copy(x, x + ctx.input(0).numel(), y);
            return;
        }
        if (spec_.mode == Mode::Nearest) {
            gather(x, y);
            return;
        }
        Acc* bufs[2] = {static_cast<Acc*>(ctx.scratch()), static_cast<Acc*>(ctx.scratch()) + intermediate_};
        std::array<int64_t, kMaxRank> cur{};
        for (size_t d = 0; d < inShape_.size(); ++d) cur[d] = inShape_[d];
        const int rank = static_cast<int>(inShape_.size());
        const size_t passes = axes_.size();
        if (passes == 1) {
            pass(axes_[0], cur, rank, x, y);
            return;
        }
        pass(axes_[0], cur, rank, x, bufs[0]);
        for (size_t p = 1; p + 1 < passes; ++p) pass(axes_[p], cur, rank, bufs[(p - 1) % 2], bufs[p % 2]);
        pass(axes_[passes - 1], cur, rank, bufs[(passes - 2) % 2], y);
    }

private:
    // One separable pass along t.axis: [outer, in, inner] -> [outer, out, inner]; updates `cur`.
    template <typename Src, typename Dst>
    void pass(const AxisTaps<Acc>& t, std::array<int64_t, kMaxRank>& cur, int rank, const Src* src, Dst* dst) const
    {
        int64_t outer = 1, inner = 1;
        for (int d = 0; d < t.axis; ++d) outer *= cur[static_cast<size_t>(d)];
        for (int d = t.axis + 1; d < rank; ++d) inner *= cur[static_cast<size_t>(d)];
        const Dst extrapolation = convertValue<Dst>(static_cast<Acc>(spec_.extrapolation));
        const int taps = t.taps;
        for (int64_t o = 0; o < outer; ++o) {
            const Src* s = src + o * t.in * inner;
            Dst* drow = dst + o * t.out * inner;
            for (int64_t j = 0; j < t.out; ++j, drow += inner) {
                if (t.outside[static_cast<size_t>(j)]) {
                    std::fill(drow, drow + inner, extrapolation);
                    continue;
                }
                const int64_t* idx = &t.index[static_cast<size_t>(j * taps)];
                const Acc* w = &t.weight[static_cast<size_t>(j * taps)];
                for (int64_t i = 0; i < inner; ++i) {
                    Acc sum = 0;
                    for (int k = 0; k < taps; ++k) sum += w[k] * static_cast<Acc>(s[idx[k] * inner + i]);
                    drow[i] = convertValue<Dst>(sum);
                }
            }
        }
        cur[static_cast<size_t>(t.axis)] = t.out;
    }

    // Nearest: every output element copies one input element (or the extrapolation value).
    void gather(const T* x, T* y) const
    {
        const int rank = static_cast<int>(inShape_.size());
        // Per axis: the input offset (index * stride) of each output coordinate, or -1 if outside.
        std::array<const AxisTaps<Acc>*, kMaxRank> taps{};
        for (const auto& t : axes_) taps[static_cast<size_t>(t.axis)] = &t;
        std::array<int64_t, kMaxRank> inStride{}, idx{};
        int64_t stride = 1;
        for (int d = rank - 1; d >= 0; --d) {
            inStride[static_cast<size_t>(d)] = stride;
            stride *= inShape_[static_cast<size_t>(d)];
        }
        const T extrapolation = convertValue<T>(static_cast<Acc>(spec_.extrapolation));
        auto offsetOf = [&](int d, int64_t j, bool& outside) -> int64_t {
            const AxisTaps<Acc>* t = taps[static_cast<size_t>(d)];
            if (!t) return j * inStride[static_cast<size_t>(d)];
            if (t->outside[static_cast<size_t>(j)]) outside = true;
            return t->index[static_cast<size_t>(j)] * inStride[static_cast<size_t>(d)];
        };
        const int last = rank - 1;
        const int64_t width = spec_.outShape[static_cast<size_t>(last)];
        const int64_t rows = elementCount(spec_.outShape) / width;
        for (int64_t r = 0; r < rows; ++r) {
            bool outside = false;
            int64_t base = 0;
            for (int d = 0; d < last; ++d) base += offsetOf(d, idx[static_cast<size_t>(d)], outside);
            T* out = y + r * width;
            if (outside) std::fill(out, out + width, extrapolation);
            else {
                for (int64_t j = 0; j < width; ++j) {
                    bool o = false;
                    const int64_t off = offsetOf(last, j, o);
                    out[j] = o ? extrapolation : x[base + off];
                }
            }
            for (int d = last - 1; d >= 0; --d) {
                if (++idx[static_cast<size_t>(d)] < spec_.outShape[static_cast<size_t>(d)]) break;
                idx[static_cast<size_t>(d)] = 0;
            }
        }
    }

    ResizeSpec spec_;
    Shape inShape_;
    std::vector<AxisTaps<Acc>> axes_;   // non-identity axes, innermost first
    size_t intermediate_ = 0;           // elements of each of the two scratch buffers
    bool empty_ = false;
};

} // namespace joule::rt::resize
