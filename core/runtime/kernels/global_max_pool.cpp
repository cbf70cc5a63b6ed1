// GlobalMaxPool: the maximum of each channel over all spatial positions; [N, C, d...] -> [N, C, 1...].
#include "runtime/kernels/global_pool.h"

#include <algorithm>
#include <limits>

namespace joule::rt {
namespace {

struct MaxOfPlane {
    template <typename T> static T reduce(const T* x, int64_t size)
    {
        T best = std::numeric_limits<T>::lowest();
        for (int64_t i = 0; i < size; ++i) best = std::max(best, x[i]);
        return best;
    }
};

} // namespace

void register_global_max_pool(KernelRegistry& r)
{
    r.add("GlobalMaxPool", "", {DataType::Float32, DataType::Float64}, make<GlobalPool<MaxOfPlane>>);
}

} // namespace joule::rt
