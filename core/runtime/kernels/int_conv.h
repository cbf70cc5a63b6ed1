#pragma once
// Integer convolution shared by ConvInteger and QLinearConv: geometry from the Conv attributes
// (window math from conv_geometry.h), an im2col that writes one int16 patch row per output
// position (input zero point subtracted, padding = 0 after the subtraction, i.e. padding with the
// zero point), and a driver that runs the integer GEMM of int_gemm.h per image and group.
//
//   IntConvGeometry g = convGeometry(ctx, x.shape, w.shape);                        // prepare()
//   intgemm::packRows(w, wType, g.outC, g.patch(), g.patch(), 1, wZero, packedW);   // outC x packedPatch()
//   runConv(ctx.threads(), x, xType, xZero, g, packedW, colScratch,
//           [&](int64_t n, int64_t co, int64_t p, int32_t acc) { ... });         // eval()
//
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
    }
    return g;
}

// Writes patch rows p in [p0, p1) to col + p * packedPatch(): for input channel c of the group and
// kernel offset (kd, kh, kw), x - zeroPoint at the tapped position, 0 in the padding; zeros after
// the patch up to packedPatch().
template <typename Q>
inline void im2colRows(const Q* x, const IntConvGeometry& g, int32_t zeroPoint, int64_t p0, int64_t p1, int16_t* col)
{
    const int64_t K = g.packedPatch(), C = g.inPerGroup(), tail = K - g.patch();
    const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
    const int64_t oHW = g.out[1] * g.out[2], oW = g.out[2];
    for (int64_t p = p0; p < p1; ++p) {
        const int64_t od = p / oHW, oh = (p / oW) % g.out[1], ow = p % oW;
        const int64_t d0 = od * g.stride[0] - g.pad[0];
        const int64_t h0 = oh * g.stride[1] - g.pad[1];
        const int64_t w0 = ow * g.stride[2] - g.pad[2];
        int16_t* dst = col + p * K;
        for (int64_t c = 0; c < C; ++c) {
            const Q* plane = x + c * D * H * W;
            for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
                const int64_t id = d0 + kd * g.dilation[0];
                const bool dIn = id >= 0 && id < D;
                for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
                    const int64_t ih = h0 + kh * g.dilation[1];
                    const bool rowIn = dIn && ih >= 0 && ih < H;
                    const Q* row = plane + (id * H + ih) * W;
                    for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                        const int64_t iw = w0 + kw * g.dilation[2];
                        *dst++ = (rowIn && iw >= 0 && iw < W) ? static_cast<int16_t>(static_cast<int32_t>(row[iw]) - zeroPoint)
                                                              : int16_t{0};
                    }
                }
            }
        }
        for (int64_t i = 0; i < tail; ++i) *dst++ = 0;
    }
}

// Runs the convolution: store(n, outputChannel, outputPosition, int32 accumulator) for every output.
// packedW holds outC rows of packedPatch() int16 (filter minus its zero point, from packRows); col
// has room for outPlane() * packedPatch() int16.
template <typename Store>
inline void runConv(int threads, const void* x, DataType xType, int32_t xZero, const IntConvGeometry& g,
                    const int16_t* packedW, int16_t* col, Store&& store)
{
    const int64_t P = g.outPlane(), K = g.patch(), Mg = g.outPerGroup(), Cg = g.inPerGroup();
    const int64_t work = P * K * Mg;
    const auto* bytes = static_cast<const uint8_t*>(x);   // 1-byte elements
    for (int64_t n = 0; n < g.batch; ++n) {
        for (int64_t grp = 0; grp < g.group; ++grp) {
            const uint8_t* xg = bytes + (n * g.inC + grp * Cg) * g.inPlane();
            const int16_t* wg = packedW + grp * Mg * g.packedPatch();
            auto chunk = [&](int64_t p0, int64_t p1) {
                if (xType == DataType::UInt8) im2colRows(xg, g, xZero, p0, p1, col);
                else im2colRows(reinterpret_cast<const int8_t*>(xg), g, xZero, p0, p1, col);
                intgemm::gemm(wg, col, Mg, p0, p1, K,
                              [&](int64_t m, int64_t p, int32_t acc) { store(n, grp * Mg + m, p, acc); });
            };
            if (threads <= 1 || work < (int64_t{1} << 18)) chunk(0, P);
            else parallelFor(threads, P, 64, chunk);
        }
    }
}

} // namespace joule::rt::intconv
