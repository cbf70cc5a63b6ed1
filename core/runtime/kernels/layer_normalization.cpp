// LayerNormalization (opset 17): normalizes X over the axes [axis, rank): y = (x - mean) * invStdDev *
// Scale + B, invStdDev = 1 / sqrt(var + epsilon) (population variance). Scale and the optional B
// broadcast to X.shape[axis:]. Optional outputs Mean and InvStdDev have shape X.shape[:axis] followed
// by ones; they are float32 (stash_type 1), statistics are accumulated in double.
#include "runtime/registry.h"

#include <cmath>

namespace joule::rt {
namespace {

class LayerNormalization final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        type_ = x.dtype;
        const int rank = x.rank();
        int64_t axis = ctx.attrInt("axis", -1);
        if (axis < -rank || axis >= rank)
            throw KernelError("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
        if (axis < 0) axis += rank;
        if (ctx.attrInt("stash_type", 1) != 1) throw UnsupportedError("stash_type other than 1 (float32)");
        epsilon_ = ctx.attrFloat("epsilon", 1e-5f);
        const Shape normalized(x.shape.begin() + axis, x.shape.end());
        inner_ = elementCount(normalized);
        outer_ = elementCount(Shape(x.shape.begin(), x.shape.begin() + axis));
        buildIndex(ctx, 1, "Scale", normalized, scaleIndex_);
        hasBias_ = ctx.hasInput(2);
        if (hasBias_) buildIndex(ctx, 2, "B", normalized, biasIndex_);
        ctx.setOutput(0, type_, x.shape);
        Shape stats(x.shape.begin(), x.shape.begin() + axis);
        stats.resize(static_cast<size_t>(rank), 1);
        for (size_t i = 1; i < 3; ++i)
            if (ctx.hasOutput(i)) ctx.setOutput(i, DataType::Float32, stats);
    }

    void eval(EvalContext& ctx) override
    {
        if (type_ == DataType::Float64) run<double>(ctx);
        else run<float>(ctx);
    }

private:
    // index[i] = element of input `which` (broadcast to `normalized`) used at normalized position i.
    static void buildIndex(PrepareContext& ctx, size_t which, const char* name, const Shape& normalized,
                           std::vector<int64_t>& index)
    {
        const TensorInfo& p = ctx.input(which);
        if (p.dtype != ctx.input(0).dtype) throw KernelError(std::string(name) + " must have the same type as X");
        if (p.shape.size() > normalized.size())
            throw KernelError(std::string(name) + " of shape " + shapeToString(p.shape) +
                              " cannot be broadcast to the normalized shape " + shapeToString(normalized));
        const size_t lead = normalized.size() - p.shape.size();
        std::vector<int64_t> strides(normalized.size(), 0);
        int64_t stride = 1;
        for (size_t d = normalized.size(); d-- > lead;) {
            const int64_t dim = p.shape[d - lead];
            if (dim != 1 && dim != normalized[d])
                throw KernelError(std::string(name) + " of shape " + shapeToString(p.shape) +
                                  " cannot be broadcast to the normalized shape " + shapeToString(normalized));
            strides[d] = dim == 1 ? 0 : stride;
            stride *= dim;
        }
        const int64_t n = elementCount(normalized);
        index.assign(static_cast<size_t>(n), 0);
        for (int64_t i = 0; i < n; ++i) {
            int64_t rem = i, off = 0;
            for (size_t d = normalized.size(); d-- > 0;) {
                off += rem % normalized[d] * strides[d];
                rem /= normalized[d];
            }
            index[static_cast<size_t>(i)] = off;
        }
    }

    template <typename T>
    void run(EvalContext& ctx) const
    {
        const T* x = ctx.input(0).data<T>();
        const T* scale = ctx.input(1).data<T>();
        const T* bias = hasBias_ ? ctx.input(2).data<T>() : nullptr;
        T* y = ctx.output(0).data<T>();
        float* meanOut = ctx.outputCount() > 1 && !ctx.output(1).empty() ? ctx.output(1).data<float>() : nullptr;
        float* invOut = ctx.outputCount() > 2 && !ctx.output(2).empty() ? ctx.output(2).data<float>() : nullptr;
        for (int64_t o = 0; o < outer_; ++o) {
            const T* xs = x + o * inner_;
            T* ys = y + o * inner_;
            double sum = 0.0;
            for (int64_t i = 0; i < inner_; ++i) sum += static_cast<double>(xs[i]);
            const double mean = inner_ ? sum / static_cast<double>(inner_) : 0.0;
            double sq = 0.0;
            for (int64_t i = 0; i < inner_; ++i) {
                const double d = static_cast<double>(xs[i]) - mean;
                sq += d * d;
            }
            const double var = inner_ ? sq / static_cast<double>(inner_) : 0.0;
            const double inv = 1.0 / std::sqrt(var + static_cast<double>(epsilon_));
            const T m = static_cast<T>(mean), s = static_cast<T>(inv);
            for (int64_t i = 0; i < inner_; ++i) {
                T v = (xs[i] - m) * s * scale[scaleIndex_[static_cast<size_t>(i)]];
                if (bias) v += bias[biasIndex_[static_cast<size_t>(i)]];
                ys[i] = v;
            }
            if (meanOut) meanOut[o] = static_cast<float>(mean);
            if (invOut) invOut[o] = static_cast<float>(inv);
        }
    }

    DataType type_ = DataType::Float32;
    float epsilon_ = 1e-5f;
    int64_t inner_ = 0, outer_ = 0;
    bool hasBias_ = false;
    std::vector<int64_t> scaleIndex_, biasIndex_;
};

} // namespace

void register_layer_normalization(KernelRegistry& r)
{
    r.add("LayerNormalization", "", {DataType::Float32, DataType::Float64}, make<LayerNormalization>);
}

} // namespace joule::rt
