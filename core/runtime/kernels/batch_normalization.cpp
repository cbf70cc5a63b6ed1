// BatchNormalization: y = (x - mean) / sqrt(var + epsilon) * scale + B per channel (axis 1).
//
// Inference form for every opset. Opsets 7-8 with spatial=0 take per-activation statistics (scale etc.
// shaped like one sample, X.shape[1:]). With training_mode=1 (opset 14+) the statistics come from the
// batch itself and the optional outputs are the updated running mean and variance:
// running = input_running * momentum + batch_statistic * (1 - momentum), variance being the
// population variance. Opsets 9-13 training outputs (saved mean / variance) are not supported.
#include "runtime/registry.h"

#include <cmath>

namespace joule::rt {
namespace {

class BatchNormalization final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        if (x.rank() < 2) throw KernelError("input X must have shape [N, C, ...], got " + shapeToString(x.shape));
        type_ = x.dtype;
        epsilon_ = ctx.attrFloat("epsilon", 1e-5f);
        momentum_ = ctx.attrFloat("momentum", 0.9f);
        training_ = ctx.opset() >= 14 && ctx.attrInt("training_mode", 0) != 0;
        bool hasExtra = false;
        for (size_t i = 1; i < ctx.outputCount(); ++i) hasExtra = hasExtra || ctx.hasOutput(i);
        if (hasExtra && !training_) {
            if (ctx.opset() >= 14)
                throw KernelError("outputs running_mean / running_var are only produced with training_mode=1");
            throw UnsupportedError("training outputs (mean, var, saved_mean, saved_var) of BatchNormalization opset " +
                                   std::to_string(ctx.opset()) + " are not supported");
        }
        const bool perActivation = ctx.opset() < 9 && ctx.attrInt("spatial", 1) == 0;
        if (perActivation && training_) throw UnsupportedError("spatial=0 in training mode");
        batch_ = x.shape[0];
        params_ = perActivation ? elementCount(Shape(x.shape.begin() + 1, x.shape.end())) : x.shape[1];
        inner_ = params_ == 0 || batch_ == 0 ? 0 : elementCount(x.shape) / batch_ / params_;
        static const char* names[] = {"", "scale", "B", "input_mean", "input_var"};
        for (size_t i = 1; i <= 4; ++i) {
            const TensorInfo& p = ctx.input(i);
            if (p.numel() != params_)
                throw KernelError(std::string("input '") + names[i] + "' must have " + std::to_string(params_) +
                                  " values, got shape " + shapeToString(p.shape));
            if (p.dtype != type_) throw UnsupportedError(std::string("input '") + names[i] + "' of another type than X");
        }
        ctx.setOutput(0, type_, x.shape);
        if (training_) {
            for (size_t i = 1; i < 3 && i < ctx.outputCount(); ++i)
                if (ctx.hasOutput(i)) ctx.setOutput(i, type_, {params_});
        }
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
        const T* mean = ctx.input(3).data<T>();
        const T* var = ctx.input(4).data<T>();
        T* y = ctx.output(0).data<T>();
        const int64_t count = batch_ * inner_;
        for (int64_t c = 0; c < params_; ++c) {
            double mu = static_cast<double>(mean[c]), sigma2 = static_cast<double>(var[c]);
            if (training_) {
                double sum = 0.0, sq = 0.0;
                for (int64_t n = 0; n < batch_; ++n) {
                    const T* xs = x + (n * params_ + c) * inner_;
                    for (int64_t i = 0; i < inner_; ++i) sum += static_cast<double>(xs[i]);
                }
                mu = count ? sum / static_cast<double>(count) : 0.0;
                for (int64_t n = 0; n < batch_; ++n) {
                    const T* xs = x + (n * params_ + c) * inner_;
                    for (int64_t i = 0; i < inner_; ++i) {
                        const double d = static_cast<double>(xs[i]) - mu;
                        sq += d * d;
                    }
                }
                sigma2 = count ? sq / static_cast<double>(count) : 0.0;
                const double m = momentum_;
                if (ctx.outputCount() > 1 && !ctx.output(1).empty())
                    ctx.output(1).data<T>()[c] = static_cast<T>(static_cast<double>(mean[c]) * m + mu * (1.0 - m));
                if (ctx.outputCount() > 2 && !ctx.output(2).empty())
                    ctx.output(2).data<T>()[c] = static_cast<T>(static_cast<double>(var[c]) * m + sigma2 * (1.0 - m));
            }
            const T a = static_cast<T>(static_cast<double>(scale[c]) / std::sqrt(sigma2 + static_cast<double>(epsilon_)));
            const T b = static_cast<T>(static_cast<double>(bias[c]) - mu * static_cast<double>(a));
            for (int64_t n = 0; n < batch_; ++n) {
                const int64_t off = (n * params_ + c) * inner_;
                const T* xs = x + off;
                T* ys = y + off;
                for (int64_t i = 0; i < inner_; ++i) ys[i] = xs[i] * a + b;
            }
        }
    }

    DataType type_ = DataType::Float32;
    float epsilon_ = 1e-5f, momentum_ = 0.9f;
    bool training_ = false;
    int64_t batch_ = 0, params_ = 0, inner_ = 0;
};

} // namespace

void register_batch_normalization(KernelRegistry& r)
{
    r.add("BatchNormalization", "", {DataType::Float32, DataType::Float64}, make<BatchNormalization>);
}

} // namespace joule::rt
