// QClamp ("ai.joule"): a Relu or Clip on 8-bit codes whose scale and zero point stay the same,
//   y = min(max(x, activation_min), activation_max)
// with the Int attributes of quant_activation.h (defaults: the type's range). The QDQ lowering
// writes activation_min = quantize(lo), activation_max = quantize(hi) (Relu: lo = 0); quantizing is
// monotone and dequantize -> quantize returns every code unchanged, so this equals DQ -> Clip -> Q.
#include "runtime/kernels/int_gemm.h"
#include "runtime/kernels/quant_activation.h"
#include "runtime/registry.h"

namespace joule::rt {
namespace {

class QClamp final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        if (!intgemm::isInt8Type(x.dtype)) throw UnsupportedError(std::string("X must be int8 or uint8, got ") + dataTypeName(x.dtype));
        type_ = x.dtype;
        clamp_ = readQuantClamp(ctx, type_);
        ctx.setOutput(0, type_, x.shape);
    }

    void eval(EvalContext& ctx) override
    {
        if (type_ == DataType::UInt8) run<uint8_t>(ctx);
        else run<int8_t>(ctx);
    }

private:
    template <typename T> void run(EvalContext& ctx) const
    {
        const T* x = ctx.input(0).data<T>();
        T* y = ctx.output(0).data<T>();
        const T lo = static_cast<T>(clamp_.lo), hi = static_cast<T>(clamp_.hi);
        for (int64_t i = 0, n = ctx.output(0).numel(); i < n; ++i) y[i] = std::min(std::max(x[i], lo), hi);
    }

    DataType type_ = DataType::UInt8;
    QuantClamp clamp_;
};

} // namespace

void register_qclamp(KernelRegistry& r)
{
    r.add("QClamp", "ai.joule", {DataType::UInt8, DataType::Int8}, make<QClamp>);
}

} // namespace joule::rt
