#pragma once
// Integer convolution shared by ConvInteger and QLinearConv.
//
//   IntConvGeometry g = convGeometry(ctx, x.shape, w.shape);            // prepare(): Conv attributes
//   packConvWeights(w, wType, g, wZero, packedW);                       // outC x packedPatch() int16
//   runConv(ctx.threads(), x, xType, xZero, g, packedW, scratch,        // eval(); scratch: scratchElements()
//           [&](int64_t n, int64_t co, int64_t p, int32_t acc) { ... });
//
// Per image and group, the input is first staged as int16 (x - x_zero_point) in a zero-padded
// channels-last buffer [D'][H'][W'][C/group], so padding contributes 0 (x padded with its zero point)
// and every patch row of the im2col is a few contiguous copies: for each (kd, kh), kernel width x
// channels values (one copy when the width dilation is 1). Patch values, and the packed filters,
// are ordered (kd, kh, kw, c). The GEMM is int_gemm.h's. Depthwise convolutions (one input and
// one output channel per group) skip the GEMM and sum their taps directly.
// Spatial ranks 1 to 3 are handled as 3-D with leading size-1 dims.

#include "runtime/kernels/conv_geometry.h"
#include "runtime/kernels/int_gemm.h"

#include <array>

namespace joule::rt::intconv {

struct IntConvGeometry {
    int64_t batch = 0, inC = 0, outC = 0, group = 1;
    int spatial = 0;
    std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, kernel{1, 1, 1};
    std::array<int64_t, 3> stride{1, 1, 1}, dilation{1, 1, 1}, pad{0, 0, 0};   // pad = pad at the start
    Shape outShape;

    int64_t inPlane() const { return in[0] * in[1] * in[2]; }
    int64_t outPlane() const { return out[0] * out[1] * out[2]; }
    int64_t kernelVolume() const { return kernel[0] * kernel[1] * kernel[2]; }
    int64_t inPerGroup() const { return inC / group; }
    int64_t outPerGroup() const { return outC / group; }
    int64_t patch() const { return inPerGroup() * kernelVolume(); }   // K of the GEMM
    int64_t packedPatch() const { return intgemm::packedK(patch()); }   // row stride of packed patches
    bool depthwise() const { return inPerGroup() == 1 && outPerGroup() == 1; }

