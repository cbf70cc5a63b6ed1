// DirectConv (int_conv_direct.h): compiled with AVX-512 F/BW/VNNI and called only when the CPU has
// them (DirectConv::cpuSupported()).
#include "runtime/kernels/int_conv_direct.h"

#if defined(__x86_64__) || defined(_M_X64)
#include "runtime/kernels/requant_avx512.h"
#include "runtime/kernels/vnni_dot.h"

#include <immintrin.h>

#include <algorithm>

namespace joule::rt::intconv {

namespace {

// 4 channel rows of n bytes (n <= 16) -> n dwords of 4 channels, at dst.
inline void interleave4(__m128i a, __m128i b, __m128i c, __m128i d, int64_t n, uint8_t* dst)
{
    const __m128i abLo = _mm_unpacklo_epi8(a, b), abHi = _mm_unpackhi_epi8(a, b);
    const __m128i cdLo = _mm_unpacklo_epi8(c, d), cdHi = _mm_unpackhi_epi8(c, d);
    const __m512i v = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_set_m128i(_mm_unpackhi_epi16(abLo, cdLo), _mm_unpacklo_epi16(abLo, cdLo))),
        _mm256_set_m128i(_mm_unpackhi_epi16(abHi, cdHi), _mm_unpacklo_epi16(abHi, cdHi)), 1);
    _mm512_mask_storeu_epi32(dst, static_cast<__mmask16>((1u << n) - 1), v);
}

// `valid` channel rows of n bytes (n <= 64; channels past them are zeros) at `row`, `row + stride`,
// ... -> n dwords of 4 channels at dst: bytes and words interleaved within 128-bit lanes, then a
// 4 x 4 transpose of the lanes puts the positions back in order.
inline void interleave4x64(const uint8_t* row, int64_t stride, int valid, int64_t n, __m512i flip, uint8_t* dst)
{
    const __mmask64 k = n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1;
    __m512i x[4];
    for (int c = 0; c < 4; ++c)
        x[c] = c < valid ? _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, row + c * stride), flip) : _mm512_setzero_si512();
    const __m512i abLo = _mm512_unpacklo_epi8(x[0], x[1]), abHi = _mm512_unpackhi_epi8(x[0], x[1]);
    const __m512i cdLo = _mm512_unpacklo_epi8(x[2], x[3]), cdHi = _mm512_unpackhi_epi8(x[2], x[3]);
    const __m512i r0 = _mm512_unpacklo_epi16(abLo, cdLo), r1 = _mm512_unpackhi_epi16(abLo, cdLo);   // lane l: 16l + 0..3, + 4..7
    const __m512i r2 = _mm512_unpacklo_epi16(abHi, cdHi), r3 = _mm512_unpackhi_epi16(abHi, cdHi);   // 16l + 8..11, + 12..15
    const __m512i u0 = _mm512_shuffle_i32x4(r0, r1, 0x44), u1 = _mm512_shuffle_i32x4(r0, r1, 0xEE);
    const __m512i u2 = _mm512_shuffle_i32x4(r2, r3, 0x44), u3 = _mm512_shuffle_i32x4(r2, r3, 0xEE);
    const __m512i out[4] = {_mm512_shuffle_i32x4(u0, u2, 0x88), _mm512_shuffle_i32x4(u0, u2, 0xDD),
                            _mm512_shuffle_i32x4(u1, u3, 0x88), _mm512_shuffle_i32x4(u1, u3, 0xDD)};
    for (int64_t q = 0; q * 16 < n; ++q) {
        const int64_t left = n - q * 16;
        _mm512_mask_storeu_epi32(dst + q * 64, left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1), out[q]);
    }
}

// Byte shuffle putting the 8 even bytes of 16 first and the 8 odd ones after (stride-2 staging).
inline __m128i evenOddBytes() { return _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15); }

inline __m128i loadBytes(const uint8_t* p, int64_t n, __m128i flip)
{
    return _mm_xor_si128(_mm_maskz_loadu_epi8(static_cast<__mmask16>((1u << n) - 1), p), flip);
}

} // namespace

