#pragma once
// Window geometry shared by Conv, ConvTranspose, MaxPool and AveragePool: kernel size, strides,
// dilations and padding (explicit `pads` or `auto_pad`) per spatial axis, and the output size.
//
//   ConvGeometry g = ConvGeometry::read(ctx, x.shape, kernelFromWeights);   // reads the attributes
//   Shape y = {n, c};  for (int d = 0; d < g.rank(); ++d) y.push_back(g.out[d]);
//   // input position of output o, tap t on axis d: o * g.strides[d] - g.padBegin[d] + t * g.dilations[d]
//
// Output size per axis (ONNX): NOTSET floor((in + pb + pe - ek) / s) + 1 (ceil with ceil_mode, dropping
// a last window that would start in the end padding); VALID the same with no padding; SAME_UPPER /
// SAME_LOWER ceil(in / s), with the padding this needs split evenly and the odd element at the end
// (UPPER) or the beginning (LOWER). ek = (k - 1) * d + 1 is the dilated kernel extent.

#include "runtime/kernel.h"

#include <string>
#include <vector>

namespace joule::rt {

struct ConvGeometry {
    std::vector<int64_t> in, kernel, strides, dilations, padBegin, padEnd, out;

    int rank() const { return static_cast<int>(in.size()); }
    int64_t extent(int d) const { return (kernel[d] - 1) * dilations[d] + 1; }
    int64_t outCount() const { int64_t n = 1; for (int64_t v : out) n *= v; return n; }
    int64_t inCount() const { int64_t n = 1; for (int64_t v : in) n *= v; return n; }
    int64_t kernelCount() const { int64_t n = 1; for (int64_t v : kernel) n *= v; return n; }

    // For axis d and tap t: the outputs o whose input position o*s - pb + t*dil lies inside the input
    // are [lo, hi) (empty when lo >= hi).
    void validOutputs(int d, int64_t t, int64_t& lo, int64_t& hi) const
    {
        const int64_t off = t * dilations[d] - padBegin[d];   // input = o * s + off
        const int64_t s = strides[d];
        lo = off >= 0 ? 0 : (-off + s - 1) / s;
        const int64_t last = in[d] - 1 - off;                 // o * s <= last
        hi = last < 0 ? 0 : last / s + 1;
        if (hi > out[d]) hi = out[d];
        if (lo > hi) lo = hi;
    }

    // Reads kernel_shape (or `kernelFallback` when the attribute is absent, e.g. from the weights),
    // strides, dilations, pads and auto_pad for an input of shape [N, C, spatial...], and computes
    // the output size. `ceilMode` is for pooling. KernelError names the attribute at fault.
    static ConvGeometry read(const PrepareContext& ctx, const Shape& inputShape,
                             const std::vector<int64_t>& kernelFallback, bool ceilMode = false,
                             bool allowDilations = true)
    {
        if (inputShape.size() < 3)
            throw KernelError("input must have shape [N, C, spatial...] but has shape " + shapeToString(inputShape));
        ConvGeometry g;
        const size_t rank = inputShape.size() - 2;
        g.in.assign(inputShape.begin() + 2, inputShape.end());
        g.kernel = ctx.hasAttr("kernel_shape") ? ctx.attrInts("kernel_shape") : kernelFallback;
        if (g.kernel.size() != rank)
            throw KernelError("kernel_shape has " + std::to_string(g.kernel.size()) + " values for " +
                              std::to_string(rank) + " spatial axes");
        g.strides = ctx.attrInts("strides", std::vector<int64_t>(rank, 1));
        g.dilations = ctx.attrInts("dilations", std::vector<int64_t>(rank, 1));
        if (g.strides.size() != rank) throw KernelError("strides must have " + std::to_string(rank) + " values");
        if (g.dilations.size() != rank) throw KernelError("dilations must have " + std::to_string(rank) + " values");
        if (!allowDilations)
            for (int64_t v : g.dilations)
                if (v != 1) throw UnsupportedError("dilations other than 1 are not supported by this op version");
        for (size_t d = 0; d < rank; ++d) {
            if (g.kernel[d] < 1) throw KernelError("kernel_shape values must be positive");
            if (g.strides[d] < 1) throw KernelError("strides must be positive");
            if (g.dilations[d] < 1) throw KernelError("dilations must be positive");
        }
        std::string autoPad = ctx.attrString("auto_pad", "NOTSET");
        const std::vector<int64_t> pads = ctx.attrInts("pads", std::vector<int64_t>(2 * rank, 0));
        if (pads.size() != 2 * rank)
            throw KernelError("pads must have " + std::to_string(2 * rank) + " values but has " +
                              std::to_string(pads.size()));
        g.padBegin.assign(pads.begin(), pads.begin() + static_cast<long>(rank));
        g.padEnd.assign(pads.begin() + static_cast<long>(rank), pads.end());
        g.out.resize(rank);
        for (size_t d = 0; d < rank; ++d) {
            const int64_t in = g.in[d], s = g.strides[d], ek = g.extent(static_cast<int>(d));
            if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
                const int64_t out = (in + s - 1) / s;
                const int64_t total = std::max<int64_t>(0, (out - 1) * s + ek - in);
                const int64_t small = total / 2, large = total - small;
                g.padBegin[d] = autoPad == "SAME_UPPER" ? small : large;
                g.padEnd[d] = autoPad == "SAME_UPPER" ? large : small;
                g.out[d] = out;
                continue;
            }
            if (autoPad == "VALID") {
                g.padBegin[d] = g.padEnd[d] = 0;
            } else if (autoPad != "NOTSET" && !autoPad.empty()) {
                throw KernelError("auto_pad '" + autoPad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
            }
            if (g.padBegin[d] < 0 || g.padEnd[d] < 0) throw KernelError("pads must not be negative");
            const int64_t span = in + g.padBegin[d] + g.padEnd[d] - ek;
            if (span < 0)
                throw KernelError("kernel extent " + std::to_string(ek) + " exceeds the padded input size " +
                                  std::to_string(in + g.padBegin[d] + g.padEnd[d]) + " on spatial axis " +
                                  std::to_string(d));
            int64_t out = (ceilMode ? (span + s - 1) / s : span / s) + 1;
            if (ceilMode && (out - 1) * s >= in + g.padBegin[d]) --out;   // window would start in the end padding
            g.out[d] = out;
        }
        return g;
    }
};

} // namespace joule::rt
