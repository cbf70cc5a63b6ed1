// ConvInteger (opset 10): y = conv(x - x_zero_point, w - w_zero_point) in int32, with the Conv
// attributes (auto_pad, dilations, group, kernel_shape, pads, strides). x and w are int8 or uint8
// (independently); x_zero_point is per tensor, w_zero_point per tensor or per output channel.
// Padding contributes 0 (x is padded with its zero point).
#include "runtime/kernels/int_conv.h"
#include "runtime/registry.h"

namespace joule::rt {
namespace {

class ConvInteger final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const TensorInfo& w = ctx.input(1);
        if (!intgemm::isInt8Type(x.dtype) || !intgemm::isInt8Type(w.dtype))
            throw UnsupportedError(std::string("x and w must be int8 or uint8, got ") + dataTypeName(x.dtype) + " and " +
                                   dataTypeName(w.dtype));
        g_ = intconv::convGeometry(ctx, x.shape, w.shape);
        xType_ = x.dtype;
        wType_ = w.dtype;
        xZero_ = intgemm::readZeroPoint(ctx, 2, 0, "x_zero_point").at(0);
        wZero_ = intgemm::readZeroPoint(ctx, 3, g_.outC, "w_zero_point");
        const int64_t elems = weights_.prepare(ctx, 1, g_, wType_, wZero_);
        ctx.requestScratch(static_cast<size_t>(elems) * sizeof(int16_t));
        ctx.setOutput(0, DataType::Int32, g_.outShape);
    }

    void eval(EvalContext& ctx) override
    {
        int16_t* scratch = static_cast<int16_t*>(ctx.scratch());
        const int16_t* w = weights_.get(ctx, scratch);
        int32_t* y = ctx.output(0).data<int32_t>();
        const int64_t C = g_.outC, P = g_.outPlane();
        intconv::runConv(ctx.threads(), ctx.input(0).raw(), xType_, xZero_, g_, w, scratch,
                         [y, C, P](int64_t n, int64_t co, int64_t p, int32_t acc) { y[(n * C + co) * P + p] = acc; });
    }

private:
    intconv::IntConvGeometry g_;
    DataType xType_ = DataType::UInt8, wType_ = DataType::UInt8;
    int32_t xZero_ = 0;
    intgemm::ZeroPoint wZero_;
    intconv::PackedConvWeights weights_;
};

} // namespace

void register_conv_integer(KernelRegistry& r)
{
    r.add("ConvInteger", "", {DataType::UInt8, DataType::Int8}, make<ConvInteger>);
}

} // namespace joule::rt