void DirectConv::prepare(const IntConvGeometry& g, const int8_t* w, const int32_t* bias, DataType xType, int32_t xZero,
                         const std::vector<Requantizer>& requant, int32_t yZero, QuantClamp clamp)
{
    g_ = g;
    depthwise_ = g.group > 1;   // fits(): group 1 or depthwise
    const int64_t C = g.inC, M = g.outC, KH = g.kernel[1], KW = g.kernel[2];
    sh_ = g.stride[1];
    sw_ = g.stride[2];
    c4_ = depthwise_ ? C : (C + 3) / 4;   // depthwise: one byte plane per channel
    phases_ = sh_ * sw_;
    shp_ = (g.staged[1] + sh_ - 1) / sh_;
    swp_ = (g.staged[2] + sw_ - 1) / sw_;
    planeDwords_ = shp_ * swp_;
    virtualCount_ = g.out[1] * swp_;
    virtualBlocks_ = (virtualCount_ + kPositionBlock - 1) / kPositionBlock;
    virtualStride_ = virtualBlocks_ * kPositionBlock;
    mBlocks_ = (M + kChannelBlock - 1) / kChannelBlock;
    xFlip_ = xType == DataType::Int8 ? 0x80 : 0;
    xZeroU8_ = static_cast<uint8_t>(xType == DataType::Int8 ? xZero + 128 : xZero);

    rowPhase_.clear();
    rowStaged_.clear();
    for (int64_t h = 0; h < g.in[1]; ++h) {
        rowPhase_.push_back(static_cast<int32_t>((h + g.pad[1]) % sh_));
        rowStaged_.push_back(static_cast<int32_t>((h + g.pad[1]) / sh_));
    }
    colFirst_.clear();
    colStaged_.clear();
    for (int64_t pw = 0; pw < sw_; ++pw) {
        // Columns w with (w + padL) % sw == pw land in phase pw at w' = (w + padL) / sw.
        const int64_t w0 = ((pw - g.pad[2]) % sw_ + sw_) % sw_;
        colFirst_.push_back(static_cast<int32_t>(w0));
        colStaged_.push_back(static_cast<int32_t>((w0 + g.pad[2]) / sw_));
    }
    if (depthwise_) {
        prepareDepthwise(w, bias, KH, KW);
    } else {
        prepareDense(w, bias, C, M, KH, KW);
        prepareAmx(w, C, M, KH, KW);
    }
    pointwise_ = !depthwise_ && KH == 1 && KW == 1 && sh_ == 1 && sw_ == 1 && g.pad[1] == 0 && g.pad[2] == 0 && g.out[1] == g.in[1] &&
                 g.out[2] == g.in[2] && planeDwords_ == g.in[1] * g.in[2] && swp_ == g.in[2];
    multiplier_.assign(static_cast<size_t>(M), 0);
    shift_.assign(static_cast<size_t>(M), 31);
    scale_.assign(static_cast<size_t>(M), 0.0);
    fastRequant_ = true;
    for (int64_t m = 0; m < M; ++m) {
        const Requantizer& r = requant[requant.size() > 1 ? static_cast<size_t>(m) : 0];
        const size_t i = static_cast<size_t>(m);
        multiplier_[i] = r.multiplier;
        shift_[i] = r.shift;
        scale_[i] = FastRequant::scaleOf(r.multiplier, r.shift);
        fastRequant_ = fastRequant_ && FastRequant::exact(accMin_[i], accMax_[i], scale_[i]);
    }
    accMin_.clear();
    accMax_.clear();
    yZero_ = yZero;
    clamp_ = clamp;
    // Where each group of 16 virtual positions goes in a [OH][OW] output plane.
    segments_.clear();
    segmentStart_.assign(static_cast<size_t>(virtualStride_ / 16 + 1), 0);
    for (int64_t grp = 0; grp < virtualStride_ / 16; ++grp) {
        segmentStart_[static_cast<size_t>(grp)] = static_cast<int32_t>(segments_.size());
        const int64_t v0 = grp * 16;
        for (int64_t r = v0 / swp_; r <= (v0 + 15) / swp_ && r < g.out[1]; ++r) {
            uint32_t mask = 0;
            for (int64_t i = 0; i < 16; ++i) {
                const int64_t v = v0 + i;
                if (v >= r * swp_ && v < r * swp_ + g.out[2]) mask |= 1u << i;
            }
            if (!mask) continue;
            const int64_t offset = r * g.out[2] - r * swp_ + v0;
            // Rows that follow each other in the plane too (no padding columns, as in a 1x1
            // convolution) share the offset: one store for both.
            if (segments_.size() > static_cast<size_t>(segmentStart_[static_cast<size_t>(grp)]) && segments_.back().offset == offset)
                segments_.back().mask = static_cast<uint16_t>(segments_.back().mask | mask);
            else
                segments_.push_back({static_cast<uint16_t>(mask), offset});
        }
    }
    segmentStart_.back() = static_cast<int32_t>(segments_.size());
    // Blocks of 32 positions that are 32 consecutive bytes of the plane: one store per channel.
    wholeStore_.assign(static_cast<size_t>(virtualBlocks_), -1);
    for (int64_t vb = 0; vb < virtualBlocks_; ++vb) {
        const size_t g0 = static_cast<size_t>(2 * vb), g1 = g0 + 1;
        if (segmentStart_[g0 + 1] - segmentStart_[g0] != 1 || segmentStart_[g1 + 1] - segmentStart_[g1] != 1) continue;
        const Segment& a = segments_[static_cast<size_t>(segmentStart_[g0])];
        const Segment& b = segments_[static_cast<size_t>(segmentStart_[g1])];
        if (a.mask == 0xFFFF && b.mask == 0xFFFF && b.offset == a.offset + 16) wholeStore_[static_cast<size_t>(vb)] = a.offset;
    }
}

void DirectConv::prepareDepthwise(const int8_t* w, const int32_t* bias, int64_t KH, int64_t KW)
{
    const int64_t C = g_.inC;
    offsets_.clear();
    int64_t maxOffset = 0;
    for (int64_t kh = 0; kh < KH; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t phase = (kh % sh_) * sw_ + kw % sw_;
            const int64_t off = phase * planeDwords_ + (kh / sh_) * swp_ + kw / sw_;   // bytes, in a channel's planes
            offsets_.push_back(static_cast<int32_t>(off));
            maxOffset = std::max(maxOffset, off);
        }
    channelBytes_ = std::max(phases_ * planeDwords_, maxOffset + virtualStride_) + 16;
    stageBytes_ = static_cast<size_t>((C * channelBytes_ + 64 + 63) / 64 * 64);
    scratchBytes_ = stageBytes_;
    packedW_.assign(static_cast<size_t>(C * KH * KW), 0);
    biasEff_.assign(static_cast<size_t>(C), 0);
    accMin_.assign(static_cast<size_t>(C), 0);
    accMax_.assign(static_cast<size_t>(C), 0);
    for (int64_t c = 0; c < C; ++c) {
        int64_t wsum = 0, wPos = 0, wNeg = 0;
        for (int64_t t = 0; t < KH * KW; ++t) {
            const int8_t v = w[c * KH * KW + t];
            packedW_[static_cast<size_t>(c * KH * KW + t)] = v;
            wsum += v;
            (v > 0 ? wPos : wNeg) += v;
        }
        const int64_t b = (bias ? bias[c] : 0) - static_cast<int64_t>(xZeroU8_) * wsum;
        biasEff_[static_cast<size_t>(c)] = static_cast<int32_t>(b);
        // Staged inputs are bytes in [0, 255].
        accMin_[static_cast<size_t>(c)] = b + 255 * wNeg;
        accMax_[static_cast<size_t>(c)] = b + 255 * wPos;
    }
    // For vpdpbusd: four taps' weights per dword, four taps' inputs interleaved per position.
    const int64_t taps = KH * KW, quads = (taps + 3) / 4;
    quadW_.assign(static_cast<size_t>(C * quads), 0);
    for (int64_t c = 0; c < C; ++c)
        for (int64_t t = 0; t < taps; ++t)
            reinterpret_cast<int8_t*>(&quadW_[static_cast<size_t>(c * quads + t / 4)])[t % 4] = w[c * taps + t];
    quadOffsets_.assign(static_cast<size_t>(quads * 4), offsets_[0]);
    for (int64_t t = 0; t < taps; ++t) quadOffsets_[static_cast<size_t>(t)] = offsets_[static_cast<size_t>(t)];
    prepareDepthwiseWindows(w, KH, KW);
}

void DirectConv::prepareDepthwiseWindows(const int8_t* w, int64_t KH, int64_t KW)
{
    static const bool vbmi = cpuHas(CpuFeature::Avx512Vbmi);
    rowQuads_ = (KW + 3) / 4;
    windows_ = vbmi && rowQuads_ <= 2 && 15 * sw_ + 4 * rowQuads_ <= 64;   // KW <= 8
    rowQuadW_.clear();
    windowStart_.clear();
    windowMask_.clear();
    outMask_.clear();
    if (!windows_) return;
    scratchBytes_ = 64;   // nothing is staged
    const int64_t C = g_.inC, W = g_.in[2], OW = g_.out[2];
    rowQuadW_.assign(static_cast<size_t>(C * KH * rowQuads_), 0);
    for (int64_t c = 0; c < C; ++c)
        for (int64_t kh = 0; kh < KH; ++kh)
            for (int64_t kw = 0; kw < KW; ++kw)
                reinterpret_cast<int8_t*>(&rowQuadW_[static_cast<size_t>((c * KH + kh) * rowQuads_ + kw / 4)])[kw % 4] = w[(c * KH + kh) * KW + kw];
    for (int64_t ow0 = 0; ow0 < OW; ow0 += 16) {
        const int64_t start = ow0 * sw_ - g_.pad[2];
        uint64_t mask = 0;
        for (int64_t b = 0; b < 64; ++b)
            if (start + b >= 0 && start + b < W) mask |= uint64_t{1} << b;
        windowStart_.push_back(start);
        windowMask_.push_back(mask);
        outMask_.push_back(static_cast<uint16_t>(OW - ow0 >= 16 ? 0xFFFF : (1u << (OW - ow0)) - 1));
    }
}

