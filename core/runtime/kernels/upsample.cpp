// Upsample (opsets 7 and 9; deprecated in 10 in favour of Resize): nearest or (multi)linear
// scaling by `scales` — an attribute in opset 7, input 1 from opset 9. Output = floor(input * scale).
// Coordinates are asymmetric (x_original = x / scale) and nearest truncates, as in ONNX Runtime.
#include "runtime/kernels/resize_core.h"

namespace joule::rt {
namespace {

using namespace resize;

template <typename T>
class Upsample final : public ResizeKernel<T> {
public:
    ResizeSpec readSpec(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const int rank = x.rank();
        ResizeSpec s;
        s.mode = parseMode(ctx.attrString("mode", "nearest"));
        if (s.mode == Mode::Cubic) throw KernelError("Upsample supports modes nearest and linear, not cubic");
        s.coord = Coord::Asymmetric;
        s.nearest = Nearest::Simple;
        std::vector<double> scales;
        if (ctx.opset() >= 9 || ctx.hasInput(1)) {
            const Tensor& t = ctx.requireConstantInput(1);
            for (int64_t i = 0; i < t.numel(); ++i) scales.push_back(t.asDouble(i));
        } else {
            for (float f : ctx.attrFloats("scales")) scales.push_back(f);
        }
        if (static_cast<int>(scales.size()) != rank)
            throw KernelError("scales has " + std::to_string(scales.size()) + " values, expected " + std::to_string(rank));
        s.scales = scales;
        s.outShape = x.shape;
        for (int d = 0; d < rank; ++d) {
            if (!(scales[d] > 0.0)) throw KernelError("scales must be > 0, got " + std::to_string(scales[d]));
            s.outShape[d] = static_cast<int64_t>(std::floor(scales[d] * static_cast<double>(x.shape[d])));
        }
        return s;
    }
};

} // namespace

void register_upsample(KernelRegistry& r)
{
    r.add("Upsample", "", {DataType::Float32}, make<Upsample<float>>);
    r.add("Upsample", "", {DataType::Float64}, make<Upsample<double>>);
    r.add("Upsample", "", {DataType::Int8}, make<Upsample<int8_t>>);
    r.add("Upsample", "", {DataType::UInt8}, make<Upsample<uint8_t>>);
    r.add("Upsample", "", {DataType::Int32}, make<Upsample<int32_t>>);
    r.add("Upsample", "", {DataType::Int64}, make<Upsample<int64_t>>);
}

} // namespace joule::rt
