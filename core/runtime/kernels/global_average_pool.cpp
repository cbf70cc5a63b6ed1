// GlobalAveragePool: the mean of each channel over all spatial positions; [N, C, d...] -> [N, C, 1...].
#include "runtime/kernels/global_pool.h"

namespace joule::rt {
namespace {

struct MeanOfPlane {
    template <typename T> static T reduce(const T* x, int64_t size)
    {
        T sum = T(0);
        for (int64_t i = 0; i < size; ++i) sum += x[i];
        return size > 0 ? sum / static_cast<T>(size) : T(0);
    }
};

} // namespace

void register_global_average_pool(KernelRegistry& r)
{
    r.add("GlobalAveragePool", "", {DataType::Float32, DataType::Float64}, make<GlobalPool<MeanOfPlane>>);
}

} // namespace joule::rt
