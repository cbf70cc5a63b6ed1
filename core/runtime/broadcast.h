#pragma once
// Numpy-style (multidirectional) broadcasting, planned once in prepare() and walked in eval().
//
//   class Add : public Kernel {
//       BroadcastPlan<2> plan_;
//       void prepare(PrepareContext& ctx) override {
//           plan_.build({ctx.input(0).shape, ctx.input(1).shape});     // KernelError if incompatible
//           ctx.setOutput(0, ctx.input(0).dtype, plan_.outputShape());
//       }
//       void eval(EvalContext& ctx) override {
//           broadcastBinary(plan_, a, b, y, [](float x, float z) { return x + z; }, ctx.threads());
//       }
//   };
//
// The plan drops output dimensions of size 1 and merges neighbouring dimensions in which every
// input is either fully present or fully broadcast. Equal shapes therefore become one contiguous
// row, and a scalar (or all-ones) operand becomes one row with stride 0; the walkers below pick a
// specialised inner loop for each (contiguous / repeated) combination, so the common cases run as
// plain vectorisable loops. Walking allocates nothing. Header-only; joule::rt.

#include "runtime/kernel.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace joule::rt {

// The broadcast of two shapes (numpy rules); KernelError naming both shapes when incompatible.
inline Shape broadcastShapes(const Shape& a, const Shape& b)
{
    const size_t rank = std::max(a.size(), b.size());
    Shape out(rank, 1);
    for (size_t d = 0; d < rank; ++d) {
        const int64_t da = d + a.size() >= rank ? a[d + a.size() - rank] : 1;
        const int64_t db = d + b.size() >= rank ? b[d + b.size() - rank] : 1;
        if (da == db || db == 1) out[d] = da;
        else if (da == 1) out[d] = db;
        else
            throw KernelError("shapes " + shapeToString(a) + " and " + shapeToString(b) +
                              " cannot be broadcast together");
    }
    return out;
}

// Elements of the output processed per task when an elementwise loop is split across threads: a
// part (some microseconds of work) must outweigh handing it to a worker of the pool.
inline constexpr int64_t kElementwiseGrain = 1 << 15;

template <int N>
class BroadcastPlan {
public:
    static constexpr int kMaxRank = 16;

    // Plans the broadcast of N input shapes. Throws KernelError if they are incompatible and
    // UnsupportedError if more than kMaxRank dimensions remain after merging.
    void build(const std::array<Shape, N>& shapes)
    {
        Shape out;
        for (const Shape& s : shapes) out = broadcastShapes(out, s);
        build(shapes, out);
    }

    // As above, into a given output shape that every input must broadcast to (Expand, or the first
    // operand of a fold into a larger output).
    void build(const std::array<Shape, N>& shapes, const Shape& output)
    {
        for (const Shape& s : shapes)
            if (s.size() > output.size() || broadcastShapes(output, s) != output)
                throw KernelError("shape " + shapeToString(s) + " cannot be broadcast to " + shapeToString(output));
        out_ = output;
        count_ = elementCount(out_);

        // Per kept output dim: its size and, per input, whether it is present (1) or repeated (0).
        const size_t full = out_.size();
        int64_t dims[64];
        uint32_t kinds[64];
        int kept = 0;
        if (full > 64) throw UnsupportedError("tensors of rank above 64 are not supported");
        for (size_t d = 0; d < full; ++d) {
            if (out_[d] == 1) continue;
            uint32_t kind = 0;
            for (int k = 0; k < N; ++k) {
                const Shape& s = shapes[static_cast<size_t>(k)];
                const int64_t dk = d + s.size() >= full ? s[d + s.size() - full] : 1;
                if (dk == out_[d]) kind |= 1u << k;
            }
            if (kept > 0 && kinds[kept - 1] == kind) {
                dims[kept - 1] *= out_[d];
            } else {
                dims[kept] = out_[d];
                kinds[kept] = kind;
                ++kept;
            }
        }
        if (kept == 0) {   // every dim is 1 (or a scalar): one element
            dims[0] = 1;
            kinds[0] = (1u << N) - 1;
            kept = 1;
        }
        if (kept > kMaxRank)
            throw UnsupportedError("broadcast needs " + std::to_string(kept) + " dimensions after merging; at most " +
                                   std::to_string(kMaxRank) + " are supported");
        rank_ = kept;
        for (int d = 0; d < rank_; ++d) dims_[d] = dims[d];
        for (int k = 0; k < N; ++k) {
            int64_t stride = 1;
            for (int d = rank_ - 1; d >= 0; --d) {
                const bool present = (kinds[d] >> k) & 1u;
                strides_[k][d] = present ? stride : 0;
                if (present) stride *= dims_[d];
            }
        }
    }

