// QGemm (com.microsoft; also "ai.joule" with a fused activation, see quant_activation.h):
//   acc = (A' - a_zero_point) x (B' - b_zero_point) + C                 int32, A' / B' = A / B
//                                                                         transposed per transA / transB
//   with y_scale:    Y = clamp(saturate(y_zero_point + rne(acc * alpha * a_scale * b_scale[n] / y_scale)))
//   without y_scale: Y = float32(acc) * float32(alpha * a_scale * b_scale[n])        (float output)
// C (optional) is int32 with scale alpha * a_scale * b_scale and zero point 0, one value, [N],
// [1, N] or [M, N]. b_scale / b_zero_point are per tensor or per column of B' (output channel).
// The requantization is Requantizer (quant_math.h): one rounding, half to even. Scales and zero
// points must be known while preparing. With a constant int8 B of zero point 0, A not transposed,
// at most 16 rows and AVX-512 VNNI, the products run on vpdpbusd (int_gemv_vnni.h); else on the
// int16 GEMM (int_gemm.h).
#include "runtime/kernels/int_conv_direct.h"
#include "runtime/kernels/int_gemm.h"
#include "runtime/kernels/int_gemv_vnni.h"
#include "runtime/kernels/quant_activation.h"
#include "runtime/registry.h"

#include <algorithm>

namespace joule::rt {
namespace {

class QGemm final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& a = ctx.input(0);
        const TensorInfo& b = ctx.input(3);
        if (!intgemm::isInt8Type(a.dtype) || !intgemm::isInt8Type(b.dtype))
            throw UnsupportedError(std::string("A and B must be int8 or uint8, got ") + dataTypeName(a.dtype) + " and " +
                                   dataTypeName(b.dtype));
        if (a.rank() != 2 || b.rank() != 2)
            throw KernelError("A and B must be 2-D, got " + shapeToString(a.shape) + " and " + shapeToString(b.shape));
        const bool transA = ctx.attrInt("transA", 0) != 0, transB = ctx.attrInt("transB", 0) != 0;
        M_ = transA ? a.shape[1] : a.shape[0];
        K_ = transA ? a.shape[0] : a.shape[1];
        N_ = transB ? b.shape[0] : b.shape[1];
        const int64_t kb = transB ? b.shape[1] : b.shape[0];
        if (kb != K_) throw KernelError("inner dimensions differ: A " + shapeToString(a.shape) + ", B " + shapeToString(b.shape));
        aType_ = a.dtype;
        bType_ = b.dtype;
        transA_ = transA;
        transB_ = transB;
        const double alpha = ctx.attrFloat("alpha", 1.0f);
        const float sa = intgemm::readScale(ctx, 1, 0, "a_scale")[0];
        zA_ = intgemm::readZeroPoint(ctx, 2, 0, "a_zero_point");
        const std::vector<float> sb = intgemm::readScale(ctx, 4, N_, "b_scale");
        zB_ = intgemm::readZeroPoint(ctx, 5, N_, "b_zero_point");
        biasMode_ = Bias::None;
        if (ctx.hasInput(6)) {
            const TensorInfo& c = ctx.input(6);
            if (c.dtype != DataType::Int32) throw KernelError("C must be int32");
            if (c.numel() == 1) biasMode_ = Bias::Scalar;
            else if (c.numel() == N_ && c.shape.back() == N_) biasMode_ = Bias::PerColumn;
            else if (c.rank() == 2 && c.shape[0] == M_ && c.shape[1] == N_) biasMode_ = Bias::Full;
            else throw KernelError("C " + shapeToString(c.shape) + " does not broadcast to [M, N] = " + shapeToString({M_, N_}));
        }
        quantizedOutput_ = ctx.hasInput(7);
        requant_.clear();
        floatScale_.clear();
        if (quantizedOutput_) {
            const float sy = intgemm::readScale(ctx, 7, 0, "y_scale")[0];
            zY_ = intgemm::readZeroPoint(ctx, 8, 0, "y_zero_point").at(0);
            yType_ = ctx.hasInput(8) ? ctx.input(8).dtype : DataType::UInt8;
            if (!intgemm::isInt8Type(yType_)) throw UnsupportedError("y_zero_point must be int8 or uint8");
            for (float s : sb) requant_.push_back(Requantizer::fromReal(alpha * sa * static_cast<double>(s) / static_cast<double>(sy)));
            clamp_ = readQuantClamp(ctx, yType_);
        } else {
            yType_ = DataType::Float32;
            for (float s : sb) floatScale_.push_back(static_cast<float>(alpha * sa * static_cast<double>(s)));
        }
        const int64_t kp = intgemm::packedK(K_);
        packedB_.clear();
        vnni_ = false;
        const Tensor* bc = ctx.constantInput(3);
        const bool bSymmetric = std::all_of(zB_.values.begin(), zB_.values.end(), [](int32_t z) { return z == 0; });
        if (bc && bType_ == DataType::Int8 && bSymmetric && !transA_ && M_ <= 16 && intconv::DirectConv::cpuSupported()) {
            vnni_ = true;
            vnniB_ = intgemv::pack(bc->data<int8_t>(), transB_, K_, N_);
            ctx.requestScratch(static_cast<size_t>(M_ * vnniB_.k4 + M_ * N_) * sizeof(int32_t));
            ctx.setOutput(0, yType_, {M_, N_});
            return;
        }
        if (bc) {
            packedB_.resize(static_cast<size_t>(N_ * kp));
            packB(bc->raw(), packedB_.data());
        }
        ctx.requestScratch(static_cast<size_t>(M_ * kp + (packedB_.empty() ? N_ * kp : 0)) * sizeof(int16_t));
        ctx.setOutput(0, yType_, {M_, N_});
    }

private:
    // Adds C and writes Y[m][n] from the accumulator of column n, row m. (Defined before eval(),
    // which uses its deduced type.)
    template <typename Y> auto epilogue(const int32_t* c, Y* y) const
    {
        const int64_t N = N_;
        const Bias mode = biasMode_;
        const bool perColumn = std::max(requant_.size(), floatScale_.size()) > 1;
        const Requantizer* rq = requant_.data();
        const float* fs = floatScale_.data();
        const int32_t zy = zY_;
        const QuantClamp clamp = clamp_;
        return [=](int64_t n, int64_t m, int32_t acc) {
            if (mode == Bias::Scalar) acc += c[0];
            else if (mode == Bias::PerColumn) acc += c[n];
            else if (mode == Bias::Full) acc += c[m * N + n];
            const int64_t col = perColumn ? n : 0;
            if constexpr (std::is_same_v<Y, float>) y[m * N + n] = static_cast<float>(acc) * fs[col];
            else y[m * N + n] = static_cast<Y>(clamp.apply(rq[col].apply(acc) + zy));
        };
    }

public:
    void eval(EvalContext& ctx) override
    {
        const int32_t* c = ctx.hasInput(6) ? ctx.input(6).data<int32_t>() : nullptr;
        if (vnni_) {
            // acc = sum (a_u8 - zA_u8) * b = sum a_u8 * b - zA_u8 * colSum(b); int8 A is read as code + 128.
            auto* a4 = static_cast<int32_t*>(ctx.scratch());
            int32_t* acc = a4 + M_ * vnniB_.k4;
            const bool aSigned = aType_ == DataType::Int8;
            intgemv::run(vnniB_, static_cast<const uint8_t*>(ctx.input(0).raw()), M_, aSigned ? 0x80 : 0, a4, acc, ctx.threads());
            withOutput(ctx, [&](auto* y) {
                const auto out = epilogue(c, y);
                for (int64_t m = 0; m < M_; ++m) {
                    const int64_t zaU8 = zA_.at(m) + (aSigned ? 128 : 0);
                    for (int64_t n = 0; n < N_; ++n)
                        out(n, m, static_cast<int32_t>(acc[m * N_ + n] - zaU8 * vnniB_.colSums[static_cast<size_t>(n)]));
                }
            });
            return;
        }
        int16_t* aPacked = static_cast<int16_t*>(ctx.scratch());
        const int64_t kp = intgemm::packedK(K_);
        const int16_t* bPacked = packedB_.data();
        if (packedB_.empty()) {
            int16_t* dst = aPacked + M_ * kp;
            packB(ctx.input(3).raw(), dst);
            bPacked = dst;
        }
        if (transA_) intgemm::packRows(ctx.input(0).raw(), aType_, M_, K_, 1, M_, zA_, aPacked);
        else intgemm::packRows(ctx.input(0).raw(), aType_, M_, K_, K_, 1, zA_, aPacked);
        withOutput(ctx, [&](auto* y) { run(ctx, bPacked, aPacked, c, y); });
    }

private:
    enum class Bias { None, Scalar, PerColumn, Full };

