// Pad: grows (or, with negative pads, crops) each axis by pads[i] in front and pads[i + n] behind.
// Modes: constant (fill value), reflect (mirror without repeating the edge), edge (repeat the edge),
// wrap (opset 19, periodic). pads/value are attributes before opset 11 ('paddings' in opset 1),
// inputs 1/2 after; opset 18 adds input 3, the axes that pads refers to.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

enum class PadMode { Constant, Reflect, Edge, Wrap };

// Source index along an axis of length n for output position o, or -1 for "use the fill value".
int64_t sourceIndex(PadMode mode, int64_t o, int64_t begin, int64_t n)
{
    const int64_t i = o - begin;
    if (i >= 0 && i < n) return i;
    switch (mode) {
    case PadMode::Constant: return -1;
    case PadMode::Edge: return i < 0 ? 0 : n - 1;
    case PadMode::Wrap: return ((i % n) + n) % n;
    case PadMode::Reflect: {
        if (n == 1) return 0;
        const int64_t period = 2 * (n - 1);
        int64_t r = ((i % period) + period) % period;
        return r < n ? r : period - r;
    }
    }
    return -1;
}

class Pad final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        elem_ = layout::byteWidth(ctx, 0);
        const int rank = x.rank();
        const std::string mode = ctx.attrString("mode", "constant");
        if (mode == "constant") mode_ = PadMode::Constant;
        else if (mode == "reflect") mode_ = PadMode::Reflect;
        else if (mode == "edge") mode_ = PadMode::Edge;
        else if (mode == "wrap") mode_ = PadMode::Wrap;
        else throw KernelError("unknown mode '" + mode + "'");

        std::vector<int64_t> pads;
        std::vector<int64_t> axes;
        std::fill(std::begin(fill_), std::end(fill_), std::byte{0});
        valueFromInput_ = false;
        if (ctx.opset() < 11) {
            pads = ctx.attrInts(ctx.hasAttr("pads") ? "pads" : "paddings");
            layout::storeScalar(x.dtype, ctx.attrFloat("value", 0.0f), fill_);
        } else {
            pads = layout::constantInts(ctx, 1, "pads");
            if (ctx.hasInput(2)) {
                const TensorInfo& v = ctx.input(2);
                if (v.dtype != x.dtype)
                    throw KernelError(std::string("constant_value has type ") + dataTypeName(v.dtype) + ", data has " +
                                      dataTypeName(x.dtype));
                if (v.numel() != 1) throw KernelError("constant_value must hold one value, got shape " + shapeToString(v.shape));
                valueFromInput_ = true;
            }
            if (ctx.hasInput(3)) axes = layout::constantInts(ctx, 3, "axes");
        }
        if (axes.empty())
            for (int d = 0; d < rank; ++d) axes.push_back(d);
        if (pads.size() != 2 * axes.size())
            throw KernelError("pads " + layout::intsToString(pads) + " has " + std::to_string(pads.size()) +
                              " entries, expected " + std::to_string(2 * axes.size()));

        std::vector<int64_t> begin(static_cast<size_t>(rank), 0), end(static_cast<size_t>(rank), 0);
        for (size_t i = 0; i < axes.size(); ++i) {
            const auto a = static_cast<size_t>(layout::normalizeAxis(axes[i], rank, "axes entry"));
            begin[a] = pads[i];
            end[a] = pads[i + axes.size()];
        }
        Shape out(static_cast<size_t>(rank));
        for (size_t d = 0; d < out.size(); ++d) {
            out[d] = x.shape[d] + begin[d] + end[d];
            if (out[d] < 0)
                throw KernelError("pads " + layout::intsToString(pads) + " crop axis " + std::to_string(d) + " of input " +
                                  shapeToString(x.shape) + " below zero");
            if (mode_ != PadMode::Constant && out[d] > 0 && x.shape[d] == 0)
                throw KernelError("cannot pad empty axis " + std::to_string(d) + " in mode '" + mode + "'");
        }
        ctx.setOutput(0, x.dtype, out);

        // Per-axis source index maps; the innermost axis also records its directly copied run.
        outShape_ = out;
        srcStride_ = layout::contiguousStrides(x.shape);
        for (auto& s : srcStride_) s *= static_cast<int64_t>(elem_);
        dstStride_ = layout::contiguousStrides(out);
        for (auto& s : dstStride_) s *= static_cast<int64_t>(elem_);
        maps_.assign(out.size(), {});
        for (size_t d = 0; d < out.size(); ++d) {
            maps_[d].resize(static_cast<size_t>(out[d]));
            for (int64_t o = 0; o < out[d]; ++o) maps_[d][static_cast<size_t>(o)] = sourceIndex(mode_, o, begin[d], x.shape[d]);
        }
        if (rank > 0) {
            const int64_t n = x.shape.back();
            runStart_ = std::max<int64_t>(0, begin.back());
            runSource_ = std::max<int64_t>(0, -begin.back());
            runLength_ = std::max<int64_t>(0, std::min(n - runSource_, out.back() - runStart_));
        }
    }

    void eval(EvalContext& ctx) override
    {
        const Tensor& x = ctx.input(0);
        Tensor& y = ctx.output(0);
        if (y.numel() == 0) return;
        if (valueFromInput_) std::memcpy(fill_, ctx.input(2).raw(), elem_);
        if (outShape_.empty()) { std::memcpy(y.raw(), x.raw(), elem_); return; }
        padDim(0, static_cast<const std::byte*>(x.raw()), static_cast<std::byte*>(y.raw()));
    }

private:
    void padDim(size_t d, const std::byte* src, std::byte* dst) const
    {
        const int64_t n = outShape_[d];
        const int64_t* map = maps_[d].data();
        if (d + 1 == outShape_.size()) {
            for (int64_t o = 0; o < n; ++o) {
                if (o == runStart_ && runLength_ > 0) {
                    std::memcpy(dst + o * dstStride_[d], src + runSource_ * srcStride_[d], static_cast<size_t>(runLength_) * elem_);
                    o += runLength_ - 1;
                    continue;
                }
                if (map[o] < 0) layout::copyElement(dst + o * dstStride_[d], fill_, elem_);
                else layout::copyElement(dst + o * dstStride_[d], src + map[o] * srcStride_[d], elem_);
            }
            return;
        }
        const int64_t blockElems = dstStride_[d] / static_cast<int64_t>(elem_);
        for (int64_t o = 0; o < n; ++o) {
            if (map[o] < 0) layout::fillElements(dst + o * dstStride_[d], fill_, elem_, blockElems);
            else padDim(d + 1, src + map[o] * srcStride_[d], dst + o * dstStride_[d]);
        }
    }

    size_t elem_ = 0;
    PadMode mode_ = PadMode::Constant;
    alignas(8) std::byte fill_[8] = {};
    bool valueFromInput_ = false;
    Shape outShape_;
    std::vector<int64_t> srcStride_, dstStride_;   // bytes
    std::vector<std::vector<int64_t>> maps_;
    int64_t runStart_ = 0, runSource_ = 0, runLength_ = 0;
};

} // namespace

void register_pad(KernelRegistry& r)
{
    r.add("Pad", "", layout::byteTypes(), make<Pad>);
}

} // namespace joule::rt
