// MatMulInteger (opset 10): Y = (A - a_zero_point) x (B - b_zero_point) in int32, numpy-style
// batched matrix product. A and B are int8 or uint8 (independently); a_zero_point is per tensor
// or per row of A, b_zero_point per tensor or per column of B.
#include "runtime/kernels/int_gemm.h"
#include "runtime/registry.h"

namespace joule::rt {
namespace {

class MatMulInteger final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        mm_.prepare(ctx, 0, 2, 1, 3);
        ctx.setOutput(0, DataType::Int32, mm_.shape.out);
        ctx.requestScratch(mm_.scratchBytes);
    }

    void eval(EvalContext& ctx) override
    {
        int32_t* y = ctx.output(0).data<int32_t>();
        const int64_t M = mm_.shape.M, N = mm_.shape.N;
        mm_.run(ctx, ctx.scratch(), [y, M, N](int64_t batch, int64_t m, int64_t n, int32_t acc) {
            y[(batch * M + m) * N + n] = acc;
        });
    }

private:
    intgemm::IntMatMul mm_;
};

} // namespace

void register_matmul_integer(KernelRegistry& r)
{
    r.add("MatMulInteger", "", {DataType::UInt8, DataType::Int8}, make<MatMulInteger>);
}

} // namespace joule::rt
