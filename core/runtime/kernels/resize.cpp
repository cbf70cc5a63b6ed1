// Resize (opsets 10, 11, 13, 18): nearest / linear / cubic interpolation of an N-d tensor to the
// size given by `scales` (output = floor(input * scale)) or `sizes`. The interpolation itself is in
// resize_core.h; this file turns the node's attributes and inputs into a ResizeSpec.
//
// Opset 10 has inputs (X, scales), nearest/linear only, asymmetric coordinates and nearest that
// truncates (like Upsample). Opset 11+ has (X, roi, scales, sizes); an empty tensor counts as
// absent. Opset 18 adds `axes` (scales/sizes/roi cover only those axes), keep_aspect_ratio_policy
// for sizes (stretch, not_larger, not_smaller) and antialias.
#include "runtime/kernels/resize_core.h"

#include <set>

namespace joule::rt {
namespace {

using namespace resize;

template <typename T>
class Resize final : public ResizeKernel<T> {
public:
    ResizeSpec readSpec(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const int rank = x.rank();
        const int64_t opset = ctx.opset();
        ResizeSpec s;
        s.mode = parseMode(ctx.attrString("mode", "nearest"));
        const Tensor* roi = nullptr;
        const Tensor* scales = nullptr;
        const Tensor* sizes = nullptr;
        auto given = [&ctx](size_t i) -> const Tensor* {
            if (!ctx.hasInput(i)) return nullptr;
            const Tensor& t = ctx.requireConstantInput(i);
            return t.numel() > 0 ? &t : nullptr;
        };
        if (opset < 11) {
            if (s.mode == Mode::Cubic) throw KernelError("mode 'cubic' needs opset 11");
            s.coord = Coord::Asymmetric;
            s.nearest = Nearest::Simple;
            scales = given(1);
        } else {
            s.coord = parseCoord(ctx.attrString("coordinate_transformation_mode", "half_pixel"));
            s.nearest = parseNearest(ctx.attrString("nearest_mode", "round_prefer_floor"));
            s.cubicA = ctx.attrFloat("cubic_coeff_a", -0.75f);
            s.excludeOutside = ctx.attrInt("exclude_outside", 0) != 0;
            s.extrapolation = ctx.attrFloat("extrapolation_value", 0.0f);
            s.antialias = ctx.attrInt("antialias", 0) != 0;
            if (s.coord == Coord::TfCropAndResize) roi = given(1);   // ignored by the other modes
            scales = given(2);
            sizes = given(3);
        }

        std::vector<int64_t> axes;
        if (opset >= 18 && ctx.hasAttr("axes")) {
            std::set<int64_t> seen;
            for (int64_t a : ctx.attrInts("axes")) {
                if (a < -rank || a >= rank)
                    throw KernelError("axes value " + std::to_string(a) + " out of range for rank " + std::to_string(rank));
                if (a < 0) a += rank;
                if (!seen.insert(a).second) throw KernelError("axis " + std::to_string(a) + " listed twice in axes");
                axes.push_back(a);
            }
        } else {
            for (int a = 0; a < rank; ++a) axes.push_back(a);
        }
        const size_t n = axes.size();

        if (scales && sizes) throw KernelError("only one of 'scales' and 'sizes' may be given");
        if (!scales && !sizes) throw KernelError("one of 'scales' and 'sizes' must be given");
        s.scales.assign(static_cast<size_t>(rank), 1.0);
        s.outShape = x.shape;
        if (scales) {
            if (static_cast<size_t>(scales->numel()) != n)
                throw KernelError("scales has " + std::to_string(scales->numel()) + " values, expected " + std::to_string(n));
            for (size_t i = 0; i < n; ++i) {
                const double sc = scales->asDouble(static_cast<int64_t>(i));
                if (!(sc > 0.0)) throw KernelError("scales must be > 0, got " + std::to_string(sc));
                s.scales[axes[i]] = sc;
                s.outShape[axes[i]] = static_cast<int64_t>(std::floor(sc * static_cast<double>(x.shape[axes[i]])));
            }
        } else {
            if (static_cast<size_t>(sizes->numel()) != n)
                throw KernelError("sizes has " + std::to_string(sizes->numel()) + " values, expected " + std::to_string(n));
            s.sizesGiven = true;
            const std::string policy = opset >= 18 ? ctx.attrString("keep_aspect_ratio_policy", "stretch") : "stretch";
            if (policy == "stretch") {
                for (size_t i = 0; i < n; ++i) s.outShape[axes[i]] = sizes->asInt64(static_cast<int64_t>(i));
            } else if (policy == "not_larger" || policy == "not_smaller") {
                double scale = policy == "not_larger" ? std::numeric_limits<double>::infinity() : 0.0;
                for (size_t i = 0; i < n; ++i) {
                    const double r = static_cast<double>(sizes->asInt64(static_cast<int64_t>(i))) /
                                     static_cast<double>(x.shape[axes[i]]);
                    scale = policy == "not_larger" ? std::min(scale, r) : std::max(scale, r);
                }
                for (size_t i = 0; i < n; ++i)
                    s.outShape[axes[i]] = static_cast<int64_t>(std::floor(scale * static_cast<double>(x.shape[axes[i]]) + 0.5));
            } else {
                throw KernelError("keep_aspect_ratio_policy '" + policy + "' is not one of stretch, not_larger, not_smaller");
            }
            for (size_t i = 0; i < n; ++i) {
                const int64_t in = x.shape[axes[i]];
                s.scales[axes[i]] = in > 0 ? static_cast<double>(s.outShape[axes[i]]) / static_cast<double>(in) : 1.0;
            }
        }

        if (s.coord == Coord::TfCropAndResize) {
            s.roiStart.assign(static_cast<size_t>(rank), 0.0);
            s.roiEnd.assign(static_cast<size_t>(rank), 1.0);
            if (!roi) throw KernelError("coordinate_transformation_mode tf_crop_and_resize needs the 'roi' input");
            if (static_cast<size_t>(roi->numel()) != 2 * n)
                throw KernelError("roi has " + std::to_string(roi->numel()) + " values, expected " + std::to_string(2 * n));
            for (size_t i = 0; i < n; ++i) {
                s.roiStart[axes[i]] = roi->asDouble(static_cast<int64_t>(i));
                s.roiEnd[axes[i]] = roi->asDouble(static_cast<int64_t>(i + n));
            }
        }
        return s;
    }
};

} // namespace

void register_resize(KernelRegistry& r)
{
    r.add("Resize", "", {DataType::Float32}, make<Resize<float>>);
    r.add("Resize", "", {DataType::Float64}, make<Resize<double>>);
    r.add("Resize", "", {DataType::Int8}, make<Resize<int8_t>>);
    r.add("Resize", "", {DataType::UInt8}, make<Resize<uint8_t>>);
    r.add("Resize", "", {DataType::Int32}, make<Resize<int32_t>>);
    r.add("Resize", "", {DataType::Int64}, make<Resize<int64_t>>);
}

} // namespace joule::rt
