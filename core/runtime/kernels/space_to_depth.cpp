// SpaceToDepth: [N, C, H*b, W*b] -> [N, C*b*b, H, W]; output channel = (bh * b + bw) * C + c.
// Done as one strided copy over a 6-D view.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class SpaceToDepth final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const size_t elem = layout::byteWidth(ctx, 0);
        if (x.rank() != 4) throw KernelError("input must be 4-D [N,C,H,W], got " + shapeToString(x.shape));
        const int64_t b = ctx.attrInt("blocksize", 0);
        if (b < 1) throw KernelError("blocksize must be positive, got " + std::to_string(b));
        const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        if (h % b != 0 || w % b != 0)
            throw KernelError("height and width of " + shapeToString(x.shape) + " are not divisible by blocksize " + std::to_string(b));
        const int64_t oh = h / b, ow = w / b;
        ctx.setOutput(0, x.dtype, {n, c * b * b, oh, ow});
        // Output as [N, bh, bw, C, oh, ow]; strides of each of those axes in the input.
        copy_.plan({n, b, b, c, oh, ow}, {c * h * w, w, 1, h * w, b * w, b}, elem);
    }

    void eval(EvalContext& ctx) override { copy_.run(ctx.input(0).raw(), ctx.output(0).raw()); }

private:
    layout::StridedCopy copy_;
};

} // namespace

void register_space_to_depth(KernelRegistry& r)
{
    r.add("SpaceToDepth", "", layout::byteTypes(), make<SpaceToDepth>);
}

} // namespace joule::rt
