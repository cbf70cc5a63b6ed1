// Gemm: Y = alpha * A' * B' + beta * C, with A' = transA ? A^T : A, B' = transB ? B^T : B and C
// unidirectionally broadcast to Y's shape [M, N]. fp32 runs on the packed GEMM (B packed once when it
// is a constant, as a fully connected layer's weights are); float64 and integer types run a plain loop.
#include "runtime/kernels/gemm_fp32.h"
#include "runtime/registry.h"

#include <algorithm>

namespace joule::rt {
namespace {

int64_t alignFloats(int64_t n) { return (n + 15) / 16 * 16; }

class Gemm final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& a = ctx.input(0);
        const TensorInfo& b = ctx.input(1);
        if (a.rank() != 2 || b.rank() != 2)
            throw KernelError("A and B must be matrices, got shapes " + shapeToString(a.shape) + " and " + shapeToString(b.shape));
        if (b.dtype != a.dtype) throw KernelError("A and B must have the same type");
        type_ = a.dtype;
        transA_ = ctx.attrInt("transA", 0) != 0;
        transB_ = ctx.attrInt("transB", 0) != 0;
        alpha_ = ctx.attrFloat("alpha", 1.0f);
        beta_ = ctx.attrFloat("beta", 1.0f);
        m_ = transA_ ? a.shape[1] : a.shape[0];
        k_ = transA_ ? a.shape[0] : a.shape[1];
        n_ = transB_ ? b.shape[0] : b.shape[1];
        const int64_t kb = transB_ ? b.shape[1] : b.shape[0];
        if (kb != k_)
            throw KernelError("inner dimensions differ: A " + shapeToString(a.shape) + (transA_ ? " (transposed)" : "") +
                              ", B " + shapeToString(b.shape) + (transB_ ? " (transposed)" : ""));
        ctx.setOutput(0, type_, {m_, n_});

        hasC_ = ctx.hasInput(2) && beta_ != 0.0f;
        if (ctx.hasInput(2)) {
            const Shape& c = ctx.input(2).shape;
            if (c.size() > 2) throw KernelError("C must have at most 2 dimensions, got " + shapeToString(c));
            const int64_t cm = c.size() == 2 ? c[0] : 1;
            const int64_t cn = c.empty() ? 1 : c.back();
            if ((cm != 1 && cm != m_) || (cn != 1 && cn != n_))
                throw KernelError("C of shape " + shapeToString(c) + " cannot be broadcast to [" + std::to_string(m_) +
                                  ", " + std::to_string(n_) + "]");
            if (ctx.input(2).dtype != type_) throw KernelError("C must have the same type as A");
            cRowStride_ = cm == 1 ? 0 : cn;
            cColStride_ = cn == 1 ? 0 : 1;
        }
        if (type_ != DataType::Float32) return;

        mk_ = &gemm::bestMicroKernel();
        threads_ = ctx.threads();
        const int64_t aFloats = alignFloats(static_cast<int64_t>(gemm::packedASize(*mk_, m_, k_)));
        packedB_.clear();
        int64_t bFloats = 0;
        if (const Tensor* bc = ctx.constantInput(1)) {
            packedB_.assign(gemm::packedBSize(*mk_, k_, n_), 0.0f);
            packB(bc->data<float>(), packedB_.data());
        } else if (transB_) {
            bFloats = static_cast<int64_t>(gemm::packedBSize(*mk_, k_, n_));
        }
        ctx.requestScratch(static_cast<size_t>(aFloats + bFloats) * sizeof(float));
        aFloats_ = aFloats;
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
    void packB(const float* b, float* dst) const
    {
        if (transB_) gemm::packB(*mk_, b, 1, k_, k_, n_, dst);
        else gemm::packB(*mk_, b, n_, 1, k_, n_, dst);
    }

    template <typename T>
    void fillWithC(const T* c, T* y) const
    {
        const T beta = static_cast<T>(beta_);
        for (int64_t i = 0; i < m_; ++i)
            for (int64_t j = 0; j < n_; ++j) y[i * n_ + j] = beta * c[i * cRowStride_ + j * cColStride_];
    }

    void evalFloat(EvalContext& ctx)
    {
        const float* a = ctx.input(0).data<float>();
        float* y = ctx.output(0).data<float>();
        float* scratch = static_cast<float*>(ctx.scratch());
        float* ap = scratch;
        if (transA_) gemm::packA(*mk_, a, 1, m_, m_, k_, alpha_, ap);
        else gemm::packA(*mk_, a, k_, 1, m_, k_, alpha_, ap);
        gemm::Problem p;
        p.m = m_;
        p.n = n_;
        p.k = k_;
        p.a = ap;
        p.c = y;
        p.ldc = n_;
        if (!packedB_.empty()) {
            p.b = packedB_.data();
        } else if (transB_) {
            float* bp = scratch + aFloats_;
            packB(ctx.input(1).data<float>(), bp);
            p.b = bp;
        } else {
            p.b = ctx.input(1).data<float>();
            p.ldb = n_;
        }
        if (hasC_) {
            fillWithC(ctx.input(2).data<float>(), y);
            p.accumulate = true;
        }
        gemm::run(*mk_, p, threads_);
    }

    template <typename T>
    void evalPlain(EvalContext& ctx)
    {
        const T* a = ctx.input(0).data<T>();
        const T* b = ctx.input(1).data<T>();
        T* y = ctx.output(0).data<T>();
        if (hasC_) fillWithC(ctx.input(2).data<T>(), y);
        else std::fill(y, y + m_ * n_, T(0));
        const int64_t as = transA_ ? 1 : k_, ak = transA_ ? m_ : 1;   // A'(i, p) = a[i * as + p * ak]
        const int64_t bk = transB_ ? 1 : n_, bs = transB_ ? k_ : 1;   // B'(p, j) = b[p * bk + j * bs]
        const T alpha = static_cast<T>(alpha_);
        for (int64_t i = 0; i < m_; ++i)
            for (int64_t p = 0; p < k_; ++p) {
                const T av = alpha * a[i * as + p * ak];
                for (int64_t j = 0; j < n_; ++j) y[i * n_ + j] += av * b[p * bk + j * bs];
            }
    }

    DataType type_ = DataType::Float32;
    bool transA_ = false, transB_ = false, hasC_ = false;
    float alpha_ = 1.0f, beta_ = 1.0f;
    int64_t m_ = 0, n_ = 0, k_ = 0, cRowStride_ = 0, cColStride_ = 0, aFloats_ = 0;
    const gemm::MicroKernel* mk_ = nullptr;
    std::vector<float> packedB_;
    int threads_ = 1;
};

} // namespace

void register_gemm(KernelRegistry& r)
{
    r.add("Gemm", "", {DataType::Float32, DataType::Float64, DataType::Int32, DataType::Int64, DataType::UInt32,
                       DataType::UInt64}, make<Gemm>);
}

} // namespace joule::rt
