// TopK: the K largest (or smallest, largest = 0) values along `axis` (default -1) and their int64
// indices. K is the attribute `k` before opset 10 and the 1-element input 1 from opset 10 on.
// Results are always sorted (also when sorted = 0, where the order is unspecified); equal values
// keep the lower index first. NaN counts as larger than every number.
#include "runtime/registry.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace joule::rt {
namespace {

template <typename T>
class TopK final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const int rank = x.rank();
        if (rank == 0) throw KernelError("input must have rank >= 1");
        int64_t axis = ctx.attrInt("axis", -1);
        if (axis < -rank || axis >= rank)
            throw KernelError("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
        if (axis < 0) axis += rank;
        if (ctx.opset() >= 10 || ctx.hasInput(1)) {
            const Tensor& kt = ctx.requireConstantInput(1);
            if (kt.numel() != 1) throw KernelError("input K must hold exactly one value, it has " + std::to_string(kt.numel()));
            k_ = kt.asInt64(0);
        } else {
            if (!ctx.hasAttr("k")) throw KernelError("attribute k is required before opset 10");
            k_ = ctx.attrInt("k", 0);
        }
        largest_ = ctx.attrInt("largest", 1) != 0;
        n_ = x.shape[axis];
        if (k_ < 0 || k_ > n_)
            throw KernelError("K = " + std::to_string(k_) + " must be in [0, " + std::to_string(n_) + "] (size of axis " +
                              std::to_string(axis) + ")");
        outer_ = inner_ = 1;
        for (int d = 0; d < axis; ++d) outer_ *= x.shape[d];
        for (int d = static_cast<int>(axis) + 1; d < rank; ++d) inner_ *= x.shape[d];
        Shape out = x.shape;
        out[axis] = k_;
        if (ctx.hasOutput(0)) ctx.setOutput(0, x.dtype, out);
        if (ctx.hasOutput(1)) ctx.setOutput(1, DataType::Int64, out);
        ctx.requestScratch(static_cast<size_t>(n_) * sizeof(int64_t));
    }

    void eval(EvalContext& ctx) override
    {
        const T* x = ctx.input(0).data<T>();
        Tensor& valuesOut = ctx.output(0);
        Tensor& indicesOut = ctx.output(1);
        T* values = valuesOut.empty() ? nullptr : valuesOut.data<T>();
        int64_t* indices = indicesOut.empty() ? nullptr : indicesOut.data<int64_t>();
        int64_t* order = static_cast<int64_t*>(ctx.scratch());
        if (k_ == 0) return;
        const int64_t m = inner_;
        for (int64_t o = 0; o < outer_; ++o) {
            for (int64_t i = 0; i < m; ++i) {
                const T* col = x + o * n_ * m + i;
                for (int64_t j = 0; j < n_; ++j) order[j] = j;
                auto before = [col, m, this](int64_t a, int64_t b) {
                    const T va = col[a * m], vb = col[b * m];
                    if constexpr (std::is_floating_point_v<T>) {
                        const bool na = std::isnan(va), nb = std::isnan(vb);
                        if (na || nb) {
                            if (na && nb) return a < b;
                            return largest_ ? na : nb;
                        }
                    }
                    if (va != vb) return largest_ ? va > vb : va < vb;
                    return a < b;
                };
                std::partial_sort(order, order + k_, order + n_, before);
                const int64_t base = o * k_ * m + i;
                for (int64_t j = 0; j < k_; ++j) {
                    if (values) values[base + j * m] = col[order[j] * m];
                    if (indices) indices[base + j * m] = order[j];
                }
            }
        }
    }

private:
    int64_t k_ = 0, n_ = 0, outer_ = 1, inner_ = 1;
    bool largest_ = true;
};

} // namespace

void register_topk(KernelRegistry& r)
{
    r.add("TopK", "", {DataType::Float32}, make<TopK<float>>);
    r.add("TopK", "", {DataType::Float64}, make<TopK<double>>);
    r.add("TopK", "", {DataType::Int32}, make<TopK<int32_t>>);
    r.add("TopK", "", {DataType::Int64}, make<TopK<int64_t>>);
    r.add("TopK", "", {DataType::Int8}, make<TopK<int8_t>>);
    r.add("TopK", "", {DataType::UInt8}, make<TopK<uint8_t>>);
}

} // namespace joule::rt
