// Dropout. In inference (always before opset 12; from opset 12 unless input 2, training_mode, is
// true) y = x and the optional mask is all true. In training mode with ratio r > 0 each element is
// kept when u >= r, u uniform in [0, 1) from MT19937 seeded with the `seed` attribute and drawn as
// numpy's legacy random_sample (53-bit), so a given seed reproduces numpy's
// `np.random.seed(seed); np.random.uniform(0, 1, shape) >= r`; kept elements are scaled by
// 1 / (1 - r). Without a seed attribute the seed is drawn once per prepare. The mask is bool from
// opset 10, of x's type (0 / 1) before.
#include "runtime/kernels/elementwise.h"

#include <cstring>
#include <random>

namespace joule::rt {
namespace {

template <typename T>
class Dropout final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const int64_t opset = ctx.opset();
        inputsControl_ = opset >= 12;
        ratio_ = inputsControl_ ? 0.5f : ctx.attrFloat("ratio", 0.5f);
        if (inputsControl_ && ctx.hasInput(1) && ctx.input(1).numel() != 1)
            throw KernelError("ratio must be a scalar, got shape " + shapeToString(ctx.input(1).shape));
        if (inputsControl_ && ctx.hasInput(2) &&
            (ctx.input(2).dtype != DataType::Bool || ctx.input(2).numel() != 1))
            throw KernelError("training_mode must be a bool scalar");
        if (ctx.hasAttr("seed")) seed_ = static_cast<uint32_t>(ctx.attrInt("seed", 0));
        else seed_ = std::random_device{}();
        ctx.setOutput(0, ctx.input(0).dtype, ctx.input(0).shape);
        if (ctx.hasOutput(1)) ctx.setOutput(1, opset >= 10 ? DataType::Bool : ctx.input(0).dtype, ctx.input(0).shape);
    }

    void eval(EvalContext& ctx) override
    {
        const Tensor& xt = ctx.input(0);
        const T* x = xt.data<T>();
        T* y = ctx.output(0).data<T>();
        Tensor& maskTensor = ctx.output(1);
        const int64_t n = xt.numel();

        bool training = false;
        double ratio = ratio_;
        if (inputsControl_) {
            if (ctx.hasInput(2)) training = ctx.input(2).data<bool>()[0];
            if (ctx.hasInput(1)) ratio = ctx.input(1).asDouble(0);
        }
        if (training && (ratio < 0.0 || ratio >= 1.0))
            throw KernelError("ratio " + std::to_string(ratio) + " is outside [0, 1)");

        if (!training || ratio == 0.0) {
            if (n) std::memcpy(y, x, xt.bytes());
            if (!maskTensor.empty()) fillMask(maskTensor, n);
            return;
        }

        const T r = static_cast<T>(ratio);
        const T scale = T(1) / (T(1) - r);
        generator_.seed(seed_);
        for (int64_t i = 0; i < n; ++i) {
            const bool keep = uniform() >= static_cast<double>(r);
            y[i] = keep ? x[i] * scale : T(0);
            if (!maskTensor.empty()) setMask(maskTensor, i, keep);
        }
    }

private:
    // numpy's legacy random_sample: 53 random bits from two 32-bit draws.
    double uniform()
    {
        const uint32_t a = static_cast<uint32_t>(generator_()) >> 5;
        const uint32_t b = static_cast<uint32_t>(generator_()) >> 6;
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }

    static void setMask(Tensor& mask, int64_t i, bool keep)
    {
        if (mask.dtype() == DataType::Bool) mask.data<bool>()[i] = keep;
        else mask.data<T>()[i] = keep ? T(1) : T(0);
    }

    static void fillMask(Tensor& mask, int64_t n)
    {
        for (int64_t i = 0; i < n; ++i) setMask(mask, i, true);
    }

    bool inputsControl_ = true;
    float ratio_ = 0.5f;
    uint32_t seed_ = 0;
    std::mt19937 generator_;
};

} // namespace

void register_dropout(KernelRegistry& r)
{
    ew::addForTypes<Dropout>(r, "Dropout", ew::FloatTypes{});
}

} // namespace joule::rt
