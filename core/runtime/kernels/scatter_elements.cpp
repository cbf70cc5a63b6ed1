// ScatterElements (and its deprecated alias Scatter, opsets 9-10): output = data, then for every
// position p of indices, output[p with p[axis] = indices[p]] = updates[p] — or combined with the
// existing value when reduction is add / mul (opset 16) or max / min (opset 18).
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

enum class Reduction { None, Add, Mul, Max, Min };

template <typename T>
void combine(std::byte* dstBytes, const std::byte* srcBytes, Reduction reduction)
{
    T a, b;
    std::memcpy(&a, dstBytes, sizeof(T));
    std::memcpy(&b, srcBytes, sizeof(T));
    switch (reduction) {
    case Reduction::Add: a = static_cast<T>(a + b); break;
    case Reduction::Mul: a = static_cast<T>(a * b); break;
    case Reduction::Max: a = a < b ? b : a; break;
    case Reduction::Min: a = b < a ? b : a; break;
    case Reduction::None: a = b; break;
    }
    std::memcpy(dstBytes, &a, sizeof(T));
}

using CombineFn = void (*)(std::byte*, const std::byte*, Reduction);

CombineFn combinerFor(DataType type)
{
    switch (type) {
    case DataType::Float32: return combine<float>;
    case DataType::Float64: return combine<double>;
    case DataType::Int8: return combine<int8_t>;
    case DataType::UInt8: return combine<uint8_t>;
    case DataType::Int16: return combine<int16_t>;
    case DataType::UInt16: return combine<uint16_t>;
    case DataType::Int32: return combine<int32_t>;
    case DataType::UInt32: return combine<uint32_t>;
    case DataType::Int64: return combine<int64_t>;
    case DataType::UInt64: return combine<uint64_t>;
    default: return nullptr;
    }
}

class ScatterElements final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& data = ctx.input(0);
        const TensorInfo& indices = ctx.input(1);
        const TensorInfo& updates = ctx.input(2);
        elem_ = layout::byteWidth(ctx, 0);
        if (indices.dtype != DataType::Int64 && indices.dtype != DataType::Int32)
            throw KernelError(std::string("indices must be int32 or int64, got ") + dataTypeName(indices.dtype));
        if (updates.dtype != data.dtype)
            throw KernelError(std::string("updates has type ") + dataTypeName(updates.dtype) + ", data has " + dataTypeName(data.dtype));
        if (updates.shape != indices.shape)
            throw KernelError("updates " + shapeToString(updates.shape) + " and indices " + shapeToString(indices.shape) +
                              " must have the same shape");
        if (data.rank() == 0 || indices.rank() != data.rank())
            throw KernelError("indices " + shapeToString(indices.shape) + " must have the rank of data " + shapeToString(data.shape));
        axis_ = static_cast<size_t>(layout::normalizeAxis(ctx.attrInt("axis", 0), data.rank()));
        for (size_t d = 0; d < data.shape.size(); ++d)
            if (d != axis_ && indices.shape[d] > data.shape[d])
                throw KernelError("indices " + shapeToString(indices.shape) + " exceeds data " + shapeToString(data.shape) +
                                  " on axis " + std::to_string(d));
        const std::string reduction = ctx.attrString("reduction", "none");
        if (reduction == "none") reduction_ = Reduction::None;
        else if (reduction == "add") reduction_ = Reduction::Add;
        else if (reduction == "mul") reduction_ = Reduction::Mul;
        else if (reduction == "max") reduction_ = Reduction::Max;
        else if (reduction == "min") reduction_ = Reduction::Min;
        else throw KernelError("unknown reduction '" + reduction + "'");
        combine_ = nullptr;
        if (reduction_ != Reduction::None) {
            combine_ = combinerFor(data.dtype);
            if (!combine_)
                throw UnsupportedError("reduction '" + reduction + "' on " + dataTypeName(data.dtype) + " is not supported");
        }
        shape_ = indices.shape;
        axisLen_ = data.shape[axis_];
        dataStride_ = layout::contiguousStrides(data.shape);
        wideIndices_ = indices.dtype == DataType::Int64;
        ctx.setOutput(0, data.dtype, data.shape);
    }

    void eval(EvalContext& ctx) override
    {
        const Tensor& data = ctx.input(0);
        Tensor& y = ctx.output(0);
        if (data.bytes()) std::memcpy(y.raw(), data.raw(), data.bytes());
        if (elementCount(shape_) == 0) return;
        indices_ = ctx.input(1).raw();
        updates_ = static_cast<const std::byte*>(ctx.input(2).raw());
        dst_ = static_cast<std::byte*>(y.raw());
        position_ = 0;
        walk(0, 0);
    }

private:
    void walk(size_t d, int64_t base)
    {
        const int64_t n = shape_[d];
        const bool last = d + 1 == shape_.size();
        for (int64_t i = 0; i < n; ++i) {
            const int64_t offset = d == axis_ ? base : base + i * dataStride_[d];
            if (!last) { walk(d + 1, offset); continue; }
            int64_t idx = wideIndices_ ? static_cast<const int64_t*>(indices_)[position_]
                                       : static_cast<const int32_t*>(indices_)[position_];
            if (idx < -axisLen_ || idx >= axisLen_)
                throw KernelError("index " + std::to_string(idx) + " is out of range for an axis of length " + std::to_string(axisLen_));
            if (idx < 0) idx += axisLen_;
            std::byte* target = dst_ + (offset + idx * dataStride_[axis_]) * static_cast<int64_t>(elem_);
            const std::byte* update = updates_ + position_ * static_cast<int64_t>(elem_);
            if (combine_) combine_(target, update, reduction_);
            else layout::copyElement(target, update, elem_);
            ++position_;
        }
    }

    size_t elem_ = 0, axis_ = 0;
    int64_t axisLen_ = 0;
    Reduction reduction_ = Reduction::None;
    CombineFn combine_ = nullptr;
    Shape shape_;
    std::vector<int64_t> dataStride_;
    bool wideIndices_ = true;
    // Per-eval walk state.
    const void* indices_ = nullptr;
    const std::byte* updates_ = nullptr;
    std::byte* dst_ = nullptr;
    int64_t position_ = 0;
};

} // namespace

void register_scatter_elements(KernelRegistry& r)
{
    r.add("ScatterElements", "", layout::byteTypes(), make<ScatterElements>);
    r.add("Scatter", "", layout::byteTypes(), make<ScatterElements>);
}

} // namespace joule::rt
