// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceSumSquare,
// ReduceLogSum, ReduceLogSumExp: one template over the per-element map, the combine step and the
// final transform.
//
// Axes come from the `axes` attribute, or from input 1 from opset 13 (ReduceSum) / 18 (the others).
// Empty axes reduce everything unless noop_with_empty_axes is set (then the op is the identity).
// Dims of size 1 are dropped and neighbouring dims that are both reduced or both kept are merged
// in prepare(), so eval() walks the input once in memory order with an odometer over at most a
// handful of dims, accumulating into a scratch row of accumulators (double for floating types,
// int64 for integer sums and products).
#include "runtime/registry.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace joule::rt {
namespace {

enum class ReduceOp { Sum, Mean, Max, Min, Prod, L1, L2, SumSquare, LogSum, LogSumExp };

constexpr int kMaxDims = 16;

// Accumulator type: the element type for Max/Min, double for transcendental results and floats,
// int64 for integer sums and products.
template <typename T, ReduceOp Op> struct AccOf {
    using type = std::conditional_t<
        Op == ReduceOp::Max || Op == ReduceOp::Min, T,
        std::conditional_t<std::is_integral_v<T> && Op != ReduceOp::L2 && Op != ReduceOp::LogSum &&
                               Op != ReduceOp::LogSumExp,
                           int64_t, double>>;
};

template <typename T, ReduceOp Op>
class Reduce final : public Kernel {
    using Acc = typename AccOf<T, Op>::type;

public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const int rank = x.rank();
        const int64_t axesInputOpset = Op == ReduceOp::Sum ? 13 : 18;
        std::vector<int64_t> axes;
        if (ctx.hasInput(1)) {
            axes = ctx.requireConstantInput(1).toInt64Vector();
        } else if (ctx.opset() < axesInputOpset) {
            axes = ctx.attrInts("axes");
        }
        const bool noop = ctx.opset() >= axesInputOpset && ctx.attrInt("noop_with_empty_axes", 0) != 0;
        const bool keepdims = ctx.attrInt("keepdims", 1) != 0;

        identity_ = axes.empty() && noop;
        if (identity_) {
            ctx.setOutput(0, x.dtype, x.shape);
            return;
        }
        std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
        for (int64_t a : axes) {
            if (a < -rank || a >= rank)
                throw KernelError("axis " + std::to_string(a) + " out of range for rank " + std::to_string(rank));
            if (a < 0) a += rank;
            if (reduced[a]) throw KernelError("axis " + std::to_string(a) + " listed twice in axes");
            reduced[a] = true;
        }

        Shape out;
        count_ = 1;
        for (int d = 0; d < rank; ++d) {
            if (!reduced[d]) out.push_back(x.shape[d]);
            else {
                count_ *= x.shape[d];
                if (keepdims) out.push_back(1);
            }
        }
        ctx.setOutput(0, x.dtype, out);
        outCount_ = elementCount(out);
        inCount_ = x.numel();

        // Collapse: drop size-1 dims, merge runs of the same kind.
        ndims_ = 0;
        for (int d = 0; d < rank; ++d) {
            if (x.shape[d] == 1) continue;
            if (ndims_ > 0 && reducedDim_[ndims_ - 1] == reduced[d]) {
                dims_[ndims_ - 1] *= x.shape[d];
                continue;
            }
            if (ndims_ == kMaxDims) throw UnsupportedError("too many alternating reduced/kept dims");
            dims_[ndims_] = x.shape[d];
            reducedDim_[ndims_] = reduced[d];
            ++ndims_;
        }
        if (ndims_ == 0) {
            dims_[0] = 1;
            reducedDim_[0] = false;
            ndims_ = 1;
        }
        int64_t stride = 1;
        for (int d = ndims_ - 1; d >= 0; --d) {
            outStride_[d] = reducedDim_[d] ? 0 : stride;
            if (!reducedDim_[d]) stride *= dims_[d];
        }
        size_t scratch = static_cast<size_t>(outCount_) * sizeof(Acc);
        if constexpr (Op == ReduceOp::LogSumExp) scratch += static_cast<size_t>(outCount_) * sizeof(double);
        ctx.requestScratch(scratch);
    }

