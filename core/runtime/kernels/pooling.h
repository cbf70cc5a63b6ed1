#pragma once
// Window loops shared by MaxPool and AveragePool (header-only, joule::rt).
//
//   PoolPlan plan;  plan.build(geometry, countIncludePad);     // prepare()
//   poolMax(plan, x, y, indices, storageOrder, planes);         // eval(); indices may be nullptr
//   poolAverage(plan, x, y, planes);
//
// `planes` is N * C: each plane is one channel of one image, in[] elements in, out[] elements out.
// Two-dimensional windows without an Indices output take a row-wise path (for each kernel tap,
// one pass over the output row), which the compiler vectorises; other ranks walk each window.

#include "runtime/kernels/conv_geometry.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace joule::rt {

struct PoolPlan {
    ConvGeometry geo;
    int64_t inPlane = 0, outPlane = 0;
    // Per axis d and output o: taps [tapLo, tapHi) fall inside the input; `counted` is how many taps
    // the average divides by (inside the input, or inside input + explicit pads).
    std::vector<std::vector<int64_t>> tapLo, tapHi, counted;
    // Per axis d and tap t: outputs [outLo, outHi) whose input is inside (row-wise path).
    std::vector<std::vector<int64_t>> outLo, outHi;

    void build(const ConvGeometry& g, bool countIncludePad)
    {
        geo = g;
        inPlane = g.inCount();
        outPlane = g.outCount();
        const int rank = g.rank();
        tapLo.assign(rank, {});
        tapHi.assign(rank, {});
        counted.assign(rank, {});
        outLo.assign(rank, {});
        outHi.assign(rank, {});
        for (int d = 0; d < rank; ++d) {
            for (int64_t o = 0; o < g.out[d]; ++o) {
                const int64_t start = o * g.strides[d] - g.padBegin[d];
                int64_t lo = g.kernel[d], hi = 0, padded = 0;
                for (int64_t t = 0; t < g.kernel[d]; ++t) {
                    const int64_t i = start + t * g.dilations[d];
                    if (i >= 0 && i < g.in[d]) { lo = std::min(lo, t); hi = t + 1; }
                    if (i < g.in[d] + g.padEnd[d]) ++padded;
                }
                int64_t inside = 0;
                for (int64_t t = lo; t < hi; ++t) {
                    const int64_t i = start + t * g.dilations[d];
                    if (i >= 0 && i < g.in[d]) ++inside;
                }
                tapLo[d].push_back(std::min(lo, hi));
                tapHi[d].push_back(hi);
                counted[d].push_back(countIncludePad ? padded : inside);
            }
            for (int64_t t = 0; t < g.kernel[d]; ++t) {
                int64_t lo = 0, hi = 0;
                g.validOutputs(d, t, lo, hi);
                outLo[d].push_back(lo);
                outHi[d].push_back(hi);
            }
        }
    }
};

namespace pooling {

// Walks every output position of a plane; fn(outIndex, windowVisitor) where the visitor calls
// f(inputIndex, rowMajorIndexForIndices) for each tap inside the input.
template <typename OnOutput>
void forEachWindow(const PoolPlan& p, OnOutput&& onOutput)
{
    const ConvGeometry& g = p.geo;
    const int rank = g.rank();
    int64_t o[8] = {0}, t[8] = {0};
    for (int64_t oi = 0; oi < p.outPlane; ++oi) {
        bool empty = false;
        for (int d = 0; d < rank; ++d) {
            t[d] = p.tapLo[d][o[d]];
            empty = empty || t[d] >= p.tapHi[d][o[d]];
        }
        onOutput(oi, o, [&](auto&& visit) {
            if (empty) return;
            while (true) {
                int64_t idx = 0;
                for (int d = 0; d < rank; ++d)
                    idx = idx * g.in[d] + o[d] * g.strides[d] - g.padBegin[d] + t[d] * g.dilations[d];
                visit(idx, t);
                int d = rank - 1;
                for (; d >= 0; --d) {
                    if (++t[d] < p.tapHi[d][o[d]]) break;
                    t[d] = p.tapLo[d][o[d]];
                }
                if (d < 0) break;
            }
        });
        for (int d = rank - 1; d >= 0; --d) {
            if (++o[d] < g.out[d]) break;
            o[d] = 0;
        }
    }
}

// Column-major (storage_order = 1) position of a row-major input index within its plane.
inline int64_t columnMajorIndex(const ConvGeometry& g, int64_t rowMajor)
{
    const int rank = g.rank();
    int64_t pos[8];
    for (int d = rank - 1; d >= 0; --d) {
        pos[d] = rowMajor % g.in[d];
        rowMajor /= g.in[d];
    }
    int64_t idx = 0;
    for (int d = rank - 1; d >= 0; --d) idx = idx * g.in[d] + pos[d];
    return idx;
}

} // namespace pooling