// Compiled for VBMI (vpermb) here only: the rest of this file runs on VNNI CPUs without it.
template <bool Fast>
__attribute__((target("avx512vbmi"))) void DirectConv::depthwiseWindowChannels(const uint8_t* xn, uint8_t* yn, int64_t c0, int64_t c1) const
{
    const int64_t H = g_.in[1], W = g_.in[2], OH = g_.out[1], OW = g_.out[2];
    const int64_t KH = g_.kernel[1], quads = rowQuads_, groups = static_cast<int64_t>(windowStart_.size());
    const int64_t sh = sh_, padT = g_.pad[1];
    // Output lane i, byte j of quad q reads window byte i * stride + 4q + j.
    alignas(64) uint8_t index[2][64];
    for (int64_t q = 0; q < quads; ++q)
        for (int i = 0; i < 16; ++i)
            for (int j = 0; j < 4; ++j) index[q][4 * i + j] = static_cast<uint8_t>(i * sw_ + 4 * q + j);
    const __m512i idx0 = _mm512_load_si512(index[0]), idx1 = quads > 1 ? _mm512_load_si512(index[1]) : idx0;
    // Two rows per vector when a row has at most 8 outputs: lane i is row i / OW, column i % OW;
    // bytes 64 and up of vpermt2b's table are the second row's window.
    const bool pairRows = OW <= 8 && OH > 1;
    alignas(64) uint8_t pairIndex[2][64] = {};
    for (int64_t q = 0; pairRows && q < quads; ++q)
        for (int64_t i = 0; i < 2 * OW; ++i)
            for (int j = 0; j < 4; ++j) pairIndex[q][4 * i + j] = static_cast<uint8_t>((i % OW) * sw_ + 4 * q + j + 64 * (i / OW));
    const __m512i pair0 = _mm512_load_si512(pairIndex[0]), pair1 = _mm512_load_si512(pairIndex[1]);
    const __mmask16 pairMask = static_cast<__mmask16>((1u << (2 * OW)) - 1);
    // Bytes outside the plane read as the zero point; int8 x is flipped to uint8 after the load.
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(xFlip_));
    const __m512i zpRaw = _mm512_set1_epi8(static_cast<char>(xZeroU8_ ^ xFlip_));
    const __m512i zpU8 = _mm512_set1_epi8(static_cast<char>(xZeroU8_));
    const bool flipped = xFlip_ != 0;
    const FastRequant fastRq(yZero_, clamp_);
    // Held in locals: the byte stores below may alias any member, so members would be reloaded.
    const int64_t* starts = windowStart_.data();
    const uint64_t* loadMasks = windowMask_.data();
    const uint16_t* storeMasks = outMask_.data();
    const int32_t* weights = rowQuadW_.data();
    const int32_t* biases = biasEff_.data();
    const double* scales = scale_.data();
    for (int64_t c = c0; c < c1; ++c) {
        const uintptr_t plane = reinterpret_cast<uintptr_t>(xn + c * H * W);
        uint8_t* yc = yn + c * OH * OW;
        const int32_t* wc = weights + c * KH * quads;
        const __m512i b = _mm512_set1_epi32(biases[c]);
        const __m512d scale = _mm512_set1_pd(scales[c]);
        // The exact 64-bit requantizer only where the fast one does not apply (Fast is false): its
        // constants cost about as much as a 7 x 7 channel's convolution.
        const VecRequant exact = Fast ? VecRequant(0, 31, 0, clamp_)
                                      : VecRequant(multiplier_[static_cast<size_t>(c)], shift_[static_cast<size_t>(c)], yZero_, clamp_);
        auto load = [&](uintptr_t at, __mmask64 m, int64_t ih) {
            if (ih < 0 || ih >= H) return zpU8;
            const __m512i v = _mm512_mask_loadu_epi8(zpRaw, m, reinterpret_cast<const void*>(at + static_cast<uintptr_t>(ih * W)));
            return flipped ? _mm512_xor_si512(v, flip) : v;
        };
        if (pairRows) {
            // Rows of at most 8 outputs, two per vector: lanes 0..OW-1 are row oh, lanes OW..2OW-1
            // row oh + 1 (vpermt2b picks from both rows' windows), which follow each other in y.
            const uintptr_t at = plane + static_cast<uintptr_t>(starts[0]);
            const __mmask64 m = loadMasks[0];
            for (int64_t oh = 0; oh < OH; oh += 2) {
                const int64_t ih0 = oh * sh - padT;
                __m512i acc = b;
                for (int64_t kh = 0; kh < KH; ++kh) {
                    const __m512i v0 = load(at, m, ih0 + kh), v1 = load(at, m, ih0 + sh + kh);
                    acc = dpbusd(acc, _mm512_permutex2var_epi8(v0, pair0, v1), _mm512_set1_epi32(wc[kh * quads]));
                    if (quads > 1) acc = dpbusd(acc, _mm512_permutex2var_epi8(v0, pair1, v1), _mm512_set1_epi32(wc[kh * quads + 1]));
                }
                const __m512i r = Fast ? fastRq.apply(acc, scale) : exact.apply(acc);
                const __mmask16 k = oh + 1 < OH ? pairMask : storeMasks[0];
                _mm_mask_storeu_epi8(yc + oh * OW, k, _mm512_cvtepi32_epi8(r));
            }
            continue;
        }
        for (int64_t oh = 0; oh < OH; ++oh) {
            const int64_t ih0 = oh * sh - padT;
            for (int64_t gi = 0; gi < groups; ++gi) {
                __m512i acc = b;
                // Masked-off bytes are not accessed, so the window may start before the row.
                const uintptr_t at = plane + static_cast<uintptr_t>(starts[gi]);
                const __mmask64 m = loadMasks[gi];
                for (int64_t kh = 0; kh < KH; ++kh) {
                    const __m512i v = load(at, m, ih0 + kh);
                    acc = dpbusd(acc, _mm512_permutexvar_epi8(idx0, v), _mm512_set1_epi32(wc[kh * quads]));
                    if (quads > 1) acc = dpbusd(acc, _mm512_permutexvar_epi8(idx1, v), _mm512_set1_epi32(wc[kh * quads + 1]));
                }
                const __m512i r = Fast ? fastRq.apply(acc, scale) : exact.apply(acc);
                _mm_mask_storeu_epi8(yc + oh * OW + gi * 16, storeMasks[gi], _mm512_cvtepi32_epi8(r));
            }
        }
    }
}

