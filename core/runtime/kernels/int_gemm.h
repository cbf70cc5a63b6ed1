#pragma once
// Integer GEMM shared by MatMulInteger, QLinearMatMul, ConvInteger and QLinearConv.
//
// Both operands are widened once to int16 with their zero point subtracted ((q - zp) fits in int16
// for 8-bit q), laid out so that every dot product reads two contiguous rows:
//   A: M rows (a matrix row, or a conv filter),  Bt: N rows (a matrix column, or an im2col patch),
//   each of K values, stored packedK(K) int16 apart with zeros after the K values.
//   C[m][n] = sum_k A[m][k] * Bt[n][k], accumulated in int32 as the ONNX spec says.
// The products run in micro-kernels chosen for the CPU at run time (int_gemm_avx2.cpp: vpmaddwd on
// 4x2 tiles; int_gemm.cpp: portable), so the library still runs on any x86-64.
//
//   intgemm::packRows(w.raw(), w.dtype(), M, K, K, 1, zp, packedW);   // prepare(): M x packedK(K)
//   intgemm::gemm(packedA, packedBt, M, 0, N, K, [&](int64_t m, int64_t n, int32_t acc) { ... });

#include "ir/tensor.h"
#include "runtime/kernel.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace joule::rt::intgemm {

// Rows of packed operands are padded with zeros to a multiple of this many values.
constexpr int64_t kKStep = 16;
inline int64_t packedK(int64_t k) { return (k + kKStep - 1) / kKStep * kKStep; }

// Micro-kernels over packed rows (kp = packedK(K) values each, a multiple of kKStep).
struct IntKernels {
    const char* name;   // "avx2", "portable"
    int32_t (*dot)(const int16_t* a, const int16_t* b, int64_t kp);
    // out[r * 2 + c] = dot(a + r * lda, b + c * ldb) for r < 4, c < 2.
    void (*tile4x2)(const int16_t* a, int64_t lda, const int16_t* b, int64_t ldb, int64_t kp, int32_t* out);
};
const IntKernels& intKernels();          // the best for this CPU (int_gemm.cpp)
const IntKernels& portableIntKernels();  // for tests comparing implementations

inline bool isInt8Type(DataType t) { return t == DataType::Int8 || t == DataType::UInt8; }

// Zero point of a quantized operand: one value per tensor, or one per row (stride 1).
struct ZeroPoint {
    std::vector<int32_t> values{0};
    bool perRow() const { return values.size() > 1; }
    int32_t at(int64_t row) const { return values[perRow() ? static_cast<size_t>(row) : 0]; }
};

// Reads an optional zero-point input (int8 / uint8) that must be known while preparing.
// `rows` is the number of rows a per-row zero point must cover (0: only per-tensor allowed).
inline ZeroPoint readZeroPoint(PrepareContext& ctx, size_t input, int64_t rows, const char* what)
{
    ZeroPoint zp;
    if (!ctx.hasInput(input)) return zp;
    const Tensor& t = ctx.requireConstantInput(input);
    if (t.numel() == 1) {
        zp.values = {static_cast<int32_t>(t.asInt64(0))};
    } else if (rows > 0 && t.numel() == rows) {
        zp.values.resize(static_cast<size_t>(rows));
        for (int64_t i = 0; i < rows; ++i) zp.values[static_cast<size_t>(i)] = static_cast<int32_t>(t.asInt64(i));
    } else {
        throw UnsupportedError(std::string(what) + " has " + std::to_string(t.numel()) +
                               " values; only per-tensor" + (rows > 0 ? " or " + std::to_string(rows) + " (one per row/channel)" : "") +
                               " is supported");
    }
    return zp;
}

// Reads a float scale input that must be known while preparing: one value, or `rows` values
// (one per row / channel; rows = 0 allows only one).
inline std::vector<float> readScale(PrepareContext& ctx, size_t input, int64_t rows, const char* what)
{
    const Tensor& t = ctx.requireConstantInput(input);
    if (t.dtype() != DataType::Float32) throw KernelError(std::string(what) + " must be float32");
    if (t.numel() != 1 && !(rows > 0 && t.numel() == rows))
        throw UnsupportedError(std::string(what) + " has " + std::to_string(t.numel()) +
                               " values; only per-tensor" + (rows > 0 ? " or " + std::to_string(rows) + " (one per row/channel)" : "") +
                               " is supported");
    std::vector<float> v(static_cast<size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) {
        v[static_cast<size_t>(i)] = t.data<float>()[i];
        if (!(v[static_cast<size_t>(i)] > 0.0f) || !std::isfinite(v[static_cast<size_t>(i)]))
            throw KernelError(std::string(what) + " must be positive and finite");
    }
    return v;
}

