#pragma once
// GlobalAveragePool and GlobalMaxPool share everything but the reduction of one plane:
// [N, C, d...] -> [N, C, 1...], one value per (image, channel) plane, float32 or float64.
//
//   struct MeanOfPlane { template <typename T> static T reduce(const T* plane, int64_t size); };
//   r.add("GlobalAveragePool", "", {DataType::Float32, DataType::Float64}, make<GlobalPool<MeanOfPlane>>);

#include "runtime/registry.h"

namespace joule::rt {

template <typename Reduction>
class GlobalPool final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        if (x.rank() < 2) throw KernelError("input X must have shape [N, C, ...], got " + shapeToString(x.shape));
        type_ = x.dtype;
        planes_ = x.shape[0] * x.shape[1];
        size_ = elementCount(Shape(x.shape.begin() + 2, x.shape.end()));
        Shape y(x.shape.size(), 1);
        y[0] = x.shape[0];
        y[1] = x.shape[1];
        ctx.setOutput(0, type_, y);
    }

    void eval(EvalContext& ctx) override
    {
        if (type_ == DataType::Float64) run<double>(ctx);
        else run<float>(ctx);
    }

private:
    template <typename T>
    void run(EvalContext& ctx) const
    {
        const T* x = ctx.input(0).data<T>();
        T* y = ctx.output(0).data<T>();
        for (int64_t p = 0; p < planes_; ++p) y[p] = Reduction::reduce(x + p * size_, size_);
    }

    DataType type_ = DataType::Float32;
    int64_t planes_ = 0, size_ = 0;
};

} // namespace joule::rt
