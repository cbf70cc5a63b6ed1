// InstanceNormalization: y = scale[c] * (x - mean) / sqrt(var + epsilon) + B[c], with mean and
// (population) variance of each channel of each image over its spatial positions.
#include "runtime/registry.h"

#include <cmath>

namespace joule::rt {
namespace {

class InstanceNormalization final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        if (x.rank() < 2) throw KernelError("input must have shape [N, C, ...], got " + shapeToString(x.shape));
        type_ = x.dtype;
        epsilon_ = ctx.attrFloat("epsilon", 1e-5f);
        channels_ = x.shape[1];
        planes_ = x.shape[0] * channels_;
        size_ = elementCount(Shape(x.shape.begin() + 2, x.shape.end()));
        for (size_t i = 1; i <= 2; ++i) {
            if (ctx.input(i).numel() != channels_ || ctx.input(i).rank() != 1)
                throw KernelError(std::string(i == 1 ? "scale" : "B") + " must have shape [" + std::to_string(channels_) +
                                  "], got " + shapeToString(ctx.input(i).shape));
            if (ctx.input(i).dtype != type_) throw KernelError("scale and B must have the same type as the input");
        }
        ctx.setOutput(0, type_, x.shape);
    }

    void eval(EvalContext& ctx) override
    {
        if (type_ == DataType::Float64) run<double>(ctx);
        else run<float>(ctx);
    }

private:
    template <typename T>
    void run(EvalContext& ctx) const
    {
        const T* x = ctx.input(0).data<T>();
        const T* scale = ctx.input(1).data<T>();
        const T* bias = ctx.input(2).data<T>();
        T* y = ctx.output(0).data<T>();
        for (int64_t p = 0; p < planes_; ++p) {
            const T* xs = x + p * size_;
            T* ys = y + p * size_;
            double sum = 0.0, sq = 0.0;
            for (int64_t i = 0; i < size_; ++i) sum += static_cast<double>(xs[i]);
            const double mean = size_ ? sum / static_cast<double>(size_) : 0.0;
            for (int64_t i = 0; i < size_; ++i) {
                const double d = static_cast<double>(xs[i]) - mean;
                sq += d * d;
            }
            const double var = size_ ? sq / static_cast<double>(size_) : 0.0;
            const int64_t c = p % channels_;
            const double a = static_cast<double>(scale[c]) / std::sqrt(var + static_cast<double>(epsilon_));
            const T ta = static_cast<T>(a), tm = static_cast<T>(mean), tb = bias[c];
            for (int64_t i = 0; i < size_; ++i) ys[i] = (xs[i] - tm) * ta + tb;
        }
    }

    DataType type_ = DataType::Float32;
    float epsilon_ = 1e-5f;
    int64_t channels_ = 0, planes_ = 0, size_ = 0;
};

} // namespace

void register_instance_normalization(KernelRegistry& r)
{
    r.add("InstanceNormalization", "", {DataType::Float32, DataType::Float64}, make<InstanceNormalization>);
}

} // namespace joule::rt