void DirectConv::runDepthwiseWindows(const uint8_t* xb, uint8_t* yb, int threads) const
{
    const int64_t C = g_.inC, H = g_.in[1], W = g_.in[2], OH = g_.out[1], OW = g_.out[2];
    const int64_t work = C * OH * static_cast<int64_t>(windowStart_.size()) * g_.kernel[1] * rowQuads_ * 16;
    const bool parallel = threads > 1 && work >= (int64_t{1} << 16);
    for (int64_t n = 0; n < g_.batch; ++n) {
        const uint8_t* xn = xb + n * C * H * W;
        uint8_t* yn = yb + n * C * OH * OW;
        auto channels = [&](int64_t c0, int64_t c1) {
            if (fastRequant_) depthwiseWindowChannels<true>(xn, yn, c0, c1);
            else depthwiseWindowChannels<false>(xn, yn, c0, c1);
        };
        if (parallel) parallelFor(threads, C, 1, [&](int64_t c0, int64_t c1) { channels(c0, c1); });
        else channels(0, C);
    }
}

void DirectConv::prepareDense(const int8_t* w, const int32_t* bias, int64_t C, int64_t M, int64_t KH, int64_t KW)
{
    const int64_t steps = KH * KW * c4_;
    offsets_.assign(static_cast<size_t>(steps), 0);
    int64_t maxOffset = 0;
    for (int64_t kh = 0; kh < KH; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw)
            for (int64_t c4 = 0; c4 < c4_; ++c4) {
                const int64_t phase = (kh % sh_) * sw_ + kw % sw_;
                const int64_t off = (phase * c4_ + c4) * planeDwords_ + (kh / sh_) * swp_ + kw / sw_;
                offsets_[static_cast<size_t>((kh * KW + kw) * c4_ + c4)] = static_cast<int32_t>(off);
                maxOffset = std::max(maxOffset, off);
            }
    // Every read stays inside the buffer: the last block reads up to maxOffset + virtualStride.
    const int64_t stageDwords = std::max(phases_ * c4_ * planeDwords_, maxOffset + virtualStride_) + 16;
    stageBytes_ = static_cast<size_t>((stageDwords * 4 + 63) / 64 * 64);
    scratchBytes_ = stageBytes_;

    packedW_.assign(static_cast<size_t>(mBlocks_ * steps * kChannelBlock), 0);
    biasEff_.assign(static_cast<size_t>(mBlocks_ * kChannelBlock), 0);
    accMin_.assign(static_cast<size_t>(M), 0);
    accMax_.assign(static_cast<size_t>(M), 0);
    for (int64_t m = 0; m < M; ++m) {
        int64_t wsum = 0, wPos = 0, wNeg = 0;
        for (int64_t c = 0; c < C; ++c)
            for (int64_t kh = 0; kh < KH; ++kh)
                for (int64_t kw = 0; kw < KW; ++kw) {
                    const int8_t v = w[((m * C + c) * KH + kh) * KW + kw];
                    wsum += v;
                    (v > 0 ? wPos : wNeg) += v;
                    const int64_t step = (kh * KW + kw) * c4_ + c / 4;
                    auto* dword = reinterpret_cast<int8_t*>(
                        &packedW_[static_cast<size_t>(((m / kChannelBlock) * steps + step) * kChannelBlock + m % kChannelBlock)]);
                    dword[c % 4] = v;
                }
        const int64_t b = (bias ? bias[m] : 0) - static_cast<int64_t>(xZeroU8_) * wsum;
        biasEff_[static_cast<size_t>(m)] = static_cast<int32_t>(b);
        // Staged inputs are bytes in [0, 255] (zeros past the last channel).
        accMin_[static_cast<size_t>(m)] = b + 255 * wNeg;
        accMax_[static_cast<size_t>(m)] = b + 255 * wPos;
    }
}

void DirectConv::prepareAmx(const int8_t* w, int64_t C, int64_t M, int64_t KH, int64_t KW)
{
    // Below 4 channel quads (C < 13, a stem) a tile step adds too few products: vpdpbusd is faster
    // (ResNet-18's 7 x 7 stem: 620 against 1,200 us).
    amx_ = amxSupported() && c4_ >= 4;
    amxW_.clear();
    amxChunks_.clear();
    if (!amx_) return;
    // Per tap, chunks of up to 16 channel quads (a tile's depth); with fewer quads (C < 61) the
    // tiles are configured c4 rows deep. The last chunk of a tap ends at the last quad and starts
    // earlier when c4 is over 16 and not a multiple of it, its rows already counted getting zero
    // weights (so every row a tile reads is staged input).
    packedW_ = {};   // the vpdpbusd packing prepareDense made goes unused on tiles: as large as the weights
    amxRows_ = std::min<int64_t>(16, c4_);
    struct Chunk {
        int64_t kh, kw, start, first;   // rows start..start+amxRows_-1; those below `first` are zero
    };
    std::vector<Chunk> chunks;
    for (int64_t kh = 0; kh < KH; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw)
            for (int64_t c0 = 0; c0 < c4_; c0 += 16) {
                const int64_t start = std::min(c0, c4_ - amxRows_);
                chunks.push_back({kh, kw, start, c0});
                amxChunks_.push_back(offsets_[static_cast<size_t>((kh * KW + kw) * c4_ + start)]);
            }
    const int64_t n = static_cast<int64_t>(chunks.size());
    amxBlocks_ = (M + 31) / 32;
    amxW_.assign(static_cast<size_t>(amxBlocks_ * n * 32 * 64), 0);
    for (int64_t m = 0; m < M; ++m)
        for (int64_t k = 0; k < n; ++k) {
            const Chunk& ch = chunks[static_cast<size_t>(k)];
            int8_t* row = amxW_.data() + (((m / 32) * n + k) * 32 + m % 32) * 64;
            for (int64_t r = ch.first - ch.start; r < amxRows_; ++r)
                for (int64_t t = 0; t < 4; ++t) {
                    const int64_t c = 4 * (ch.start + r) + t;
                    if (c < C) row[4 * r + t] = w[((m * C + c) * KH + ch.kh) * KW + ch.kw];
                }
        }
}

