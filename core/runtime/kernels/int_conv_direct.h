#pragma once
// Direct uint8 x int8 convolution on AVX-512 VNNI (vpdpbusd), used by QLinearConv when the CPU has
// it and the convolution fits (int_conv_vnni.cpp; elsewhere int_conv.h's int16 GEMM runs).
//
//   intconv::DirectConv dc;
//   if (intconv::DirectConv::cpuSupported() && intconv::DirectConv::fits(g, ...)) {
//       dc.prepare(g, w, bias, xType, xZero, requant, yZero, clamp);   // prepare(): packs, folds
//       ctx.requestScratch(dc.scratchBytes());
//       dc.run(x, y, yType, scratch, threads);                          // eval(): no allocation
//   }
//
// How it computes (all integer, exact):
//   - x is staged as uint8 (int8 x is offset by 128, and so is its zero point), split into
//     stride phases and laid out [phase][C/4][H'][W'][4 channels], padded with the zero point.
//     Along a staged row every tap of every output is then one contiguous 16-lane load, for any
//     stride: output (oh, ow) reads phase (kh % sh, kw % sw) at (oh + kh / sh, ow + kw / sw).
//     Outputs are computed on "virtual" positions v = oh * W' + ow, the lanes with ow >= OW are
//     computed and dropped.
//   - acc = sum x * w over the patch (vpdpbusd: 4 u8 x s8 products per int32 lane, no
//     saturation) + (bias - x_zero_point * sum w), which is sum (x - zp) * w + bias exactly.
//   - y = clamp(zp_y + rne(acc * m0 / 2^shift)) per output channel: Requantizer's rounding,
//     branch-free, in 64-bit lanes.
// Depthwise convolutions (one input and one output channel per group) stage each channel as its
// own byte plane [C][phase][H'][W']. 64 positions at a time, the bytes of four taps are interleaved
// into dwords so that one vpdpbusd adds four taps' products of the same channel (a fourth dword of
// zero weights pads the last group); the rest of a row takes 16 int32 lanes per tap (vpmulld).
// On CPUs with AVX-512 VBMI, when KW <= 8 and 16 outputs' windows fit in 64 input bytes (15 * stride
// + KW rounded up to 4 <= 64), depthwise convolutions stage nothing: 16 outputs of one row at a time,
// each kernel row's input bytes are one masked 64-byte load from x (x_zero_point where the window
// leaves the plane), one vpermb per 4 taps puts output i's taps (bytes i * stride + 4q .. + 3) in
// lane i, and one vpdpbusd adds them; the lanes are the outputs in order.
// On CPUs with AMX-INT8 (JOULE_INT_ISA unset or "amx"), dense convolutions with C >= 13 run their
// multiply-adds on the tile unit instead: the staged input is already the B operand of tdpbsud
// (rows of 4-channel dwords, 16 positions each), the weights are packed once into A tiles of 16
// output channels x up to 64 bytes (16 channel quads of one tap, or all of them when C < 61; zeros
// past C), and a job of 32 channels x 32 positions keeps four int32 accumulator tiles, stored to a
// 4 KB buffer for the same requantization and stores.
// Limits (else int_conv.h's path): group 1 or depthwise, dilation 1, 1-D or 2-D, int8 weights with
// zero point 0, weights and bias constant.

#include "runtime/cpu_isa.h"
#include "runtime/kernels/int_conv.h"
#include "runtime/kernels/quant_activation.h"
#include "runtime/quant_math.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace joule::rt::intconv {

class DirectConv {
public:
    // The CPU has AVX-512 F/BW/VNNI and JOULE_INT_ISA does not ask for "avx2" or "portable".
    static bool cpuSupported()
    {
        static const bool ok = isaAllowed(Isa::Avx512, "JOULE_INT_ISA") && cpuHas(CpuFeature::Avx512Vnni);
        return ok;
    }
    // Dense convolutions use AMX-INT8 (cpuSupported() and JOULE_INT_ISA allows "amx").
    static bool amxSupported()
    {
        static const bool ok = cpuSupported() && isaAllowed(Isa::Amx, "JOULE_INT_ISA") && cpuHas(CpuFeature::AmxInt8);
        return ok;
    }

    static bool fits(const IntConvGeometry& g, DataType wType, const intgemm::ZeroPoint& wZero)
    {
        if (!(g.group == 1 || g.depthwise()) || wType != DataType::Int8) return false;
        for (int32_t z : wZero.values)
            if (z != 0) return false;
        for (int d = 0; d < 3; ++d)
            if (g.dilation[static_cast<size_t>(d)] != 1) return false;
        return g.kernel[0] == 1 && g.stride[0] == 1 && g.in[0] == 1 && g.pad[0] == 0 && g.out[0] == 1;
    }

    // w: [M][C][KH][KW] int8; bias: M int32 or nullptr; requant: one or M.
    void prepare(const IntConvGeometry& g, const int8_t* w, const int32_t* bias, DataType xType, int32_t xZero,
                 const std::vector<Requantizer>& requant, int32_t yZero, QuantClamp clamp);
    size_t scratchBytes() const { return scratchBytes_; }
    // x: [N][C][H][W] (xType of prepare), y: [N][M][OH][OW] (uint8 or int8).
    void run(const void* x, void* y, DataType yType, void* scratch, int threads) const;

