// QLinearAdd (com.microsoft; also "ai.joule" with a fused activation, see quant_activation.h):
//   C = saturate(C_zero_point + round((A_scale (A - A_zp) + B_scale (B - B_zp)) / C_scale))
// with numpy broadcasting. A, B and C share one type (uint8 or int8); scales and zero points are
// per tensor and must be known while preparing.
//
// Integer arithmetic, exactly (the C export reproduces it bit for bit; docs/integer-runtime.md):
//   mA = A_scale / C_scale, mB = B_scale / C_scale        in double from the float32 scales
//   S  = 31 - e, where max(mA, mB) = f * 2^e with f in [0.5, 1)   (frexp), capped at 62
//   MA = rne(mA * 2^S), MB = rne(mB * 2^S)                 int64, the larger one in [2^30, 2^31]
//   acc = (A - A_zp) * MA + (B - B_zp) * MB                int64, exact
//   C   = clamp(saturate(C_zp + rne(acc / 2^S)))           one rounding, half to even
#include "runtime/broadcast.h"
#include "runtime/cpu_isa.h"
#include "runtime/kernels/int_gemm.h"
#include "runtime/kernels/quant_activation.h"
#include "runtime/registry.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace joule::rt {

#if defined(__x86_64__) || defined(_M_X64)
// qlinear_add_avx512.cpp; multipliers below 2^31.
void qlinearAddAvx512(const void* a, const void* b, void* y, int64_t n, bool isSigned, int32_t za, int32_t zb, int32_t ma,
                      int32_t mb, int shift, int32_t zc, QuantClamp clamp);
#endif

namespace {

bool avx512Usable()
{
    static const bool ok = isaAllowed(Isa::Avx512, "JOULE_INT_ISA") && cpuHas(CpuFeature::Avx512Bw);
    return ok;
}

class QLinearAdd final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& a = ctx.input(0);
        const TensorInfo& b = ctx.input(3);
        if (!intgemm::isInt8Type(a.dtype) || b.dtype != a.dtype)
            throw UnsupportedError(std::string("A and B must both be int8 or both uint8, got ") + dataTypeName(a.dtype) +
                                   " and " + dataTypeName(b.dtype));
        type_ = a.dtype;
        const double sa = intgemm::readScale(ctx, 1, 0, "A_scale")[0];
        zA_ = intgemm::readZeroPoint(ctx, 2, 0, "A_zero_point").at(0);
        const double sb = intgemm::readScale(ctx, 4, 0, "B_scale")[0];
        zB_ = intgemm::readZeroPoint(ctx, 5, 0, "B_zero_point").at(0);
        const double sc = intgemm::readScale(ctx, 6, 0, "C_scale")[0];
        zC_ = intgemm::readZeroPoint(ctx, 7, 0, "C_zero_point").at(0);
        for (size_t zp : {size_t{2}, size_t{5}, size_t{7}})
            if (ctx.hasInput(zp) && ctx.input(zp).dtype != type_) throw KernelError("zero points must have the type of A");
        AddRescaler rescale;
        try {
            rescale = AddRescaler::fromScales(sa, sb, sc);
        } catch (const std::invalid_argument& e) {
            throw UnsupportedError(e.what());
        }
        shift_ = rescale.shift;
        mulA_ = rescale.mulA;
        mulB_ = rescale.mulB;
        clamp_ = readQuantClamp(ctx, type_);
        plan_.build({a.shape, b.shape});
        sameShape_ = a.shape == b.shape;
        vectorized_ = avx512Usable() && mulA_ < (int64_t{1} << 31) && mulB_ < (int64_t{1} << 31);
        ctx.setOutput(0, type_, plan_.outputShape());
    }

    void eval(EvalContext& ctx) override
    {
        if (type_ == DataType::UInt8) run<uint8_t>(ctx);
        else run<int8_t>(ctx);
    }

private:
    template <typename T> void run(EvalContext& ctx) const
    {
        const int64_t za = zA_, zb = zB_, ma = mulA_, mb = mulB_;
        const int s = shift_;
        const int32_t zc = zC_;
        const QuantClamp clamp = clamp_;
        const auto add = [=](T x, T y) {
            const int64_t acc = (static_cast<int64_t>(x) - za) * ma + (static_cast<int64_t>(y) - zb) * mb;
            return static_cast<T>(clamp.apply(roundingShiftRightHalfEven(acc, s) + zc));
        };
        const T* a = ctx.input(0).data<T>();
        const T* b = ctx.input(3).data<T>();
        T* y = ctx.output(0).data<T>();
#if defined(__x86_64__) || defined(_M_X64)
        if (sameShape_ && vectorized_) {
            const auto part = [&](int64_t begin, int64_t end) {
                qlinearAddAvx512(a + begin, b + begin, y + begin, end - begin, type_ == DataType::Int8, zA_, zB_,
                                 static_cast<int32_t>(mulA_), static_cast<int32_t>(mulB_), shift_, zC_, clamp_);
            };
            detail::runSplit(part, plan_.outputCount(), ctx.threads());
            return;
        }
#endif
        if (sameShape_) {
            for (int64_t i = 0, n = plan_.outputCount(); i < n; ++i) y[i] = add(a[i], b[i]);
            return;
        }
        broadcastBinary(plan_, a, b, y, add, ctx.threads());
    }

    DataType type_ = DataType::UInt8;
    int32_t zA_ = 0, zB_ = 0, zC_ = 0;
    int64_t mulA_ = 0, mulB_ = 0;
    int shift_ = 31;
    QuantClamp clamp_;
    BroadcastPlan<2> plan_;
    bool sameShape_ = false, vectorized_ = false;
};

} // namespace

void register_qlinear_add(KernelRegistry& r)
{
    r.add("QLinearAdd", "com.microsoft", {DataType::UInt8, DataType::Int8}, make<QLinearAdd>);
    r.add("QLinearAdd", "ai.joule", {DataType::UInt8, DataType::Int8}, make<QLinearAdd>);
}

} // namespace joule::rt
