#pragma once
// Per-tensor / per-axis layout of QuantizeLinear and DequantizeLinear (opsets 10, 13): a scalar scale
// applies to the whole tensor; from opset 13 a 1-D scale holds one value per slice along `axis`
// (default 1). The tensor is then walked as [outer][channels][inner].

#include "runtime/kernel.h"

#include <string>

namespace joule::rt {

struct QuantAxis {
    int64_t outer = 1, channels = 1, inner = 1;

    // `scaleName` is the scale input's name in the spec ("x_scale" / "y_scale"), for messages.
    static QuantAxis plan(const PrepareContext& ctx, const TensorInfo& x, const TensorInfo& scale, const std::string& scaleName)
    {
        QuantAxis q;
        q.inner = x.numel();
        const int64_t count = scale.numel();
        if (count == 1) return q;
        if (ctx.opset() < 13 || scale.rank() != 1)
            throw KernelError(scaleName + " must be a scalar (per-tensor) or, from opset 13, a 1-D per-axis tensor");
        const int rank = x.rank();
        int64_t axis = ctx.attrInt("axis", 1);
        if (axis < -rank || axis >= rank)
            throw KernelError("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
        if (axis < 0) axis += rank;
        if (x.shape[static_cast<size_t>(axis)] != count)
            throw KernelError(scaleName + " has " + std::to_string(count) + " values but axis " + std::to_string(axis) +
                              " has size " + std::to_string(x.shape[static_cast<size_t>(axis)]));
        q.outer = q.inner = 1;
        for (int d = 0; d < axis; ++d) q.outer *= x.shape[static_cast<size_t>(d)];
        for (int d = static_cast<int>(axis) + 1; d < rank; ++d) q.inner *= x.shape[static_cast<size_t>(d)];
        q.channels = count;
        return q;
    }
};

} // namespace joule::rt
