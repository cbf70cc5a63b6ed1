// DepthToSpace: [N, C*b*b, H, W] -> [N, C, H*b, W*b]. Mode DCR (default) reads the channel as
// (bh, bw, c), mode CRD (opset 11) as (c, bh, bw). Done as one strided copy over a 6-D view.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class DepthToSpace final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const size_t elem = layout::byteWidth(ctx, 0);
        if (x.rank() != 4) throw KernelError("input must be 4-D [N,C,H,W], got " + shapeToString(x.shape));
        const int64_t b = ctx.attrInt("blocksize", 0);
        if (b < 1) throw KernelError("blocksize must be positive, got " + std::to_string(b));
        const std::string mode = ctx.attrString("mode", "DCR");
        if (mode != "DCR" && mode != "CRD") throw KernelError("unknown mode '" + mode + "'");
        const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        if (c % (b * b) != 0)
            throw KernelError("channels (" + std::to_string(c) + ") are not divisible by blocksize^2 (" + std::to_string(b * b) + ")");
        const int64_t oc = c / (b * b);
        ctx.setOutput(0, x.dtype, {n, oc, h * b, w * b});
        // Output as [N, oc, H, bh, W, bw]; strides of each of those axes in the input.
        const int64_t hw = h * w;
        const int64_t strideC = mode == "DCR" ? hw : b * b * hw;
        const int64_t strideBh = mode == "DCR" ? b * oc * hw : b * hw;
        const int64_t strideBw = mode == "DCR" ? oc * hw : hw;
        copy_.plan({n, oc, h, b, w, b}, {c * hw, strideC, w, strideBh, 1, strideBw}, elem);
    }

    void eval(EvalContext& ctx) override { copy_.run(ctx.input(0).raw(), ctx.output(0).raw()); }

private:
    layout::StridedCopy copy_;
};

} // namespace

void register_depth_to_space(KernelRegistry& r)
{
    r.add("DepthToSpace", "", layout::byteTypes(), make<DepthToSpace>);
}

} // namespace joule::rt