void DirectConv::runDepthwise(const uint8_t* xb, uint8_t* yb, uint8_t* stage, int threads) const
{
    if (windows_) {
        runDepthwiseWindows(xb, yb, threads);
        return;
    }
    const int64_t C = g_.inC, H = g_.in[1], W = g_.in[2], OH = g_.out[1], OW = g_.out[2];

    const int64_t taps = static_cast<int64_t>(offsets_.size()), groups = virtualStride_ / 16;
    // Channels are independent: each part stages and convolves its own channels.
    // Held in locals: the byte stores below may alias any member, so members would be reloaded.
    const Segment* segments = segments_.data();
    const int32_t* segmentStart = segmentStart_.data();
    const int32_t* quadOffsetsAll = quadOffsets_.data();
    const bool fastAll = fastRequant_;
    const FastRequant fastRqAll(yZero_, clamp_);
    // Channels c0..c1 staged at `region` (channel c at (c - c0) * channelBytes_), then convolved.
    auto block = [&](const uint8_t* xn, uint8_t* yn, int64_t c0, int64_t c1, uint8_t* region) {
        // Stage: [c][phase][h'][w'] bytes, x_zero_point in the padding.
        std::memset(region, xZeroU8_, static_cast<size_t>((c1 - c0) * channelBytes_));
        for (int64_t c = c0; c < c1; ++c) {
            uint8_t* sc = region + (c - c0) * channelBytes_;
            for (int64_t h = 0; h < H; ++h) {
                const int64_t ph = rowPhase_[static_cast<size_t>(h)], hh = rowStaged_[static_cast<size_t>(h)];
                const uint8_t* row = xn + (c * H + h) * W;
                if (sw_ == 2) {
                    // Even columns w go to phase (w + padL) % 2 at (w + padL) / 2, odd ones to the other.
                    const int64_t padL = g_.pad[2];
                    const __m128i flip = _mm_set1_epi8(static_cast<char>(xFlip_));
                    const __m128i evenOdd = evenOddBytes();
                    uint8_t* dstEven = sc + (ph * 2 + padL % 2) * planeDwords_ + hh * swp_ + padL / 2;
                    uint8_t* dstOdd = sc + (ph * 2 + (1 + padL) % 2) * planeDwords_ + hh * swp_ + (1 + padL) / 2;
                    for (int64_t w = 0; w < W; w += 16) {
                        const int64_t cnt = std::min<int64_t>(16, W - w), ne = (cnt + 1) / 2, no = cnt / 2;
                        const __m128i v = _mm_shuffle_epi8(loadBytes(row + w, cnt, flip), evenOdd);
                        _mm_mask_storeu_epi8(dstEven + w / 2, static_cast<__mmask16>((1u << ne) - 1), v);
                        if (no > 0) _mm_mask_storeu_epi8(dstOdd + w / 2, static_cast<__mmask16>((1u << no) - 1), _mm_srli_si128(v, 8));
                    }
                    continue;
                }
                for (int64_t pw = 0; pw < sw_; ++pw) {
                    const int64_t w0 = colFirst_[static_cast<size_t>(pw)];
                    uint8_t* dst = sc + (ph * sw_ + pw) * planeDwords_ + hh * swp_ + colStaged_[static_cast<size_t>(pw)];
                    if (sw_ == 1) {
                        const __m128i flip = _mm_set1_epi8(static_cast<char>(xFlip_));
                        for (int64_t w = 0; w < W; w += 16) {
                            const __mmask16 k = W - w >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (W - w)) - 1);
                            _mm_mask_storeu_epi8(dst + w, k, _mm_xor_si128(_mm_maskz_loadu_epi8(k, row + w), flip));
                        }
                    } else {
                        const uint8_t flip = xFlip_;
                        for (int64_t w = w0, step = sw_; w < W; w += step) *dst++ = static_cast<uint8_t>(row[w] ^ flip);
                    }
                }
            }
        }
        // Copies local to this lambda: the byte stores below may alias anything reached through a
        // reference, which would then be reloaded after every store.
        const Segment* const segs = segments;
        const int32_t* const segStart = segmentStart;
        const int32_t* const quadOffsets = quadOffsetsAll;
        const bool fast = fastAll;
        const FastRequant fastRq = fastRqAll;
        for (int64_t c = c0; c < c1; ++c) {
            const uint8_t* sc = region + (c - c0) * channelBytes_;
            const int32_t* wc = packedW_.data() + c * taps;
            const __m512d scale = _mm512_set1_pd(scale_[static_cast<size_t>(c)]);
            auto requant = [&](__m512i acc) {
                if (fast) return fastRq.apply(acc, scale);
                return VecRequant(multiplier_[static_cast<size_t>(c)], shift_[static_cast<size_t>(c)], yZero_, clamp_).apply(acc);
            };
            const __m512i b = _mm512_set1_epi32(biasEff_[static_cast<size_t>(c)]);
            const uintptr_t ym = reinterpret_cast<uintptr_t>(yn + c * OH * OW);
            // 64 positions at a time: the inputs of 4 taps interleaved into dwords (the unpacks work
            // within 128-bit lanes), 4 products per vpdpbusd, then the lanes put back in order.
            const int32_t* wq = quadW_.data() + c * ((taps + 3) / 4);
            int64_t grp = 0;
            for (; grp + 4 <= groups; grp += 4) {
                __m512i acc0 = b, acc1 = b, acc2 = b, acc3 = b;
                for (int64_t q = 0; q * 4 < taps; ++q) {
                    const int32_t* off = quadOffsets + q * 4;
                    const uint8_t* at = sc + grp * 16;
                    const __m512i t0 = _mm512_loadu_si512(at + off[0]), t1 = _mm512_loadu_si512(at + off[1]);
                    const __m512i t2 = _mm512_loadu_si512(at + off[2]), t3 = _mm512_loadu_si512(at + off[3]);
                    const __m512i abLo = _mm512_unpacklo_epi8(t0, t1), abHi = _mm512_unpackhi_epi8(t0, t1);
                    const __m512i cdLo = _mm512_unpacklo_epi8(t2, t3), cdHi = _mm512_unpackhi_epi8(t2, t3);
                    const __m512i wv = _mm512_set1_epi32(wq[q]);
                    acc0 = dpbusd(acc0, _mm512_unpacklo_epi16(abLo, cdLo), wv);   // lane l: 16l + 0..3
                    acc1 = dpbusd(acc1, _mm512_unpackhi_epi16(abLo, cdLo), wv);   // 16l + 4..7
                    acc2 = dpbusd(acc2, _mm512_unpacklo_epi16(abHi, cdHi), wv);   // 16l + 8..11
                    acc3 = dpbusd(acc3, _mm512_unpackhi_epi16(abHi, cdHi), wv);   // 16l + 12..15
                }
                // 4 x 4 transpose of 128-bit lanes: out[l] = (acc0.l, acc1.l, acc2.l, acc3.l).
                const __m512i u0 = _mm512_shuffle_i32x4(acc0, acc1, 0x44), u1 = _mm512_shuffle_i32x4(acc0, acc1, 0xEE);
                const __m512i u2 = _mm512_shuffle_i32x4(acc2, acc3, 0x44), u3 = _mm512_shuffle_i32x4(acc2, acc3, 0xEE);
                const __m512i out[4] = {_mm512_shuffle_i32x4(u0, u2, 0x88), _mm512_shuffle_i32x4(u0, u2, 0xDD),
                                        _mm512_shuffle_i32x4(u1, u3, 0x88), _mm512_shuffle_i32x4(u1, u3, 0xDD)};
                for (int k = 0; k < 4; ++k) {
                    const __m128i bytes = _mm512_cvtepi32_epi8(requant(out[k]));
                    const size_t g = static_cast<size_t>(grp + k);
                    for (int32_t s = segStart[g]; s < segStart[g + 1]; ++s) {
                        const Segment& sg = segs[s];
                        _mm_mask_storeu_epi8(reinterpret_cast<void*>(ym + static_cast<uintptr_t>(sg.offset)), sg.mask, bytes);
                    }
                }
            }
            for (; grp < groups; ++grp) {
                __m512i acc = b;
                for (int64_t t = 0; t < taps; ++t) {
                    const __m128i xv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + offsets_[static_cast<size_t>(t)] + grp * 16));
                    acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(_mm512_cvtepu8_epi32(xv), _mm512_set1_epi32(wc[t])));
                }
                const __m128i bytes = _mm512_cvtepi32_epi8(requant(acc));
                for (int32_t k = segStart[grp]; k < segStart[grp + 1]; ++k) {
                    const Segment& sg = segs[k];
                    _mm_mask_storeu_epi8(reinterpret_cast<void*>(ym + static_cast<uintptr_t>(sg.offset)), sg.mask, bytes);
                }
            }
        }
    };
    // A few channels at a time, so that their staged planes are still in L1 when they are read; a
    // part's blocks reuse the start of its own region of the staging buffer.
    const int64_t chunk = std::max<int64_t>(1, (int64_t{24} << 10) / channelBytes_);
    auto channels = [&](const uint8_t* xn, uint8_t* yn, int64_t c0, int64_t c1) {
        for (int64_t cb = c0; cb < c1; cb += chunk) block(xn, yn, cb, std::min(cb + chunk, c1), stage + c0 * channelBytes_);
    };
    // The bytes past the last channel, which the last loads may touch.
    std::memset(stage + C * channelBytes_, xZeroU8_, stageBytes_ - static_cast<size_t>(C * channelBytes_));
    const bool parallel = threads > 1 && C * groups * taps * 16 >= (int64_t{1} << 17);
    for (int64_t n = 0; n < g_.batch; ++n) {
        const uint8_t* xn = xb + n * C * H * W;
        uint8_t* yn = yb + n * C * OH * OW;
        if (parallel) parallelFor(threads, C, 1, [&](int64_t c0, int64_t c1) { channels(xn, yn, c0, c1); });
        else channels(xn, yn, 0, C);
    }
}