    // Staging buffer dims: room for the padding before the input and for every tap of the last window.
    std::array<int64_t, 3> staged{1, 1, 1};
    int64_t stagedElements() const { return staged[0] * staged[1] * staged[2] * inPerGroup(); }
    // int16 scratch runConv() needs (staging + im2col), plus outC * packedPatch() when the
    // weights are packed per run.
    int64_t scratchElements() const { return stagedElements() + (depthwise() ? 0 : outPlane() * packedPatch()); }
};

// Reads the Conv attributes (window math shared with Conv and the pools: conv_geometry.h) for an
// input [N, C, spatial...] and weights [M, C / group, kernel...].
inline IntConvGeometry convGeometry(PrepareContext& ctx, const Shape& x, const Shape& w)
{
    IntConvGeometry g;
    const int rank = static_cast<int>(x.size());
    if (rank < 3 || rank > 5) throw UnsupportedError("convolution input must have 1 to 3 spatial dims, got shape " + shapeToString(x));
    if (static_cast<int>(w.size()) != rank)
        throw KernelError("weight shape " + shapeToString(w) + " does not match input shape " + shapeToString(x));
    const int r = rank - 2;
    g.spatial = r;
    g.batch = x[0];
    g.inC = x[1];
    g.outC = w[0];
    g.group = ctx.attrInt("group", 1);
    if (g.group <= 0 || g.inC % g.group != 0 || g.outC % g.group != 0 || w[1] * g.group != g.inC)
        throw KernelError("group " + std::to_string(g.group) + " does not fit input channels " + std::to_string(g.inC) +
                          " and weight shape " + shapeToString(w));
    const std::vector<int64_t> weightKernel(w.begin() + 2, w.end());
    const rt::ConvGeometry window = rt::ConvGeometry::read(ctx, x, weightKernel);
    if (window.kernel != weightKernel)
        throw KernelError("kernel_shape differs from the weight's spatial dims " + shapeToString(w));
    g.outShape = {g.batch, g.outC};
    const int off = 3 - r;
    for (int i = 0; i < r; ++i) {
        const size_t d = static_cast<size_t>(off + i);
        g.in[d] = window.in[static_cast<size_t>(i)];
        g.kernel[d] = window.kernel[static_cast<size_t>(i)];
        g.stride[d] = window.strides[static_cast<size_t>(i)];
        g.dilation[d] = window.dilations[static_cast<size_t>(i)];
        g.pad[d] = window.padBegin[static_cast<size_t>(i)];
        g.out[d] = window.out[static_cast<size_t>(i)];
        g.outShape.push_back(g.out[d]);
        const int64_t lastTap = (g.out[d] - 1) * g.stride[d] + (g.kernel[d] - 1) * g.dilation[d] + 1;
        g.staged[d] = std::max(lastTap, g.pad[d] + g.in[d]);
    }
    return g;
}

template <typename Q>
inline void packConvWeightsTyped(const Q* w, const IntConvGeometry& g, const intgemm::ZeroPoint& zp, int16_t* dst)
{
    const int64_t C = g.inPerGroup(), taps = g.kernelVolume(), kp = g.packedPatch();
    for (int64_t m = 0; m < g.outC; ++m) {
        const int32_t z = zp.at(m);
        int16_t* row = dst + m * kp;
        for (int64_t c = 0; c < C; ++c)
            for (int64_t t = 0; t < taps; ++t)
                row[t * C + c] = static_cast<int16_t>(static_cast<int32_t>(w[(m * C + c) * taps + t]) - z);
        for (int64_t k = g.patch(); k < kp; ++k) row[k] = 0;
    }
}

// Weights [M][C/group][kd][kh][kw] (int8 or uint8) minus their zero point (per tensor or per output
// channel) as outC rows of packedPatch() int16, ordered (kd, kh, kw, c).
inline void packConvWeights(const void* w, DataType type, const IntConvGeometry& g, const intgemm::ZeroPoint& zp, int16_t* dst)
{
    if (type == DataType::UInt8) packConvWeightsTyped(static_cast<const uint8_t*>(w), g, zp, dst);
    else packConvWeightsTyped(static_cast<const int8_t*>(w), g, zp, dst);
}

// The packed filters of ConvInteger / QLinearConv: packed once in prepare() when the weight input is
// a constant, else into the scratch on every run, after runConv()'s own scratchElements().
class PackedConvWeights {
public:
    // Returns the int16 scratch elements eval needs (runConv's, plus room to pack when not constant).
    int64_t prepare(PrepareContext& ctx, size_t input, const IntConvGeometry& g, DataType wType, const intgemm::ZeroPoint& zp)
    {
        input_ = input;
        g_ = g;
        wType_ = wType;
        zp_ = zp;
        packed_.clear();
        if (const Tensor* w = ctx.constantInput(input)) {
            packed_.resize(static_cast<size_t>(g.outC * g.packedPatch()));
            packConvWeights(w->raw(), wType, g, zp, packed_.data());
        }
        return g.scratchElements() + (packed_.empty() ? g.outC * g.packedPatch() : 0);
    }

    const int16_t* get(EvalContext& ctx, int16_t* scratch) const
    {
        if (!packed_.empty()) return packed_.data();
        int16_t* w = scratch + g_.scratchElements();
        packConvWeights(ctx.input(input_).raw(), wType_, g_, zp_, w);
        return w;
    }

private:
    size_t input_ = 1;
    IntConvGeometry g_;
    DataType wType_ = DataType::Int8;
    intgemm::ZeroPoint zp_;
    std::vector<int16_t> packed_;
};

// x of one image and group (C/group planes) -> zero-padded channels-last int16, minus the zero point.
template <typename Q>
inline void stageInput(const Q* x, const IntConvGeometry& g, int32_t zeroPoint, int16_t* stage)
{
    const int64_t C = g.inPerGroup();
    const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
    const int64_t SH = g.staged[1], SW = g.staged[2];
    std::fill(stage, stage + g.stagedElements(), int16_t{0});
    for (int64_t c = 0; c < C; ++c) {
        const Q* plane = x + c * D * H * W;
        for (int64_t d = 0; d < D; ++d)
            for (int64_t h = 0; h < H; ++h) {
                const Q* row = plane + (d * H + h) * W;
                int16_t* out = stage + (((d + g.pad[0]) * SH + (h + g.pad[1])) * SW + g.pad[2]) * C + c;
                for (int64_t w = 0; w < W; ++w) out[w * C] = static_cast<int16_t>(static_cast<int32_t>(row[w]) - zeroPoint);
            }
    }
}

// Writes patch rows p in [p0, p1) to col + p * packedPatch(), read from the staged input; zeros
// after the patch up to packedPatch().
inline void im2colRows(const int16_t* stage, const IntConvGeometry& g, int64_t p0, int64_t p1, int16_t* col)
{
    const int64_t K = g.packedPatch(), C = g.inPerGroup(), tail = K - g.patch();
    const int64_t SH = g.staged[1], SW = g.staged[2];
    const int64_t oHW = g.out[1] * g.out[2], oW = g.out[2];
    const int64_t KW = g.kernel[2];
    const bool runs = g.dilation[2] == 1;   // the kernel row is one contiguous run of KW * C values
    for (int64_t p = p0; p < p1; ++p) {
        const int64_t od = p / oHW, oh = (p / oW) % g.out[1], ow = p % oW;
        int16_t* dst = col + p * K;
        for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
            const int64_t d = od * g.stride[0] + kd * g.dilation[0];
            for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                const int64_t h = oh * g.stride[1] + kh * g.dilation[1];
                const int16_t* src = stage + ((d * SH + h) * SW + ow * g.stride[2]) * C;
                if (runs) {
                    std::copy(src, src + KW * C, dst);
                    dst += KW * C;
                } else {
                    for (int64_t kw = 0; kw < KW; ++kw, dst += C) std::copy(src + kw * g.dilation[2] * C, src + kw * g.dilation[2] * C + C, dst);
                }
            }
        }
        for (int64_t i = 0; i < tail; ++i) *dst++ = 0;
    }
}

