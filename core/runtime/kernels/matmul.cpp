// MatMul: numpy.matmul semantics. A 1-D first operand is a row vector and a 1-D second operand a
// column vector (the added axis is dropped from the result); leading (batch) axes broadcast.
//
// fp32 runs on the packed GEMM. When B is a single matrix (no batch axes), A's batch axes fold into
// its rows and the whole product is one GEMM, with B packed once in prepare() when it is a constant
// (the usual x @ W). Otherwise each batch packs its A and reads B in place. float64 and integer types
// run a plain loop.
#include "runtime/broadcast.h"
#include "runtime/kernels/gemm_fp32.h"
#include "runtime/registry.h"

#include <algorithm>

namespace joule::rt {
namespace {

int64_t alignFloats(int64_t n) { return (n + 15) / 16 * 16; }

class MatMul final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& a = ctx.input(0);
        const TensorInfo& b = ctx.input(1);
        if (a.rank() < 1 || b.rank() < 1)
            throw KernelError("MatMul operands must have at least one dimension, got " + shapeToString(a.shape) +
                              " and " + shapeToString(b.shape));
        if (a.dtype != b.dtype) throw KernelError("A and B must have the same type");
        type_ = a.dtype;
        Shape as = a.shape, bs = b.shape;
        const bool aVector = as.size() == 1, bVector = bs.size() == 1;
        if (aVector) as.insert(as.begin(), 1);
        if (bVector) bs.push_back(1);
        m_ = as[as.size() - 2];
        k_ = as.back();
        n_ = bs.back();
        if (bs[bs.size() - 2] != k_)
            throw KernelError("inner dimensions differ: A " + shapeToString(a.shape) + ", B " + shapeToString(b.shape));
        const Shape aBatch(as.begin(), as.end() - 2), bBatch(bs.begin(), bs.end() - 2);
        batchShape_ = broadcastShapes(aBatch, bBatch);
        batches_ = elementCount(batchShape_);
        Shape y = batchShape_;
        if (!aVector) y.push_back(m_);
        if (!bVector) y.push_back(n_);
        ctx.setOutput(0, type_, y);

        // Per output batch index: the offsets of its A and B matrices (broadcast strides).
        const size_t rank = batchShape_.size();
        aStrides_.assign(rank, 0);
        bStrides_.assign(rank, 0);
        for (int side = 0; side < 2; ++side) {
            const Shape& s = side == 0 ? aBatch : bBatch;
            std::vector<int64_t>& strides = side == 0 ? aStrides_ : bStrides_;
            int64_t stride = side == 0 ? m_ * k_ : k_ * n_;
            for (size_t i = 0; i < s.size(); ++i) {
                const size_t d = rank - 1 - i;
                const int64_t dim = s[s.size() - 1 - i];
                strides[d] = dim == 1 ? 0 : stride;
                stride *= dim;
            }
        }
        bSingle_ = elementCount(bBatch) == 1;
        aFullBatch_ = elementCount(aBatch) == batches_;
        if (type_ != DataType::Float32) return;

        mk_ = &gemm::bestMicroKernel();
        threads_ = ctx.threads();
        // With one B and A covering every batch, A's batches are extra rows of one product.
        foldRows_ = bSingle_ && aFullBatch_ ? batches_ * m_ : m_;
        packedB_.clear();
        if (bSingle_) {
            if (const Tensor* bc = ctx.constantInput(1)) {
                packedB_.assign(gemm::packedBSize(*mk_, k_, n_), 0.0f);
                gemm::packB(*mk_, bc->data<float>(), n_, 1, k_, n_, packedB_.data());
            }
        }
        ctx.requestScratch(static_cast<size_t>(alignFloats(static_cast<int64_t>(gemm::packedASize(*mk_, foldRows_, k_)))) *
                           sizeof(float));
    }

    void eval(EvalContext& ctx) override
    {
        switch (type_) {
        case DataType::Float32: evalFloat(ctx); break;
        case DataType::Float64: evalPlain<double>(ctx); break;
        case DataType::Int32: evalPlain<int32_t>(ctx); break;
        case DataType::Int64: evalPlain<int64_t>(ctx); break;
        case DataType::UInt32: evalPlain<uint32_t>(ctx); break;
        case DataType::UInt64: evalPlain<uint64_t>(ctx); break;
        default: break;
        }
    }

private:
    void batchOffsets(int64_t batch, int64_t& aOff, int64_t& bOff) const
    {
        aOff = bOff = 0;
        for (int64_t d = static_cast<int64_t>(batchShape_.size()) - 1, rem = batch; d >= 0; --d) {
            const auto ud = static_cast<size_t>(d);
            const int64_t i = rem % batchShape_[ud];
            rem /= batchShape_[ud];
            aOff += i * aStrides_[ud];
            bOff += i * bStrides_[ud];
        }
    }

    void evalFloat(EvalContext& ctx)
    {
        const float* a = ctx.input(0).data<float>();
        const float* b = ctx.input(1).data<float>();
        float* y = ctx.output(0).data<float>();
        float* ap = static_cast<float*>(ctx.scratch());
        const int64_t groups = foldRows_ == m_ ? batches_ : 1;
        for (int64_t batch = 0; batch < groups; ++batch) {
            int64_t aOff = 0, bOff = 0;
            if (groups > 1) batchOffsets(batch, aOff, bOff);
            gemm::packA(*mk_, a + aOff, k_, 1, foldRows_, k_, 1.0f, ap);
            gemm::Problem p;
            p.m = foldRows_;
            p.n = n_;
            p.k = k_;
            p.a = ap;
            if (!packedB_.empty()) {
                p.b = packedB_.data();
            } else {
                p.b = b + bOff;
                p.ldb = n_;
            }
            p.c = y + batch * m_ * n_;
            p.ldc = n_;
            gemm::run(*mk_, p, threads_);
        }
    }

    template <typename T>
    void evalPlain(EvalContext& ctx)
    {
        const T* a = ctx.input(0).data<T>();
        const T* b = ctx.input(1).data<T>();
        T* y = ctx.output(0).data<T>();
        for (int64_t batch = 0; batch < batches_; ++batch) {
            int64_t aOff = 0, bOff = 0;
            batchOffsets(batch, aOff, bOff);
            const T* ab = a + aOff;
            const T* bb = b + bOff;
            T* yb = y + batch * m_ * n_;
            std::fill(yb, yb + m_ * n_, T(0));
            for (int64_t i = 0; i < m_; ++i)
                for (int64_t p = 0; p < k_; ++p) {
                    const T av = ab[i * k_ + p];
                    for (int64_t j = 0; j < n_; ++j) yb[i * n_ + j] += av * bb[p * n_ + j];
                }
        }
    }

    DataType type_ = DataType::Float32;
    int64_t m_ = 0, n_ = 0, k_ = 0, batches_ = 1, foldRows_ = 0;
    Shape batchShape_;
    std::vector<int64_t> aStrides_, bStrides_;
    bool bSingle_ = false, aFullBatch_ = false;
    const gemm::MicroKernel* mk_ = nullptr;
    std::vector<float> packedB_;
    int threads_ = 1;
};

} // namespace

void register_matmul(KernelRegistry& r)
{
    r.add("MatMul", "", {DataType::Float32, DataType::Float64, DataType::Int32, DataType::Int64, DataType::UInt32,
                         DataType::UInt64}, make<MatMul>);
}

} // namespace joule::rt