template <typename Q>
inline void packRowsTyped(const Q* src, int64_t rows, int64_t k, int64_t rowStride, int64_t colStride,
                          const ZeroPoint& zp, int16_t* dst)
{
    const int64_t kp = packedK(k);
    for (int64_t r = 0; r < rows; ++r) {
        const int32_t z = zp.at(r);
        const Q* s = src + r * rowStride;
        int16_t* d = dst + r * kp;
        if (colStride == 1)
            for (int64_t c = 0; c < k; ++c) d[c] = static_cast<int16_t>(static_cast<int32_t>(s[c]) - z);
        else
            for (int64_t c = 0; c < k; ++c) d[c] = static_cast<int16_t>(static_cast<int32_t>(s[c * colStride]) - z);
        for (int64_t c = k; c < kp; ++c) d[c] = 0;
    }
}

// dst[r * packedK(k) + c] = src[r * rowStride + c * colStride] - zp(r) for c < k, 0 after, for an
// int8 or uint8 source.
inline void packRows(const void* src, DataType type, int64_t rows, int64_t k, int64_t rowStride, int64_t colStride,
                     const ZeroPoint& zp, int16_t* dst)
{
    if (type == DataType::UInt8)
        packRowsTyped(static_cast<const uint8_t*>(src), rows, k, rowStride, colStride, zp, dst);
    else
        packRowsTyped(static_cast<const int8_t*>(src), rows, k, rowStride, colStride, zp, dst);
}

// For n in [n0, n1) and m in [0, M): store(m, n, sum_k a[m][k] * bt[n][k]) over packed rows of
// packedK(K) values. Columns are taken in blocks that stay in cache while every 4-row panel of A
// passes over them.
template <typename Store>
inline void gemm(const int16_t* a, const int16_t* bt, int64_t M, int64_t n0, int64_t n1, int64_t K, Store&& store)
{
    const IntKernels& ik = intKernels();
    const int64_t kp = packedK(K);
    constexpr int64_t kBlock = 64;
    int32_t out[8];
    for (int64_t nb = n0; nb < n1; nb += kBlock) {
        const int64_t ne = std::min(n1, nb + kBlock);
        int64_t m0 = 0;
        for (; m0 + 4 <= M; m0 += 4) {
            const int16_t* am = a + m0 * kp;
            int64_t n = nb;
            for (; n + 2 <= ne; n += 2) {
                ik.tile4x2(am, kp, bt + n * kp, kp, kp, out);
                for (int r = 0; r < 4; ++r) {
                    store(m0 + r, n, out[r * 2]);
                    store(m0 + r, n + 1, out[r * 2 + 1]);
                }
            }
            for (; n < ne; ++n)
                for (int r = 0; r < 4; ++r) store(m0 + r, n, ik.dot(am + r * kp, bt + n * kp, kp));
        }
        for (; m0 < M; ++m0)
            for (int64_t n = nb; n < ne; ++n) store(m0, n, ik.dot(a + m0 * kp, bt + n * kp, kp));
    }
}

// Shapes of a numpy-style (batched, broadcasting) matrix product A[..., M, K] x B[..., K, N].
// A 1-D A is a row [1, K] and a 1-D B a column [K, 1]; the added dim is dropped from the output.
struct MatMulShape {
    int64_t M = 0, K = 0, N = 0;
    int64_t aBatches = 1, bBatches = 1;
    std::vector<int64_t> aBatch, bBatch;   // per output batch: which batch of A / of B
    Shape out;
};

inline MatMulShape matMulShape(const Shape& a, const Shape& b)
{
    if (a.empty() || b.empty()) throw KernelError("MatMul inputs must have rank >= 1");
    MatMulShape s;
    Shape ab, bb;
    if (a.size() == 1) { s.M = 1; s.K = a[0]; }
    else { s.M = a[a.size() - 2]; s.K = a.back(); ab.assign(a.begin(), a.end() - 2); }
    int64_t kb;
    if (b.size() == 1) { kb = b[0]; s.N = 1; }
    else { kb = b[b.size() - 2]; s.N = b.back(); bb.assign(b.begin(), b.end() - 2); }
    if (kb != s.K)
        throw KernelError("inner dimensions differ: A " + shapeToString(a) + ", B " + shapeToString(b));
    const size_t r = std::max(ab.size(), bb.size());
    ab.insert(ab.begin(), r - ab.size(), 1);
    bb.insert(bb.begin(), r - bb.size(), 1);
    Shape ob(r);
    for (size_t i = 0; i < r; ++i) {
        if (ab[i] != bb[i] && ab[i] != 1 && bb[i] != 1)
            throw KernelError("batch dimensions do not broadcast: A " + shapeToString(a) + ", B " + shapeToString(b));
        ob[i] = ab[i] == 1 ? bb[i] : ab[i];
    }
    s.aBatches = elementCount(ab);
    s.bBatches = elementCount(bb);
    const int64_t batches = elementCount(ob);
    s.aBatch.resize(static_cast<size_t>(batches));
    s.bBatch.resize(static_cast<size_t>(batches));
    std::vector<int64_t> idx(r, 0);
    for (int64_t t = 0; t < batches; ++t) {
        int64_t ai = 0, bi = 0;
        for (size_t i = 0; i < r; ++i) {
            ai = ai * ab[i] + (ab[i] == 1 ? 0 : idx[i]);
            bi = bi * bb[i] + (bb[i] == 1 ? 0 : idx[i]);
        }
        s.aBatch[static_cast<size_t>(t)] = ai;
        s.bBatch[static_cast<size_t>(t)] = bi;
        for (size_t i = r; i-- > 0;) {
            if (++idx[i] < ob[i]) break;
            idx[i] = 0;
        }
    }
    s.out = ob;
    if (a.size() > 1) s.out.push_back(s.M);
    if (b.size() > 1) s.out.push_back(s.N);
    return s;
}

