// ArgMax and ArgMin: index (int64) of the largest / smallest value along `axis` (default 0).
// keepdims (default 1) keeps the axis as size 1; select_last_index (opset 12) picks the last of
// equal extremes instead of the first. The first NaN along the axis wins, as in NumPy.
#include "runtime/registry.h"

#include <cmath>
#include <type_traits>

namespace joule::rt {
namespace {

template <typename T, bool Max>
class ArgExtreme final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const int rank = x.rank();
        if (rank == 0) throw KernelError("input must have rank >= 1");
        int64_t axis = ctx.attrInt("axis", 0);
        if (axis < -rank || axis >= rank)
            throw KernelError("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
        if (axis < 0) axis += rank;
        selectLast_ = ctx.attrInt("select_last_index", 0) != 0;
        const bool keepdims = ctx.attrInt("keepdims", 1) != 0;
        outer_ = inner_ = 1;
        for (int d = 0; d < axis; ++d) outer_ *= x.shape[d];
        for (int d = static_cast<int>(axis) + 1; d < rank; ++d) inner_ *= x.shape[d];
        n_ = x.shape[axis];
        if (n_ == 0 && outer_ * inner_ > 0) throw KernelError("cannot take the arg extreme of an empty axis");
        Shape out = x.shape;
        if (keepdims) out[axis] = 1;
        else out.erase(out.begin() + axis);
        ctx.requestScratch(static_cast<size_t>(inner_) * sizeof(T));
        ctx.setOutput(0, DataType::Int64, out);
    }

    void eval(EvalContext& ctx) override
    {
        const T* x = ctx.input(0).data<T>();
        int64_t* y = ctx.output(0).data<int64_t>();
        T* best = static_cast<T*>(ctx.scratch());
        const int64_t m = inner_;
        for (int64_t o = 0; o < outer_; ++o) {
            const T* xo = x + o * n_ * m;
            int64_t* yo = y + o * m;
            for (int64_t i = 0; i < m; ++i) {
                best[i] = xo[i];
                yo[i] = 0;
            }
            for (int64_t k = 1; k < n_; ++k) {
                const T* row = xo + k * m;
                for (int64_t i = 0; i < m; ++i)
                    if (better(row[i], best[i])) {
                        best[i] = row[i];
                        yo[i] = k;
                    }
            }
        }
    }

private:
    bool better(T v, T best) const
    {
        if constexpr (std::is_floating_point_v<T>) {
            if (std::isnan(best)) return false;
            if (std::isnan(v)) return true;
        }
        if (selectLast_ && v == best) return true;
        return Max ? v > best : v < best;
    }

    bool selectLast_ = false;
    int64_t outer_ = 1, n_ = 1, inner_ = 1;
};

template <bool Max> void addArg(KernelRegistry& r, const char* op)
{
    r.add(op, "", {DataType::Float32}, make<ArgExtreme<float, Max>>);
    r.add(op, "", {DataType::Float64}, make<ArgExtreme<double, Max>>);
    r.add(op, "", {DataType::Int32}, make<ArgExtreme<int32_t, Max>>);
    r.add(op, "", {DataType::Int64}, make<ArgExtreme<int64_t, Max>>);
    r.add(op, "", {DataType::Int8}, make<ArgExtreme<int8_t, Max>>);
    r.add(op, "", {DataType::UInt8}, make<ArgExtreme<uint8_t, Max>>);
}

} // namespace

void register_arg_minmax(KernelRegistry& r)
{
    addArg<true>(r, "ArgMax");
    addArg<false>(r, "ArgMin");
}

} // namespace joule::rt
