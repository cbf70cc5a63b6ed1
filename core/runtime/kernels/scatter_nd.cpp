// ScatterND: output = data, then each row of the last indices axis (k values) addresses a slice
// output[i1, ..., ik, :] that is replaced by (or, opset 16/18, combined by add / mul / max / min with)
// the matching slice of updates. updates.shape = indices.shape[:-1] + data.shape[k:].
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

enum class Reduction { None, Add, Mul, Max, Min };

template <typename T>
void combineSlice(std::byte* dstBytes, const std::byte* srcBytes, int64_t n, Reduction reduction)
{
    for (int64_t i = 0; i < n; ++i) {
        T a, b;
        std::memcpy(&a, dstBytes + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
        std::memcpy(&b, srcBytes + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
        switch (reduction) {
        case Reduction::Add: a = static_cast<T>(a + b); break;
        case Reduction::Mul: a = static_cast<T>(a * b); break;
        case Reduction::Max: a = a < b ? b : a; break;
        case Reduction::Min: a = b < a ? b : a; break;
        case Reduction::None: a = b; break;
        }
        std::memcpy(dstBytes + i * static_cast<int64_t>(sizeof(T)), &a, sizeof(T));
    }
}

using CombineFn = void (*)(std::byte*, const std::byte*, int64_t, Reduction);

CombineFn combinerFor(DataType type)
{
    switch (type) {
    case DataType::Float32: return combineSlice<float>;
    case DataType::Float64: return combineSlice<double>;
    case DataType::Int8: return combineSlice<int8_t>;
    case DataType::UInt8: return combineSlice<uint8_t>;
    case DataType::Int16: return combineSlice<int16_t>;
    case DataType::UInt16: return combineSlice<uint16_t>;
    case DataType::Int32: return combineSlice<int32_t>;
    case DataType::UInt32: return combineSlice<uint32_t>;
    case DataType::Int64: return combineSlice<int64_t>;
    case DataType::UInt64: return combineSlice<uint64_t>;
    default: return nullptr;
    }
}

class ScatterND final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& data = ctx.input(0);
        const TensorInfo& indices = ctx.input(1);
        const TensorInfo& updates = ctx.input(2);
        const size_t elem = layout::byteWidth(ctx, 0);
        if (indices.dtype != DataType::Int64) throw KernelError(std::string("indices must be int64, got ") + dataTypeName(indices.dtype));
        if (updates.dtype != data.dtype)
            throw KernelError(std::string("updates has type ") + dataTypeName(updates.dtype) + ", data has " + dataTypeName(data.dtype));
        if (indices.rank() < 1) throw KernelError("indices must have rank >= 1");
        const int64_t k = indices.shape.back();
        if (k < 1 || k > data.rank())
            throw KernelError("the last dimension of indices (" + std::to_string(k) + ") must be in [1, " + std::to_string(data.rank()) + "]");
        Shape expected(indices.shape.begin(), indices.shape.end() - 1);
        expected.insert(expected.end(), data.shape.begin() + k, data.shape.end());
        if (updates.shape != expected)
            throw KernelError("updates has shape " + shapeToString(updates.shape) + ", expected " + shapeToString(expected));
        const std::string reduction = ctx.attrString("reduction", "none");
        if (reduction == "none") reduction_ = Reduction::None;
        else if (reduction == "add") reduction_ = Reduction::Add;
        else if (reduction == "mul") reduction_ = Reduction::Mul;
        else if (reduction == "max") reduction_ = Reduction::Max;
        else if (reduction == "min") reduction_ = Reduction::Min;
        else throw KernelError("unknown reduction '" + reduction + "'");
        combine_ = nullptr;
        if (reduction_ != Reduction::None && !(combine_ = combinerFor(data.dtype)))
            throw UnsupportedError("reduction '" + reduction + "' on " + dataTypeName(data.dtype) + " is not supported");
        ctx.setOutput(0, data.dtype, data.shape);
        k_ = k;
        tuples_ = layout::product(indices.shape, 0, indices.shape.size() - 1);
        sliceElems_ = layout::product(data.shape, static_cast<size_t>(k), data.shape.size());
        sliceBytes_ = static_cast<size_t>(sliceElems_) * elem;
        dims_.assign(data.shape.begin(), data.shape.begin() + k);
        const auto strides = layout::contiguousStrides(data.shape);
        strides_.assign(strides.begin(), strides.begin() + k);
        for (auto& s : strides_) s *= static_cast<int64_t>(elem);
    }

    void eval(EvalContext& ctx) override
    {
        const Tensor& data = ctx.input(0);
        const int64_t* idx = ctx.input(1).data<int64_t>();
        const auto* updates = static_cast<const std::byte*>(ctx.input(2).raw());
        Tensor& y = ctx.output(0);
        auto* dst = static_cast<std::byte*>(y.raw());
        if (data.bytes()) std::memcpy(dst, data.raw(), data.bytes());
        if (sliceBytes_ == 0) return;
        for (int64_t t = 0; t < tuples_; ++t, idx += k_, updates += sliceBytes_) {
            int64_t offset = 0;
            for (int64_t j = 0; j < k_; ++j) {
                int64_t i = idx[j];
                const int64_t dim = dims_[static_cast<size_t>(j)];
                if (i < -dim || i >= dim)
                    throw KernelError("index " + std::to_string(i) + " is out of range for an axis of length " + std::to_string(dim));
                if (i < 0) i += dim;
                offset += i * strides_[static_cast<size_t>(j)];
            }
            if (combine_) combine_(dst + offset, updates, sliceElems_, reduction_);
            else std::memcpy(dst + offset, updates, sliceBytes_);
        }
    }

private:
    Reduction reduction_ = Reduction::None;
    CombineFn combine_ = nullptr;
    int64_t k_ = 0, tuples_ = 0, sliceElems_ = 0;
    size_t sliceBytes_ = 0;
    std::vector<int64_t> dims_, strides_;   // strides in bytes
};

} // namespace

void register_scatter_nd(KernelRegistry& r)
{
    r.add("ScatterND", "", layout::byteTypes(), make<ScatterND>);
}

} // namespace joule::rt