// Runs store over an M x [0, N) product, split across threads by columns when it is large enough.
template <typename Store>
inline void gemmParallel(int threads, const int16_t* a, const int16_t* bt, int64_t M, int64_t N, int64_t K, Store&& store)
{
    const int64_t work = M * N * K;
    if (threads <= 1 || work < (int64_t{1} << 18)) {
        gemm(a, bt, M, 0, N, K, store);
        return;
    }
    parallelFor(threads, N, 16, [&](int64_t n0, int64_t n1) { gemm(a, bt, M, n0, n1, K, store); });
}

// The common part of MatMulInteger and QLinearMatMul: shapes, zero points, B packed once when it
// is constant (weights), A (and a non-constant B) packed per run into scratch.
class IntMatMul {
public:
    // Inputs: A at `a`, B at `b`, their optional zero points at `aZero` / `bZero` (per tensor, per
    // row of A, per column of B). Requests the scratch it needs plus `extraScratch` bytes after it.
    void prepare(PrepareContext& ctx, size_t a, size_t aZero, size_t b, size_t bZero)
    {
        const TensorInfo& ai = ctx.input(a);
        const TensorInfo& bi = ctx.input(b);
        if (!isInt8Type(ai.dtype) || !isInt8Type(bi.dtype))
            throw UnsupportedError(std::string("A and B must be int8 or uint8, got ") + dataTypeName(ai.dtype) + " and " +
                                   dataTypeName(bi.dtype));
        shape = matMulShape(ai.shape, bi.shape);
        aType_ = ai.dtype;
        bType_ = bi.dtype;
        aIndex_ = a;
        bIndex_ = b;
        zpA_ = readZeroPoint(ctx, aZero, shape.M, "a_zero_point");
        zpB_ = readZeroPoint(ctx, bZero, shape.N, "b_zero_point");
        if (ctx.hasInput(aZero) && ctx.input(aZero).dtype != aType_) throw KernelError("a_zero_point type differs from A's");
        if (ctx.hasInput(bZero) && ctx.input(bZero).dtype != bType_) throw KernelError("b_zero_point type differs from B's");
        packedB_.clear();
        if (const Tensor* bc = ctx.constantInput(b)) {
            packedB_.resize(static_cast<size_t>(shape.bBatches * shape.N * packedK(shape.K)));
            packB(bc->raw(), packedB_.data());
        }
        const int64_t kp = packedK(shape.K);
        const int64_t elems = shape.M * kp + (packedB_.empty() ? shape.bBatches * shape.N * kp : 0);
        scratchBytes = static_cast<size_t>(elems) * sizeof(int16_t);
    }

    size_t scratchBytes = 0;
    MatMulShape shape;

    // Calls store(batch, m, n, acc) for every output element; `scratch` holds scratchBytes.
    template <typename Store> void run(EvalContext& ctx, void* scratch, Store&& store) const
    {
        int16_t* aPacked = static_cast<int16_t*>(scratch);
        const int16_t* bAll = packedB_.data();
        if (packedB_.empty()) {
            int16_t* bPacked = aPacked + shape.M * packedK(shape.K);
            packB(ctx.input(bIndex_).raw(), bPacked);
            bAll = bPacked;
        }
        const auto* aBytes = static_cast<const uint8_t*>(ctx.input(aIndex_).raw());
        const int64_t M = shape.M, N = shape.N, K = shape.K;
        int64_t packedBatch = -1;
        for (size_t t = 0; t < shape.aBatch.size(); ++t) {
            const int64_t ab = shape.aBatch[t];
            if (ab != packedBatch) {
                packRows(aBytes + ab * M * K, aType_, M, K, K, 1, zpA_, aPacked);
                packedBatch = ab;
            }
            const int16_t* bt = bAll + shape.bBatch[t] * N * packedK(K);
            const int64_t batch = static_cast<int64_t>(t);
            gemmParallel(ctx.threads(), aPacked, bt, M, N, K,
                         [&store, batch](int64_t m, int64_t n, int32_t acc) { store(batch, m, n, acc); });
        }
    }

private:
    void packB(const void* src, int16_t* dst) const
    {
        const auto* bytes = static_cast<const uint8_t*>(src);   // 1-byte elements
        const int64_t N = shape.N, K = shape.K;
        for (int64_t bb = 0; bb < shape.bBatches; ++bb)
            packRows(bytes + bb * K * N, bType_, N, K, 1, N, zpB_, dst + bb * N * packedK(K));
    }

    DataType aType_ = DataType::UInt8, bType_ = DataType::UInt8;
    size_t aIndex_ = 0, bIndex_ = 1;
    ZeroPoint zpA_, zpB_;
    std::vector<int16_t> packedB_;
};

} // namespace joule::rt::intgemm
