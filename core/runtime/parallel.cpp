#include "runtime/kernel.h"

#include <algorithm>
#include <thread>

namespace joule::rt {

const Tensor& PrepareContext::requireConstantInput(size_t i)
{
    const Tensor* t = constantInput(i);
    if (!t)
        throw UnsupportedError("input " + std::to_string(i) + " ('" + node().inputs.at(i) +
                               "') must be known before running (a constant or a graph input); it is computed at run time");
    return *t;
}

void parallelFor(int threads, int64_t n, int64_t minChunk, const std::function<void(int64_t, int64_t)>& fn)
{
    if (n <= 0) return;
    const int64_t maxParts = minChunk > 0 ? std::max<int64_t>(1, n / minChunk) : n;
    const int parts = static_cast<int>(std::min<int64_t>(std::max(threads, 1), maxParts));
    if (parts <= 1) {
        fn(0, n);
        return;
    }
    // Threads are started per call; the session keeps calls coarse (one per layer).
    std::thread workers[64];
    const int count = std::min(parts, 64);
    const int64_t chunk = (n + count - 1) / count;
    for (int p = 1; p < count; ++p) {
        const int64_t b = p * chunk, e = std::min(n, b + chunk);
        if (b < e) workers[p] = std::thread([&fn, b, e] { fn(b, e); });
    }
    fn(0, std::min(n, chunk));
    for (int p = 1; p < count; ++p)
        if (workers[p].joinable()) workers[p].join();
}

} // namespace joule::rt