namespace {

// The tile palette for amxJobs: tiles 0-3 accumulators (16 rows of 64 bytes), 4-5 weights (16 rows
// of up to 64), 6-7 staged input (up to 16 rows of 64).
struct alignas(64) TileConfig {
    uint8_t palette = 1, startRow = 0;
    uint8_t reserved[14] = {};
    uint16_t colsb[16] = {};
    uint8_t rows[16] = {};
};

} // namespace

// Requantizes the 32 accumulators of output channel m at positions block vb and stores the real
// outputs among them: one 32-byte store when the block is 32 consecutive bytes of the plane, else
// a masked store per segment. Built once per run from the kernel's tables (held as pointers: the
// byte stores may alias any member, which would then be reloaded).
struct DirectConv::ChannelStore {
    const Segment* segs;
    const int32_t* segStart;
    const int64_t* wholeStore;
    const double* scales;
    const int32_t* multipliers;
    const int32_t* shifts;
    int64_t planeBytes;
    int32_t yZero;
    QuantClamp clamp;
    bool fast;
    FastRequant fastRq;
    // The fast path packs both vectors to bytes with saturation (int32 -> int16 -> 8 bits) and
    // clamps the bytes: unsigned when the clamp reaches above 127 (a uint8 output), else signed
    // (int8, or uint8 codes that all fit 0..127, which read the same either way).
    bool unsignedBytes;
    bool clampLo, clampHi;
    __m512i lo8, hi8, byteOrder;

    explicit ChannelStore(const DirectConv& d)
        : segs(d.segments_.data()), segStart(d.segmentStart_.data()), wholeStore(d.wholeStore_.data()), scales(d.scale_.data()),
          multipliers(d.multiplier_.data()), shifts(d.shift_.data()), planeBytes(d.g_.out[1] * d.g_.out[2]), yZero(d.yZero_),
          clamp(d.clamp_), fast(d.fastRequant_), fastRq(d.yZero_, d.clamp_), unsignedBytes(d.clamp_.hi > 127),
          clampLo(d.clamp_.lo > (unsignedBytes ? 0 : -128)), clampHi(d.clamp_.hi < (unsignedBytes ? 255 : 127)),
          lo8(_mm512_set1_epi8(static_cast<char>(d.clamp_.lo))), hi8(_mm512_set1_epi8(static_cast<char>(d.clamp_.hi))),
          // After the two packs each 128-bit lane holds 4 codes of the first vector, then 4 of the
          // second: dwords 0, 4, 8, 12 are the first vector's 16 codes, 1, 5, 9, 13 the second's.
          byteOrder(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15))
    {
    }

    void operator()(uint8_t* yn, int64_t m, int64_t vb, __m512i acc0, __m512i acc1) const
    {
        const uintptr_t ym = reinterpret_cast<uintptr_t>(yn + m * planeBytes);
        __m256i both;
        if (fast) {
            const __m512d scale = _mm512_set1_pd(scales[m]);
            const __m512i words = _mm512_packs_epi32(fastRq.unclamped(acc0, scale), fastRq.unclamped(acc1, scale));
            __m512i bytes;
            if (unsignedBytes) {
                bytes = _mm512_packus_epi16(words, words);
                if (clampLo) bytes = _mm512_max_epu8(bytes, lo8);
                if (clampHi) bytes = _mm512_min_epu8(bytes, hi8);
            } else {
                bytes = _mm512_packs_epi16(words, words);
                if (clampLo) bytes = _mm512_max_epi8(bytes, lo8);
                if (clampHi) bytes = _mm512_min_epi8(bytes, hi8);
            }
            both = _mm512_castsi512_si256(_mm512_permutexvar_epi32(byteOrder, bytes));
        } else {
            const VecRequant rq(multipliers[m], shifts[m], yZero, clamp);
            both = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm512_cvtepi32_epi8(rq.apply(acc0))), _mm512_cvtepi32_epi8(rq.apply(acc1)), 1);
        }
        if (const int64_t whole = wholeStore[vb]; whole >= 0) {
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(ym + static_cast<uintptr_t>(whole)), both);
            return;
        }
        const __m128i out[2] = {_mm256_castsi256_si128(both), _mm256_extracti128_si256(both, 1)};
        for (int half = 0; half < 2; ++half) {
            const size_t grp = static_cast<size_t>(vb * 2 + half);
            for (int32_t k = segStart[grp]; k < segStart[grp + 1]; ++k) {
                const Segment& sg = segs[k];
                // Masked-off lanes are not accessed, so the base may point before the plane.
                _mm_mask_storeu_epi8(reinterpret_cast<void*>(ym + static_cast<uintptr_t>(sg.offset)), sg.mask, out[half]);
            }
        }
    }
};

