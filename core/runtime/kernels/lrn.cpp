// LRN: local response normalization across channels,
// y = x / (bias + alpha / size * square_sum) ^ beta, where square_sum at channel c sums x^2 over
// channels [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)] clipped to the valid range.
#include "runtime/registry.h"

#include <algorithm>
#include <cmath>

namespace joule::rt {
namespace {

class Lrn final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        if (x.rank() < 2) throw KernelError("input must have shape [N, C, ...], got " + shapeToString(x.shape));
        if (!ctx.hasAttr("size")) throw KernelError("attribute size is required");
        size_ = ctx.attrInt("size", 1);
        if (size_ < 1) throw KernelError("size must be positive");
        alpha_ = ctx.attrFloat("alpha", 1e-4f);
        beta_ = ctx.attrFloat("beta", 0.75f);
        bias_ = ctx.attrFloat("bias", 1.0f);
        type_ = x.dtype;
        batch_ = x.shape[0];
        channels_ = x.shape[1];
        spatial_ = elementCount(Shape(x.shape.begin() + 2, x.shape.end()));
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
        T* y = ctx.output(0).data<T>();
        const int64_t before = (size_ - 1) / 2, after = size_ - 1 - before;
        const double scale = static_cast<double>(alpha_) / static_cast<double>(size_);
        for (int64_t n = 0; n < batch_; ++n) {
            const T* xn = x + n * channels_ * spatial_;
            T* yn = y + n * channels_ * spatial_;
            for (int64_t c = 0; c < channels_; ++c) {
                const int64_t lo = std::max<int64_t>(0, c - before), hi = std::min(channels_ - 1, c + after);
                for (int64_t s = 0; s < spatial_; ++s) {
                    double sq = 0.0;
                    for (int64_t i = lo; i <= hi; ++i) {
                        const double v = static_cast<double>(xn[i * spatial_ + s]);
                        sq += v * v;
                    }
                    const double denom = std::pow(static_cast<double>(bias_) + scale * sq, static_cast<double>(beta_));
                    yn[c * spatial_ + s] = static_cast<T>(static_cast<double>(xn[c * spatial_ + s]) / denom);
                }
            }
        }
    }

    DataType type_ = DataType::Float32;
    int64_t size_ = 1, batch_ = 0, channels_ = 0, spatial_ = 0;
    float alpha_ = 1e-4f, beta_ = 0.75f, bias_ = 1.0f;
};

} // namespace

void register_lrn(KernelRegistry& r)
{
    r.add("LRN", "", {DataType::Float32, DataType::Float64}, make<Lrn>);
}

} // namespace joule::rt
