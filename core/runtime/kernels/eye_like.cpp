// EyeLike: a 2-D tensor of the input's shape with ones on the diagonal shifted by k (column - row
// = k) and zeros elsewhere. The element type is the `dtype` attribute (an ONNX type code) or the input's.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

// ONNX TensorProto.DataType codes of the types EyeLike produces.
DataType typeFromOnnxCode(int64_t code)
{
    switch (code) {
    case 1: return DataType::Float32;
    case 2: return DataType::UInt8;
    case 3: return DataType::Int8;
    case 4: return DataType::UInt16;
    case 5: return DataType::Int16;
    case 6: return DataType::Int32;
    case 7: return DataType::Int64;
    case 9: return DataType::Bool;
    case 10: return DataType::Float16;
    case 11: return DataType::Float64;
    case 12: return DataType::UInt32;
    case 13: return DataType::UInt64;
    default: return DataType::Undefined;
    }
}

class EyeLike final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        if (x.rank() != 2) throw KernelError("input must be 2-D, got " + shapeToString(x.shape));
        DataType type = x.dtype;
        if (ctx.hasAttr("dtype")) {
            const int64_t code = ctx.attrInt("dtype", 0);
            type = typeFromOnnxCode(code);
            if (type == DataType::Undefined) throw UnsupportedError("dtype " + std::to_string(code) + " is not supported");
        }
        elem_ = elementSize(type);
        if (elem_ == 0) throw UnsupportedError(std::string("type ") + dataTypeName(type) + " is not supported");
        layout::storeScalar(type, 1.0, one_);
        k_ = ctx.attrInt("k", 0);
        rows_ = x.shape[0];
        cols_ = x.shape[1];
        ctx.setOutput(0, type, x.shape);
    }

    void eval(EvalContext& ctx) override
    {
        auto* dst = static_cast<std::byte*>(ctx.output(0).raw());
        if (rows_ * cols_ == 0) return;
        std::memset(dst, 0, static_cast<size_t>(rows_ * cols_) * elem_);
        for (int64_t i = std::max<int64_t>(0, -k_); i < rows_ && i + k_ < cols_; ++i)
            std::memcpy(dst + static_cast<size_t>(i * cols_ + i + k_) * elem_, one_, elem_);
    }

private:
    size_t elem_ = 0;
    alignas(8) std::byte one_[8] = {};
    int64_t k_ = 0, rows_ = 0, cols_ = 0;
};

} // namespace

void register_eye_like(KernelRegistry& r)
{
    r.add("EyeLike", "", layout::byteTypes(), make<EyeLike>);
}

} // namespace joule::rt
