// DynamicQuantizeLinear (opset 11): quantizes float32 x to uint8 with a scale and zero point taken
// from x's own range (extended to include 0):
//   y_scale = (max(0, max x) - min(0, min x)) / 255
//   y_zero_point = saturate(round_half_to_even(-min(0, min x) / y_scale))
//   y = saturate(round_half_to_even(x / y_scale) + y_zero_point)
// Outputs y, y_scale (float32 scalar) and y_zero_point (uint8 scalar). All-zero x gives scale 0,
// zero point 0 and y = 0.
#include "runtime/quant_math.h"
#include "runtime/registry.h"

#include <algorithm>

namespace joule::rt {
namespace {

class DynamicQuantizeLinear final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        ctx.setOutput(0, DataType::UInt8, x.shape);
        if (ctx.hasOutput(1)) ctx.setOutput(1, DataType::Float32, {});
        if (ctx.hasOutput(2)) ctx.setOutput(2, DataType::UInt8, {});
    }

    void eval(EvalContext& ctx) override
    {
        const Tensor& xt = ctx.input(0);
        const float* x = xt.data<float>();
        const int64_t n = xt.numel();
        float lo = 0.0f, hi = 0.0f;
        for (int64_t i = 0; i < n; ++i) {
            lo = std::min(lo, x[i]);
            hi = std::max(hi, x[i]);
        }
        const float scale = (hi - lo) / 255.0f;
        uint8_t zero = 0;
        uint8_t* y = ctx.output(0).data<uint8_t>();
        if (scale > 0.0f) {
            zero = quantizeValue<uint8_t>(-lo, scale, 0);
            for (int64_t i = 0; i < n; ++i) y[i] = quantizeValue<uint8_t>(x[i], scale, zero);
        } else {
            for (int64_t i = 0; i < n; ++i) y[i] = 0;
        }
        if (ctx.outputCount() > 1 && !ctx.output(1).empty()) *ctx.output(1).data<float>() = scale;
        if (ctx.outputCount() > 2 && !ctx.output(2).empty()) *ctx.output(2).data<uint8_t>() = zero;
    }
};

} // namespace

void register_dynamic_quantize_linear(KernelRegistry& r)
{
    r.add("DynamicQuantizeLinear", "", {DataType::Float32}, make<DynamicQuantizeLinear>);
}

} // namespace joule::rt