// Jobs begin..end of 32 output channels x 32 virtual positions on the tile unit (compiled for AMX
// here only). Each thread loads the tile configuration for its own part.
__attribute__((target("amx-tile,amx-int8"))) void DirectConv::amxJobs(const uint8_t* stage, uint8_t* yn, int64_t begin, int64_t end) const
{
    TileConfig cfg;
    for (int t = 0; t < 8; ++t) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    // A tiles amxRows_ quads wide, B tiles amxRows_ rows deep.
    cfg.colsb[4] = cfg.colsb[5] = static_cast<uint16_t>(4 * amxRows_);
    cfg.rows[6] = cfg.rows[7] = static_cast<uint8_t>(amxRows_);
    _tile_loadconfig(&cfg);
    const int64_t chunks = static_cast<int64_t>(amxChunks_.size()), blocks = amxBlocks_, M = g_.outC;
    const size_t rowStride = static_cast<size_t>(planeDwords_) * 4;
    alignas(64) int32_t acc[4][16][16];   // [channel half * 2 + position half][channel][position]
    const ChannelStore store(*this);
    for (int64_t job = begin; job < end; ++job) {
        const int64_t mb = job % blocks, vb = job / blocks;
        const uint8_t* positions = stage + vb * kPositionBlock * 4;
        const int8_t* a = amxW_.data() + mb * chunks * 32 * 64;
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
        for (int64_t k = 0; k < chunks; ++k, a += 32 * 64) {
            const uint8_t* b = positions + static_cast<size_t>(amxChunks_[static_cast<size_t>(k)]) * 4;
            _tile_loadd(6, b, rowStride);
            _tile_loadd(7, b + 64, rowStride);
            _tile_loadd(4, a, 64);
            _tile_loadd(5, a + 16 * 64, 64);
            _tile_dpbsud(0, 4, 6);
            _tile_dpbsud(1, 4, 7);
            _tile_dpbsud(2, 5, 6);
            _tile_dpbsud(3, 5, 7);
        }
        _tile_stored(0, acc[0], 64);
        _tile_stored(1, acc[1], 64);
        _tile_stored(2, acc[2], 64);
        _tile_stored(3, acc[3], 64);
        for (int64_t j = 0; j < 32 && mb * 32 + j < M; ++j) {
            const int64_t m = mb * 32 + j;
            const __m512i bias = _mm512_set1_epi32(biasEff_[static_cast<size_t>(m)]);
            const int h = static_cast<int>(j / 16) * 2;
            store(yn, m, vb, _mm512_add_epi32(_mm512_load_si512(acc[h][j % 16]), bias),
                  _mm512_add_epi32(_mm512_load_si512(acc[h + 1][j % 16]), bias));
        }
    }
    _tile_release();
}

// 1 x 1, stride 1, no padding, on AMX: the staged planes are the input planes with 4 channels
// interleaved, position for position, so each part stages the positions it then convolves (all
// channel quads) and the layer needs one parallel region instead of two (staging, then jobs), with
// the staged input in the part's own core. Nothing is padded, so nothing is cleared first: lanes
// past the last position read whatever follows and are never stored.
void DirectConv::runPointwiseAmx(const uint8_t* xb, uint8_t* yb, uint8_t* stage, int threads) const
{
    const int64_t C = g_.inC, M = g_.outC, P = g_.in[1] * g_.in[2];
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(xFlip_));
    const int64_t blocks = amxBlocks_, vBlocks = virtualBlocks_;
    const bool parallel = threads > 1 && P * M * c4_ * 4 >= (int64_t{1} << 20);
    for (int64_t n = 0; n < g_.batch; ++n) {
        const uint8_t* xn = xb + n * C * P;
        uint8_t* yn = yb + n * M * P;
        auto part = [&](int64_t vb0, int64_t vb1) {
            const int64_t p0 = vb0 * kPositionBlock, p1 = std::min(vb1 * kPositionBlock, P);
            for (int64_t q = 0; q < c4_; ++q) {
                const uint8_t* src = xn + 4 * q * P;
                uint8_t* dst = stage + (q * planeDwords_) * 4;
                const int valid = static_cast<int>(std::min<int64_t>(4, C - 4 * q));
                for (int64_t p = p0; p < p1; p += 64) interleave4x64(src + p, P, valid, std::min<int64_t>(64, p1 - p), flip, dst + p * 4);
            }
            amxJobs(stage, yn, vb0 * blocks, vb1 * blocks);
        };
        if (parallel) parallelFor(threads, vBlocks, 1, part);
        else part(0, vBlocks);
    }
}

