// QLinearConcat (com.microsoft; also "ai.joule" with a fused activation, see quant_activation.h):
// joins quantized tensors along `axis`, requantizing each to the output's scale and zero point.
// Inputs: Y_scale, Y_zero_point, then one (X_i, X_i_scale, X_i_zero_point) triple per tensor; all
// scales and zero points per tensor and known while preparing; every X_i and Y share one type.
//
// Integer arithmetic, exactly (docs/integer-runtime.md), per input i and code c:
//   same scale and zero point as Y (no clamp):  y = c                        (a copy)
//   otherwise:  y = clamp(saturate(Y_zp + Requantizer(X_i_scale / Y_scale).apply(c - X_i_zp)))
// with the multiplier computed in double from the float32 scales. The 256 results per input are a
// table built in prepare(); eval() copies or looks up one contiguous block per input per outer index.
#include "runtime/kernels/int_gemm.h"
#include "runtime/kernels/quant_activation.h"
#include "runtime/kernels/quant_lookup.h"
#include "runtime/kernels/tensor_layout.h"
#include "runtime/registry.h"

#include <array>
#include <cstring>

namespace joule::rt {
namespace {

class QLinearConcat final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        if (ctx.inputCount() < 5 || (ctx.inputCount() - 2) % 3 != 0)
            throw KernelError("QLinearConcat needs Y_scale, Y_zero_point and one or more (X, X_scale, X_zero_point) triples, got " +
                              std::to_string(ctx.inputCount()) + " inputs");
        if (!ctx.hasAttr("axis")) throw KernelError("attribute 'axis' is required");
        const TensorInfo& first = ctx.input(2);
        if (!intgemm::isInt8Type(first.dtype)) throw UnsupportedError(std::string("X must be int8 or uint8, got ") + dataTypeName(first.dtype));
        type_ = first.dtype;
        const int rank = first.rank();
        if (rank == 0) throw KernelError("cannot concatenate scalars");
        const int axis = layout::normalizeAxis(ctx.attrInt("axis", 1), rank);
        const float sy = intgemm::readScale(ctx, 0, 0, "Y_scale")[0];
        if (ctx.hasInput(1) && ctx.input(1).dtype != type_) throw KernelError("Y_zero_point must have the type of the inputs");
        const int32_t zy = intgemm::readZeroPoint(ctx, 1, 0, "Y_zero_point").at(0);
        const QuantClamp clamp = readQuantClamp(ctx, type_);
        const bool clamps = clamp.lo != quantMinOf(type_) || clamp.hi != quantMaxOf(type_);
        const size_t count = (ctx.inputCount() - 2) / 3;
        parts_.assign(count, {});
        Shape out = first.shape;
        out[static_cast<size_t>(axis)] = 0;
        for (size_t i = 0; i < count; ++i) {
            const size_t xi = 2 + 3 * i;
            const std::string which = "input " + std::to_string(i) + " ";
            const TensorInfo& in = ctx.input(xi);
            if (in.dtype != type_)
                throw KernelError(which + "has type " + dataTypeName(in.dtype) + ", input 0 has " + dataTypeName(type_));
            if (in.rank() != rank)
                throw KernelError(which + "has shape " + shapeToString(in.shape) + ", of another rank than input 0 " + shapeToString(first.shape));
            for (int d = 0; d < rank; ++d)
                if (d != axis && in.shape[static_cast<size_t>(d)] != first.shape[static_cast<size_t>(d)])
                    throw KernelError(which + "has shape " + shapeToString(in.shape) + ", which differs from input 0 " +
                                      shapeToString(first.shape) + " outside axis " + std::to_string(axis));
            if (ctx.hasInput(xi + 2) && ctx.input(xi + 2).dtype != type_) throw KernelError(which + "zero point must have the type of X");
            const float sx = intgemm::readScale(ctx, xi + 1, 0, "X_scale")[0];
            const int32_t zx = intgemm::readZeroPoint(ctx, xi + 2, 0, "X_zero_point").at(0);
            Part& p = parts_[i];
            p.input = xi;
            p.block = layout::product(in.shape, static_cast<size_t>(axis), in.shape.size());
            p.copy = sx == sy && zx == zy && !clamps;
            if (!p.copy) buildTable(p, sx, zx, sy, zy, clamp, which);
            out[static_cast<size_t>(axis)] += in.shape[static_cast<size_t>(axis)];
        }
        outer_ = layout::product(first.shape, 0, static_cast<size_t>(axis));
        ctx.setOutput(0, type_, out);
    }

    void eval(EvalContext& ctx) override
    {
        auto* dst = static_cast<uint8_t*>(ctx.output(0).raw());
        const uint8_t flip = type_ == DataType::Int8 ? 0x80 : 0;   // int8 code -> table index
        for (int64_t o = 0; o < outer_; ++o) {
            for (const Part& p : parts_) {
                const int64_t n = p.block;
                const auto* src = static_cast<const uint8_t*>(ctx.input(p.input).raw()) + o * n;
                if (p.copy) {
                    if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n));
                } else {
                    lookupBytes(src, dst, n, p.table.data(), flip);
                }
                dst += n;
            }
        }
    }

private:
    struct Part {
        size_t input = 0;
        int64_t block = 0;   // elements per outer index
        bool copy = true;
        std::array<uint8_t, 256> table{};   // output code bytes, indexed as lookupIndex (quant_lookup.h)
    };

    static int32_t quantMinOf(DataType t) { return t == DataType::UInt8 ? quantMin<uint8_t>() : quantMin<int8_t>(); }
    static int32_t quantMaxOf(DataType t) { return t == DataType::UInt8 ? quantMax<uint8_t>() : quantMax<int8_t>(); }

    void buildTable(Part& p, float sx, int32_t zx, float sy, int32_t zy, QuantClamp clamp, const std::string& which) const
    {
        Requantizer rq;
        try {
            rq = Requantizer::fromReal(static_cast<double>(sx) / static_cast<double>(sy));
        } catch (const std::invalid_argument& e) {
            throw UnsupportedError(which + e.what());
        }
        for (int c = quantMinOf(type_); c <= quantMaxOf(type_); ++c) {
            const int32_t y = clamp.apply(rq.apply(c - zx) + zy);   // the clamp lies inside the type's range
            p.table[static_cast<size_t>(c - quantMinOf(type_))] = static_cast<uint8_t>(y);
        }
    }

    DataType type_ = DataType::UInt8;
    int64_t outer_ = 0;
    std::vector<Part> parts_;
};

} // namespace

void register_qlinear_concat(KernelRegistry& r)
{
    r.add("QLinearConcat", "com.microsoft", {DataType::UInt8, DataType::Int8}, make<QLinearConcat>, 2);
    r.add("QLinearConcat", "ai.joule", {DataType::UInt8, DataType::Int8}, make<QLinearConcat>, 2);
}

} // namespace joule::rt
