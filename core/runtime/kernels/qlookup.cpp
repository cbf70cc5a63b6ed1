// QLookup ("ai.joule"), QLinearLeakyRelu and QLinearSigmoid (com.microsoft): an elementwise
// function of one 8-bit tensor through a 256-entry table built in prepare() (quant_lookup.h).
// Inputs: X, X_scale, X_zero_point (optional), Y_scale, Y_zero_point (optional), all per tensor and
// known while preparing; X and Y share one type (uint8 or int8).
//
// QLookup's attribute `function` names the float op: Relu, Clip (Float attributes `min`, `max`,
// default unbounded), LeakyRelu (`alpha`, default 0.01), Sigmoid, Tanh, HardSigmoid (`alpha` 0.2,
// `beta` 0.5) or HardSwish. QLinearLeakyRelu reads `alpha`; QLinearSigmoid has no attributes.
//
//   y[i] = table[x[i]],  table[c] = quantize(f(dequantize(c)))   (float32 steps; see quant_lookup.h)
#include "runtime/kernels/int_gemm.h"
#include "runtime/kernels/quant_lookup.h"
#include "runtime/registry.h"

namespace joule::rt {
namespace {

class QLookup final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        if (!intgemm::isInt8Type(x.dtype)) throw UnsupportedError(std::string("X must be int8 or uint8, got ") + dataTypeName(x.dtype));
        type_ = x.dtype;
        for (size_t zp : {size_t{2}, size_t{4}})
            if (ctx.hasInput(zp) && ctx.input(zp).dtype != type_) throw KernelError("zero points must have the type of X");
        const float sx = intgemm::readScale(ctx, 1, 0, "X_scale")[0];
        const int32_t zx = intgemm::readZeroPoint(ctx, 2, 0, "X_zero_point").at(0);
        const float sy = intgemm::readScale(ctx, 3, 0, "Y_scale")[0];
        const int32_t zy = intgemm::readZeroPoint(ctx, 4, 0, "Y_zero_point").at(0);
        const std::string& op = ctx.node().opType;
        const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
        const std::string name = op == "QLinearLeakyRelu" ? "LeakyRelu" : op == "QLinearSigmoid" ? "Sigmoid" : ctx.attrString("function", "");
        if (name.empty()) throw KernelError("attribute 'function' is required");
        const auto f = QuantLookupFunction::parse(name, ctx.attrFloat("alpha", nan), ctx.attrFloat("beta", nan),
                                                  ctx.attrFloat("min", -inf), ctx.attrFloat("max", inf));
        if (type_ == DataType::UInt8) {
            const auto t = buildQuantLookup<uint8_t, uint8_t>(f, sx, zx, sy, zy);
            std::copy(t.begin(), t.end(), table_.begin());
        } else {
            const auto t = buildQuantLookup<int8_t, int8_t>(f, sx, zx, sy, zy);
            for (size_t i = 0; i < 256; ++i) table_[i] = static_cast<uint8_t>(t[i]);
        }
        ctx.setOutput(0, type_, x.shape);
    }

    void eval(EvalContext& ctx) override
    {
        // int8 codes index the table shifted by 128: flipping the sign bit of the byte does that.
        lookupBytes(static_cast<const uint8_t*>(ctx.input(0).raw()), static_cast<uint8_t*>(ctx.output(0).raw()), ctx.output(0).numel(),
                    table_.data(), type_ == DataType::Int8 ? 0x80 : 0);
    }

private:
    DataType type_ = DataType::UInt8;
    std::array<uint8_t, 256> table_{};   // the output codes' bytes
};

} // namespace

void register_qlookup(KernelRegistry& r)
{
    r.add("QLookup", "ai.joule", {DataType::UInt8, DataType::Int8}, make<QLookup>);
    r.add("QLinearLeakyRelu", "com.microsoft", {DataType::UInt8, DataType::Int8}, make<QLookup>);
    r.add("QLinearSigmoid", "com.microsoft", {DataType::UInt8, DataType::Int8}, make<QLookup>);
}

} // namespace joule::rt