    const Shape& outputShape() const { return out_; }
    int64_t outputCount() const { return count_; }
    // Merged dims (for tests and diagnostics).
    int rank() const { return rank_; }
    int64_t dim(int d) const { return dims_[d]; }
    int64_t stride(int input, int d) const { return strides_[input][d]; }
    int64_t rowLength() const { return dims_[rank_ - 1]; }
    // 1 when input k advances along a row, 0 when it repeats one element.
    int64_t rowStride(int k) const { return strides_[k][rank_ - 1]; }

    // Calls row(offsets, outOffset, length) for each run of consecutive output elements in
    // [begin, end) that lies in one row: offsets[k] is input k's element offset of the run's first
    // element; within the run input k advances by rowStride(k).
    template <typename Row>
    void forEachRow(int64_t begin, int64_t end, Row&& row) const
    {
        if (begin >= end) return;
        const int inner = rank_ - 1;
        const int64_t len = dims_[inner];
        int64_t idx[kMaxRank];
        int64_t base[N];
        int64_t rowIndex = begin / len;
        int64_t col = begin % len;
        for (int k = 0; k < N; ++k) base[k] = 0;
        for (int d = inner - 1; d >= 0; --d) {
            idx[d] = rowIndex % dims_[d];
            rowIndex /= dims_[d];
            for (int k = 0; k < N; ++k) base[k] += idx[d] * strides_[k][d];
        }
        int64_t pos = begin;
        int64_t off[N];
        while (pos < end) {
            const int64_t n = std::min(len - col, end - pos);
            for (int k = 0; k < N; ++k) off[k] = base[k] + col * strides_[k][inner];
            row(static_cast<const int64_t*>(off), pos, n);
            pos += n;
            col = 0;
            for (int d = inner - 1; d >= 0; --d) {
                for (int k = 0; k < N; ++k) base[k] += strides_[k][d];
                if (++idx[d] < dims_[d]) break;
                for (int k = 0; k < N; ++k) base[k] -= strides_[k][d] * dims_[d];
                idx[d] = 0;
            }
        }
    }

private:
    Shape out_;
    int64_t count_ = 0;
    int rank_ = 1;
    int64_t dims_[kMaxRank] = {1};
    int64_t strides_[N][kMaxRank] = {};
};