void DirectConv::run(const void* x, void* y, DataType yType, void* scratch, int threads) const
{
    (void)yType;   // the clamp keeps values in the output type's range; the low byte is the code
    if (depthwise_) {
        runDepthwise(static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y), static_cast<uint8_t*>(scratch), threads);
        return;
    }
    if (amx_ && pointwise_) {
        runPointwiseAmx(static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y), static_cast<uint8_t*>(scratch), threads);
        return;
    }
    const int64_t C = g_.inC, M = g_.outC, H = g_.in[1], W = g_.in[2], OH = g_.out[1], OW = g_.out[2];
    const int64_t steps = static_cast<int64_t>(offsets_.size());
    auto* stage = static_cast<uint8_t*>(scratch);
    const auto* xb = static_cast<const uint8_t*>(x);
    auto* yb = static_cast<uint8_t*>(y);
    const int64_t padL = g_.pad[2];

    for (int64_t n = 0; n < g_.batch; ++n) {
        // Stage: [phase][c4][h'][w'][4], x_zero_point in the padding.
        std::memset(stage, xZeroU8_, stageBytes_);
        const uint8_t* xn = xb + n * C * H * W;
        const bool simd = sw_ == 1 || sw_ == 2;
        const __m128i flip = _mm_set1_epi8(static_cast<char>(xFlip_));
        const __m512i flip512 = _mm512_set1_epi8(static_cast<char>(xFlip_));
        auto stageQuads = [&](int64_t q0, int64_t q1) {
            for (int64_t c = 4 * q0; c < 4 * q1; c += 4) {
                for (int64_t h = 0; h < H; ++h) {
                    const int64_t ph = rowPhase_[static_cast<size_t>(h)], hh = rowStaged_[static_cast<size_t>(h)];
                    const uint8_t* r0 = xn + (c * H + h) * W;
                    const int64_t planeStride = H * W;
                    // Channel c + k of this row (16 bytes from column w); past the last channel (C not a
                    // multiple of 4) zeros, which meet zero weights.
                    auto channel = [&](const uint8_t* row, int k, int64_t w, int64_t cnt) {
                        return c + k < C ? loadBytes(row + k * planeStride + w, cnt, flip) : _mm_setzero_si128();
                    };
                    auto rowDst = [&](int64_t pw) {
                        return stage + (((ph * sw_ + pw) * c4_ + c / 4) * planeDwords_ + hh * swp_) * 4;
                    };
                    if (sw_ == 1) {
                        uint8_t* dst = rowDst(0) + padL * 4;
                        const int valid = static_cast<int>(std::min<int64_t>(4, C - c));
                        for (int64_t w = 0; w < W; w += 64)
                            interleave4x64(r0 + w, planeStride, valid, std::min<int64_t>(64, W - w), flip512, dst + w * 4);
                    } else {
                        // Even columns w go to phase (w + padL) % 2 at (w + padL) / 2, odd ones to the other.
                        const __m128i evenOdd = evenOddBytes();
                        uint8_t* dstEven = rowDst(padL % 2) + (padL / 2) * 4;
                        uint8_t* dstOdd = rowDst((1 + padL) % 2) + ((1 + padL) / 2) * 4;
                        for (int64_t w = 0; w < W; w += 16) {
                            const int64_t cnt = std::min<int64_t>(16, W - w);
                            __m128i rows[4];
                            for (int k = 0; k < 4; ++k) rows[k] = _mm_shuffle_epi8(channel(r0, k, w, cnt), evenOdd);
                            const int64_t ne = (cnt + 1) / 2, no = cnt / 2;
                            interleave4(rows[0], rows[1], rows[2], rows[3], ne, dstEven + (w / 2) * 4);
                            if (no > 0)
                                interleave4(_mm_srli_si128(rows[0], 8), _mm_srli_si128(rows[1], 8), _mm_srli_si128(rows[2], 8),
                                            _mm_srli_si128(rows[3], 8), no, dstOdd + (w / 2) * 4);
                        }
                    }
                }
            }
        };
        const int64_t jobs = mBlocks_ * virtualBlocks_;
        const bool parallel = threads > 1 && jobs * steps * kChannelBlock * kPositionBlock >= (int64_t{1} << 17);
        // Job order. Positions outer when the packed weights stay in L2 and either the input block
        // of a job is worth keeping in L1 for all channels (16 steps or more) or the run is split
        // over threads (each part then reads its own positions, not all of them); else channels
        // outer, which writes fewer output planes at a time.
        const int64_t mBlocks = mBlocks_, vBlocks = virtualBlocks_;
        const bool positionsOuter = packedW_.size() * sizeof(int32_t) <= (size_t{256} << 10) && (parallel || steps >= 16);
        if (simd && parallel) parallelFor(threads, c4_, 1, stageQuads);
        else if (simd) stageQuads(0, c4_);
        for (int64_t c = 0; !simd && c < C; ++c) {
            const uint8_t* plane = xn + c * H * W;
            for (int64_t h = 0; h < H; ++h) {
                const int64_t ph = rowPhase_[static_cast<size_t>(h)], hh = rowStaged_[static_cast<size_t>(h)];
                const uint8_t* row = plane + h * W;
                for (int64_t pw = 0; pw < sw_; ++pw) {
                    const int64_t w0 = colFirst_[static_cast<size_t>(pw)];
                    uint8_t* dst = stage + ((((ph * sw_ + pw) * c4_ + c / 4) * planeDwords_ + hh * swp_ + colStaged_[static_cast<size_t>(pw)]) * 4 + c % 4);
                    for (int64_t w = w0; w < W; w += sw_, dst += 4) *dst = static_cast<uint8_t>(row[w] ^ xFlip_);
                }
            }
        }
        const auto* sd = reinterpret_cast<const int32_t*>(stage);
        uint8_t* yn = yb + n * M * OH * OW;
        if (amx_) {
            const int64_t amxJobCount = amxBlocks_ * vBlocks;
            if (parallel) parallelFor(threads, amxJobCount, 1, [&](int64_t b, int64_t e) { amxJobs(stage, yn, b, e); });
            else amxJobs(stage, yn, 0, amxJobCount);
            continue;
        }
        const ChannelStore store(*this);
        const int32_t* offsets = offsets_.data();
        const int32_t* biasEff = biasEff_.data();
        const int32_t* packed = packedW_.data();
        auto tile = [&, offsets = offsets, packed = packed, store = store, positionsOuter = positionsOuter, mBlocks = mBlocks,
                     vBlocks = vBlocks](int64_t begin, int64_t end) {   // copies: see runDepthwise
            for (int64_t job = begin; job < end; ++job) {
                const int64_t mb = positionsOuter ? job % mBlocks : job / vBlocks;
                const int64_t vb = positionsOuter ? job / mBlocks : job % vBlocks;
                __m512i acc[2][kChannelBlock];
                for (int j = 0; j < kChannelBlock; ++j) {
                    const __m512i b = _mm512_set1_epi32(biasEff[mb * kChannelBlock + j]);
                    acc[0][j] = b;
                    acc[1][j] = b;
                }
                const int32_t* wp = packed + mb * steps * kChannelBlock;
                const int32_t* base = sd + vb * kPositionBlock;
                for (int64_t s = 0; s < steps; ++s, wp += kChannelBlock) {
                    const int32_t* src = base + offsets[s];
                    const __m512i x0 = _mm512_loadu_si512(src);
                    const __m512i x1 = _mm512_loadu_si512(src + 16);
                    for (int j = 0; j < kChannelBlock; ++j) {
                        const __m512i wv = _mm512_set1_epi32(wp[j]);
                        acc[0][j] = dpbusd(acc[0][j], x0, wv);
                        acc[1][j] = dpbusd(acc[1][j], x1, wv);
                    }
                }
                for (int j = 0; j < kChannelBlock && mb * kChannelBlock + j < M; ++j) store(yn, mb * kChannelBlock + j, vb, acc[0][j], acc[1][j]);
            }
        };
        if (parallel) parallelFor(threads, jobs, 1, tile);
        else tile(0, jobs);
    }
}

} // namespace joule::rt::intconv

#else   // not x86-64: cpuSupported() is false, so these are never called.

namespace joule::rt::intconv {
void DirectConv::prepare(const IntConvGeometry&, const int8_t*, const int32_t*, DataType, int32_t,
                         const std::vector<Requantizer>&, int32_t, QuantClamp)
{
    throw UnsupportedError("the direct int8 convolution needs AVX-512 VNNI");
}
void DirectConv::run(const void*, void*, DataType, void*, int) const
{
    throw UnsupportedError("the direct int8 convolution needs AVX-512 VNNI");
}
} // namespace joule::rt::intconv

#endif
