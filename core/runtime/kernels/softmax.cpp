// Softmax, LogSoftmax and Hardmax: one template over how a slice along the axis is normalised.
//
// Opset < 13 coerces the input to 2-D at `axis` (default 1): rows are the dims before it, the
// slice is everything from it on. Opset >= 13 normalises along `axis` alone (default -1).
// The tensor is viewed as [outer, n, inner] and each of the outer*inner slices of length n is
// normalised: softmax = exp(x - max) / sum, logsoftmax = (x - max) - log(sum), hardmax = one-hot of
// the first maximum.
#include "runtime/registry.h"

#include <algorithm>
#include <cmath>

namespace joule::rt {
namespace {

enum class Normalise { Softmax, LogSoftmax, Hardmax };

template <typename T, Normalise N>
class SoftmaxFamily final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const int rank = x.rank();
        const bool coerce2d = ctx.opset() < 13;
        int64_t axis = ctx.attrInt("axis", coerce2d ? 1 : -1);
        if (rank == 0) throw KernelError("input must have rank >= 1");
        if (axis < -rank || axis >= rank)
            throw KernelError("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
        if (axis < 0) axis += rank;
        outer_ = 1;
        for (int d = 0; d < axis; ++d) outer_ *= x.shape[d];
        if (coerce2d) {
            n_ = 1;
            for (int d = static_cast<int>(axis); d < rank; ++d) n_ *= x.shape[d];
            inner_ = 1;
        } else {
            n_ = x.shape[axis];
            inner_ = 1;
            for (int d = static_cast<int>(axis) + 1; d < rank; ++d) inner_ *= x.shape[d];
        }
        if (inner_ > 1) ctx.requestScratch(2 * static_cast<size_t>(inner_) * sizeof(T));
        ctx.setOutput(0, x.dtype, x.shape);
    }

    void eval(EvalContext& ctx) override
    {
        const T* x = ctx.input(0).data<T>();
        T* y = ctx.output(0).data<T>();
        if (n_ == 0) return;
        if (inner_ == 1) {
            for (int64_t o = 0; o < outer_; ++o) contiguous(x + o * n_, y + o * n_);
            return;
        }
        T* a = static_cast<T*>(ctx.scratch());
        T* b = a + inner_;
        for (int64_t o = 0; o < outer_; ++o) strided(x + o * n_ * inner_, y + o * n_ * inner_, a, b);
    }

private:
    void contiguous(const T* x, T* y) const
    {
        if constexpr (N == Normalise::Hardmax) {
            int64_t best = 0;
            for (int64_t i = 1; i < n_; ++i)
                if (x[i] > x[best]) best = i;
            for (int64_t i = 0; i < n_; ++i) y[i] = T(0);
            y[best] = T(1);
        } else {
            T mx = x[0];
            for (int64_t i = 1; i < n_; ++i) mx = std::max(mx, x[i]);
            T sum = 0;
            if constexpr (N == Normalise::Softmax) {
                for (int64_t i = 0; i < n_; ++i) {
                    y[i] = std::exp(x[i] - mx);
                    sum += y[i];
                }
                const T inv = T(1) / sum;
                for (int64_t i = 0; i < n_; ++i) y[i] *= inv;
            } else {
                for (int64_t i = 0; i < n_; ++i) sum += std::exp(x[i] - mx);
                const T logSum = std::log(sum);
                for (int64_t i = 0; i < n_; ++i) y[i] = (x[i] - mx) - logSum;
            }
        }
    }

    // The slice of column i is x[k * inner_ + i], k < n_. `a` and `b` hold inner_ values each.
    void strided(const T* x, T* y, T* a, T* b) const
    {
        const int64_t m = inner_;
        for (int64_t i = 0; i < m; ++i) a[i] = x[i];
        if constexpr (N == Normalise::Hardmax) {
            for (int64_t i = 0; i < m; ++i) b[i] = 0;   // index of the first maximum, as T
            for (int64_t k = 1; k < n_; ++k)
                for (int64_t i = 0; i < m; ++i)
                    if (x[k * m + i] > a[i]) { a[i] = x[k * m + i]; b[i] = static_cast<T>(k); }
            for (int64_t k = 0; k < n_; ++k)
                for (int64_t i = 0; i < m; ++i) y[k * m + i] = static_cast<T>(static_cast<int64_t>(b[i]) == k);
        } else {
            for (int64_t k = 1; k < n_; ++k)
                for (int64_t i = 0; i < m; ++i) a[i] = std::max(a[i], x[k * m + i]);
            for (int64_t i = 0; i < m; ++i) b[i] = 0;
            if constexpr (N == Normalise::Softmax) {
                for (int64_t k = 0; k < n_; ++k)
                    for (int64_t i = 0; i < m; ++i) {
                        const T e = std::exp(x[k * m + i] - a[i]);
                        y[k * m + i] = e;
                        b[i] += e;
                    }
                for (int64_t i = 0; i < m; ++i) b[i] = T(1) / b[i];
                for (int64_t k = 0; k < n_; ++k)
                    for (int64_t i = 0; i < m; ++i) y[k * m + i] *= b[i];
            } else {
                for (int64_t k = 0; k < n_; ++k)
                    for (int64_t i = 0; i < m; ++i) b[i] += std::exp(x[k * m + i] - a[i]);
                for (int64_t i = 0; i < m; ++i) b[i] = std::log(b[i]);
                for (int64_t k = 0; k < n_; ++k)
                    for (int64_t i = 0; i < m; ++i) y[k * m + i] = (x[k * m + i] - a[i]) - b[i];
            }
        }
    }

    int64_t outer_ = 1, n_ = 1, inner_ = 1;
};

template <Normalise N> void addBoth(KernelRegistry& r, const char* op)
{
    r.add(op, "", {DataType::Float32}, make<SoftmaxFamily<float, N>>);
    r.add(op, "", {DataType::Float64}, make<SoftmaxFamily<double, N>>);
}

} // namespace

void register_softmax(KernelRegistry& r)
{
    addBoth<Normalise::Softmax>(r, "Softmax");
    addBoth<Normalise::LogSoftmax>(r, "LogSoftmax");
    addBoth<Normalise::Hardmax>(r, "Hardmax");
}

} // namespace joule::rt