// Depthwise: one channel per group, so each output is a direct sum over the taps of its window.
template <typename Store>
inline void depthwiseRows(const int16_t* stage, const int16_t* w, const IntConvGeometry& g, int64_t p0, int64_t p1, Store&& store)
{
    const int64_t SH = g.staged[1], SW = g.staged[2];
    const int64_t oHW = g.out[1] * g.out[2], oW = g.out[2];
    for (int64_t p = p0; p < p1; ++p) {
        const int64_t od = p / oHW, oh = (p / oW) % g.out[1], ow = p % oW;
        int32_t acc = 0;
        const int16_t* wt = w;
        for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
            const int64_t d = od * g.stride[0] + kd * g.dilation[0];
            for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                const int64_t h = oh * g.stride[1] + kh * g.dilation[1];
                const int16_t* src = stage + (d * SH + h) * SW + ow * g.stride[2];
                for (int64_t kw = 0; kw < g.kernel[2]; ++kw) acc += static_cast<int32_t>(*wt++) * src[kw * g.dilation[2]];
            }
        }
        store(p, acc);
    }
}

// Runs the convolution: store(n, outputChannel, outputPosition, int32 accumulator) for every output.
// packedW is from packConvWeights(); scratch holds g.scratchElements() int16.
template <typename Store>
inline void runConv(int threads, const void* x, DataType xType, int32_t xZero, const IntConvGeometry& g,
                    const int16_t* packedW, int16_t* scratch, Store&& store)
{
    const int64_t P = g.outPlane(), K = g.patch(), Mg = g.outPerGroup(), Cg = g.inPerGroup();
    const int64_t work = P * K * Mg;
    const bool parallel = threads > 1 && work >= (int64_t{1} << 18);
    int16_t* stage = scratch;
    int16_t* col = scratch + g.stagedElements();
    const auto* bytes = static_cast<const uint8_t*>(x);   // 1-byte elements
    for (int64_t n = 0; n < g.batch; ++n) {
        for (int64_t grp = 0; grp < g.group; ++grp) {
            const uint8_t* xg = bytes + (n * g.inC + grp * Cg) * g.inPlane();
            if (xType == DataType::UInt8) stageInput(xg, g, xZero, stage);
            else stageInput(reinterpret_cast<const int8_t*>(xg), g, xZero, stage);
            const int16_t* wg = packedW + grp * Mg * g.packedPatch();
            if (g.depthwise()) {
                depthwiseRows(stage, wg, g, 0, P, [&](int64_t p, int32_t acc) { store(n, grp, p, acc); });
                continue;
            }
            auto chunk = [&](int64_t p0, int64_t p1) {
                im2colRows(stage, g, p0, p1, col);
                intgemm::gemm(wg, col, Mg, p0, p1, K,
                              [&](int64_t m, int64_t p, int32_t acc) { store(n, grp * Mg + m, p, acc); });
            };
            if (parallel) parallelFor(threads, P, 64, chunk);
            else chunk(0, P);
        }
    }
}

} // namespace joule::rt::intconv