    void eval(EvalContext& ctx) override
    {
        const T* x = ctx.input(0).data<T>();
        T* y = ctx.output(0).data<T>();
        if (identity_) {
            std::memcpy(y, x, ctx.output(0).bytes());
            return;
        }
        if (outCount_ == 0) return;
        Acc* acc = static_cast<Acc*>(ctx.scratch());

        if constexpr (Op == ReduceOp::LogSumExp) {
            // Pass 1: per-output maximum (the shift that keeps exp() in range).
            double* shift = reinterpret_cast<double*>(acc + outCount_);
            for (int64_t o = 0; o < outCount_; ++o) shift[o] = -std::numeric_limits<double>::infinity();
            if (inCount_ > 0)
                walk(x,
                     [&](int64_t o, const T* p, int64_t n) {
                         double m = shift[o];
                         for (int64_t j = 0; j < n; ++j) m = std::max(m, static_cast<double>(p[j]));
                         shift[o] = m;
                     },
                     [&](int64_t o, const T* p, int64_t n) {
                         for (int64_t j = 0; j < n; ++j) shift[o + j] = std::max(shift[o + j], static_cast<double>(p[j]));
                     });
            for (int64_t o = 0; o < outCount_; ++o) {
                if (!std::isfinite(shift[o])) shift[o] = 0.0;
                acc[o] = 0.0;
            }
            if (inCount_ > 0)
                walk(x,
                     [&](int64_t o, const T* p, int64_t n) {
                         double s = acc[o];
                         const double m = shift[o];
                         for (int64_t j = 0; j < n; ++j) s += std::exp(static_cast<double>(p[j]) - m);
                         acc[o] = s;
                     },
                     [&](int64_t o, const T* p, int64_t n) {
                         for (int64_t j = 0; j < n; ++j) acc[o + j] += std::exp(static_cast<double>(p[j]) - shift[o + j]);
                     });
            for (int64_t o = 0; o < outCount_; ++o) y[o] = static_cast<T>(std::log(acc[o]) + shift[o]);
            return;
        } else {
            for (int64_t o = 0; o < outCount_; ++o) acc[o] = init();
            if (inCount_ > 0)
                walk(x,
                     [&](int64_t o, const T* p, int64_t n) {
                         Acc a = acc[o];
                         for (int64_t j = 0; j < n; ++j) a = combine(a, map(p[j]));
                         acc[o] = a;
                     },
                     [&](int64_t o, const T* p, int64_t n) {
                         Acc* a = acc + o;
                         for (int64_t j = 0; j < n; ++j) a[j] = combine(a[j], map(p[j]));
                     });
            for (int64_t o = 0; o < outCount_; ++o) y[o] = finish(acc[o]);
        }
    }

private:
    static Acc init()
    {
        if constexpr (Op == ReduceOp::Max) {
            if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
            else return std::numeric_limits<T>::lowest();
        } else if constexpr (Op == ReduceOp::Min) {
            if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
            else return std::numeric_limits<T>::max();
        } else if constexpr (Op == ReduceOp::Prod) {
            return Acc(1);
        } else {
            return Acc(0);
        }
    }

    static Acc map(T v)
    {
        if constexpr (Op == ReduceOp::Max || Op == ReduceOp::Min) return v;
        else if constexpr (Op == ReduceOp::L1) {
            const Acc a = static_cast<Acc>(v);
            return a < 0 ? -a : a;
        } else if constexpr (Op == ReduceOp::L2 || Op == ReduceOp::SumSquare) {
            const Acc a = static_cast<Acc>(v);
            return a * a;
        } else return static_cast<Acc>(v);
    }