    static constexpr int kChannelBlock = 8;    // output channels per micro-tile
    static constexpr int kPositionBlock = 32;  // virtual positions per micro-tile (two 16-lane vectors)

private:
    void prepareDense(const int8_t* w, const int32_t* bias, int64_t C, int64_t M, int64_t KH, int64_t KW);
    void prepareDepthwise(const int8_t* w, const int32_t* bias, int64_t KH, int64_t KW);
    void prepareAmx(const int8_t* w, int64_t C, int64_t M, int64_t KH, int64_t KW);
    struct ChannelStore;   // requantizes and stores one channel's 32 positions (int_conv_vnni.cpp)
    void amxJobs(const uint8_t* stage, uint8_t* yn, int64_t begin, int64_t end) const;
    void runPointwiseAmx(const uint8_t* x, uint8_t* y, uint8_t* stage, int threads) const;
    void runDepthwise(const uint8_t* x, uint8_t* y, uint8_t* stage, int threads) const;
    void prepareDepthwiseWindows(const int8_t* w, int64_t KH, int64_t KW);
    void runDepthwiseWindows(const uint8_t* x, uint8_t* y, int threads) const;
    template <bool Fast> void depthwiseWindowChannels(const uint8_t* xn, uint8_t* yn, int64_t c0, int64_t c1) const;

    IntConvGeometry g_;
    bool depthwise_ = false;
    int64_t c4_ = 0, phases_ = 0, sh_ = 1, sw_ = 1, shp_ = 0, swp_ = 0, planeDwords_ = 0;
    int64_t virtualCount_ = 0, virtualBlocks_ = 0, virtualStride_ = 0, mBlocks_ = 0;
    size_t stageBytes_ = 0, scratchBytes_ = 0;
    int64_t channelBytes_ = 0;         // depthwise: staged bytes per channel
    std::vector<int32_t> rowPhase_, rowStaged_;   // per input row h: phase row and staged row
    std::vector<int32_t> colFirst_, colStaged_;   // per column phase pw: first input column, its staged column
    uint8_t xFlip_ = 0, xZeroU8_ = 0;
    std::vector<int32_t> offsets_;     // per step (kh, kw, c4): dword offset into the staged input
    std::vector<int32_t> packedW_;     // dense: [mBlock][step][kChannelBlock] dwords of 4 int8 (empty on AMX);
                                       // depthwise: [channel][tap] int32
    std::vector<int32_t> quadW_;       // depthwise: [channel][tap / 4] dwords of 4 int8 taps (0 past the last)
    std::vector<int32_t> quadOffsets_; // depthwise: [tap rounded up to 4] offsets (tap 0's past the last)
    bool amx_ = false;                 // dense: amxJobs
    bool pointwise_ = false;           // dense 1 x 1, stride 1, no padding (runPointwiseAmx on AMX)
    std::vector<int8_t> amxW_;         //   [32-channel block][chunk][32 channels][64 bytes]
    std::vector<int32_t> amxChunks_;   //   per chunk (a tap's 16 channel quads): dword offset of its first row
    int64_t amxBlocks_ = 0;            //   32-channel blocks
    int64_t amxRows_ = 16;             //   channel quads per chunk (fewer when C < 61)
    bool windows_ = false;             // depthwise: runDepthwiseWindows (VBMI, windows fit 64 bytes)
    int64_t rowQuads_ = 0;             //   dwords of 4 taps per kernel row
    std::vector<int32_t> rowQuadW_;    //   [channel][kh][quad] dwords of 4 int8 taps (0 past KW)
    std::vector<int64_t> windowStart_; //   per 16 outputs of a row: the first input column they read
    std::vector<uint64_t> windowMask_; //   its bytes inside the row (the others read as x_zero_point)
    std::vector<uint16_t> outMask_;    //   its outputs inside the row
    std::vector<int32_t> biasEff_;     // per channel (padded to mBlocks * kChannelBlock)
    std::vector<int32_t> multiplier_;  // per channel
    std::vector<int32_t> shift_;       // per channel
    std::vector<double> scale_;        // per channel: multiplier / 2^shift (FastRequant)
    bool fastRequant_ = false;         // every channel's accumulators fit FastRequant::exact
    std::vector<int64_t> accMin_, accMax_;   // per channel, while preparing: accumulator range
    struct Segment {
        uint16_t mask;    // lanes of a 16-position group that are real outputs of one row
        int64_t offset;   // lane i of the group goes to plane + offset + i
    };
    std::vector<Segment> segments_;
    std::vector<int32_t> segmentStart_;   // per 16-position group, its first segment (+ end)
    std::vector<int64_t> wholeStore_;     // per block of 32 positions: their plane offset when they are
                                          // 32 consecutive bytes of it (one store), else -1
    int32_t yZero_ = 0;
    QuantClamp clamp_;
};

} // namespace joule::rt::intconv
