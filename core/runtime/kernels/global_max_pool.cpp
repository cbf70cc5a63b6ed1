// GlobalMaxPool: the maximum of each channel over all spatial positions; [N, C, d...] -> [N, C, 1...].
#include "runtime/registry.h"

#include <algorithm>
#include <limits>

namespace joule::rt {
namespace {

class GlobalMaxPool final : public Kernel {
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
        for (int64_t p = 0; p < planes_; ++p) {
            const T* xp = x + p * size_;
            T best = std::numeric_limits<T>::lowest();
            for (int64_t i = 0; i < size_; ++i) best = std::max(best, xp[i]);
            y[p] = best;
        }
    }

    DataType type_ = DataType::Float32;
    int64_t planes_ = 0, size_ = 0;
};

} // namespace

void register_global_max_pool(KernelRegistry& r)
{
    r.add("GlobalMaxPool", "", {DataType::Float32, DataType::Float64}, make<GlobalMaxPool>);
}

} // namespace joule::rt