    static Acc combine(Acc a, Acc b)
    {
        if constexpr (Op == ReduceOp::Max) return (b > a || b != b) ? b : a;   // NaN propagates
        else if constexpr (Op == ReduceOp::Min) return (b < a || b != b) ? b : a;
        else if constexpr (Op == ReduceOp::Prod) return a * b;
        else return a + b;
    }

    T finish(Acc a) const
    {
        if constexpr (Op == ReduceOp::Mean) {
            if constexpr (std::is_integral_v<T>) return count_ ? static_cast<T>(a / count_) : T(0);
            else return static_cast<T>(a / static_cast<double>(count_));
        } else if constexpr (Op == ReduceOp::L2) {
            return static_cast<T>(std::sqrt(a));
        } else if constexpr (Op == ReduceOp::LogSum) {
            return static_cast<T>(std::log(a));
        } else {
            return static_cast<T>(a);
        }
    }

    // Visits the input in memory order, one innermost row at a time: rowReduced(o, p, n) when the
    // innermost (collapsed) dim is reduced (all n values go to output o), rowKept(o, p, n) when it
    // is kept (value j goes to output o + j).
    template <typename RowReduced, typename RowKept>
    void walk(const T* x, RowReduced&& rowReduced, RowKept&& rowKept) const
    {
        const int last = ndims_ - 1;
        const int64_t inner = dims_[last];
        const bool innerReduced = reducedDim_[last];
        const int64_t rows = inCount_ / inner;
        std::array<int64_t, kMaxDims> idx{};
        int64_t outOff = 0;
        for (int64_t r = 0; r < rows; ++r) {
            if (innerReduced) rowReduced(outOff, x + r * inner, inner);
            else rowKept(outOff, x + r * inner, inner);
            for (int d = last - 1; d >= 0; --d) {
                outOff += outStride_[d];
                if (++idx[d] < dims_[d]) break;
                outOff -= outStride_[d] * dims_[d];
                idx[d] = 0;
            }
        }
    }

    bool identity_ = false;
    int64_t count_ = 1, outCount_ = 0, inCount_ = 0;
    int ndims_ = 0;
    std::array<int64_t, kMaxDims> dims_{};
    std::array<int64_t, kMaxDims> outStride_{};
    std::array<bool, kMaxDims> reducedDim_{};
};

template <ReduceOp Op> void addReduce(KernelRegistry& r, const char* op)
{
    r.add(op, "", {DataType::Float32}, make<Reduce<float, Op>>);
    r.add(op, "", {DataType::Float64}, make<Reduce<double, Op>>);
    r.add(op, "", {DataType::Int32}, make<Reduce<int32_t, Op>>);
    r.add(op, "", {DataType::Int64}, make<Reduce<int64_t, Op>>);
    r.add(op, "", {DataType::Int8}, make<Reduce<int8_t, Op>>);
    r.add(op, "", {DataType::UInt8}, make<Reduce<uint8_t, Op>>);
}

} // namespace

void register_reduce(KernelRegistry& r)
{
    addReduce<ReduceOp::Sum>(r, "ReduceSum");
    addReduce<ReduceOp::Mean>(r, "ReduceMean");
    addReduce<ReduceOp::Max>(r, "ReduceMax");
    addReduce<ReduceOp::Min>(r, "ReduceMin");
    addReduce<ReduceOp::Prod>(r, "ReduceProd");
    addReduce<ReduceOp::L1>(r, "ReduceL1");
    addReduce<ReduceOp::L2>(r, "ReduceL2");
    addReduce<ReduceOp::SumSquare>(r, "ReduceSumSquare");
    addReduce<ReduceOp::LogSum>(r, "ReduceLogSum");
    addReduce<ReduceOp::LogSumExp>(r, "ReduceLogSumExp");
}

} // namespace joule::rt
