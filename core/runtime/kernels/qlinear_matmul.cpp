// QLinearMatMul (opset 10): quantized numpy-style matrix product.
//   acc = (a - a_zero_point) x (b - b_zero_point)                  (int32)
//   y   = saturate(y_zero_point + round(acc * a_scale * b_scale / y_scale))
// with the fixed-point requantization of runtime/quant_math.h. a_scale/a_zero_point are per tensor
// or per row of a, b_scale/b_zero_point per tensor or per column of b; y is per tensor and its
// type (int8 / uint8) is y_zero_point's. Scales and zero points must be known while preparing.
#include "runtime/kernels/int_gemm.h"
#include "runtime/quant_math.h"
#include "runtime/registry.h"

namespace joule::rt {
namespace {

class QLinearMatMul final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        mm_.prepare(ctx, 0, 2, 3, 5);
        const int64_t M = mm_.shape.M, N = mm_.shape.N;
        const std::vector<float> sa = intgemm::readScale(ctx, 1, M, "a_scale");
        const std::vector<float> sb = intgemm::readScale(ctx, 4, N, "b_scale");
        const std::vector<float> sy = intgemm::readScale(ctx, 6, 0, "y_scale");
        const intgemm::ZeroPoint zy = intgemm::readZeroPoint(ctx, 7, 0, "y_zero_point");
        yZero_ = zy.at(0);
        yType_ = ctx.hasInput(7) ? ctx.input(7).dtype : DataType::UInt8;
        if (!intgemm::isInt8Type(yType_)) throw UnsupportedError("y_zero_point must be int8 or uint8");
        rowsOfA_ = static_cast<int64_t>(sa.size());
        colsOfB_ = static_cast<int64_t>(sb.size());
        requant_.clear();
        for (float a : sa)
            for (float b : sb)
                requant_.push_back(Requantizer::fromReal(static_cast<double>(a) * static_cast<double>(b) / static_cast<double>(sy[0])));
        ctx.setOutput(0, yType_, mm_.shape.out);
        ctx.requestScratch(mm_.scratchBytes);
    }

    void eval(EvalContext& ctx) override
    {
        if (yType_ == DataType::UInt8) run<uint8_t>(ctx);
        else run<int8_t>(ctx);
    }

private:
    template <typename Y> void run(EvalContext& ctx)
    {
        Y* y = ctx.output(0).data<Y>();
        const int64_t M = mm_.shape.M, N = mm_.shape.N;
        const Requantizer* rq = requant_.data();
        const int64_t rowsOfA = rowsOfA_, colsOfB = colsOfB_;
        const int32_t zp = yZero_;
        mm_.run(ctx, ctx.scratch(), [=](int64_t batch, int64_t m, int64_t n, int32_t acc) {
            const Requantizer& r = rq[(rowsOfA > 1 ? m : 0) * colsOfB + (colsOfB > 1 ? n : 0)];
            y[(batch * M + m) * N + n] = saturate<Y>(r.apply(acc) + zp);
        });
    }

    intgemm::IntMatMul mm_;
    std::vector<Requantizer> requant_;   // [row of a][column of b] when per row / per column
    int64_t rowsOfA_ = 1, colsOfB_ = 1;
    int32_t yZero_ = 0;
    DataType yType_ = DataType::UInt8;
};

} // namespace

void register_qlinear_matmul(KernelRegistry& r)
{
    r.add("QLinearMatMul", "", {DataType::UInt8, DataType::Int8}, make<QLinearMatMul>);
}

} // namespace joule::rt