namespace detail {

template <bool SA, bool SB, typename A, typename B, typename Y, typename Op>
inline void binaryRun(const A* a, const B* b, Y* y, int64_t n, Op& op)
{
    if constexpr (SA && SB) {
        for (int64_t i = 0; i < n; ++i) y[i] = op(a[i], b[i]);
    } else if constexpr (SA) {
        const B bv = *b;
        for (int64_t i = 0; i < n; ++i) y[i] = op(a[i], bv);
    } else if constexpr (SB) {
        const A av = *a;
        for (int64_t i = 0; i < n; ++i) y[i] = op(av, b[i]);
    } else {
        const Y v = op(*a, *b);
        for (int64_t i = 0; i < n; ++i) y[i] = v;
    }
}

template <bool SA, bool SB, typename A, typename B, typename Y, typename Op>
inline void binaryRange(const BroadcastPlan<2>& plan, const A* a, const B* b, Y* y, Op& op, int64_t begin, int64_t end)
{
    plan.forEachRow(begin, end, [&](const int64_t* off, int64_t o, int64_t n) {
        binaryRun<SA, SB>(a + off[0], b + off[1], y + o, n, op);
    });
}

template <typename A, typename B, typename Y, typename Op>
struct BinaryJob {
    const BroadcastPlan<2>& plan;
    const A* a;
    const B* b;
    Y* y;
    Op& op;
    void operator()(int64_t begin, int64_t end) const
    {
        const bool sa = plan.rowStride(0) != 0, sb = plan.rowStride(1) != 0;
        if (sa && sb) binaryRange<true, true>(plan, a, b, y, op, begin, end);
        else if (sa) binaryRange<true, false>(plan, a, b, y, op, begin, end);
        else if (sb) binaryRange<false, true>(plan, a, b, y, op, begin, end);
        else binaryRange<false, false>(plan, a, b, y, op, begin, end);
    }
};

// Runs job over [0, n), split across threads when the tensor is large. The std::function holds a
// single reference, which fits its small-object buffer, so nothing is allocated.
template <typename Job>
inline void runSplit(const Job& job, int64_t n, int threads)
{
    if (threads <= 1 || n < 2 * kElementwiseGrain) {
        job(0, n);
        return;
    }
    parallelFor(threads, n, kElementwiseGrain, [&job](int64_t b, int64_t e) { job(b, e); });
}

} // namespace detail

// y[i] = op(a[.], b[.]) over the plan's output. `op` is called concurrently from several threads
// when the output is large, so it must not modify shared state.
template <typename A, typename B, typename Y, typename Op>
void broadcastBinary(const BroadcastPlan<2>& plan, const A* a, const B* b, Y* y, Op op, int threads)
{
    const detail::BinaryJob<A, B, Y, Op> job{plan, a, b, y, op};
    detail::runSplit(job, plan.outputCount(), threads);
}

// y[i] = op(a[.], b[.], c[.]) (Where, Clip with tensor bounds).
template <typename A, typename B, typename C, typename Y, typename Op>
void broadcastTernary(const BroadcastPlan<3>& plan, const A* a, const B* b, const C* c, Y* y, Op op, int threads)
{
    const int64_t sa = plan.rowStride(0), sb = plan.rowStride(1), sc = plan.rowStride(2);
    auto job = [&](int64_t begin, int64_t end) {
        plan.forEachRow(begin, end, [&](const int64_t* off, int64_t o, int64_t n) {
            const A* pa = a + off[0];
            const B* pb = b + off[1];
            const C* pc = c + off[2];
            Y* py = y + o;
            if (sa && sb && sc) {
                for (int64_t i = 0; i < n; ++i) py[i] = op(pa[i], pb[i], pc[i]);
            } else {
                for (int64_t i = 0; i < n; ++i) py[i] = op(pa[i * sa], pb[i * sb], pc[i * sc]);
            }
        });
    };
    detail::runSplit(job, plan.outputCount(), threads);
}

// y[i] = x[.]: materialises a broadcast (Expand; the first operand of variadic ops).
template <typename T>
void broadcastCopy(const BroadcastPlan<1>& plan, const T* x, T* y, int threads)
{
    const int64_t sx = plan.rowStride(0);
    auto job = [&](int64_t begin, int64_t end) {
        plan.forEachRow(begin, end, [&](const int64_t* off, int64_t o, int64_t n) {
            const T* px = x + off[0];
            T* py = y + o;
            if (sx) std::copy(px, px + n, py);
            else std::fill(py, py + n, *px);
        });
    };
    detail::runSplit(job, plan.outputCount(), threads);
}

// y[i] = op(x[i]) over n contiguous elements, split across threads when large.
template <typename X, typename Y, typename Op>
void mapUnary(const X* x, Y* y, int64_t n, Op op, int threads)
{
    auto job = [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) y[i] = op(x[i]);
    };
    detail::runSplit(job, n, threads);
}

} // namespace joule::rt