    void packB(const void* src, int16_t* dst) const
    {
        // N rows (output columns) of K values.
        if (transB_) intgemm::packRows(src, bType_, N_, K_, K_, 1, zB_, dst);
        else intgemm::packRows(src, bType_, N_, K_, 1, N_, zB_, dst);
    }

    // Calls f with the output's data typed as it is: float (no y_scale), uint8 or int8.
    template <typename F> void withOutput(EvalContext& ctx, F&& f) const
    {
        if (!quantizedOutput_) f(ctx.output(0).data<float>());
        else if (yType_ == DataType::UInt8) f(ctx.output(0).data<uint8_t>());
        else f(ctx.output(0).data<int8_t>());
    }

    template <typename Y> void run(EvalContext& ctx, const int16_t* b, const int16_t* a, const int32_t* c, Y* y) const
    {
        // Rows of the GEMM are output columns n, its columns are rows m of A.
        intgemm::gemmParallel(ctx.threads(), b, a, N_, M_, K_, epilogue(c, y));
    }

    int64_t M_ = 0, N_ = 0, K_ = 0;
    bool transA_ = false, transB_ = false, quantizedOutput_ = false;
    DataType aType_ = DataType::UInt8, bType_ = DataType::Int8, yType_ = DataType::Float32;
    intgemm::ZeroPoint zA_, zB_;
    int32_t zY_ = 0;
    Bias biasMode_ = Bias::None;
    std::vector<Requantizer> requant_;   // quantized output: per column or one
    std::vector<float> floatScale_;      // float output: per column or one
    QuantClamp clamp_;
    std::vector<int16_t> packedB_;
    bool vnni_ = false;
    intgemv::PackedB vnniB_;   // the vpdpbusd path's packed B
};

} // namespace

void register_qgemm(KernelRegistry& r)
{
    r.add("QGemm", "com.microsoft", {DataType::UInt8, DataType::Int8}, make<QGemm>);
    r.add("QGemm", "ai.joule", {DataType::UInt8, DataType::Int8}, make<QGemm>);
}

} // namespace joule::rt