// y = max over each window (the lowest value of T for an empty window). indices (optional) gets the
// flattened position of the first maximum in X, row-major or column-major (storageOrder 1) within
// the plane, plus the plane's offset.
template <typename T>
void poolMax(const PoolPlan& p, const T* x, T* y, int64_t* indices, int storageOrder, int64_t planes)
{
    const ConvGeometry& g = p.geo;
    const T lowest = std::numeric_limits<T>::lowest();
    if (g.rank() == 2 && !indices) {
        const int64_t W = g.in[1], OH = g.out[0], OW = g.out[1], sw = g.strides[1];
        for (int64_t plane = 0; plane < planes; ++plane) {
            const T* xp = x + plane * p.inPlane;
            T* yp = y + plane * p.outPlane;
            for (int64_t oh = 0; oh < OH; ++oh) {
                T* row = yp + oh * OW;
                std::fill(row, row + OW, lowest);
                for (int64_t ky = p.tapLo[0][oh]; ky < p.tapHi[0][oh]; ++ky) {
                    const int64_t ih = oh * g.strides[0] - g.padBegin[0] + ky * g.dilations[0];
                    if (ih < 0 || ih >= g.in[0]) continue;
                    for (int64_t kx = 0; kx < g.kernel[1]; ++kx) {
                        const T* src = xp + ih * W + kx * g.dilations[1] - g.padBegin[1];
                        const int64_t lo = p.outLo[1][kx], hi = p.outHi[1][kx];
                        if (sw == 1) {
                            for (int64_t ow = lo; ow < hi; ++ow) row[ow] = std::max(row[ow], src[ow]);
                        } else {
                            for (int64_t ow = lo; ow < hi; ++ow) row[ow] = std::max(row[ow], src[ow * sw]);
                        }
                    }
                }
            }
        }
        return;
    }
    for (int64_t plane = 0; plane < planes; ++plane) {
        const T* xp = x + plane * p.inPlane;
        T* yp = y + plane * p.outPlane;
        int64_t* ip = indices ? indices + plane * p.outPlane : nullptr;
        pooling::forEachWindow(p, [&](int64_t oi, const int64_t*, auto&& window) {
            T best = lowest;
            int64_t where = -1;
            window([&](int64_t idx, const int64_t*) {
                if (where < 0 || xp[idx] > best) { best = xp[idx]; where = idx; }
            });
            yp[oi] = best;
            if (ip) {
                const int64_t within = where < 0 ? 0 : storageOrder == 1 ? pooling::columnMajorIndex(g, where) : where;
                ip[oi] = plane * p.inPlane + within;
            }
        });
    }
}

// y = sum over each window / the plan's count of taps for that output.
template <typename T>
void poolAverage(const PoolPlan& p, const T* x, T* y, int64_t planes)
{
    const ConvGeometry& g = p.geo;
    if (g.rank() == 2) {
        const int64_t W = g.in[1], OH = g.out[0], OW = g.out[1], sw = g.strides[1];
        for (int64_t plane = 0; plane < planes; ++plane) {
            const T* xp = x + plane * p.inPlane;
            T* yp = y + plane * p.outPlane;
            for (int64_t oh = 0; oh < OH; ++oh) {
                T* row = yp + oh * OW;
                std::fill(row, row + OW, T(0));
                for (int64_t ky = p.tapLo[0][oh]; ky < p.tapHi[0][oh]; ++ky) {
                    const int64_t ih = oh * g.strides[0] - g.padBegin[0] + ky * g.dilations[0];
                    if (ih < 0 || ih >= g.in[0]) continue;
                    for (int64_t kx = 0; kx < g.kernel[1]; ++kx) {
                        const T* src = xp + ih * W + kx * g.dilations[1] - g.padBegin[1];
                        const int64_t lo = p.outLo[1][kx], hi = p.outHi[1][kx];
                        if (sw == 1) {
                            for (int64_t ow = lo; ow < hi; ++ow) row[ow] += src[ow];
                        } else {
                            for (int64_t ow = lo; ow < hi; ++ow) row[ow] += src[ow * sw];
                        }
                    }
                }
                const int64_t ch = p.counted[0][oh];
                for (int64_t ow = 0; ow < OW; ++ow) {
                    const int64_t n = ch * p.counted[1][ow];
                    row[ow] = n > 0 ? row[ow] / static_cast<T>(n) : T(0);
                }
            }
        }
        return;
    }
    const int rank = g.rank();
    for (int64_t plane = 0; plane < planes; ++plane) {
        const T* xp = x + plane * p.inPlane;
        T* yp = y + plane * p.outPlane;
        pooling::forEachWindow(p, [&](int64_t oi, const int64_t* o, auto&& window) {
            T sum = T(0);
            window([&](int64_t idx, const int64_t*) { sum += xp[idx]; });
            int64_t n = 1;
            for (int d = 0; d < rank; ++d) n *= p.counted[d][o[d]];
            yp[oi] = n > 0 ? sum / static_cast<T>(n) : T(0);
        });
    }
}

} // namespace joule::rt
