// QLinearConv (opset 10): quantized convolution.
//   acc = conv(x - x_zero_point, w - w_zero_point) + B                     (int32)
//   y   = saturate(y_zero_point + round(acc * x_scale * w_scale[c] / y_scale))
// with the fixed-point requantization of runtime/quant_math.h. w_scale / w_zero_point are per
// tensor or per output channel; y's type is y_zero_point's. B (optional) is int32 with scale
// x_scale * w_scale and zero point 0. Scales and zero points must be known while preparing.
// Registered a second time in domain "ai.joule", where the attributes activation_min /
// activation_max clamp y (a fused Relu or Clip; see quant_activation.h).
#include "runtime/kernels/int_conv.h"
#include "runtime/kernels/int_conv_direct.h"
#include "runtime/kernels/quant_activation.h"
#include "runtime/quant_math.h"
#include "runtime/registry.h"

namespace joule::rt {
namespace {

class QLinearConv final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const TensorInfo& w = ctx.input(3);
        if (!intgemm::isInt8Type(x.dtype) || !intgemm::isInt8Type(w.dtype))
            throw UnsupportedError(std::string("x and w must be int8 or uint8, got ") + dataTypeName(x.dtype) + " and " +
                                   dataTypeName(w.dtype));
        g_ = intconv::convGeometry(ctx, x.shape, w.shape);
        xType_ = x.dtype;
        wType_ = w.dtype;
        const float sx = intgemm::readScale(ctx, 1, 0, "x_scale")[0];
        xZero_ = intgemm::readZeroPoint(ctx, 2, 0, "x_zero_point").at(0);
        const std::vector<float> sw = intgemm::readScale(ctx, 4, g_.outC, "w_scale");
        wZero_ = intgemm::readZeroPoint(ctx, 5, g_.outC, "w_zero_point");
        const float sy = intgemm::readScale(ctx, 6, 0, "y_scale")[0];
        yZero_ = intgemm::readZeroPoint(ctx, 7, 0, "y_zero_point").at(0);
        yType_ = ctx.hasInput(7) ? ctx.input(7).dtype : x.dtype;
        if (!intgemm::isInt8Type(yType_)) throw UnsupportedError("y_zero_point must be int8 or uint8");
        clamp_ = readQuantClamp(ctx, yType_);
        if (ctx.hasInput(8)) {
            const TensorInfo& b = ctx.input(8);
            if (b.dtype != DataType::Int32) throw KernelError("bias B must be int32");
            if (b.numel() != g_.outC) throw KernelError("bias B must have one value per output channel (" + std::to_string(g_.outC) + ")");
        }
        requant_.clear();
        for (float s : sw)
            requant_.push_back(Requantizer::fromReal(static_cast<double>(sx) * static_cast<double>(s) / static_cast<double>(sy)));
        const Tensor* wConst = ctx.constantInput(3);
        const Tensor* bConst = ctx.hasInput(8) ? ctx.constantInput(8) : nullptr;
        direct_ = wConst && (!ctx.hasInput(8) || bConst) && intconv::DirectConv::cpuSupported() &&
                  intconv::DirectConv::fits(g_, wType_, wZero_);
        if (direct_) {
            directConv_.prepare(g_, wConst->data<int8_t>(), bConst ? bConst->data<int32_t>() : nullptr, xType_, xZero_,
                                requant_, yZero_, clamp_);
            ctx.requestScratch(directConv_.scratchBytes());
            ctx.setOutput(0, yType_, g_.outShape);
            return;
        }
        const int64_t elems = weights_.prepare(ctx, 3, g_, wType_, wZero_);
        ctx.requestScratch(static_cast<size_t>(elems) * sizeof(int16_t));
        ctx.setOutput(0, yType_, g_.outShape);
    }

    void eval(EvalContext& ctx) override
    {
        if (direct_) {
            directConv_.run(ctx.input(0).raw(), ctx.output(0).raw(), yType_, ctx.scratch(), ctx.threads());
            return;
        }
        if (yType_ == DataType::UInt8) run<uint8_t>(ctx);
        else run<int8_t>(ctx);
    }

private:
    template <typename Y> void run(EvalContext& ctx)
    {
        int16_t* scratch = static_cast<int16_t*>(ctx.scratch());
        const int16_t* w = weights_.get(ctx, scratch);
        const int32_t* bias = ctx.hasInput(8) ? ctx.input(8).data<int32_t>() : nullptr;
        Y* y = ctx.output(0).data<Y>();
        const int64_t C = g_.outC, P = g_.outPlane();
        const Requantizer* rq = requant_.data();
        const bool perChannel = requant_.size() > 1;
        const int32_t zp = yZero_;
        const QuantClamp clamp = clamp_;
        intconv::runConv(ctx.threads(), ctx.input(0).raw(), xType_, xZero_, g_, w, scratch,
                         [=](int64_t n, int64_t co, int64_t p, int32_t acc) {
                             if (bias) acc += bias[co];
                             y[(n * C + co) * P + p] = static_cast<Y>(clamp.apply(rq[perChannel ? co : 0].apply(acc) + zp));
                         });
    }

    intconv::IntConvGeometry g_;
    DataType xType_ = DataType::UInt8, wType_ = DataType::UInt8, yType_ = DataType::UInt8;
    int32_t xZero_ = 0, yZero_ = 0;
    QuantClamp clamp_;
    intgemm::ZeroPoint wZero_;
    std::vector<Requantizer> requant_;   // per output channel, or one
    intconv::PackedConvWeights weights_;
    bool direct_ = false;   // AVX-512 VNNI direct convolution (int_conv_direct.h)
    intconv::DirectConv directConv_;
};

} // namespace

void register_qlinear_conv(KernelRegistry& r)
{
    r.add("QLinearConv", "", {DataType::UInt8, DataType::Int8}, make<QLinearConv>);
    r.add("QLinearConv", "ai.joule", {DataType::UInt8, DataType::Int8}, make<QLinearConv>);
}

} // namespace joule::rt
