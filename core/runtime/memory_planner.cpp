#include "runtime/memory_planner.h"

#include <algorithm>
#include <numeric>

namespace joule::rt {

namespace {
size_t alignUp(size_t n, size_t a) { return (n + a - 1) / a * a; }
bool livesOverlap(const BufferRequest& a, const BufferRequest& b)
{
    return a.firstStep <= b.lastStep && b.firstStep <= a.lastStep;
}
} // namespace

MemoryPlan planMemory(const std::vector<BufferRequest>& requests, size_t alignment)
{
    MemoryPlan plan;
    const size_t n = requests.size();
    plan.offsets.assign(n, 0);
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    // Largest first; ties: earlier first use first (deterministic).
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        if (requests[a].bytes != requests[b].bytes) return requests[a].bytes > requests[b].bytes;
        return requests[a].firstStep < requests[b].firstStep;
    });

    std::vector<size_t> placed;
    placed.reserve(n);
    std::vector<std::pair<size_t, size_t>> busy;   // [offset, end) of placed buffers alive at the same time
    for (size_t idx : order) {
        const BufferRequest& r = requests[idx];
        const size_t size = alignUp(std::max<size_t>(r.bytes, 1), alignment);
        busy.clear();
        for (size_t p : placed)
            if (livesOverlap(r, requests[p]))
                busy.emplace_back(plan.offsets[p], plan.offsets[p] + alignUp(std::max<size_t>(requests[p].bytes, 1), alignment));
        std::sort(busy.begin(), busy.end());
        size_t offset = 0;
        for (const auto& [begin, end] : busy) {
            if (offset + size <= begin) break;   // fits in the gap before this one
            offset = std::max(offset, end);
        }
        plan.offsets[idx] = offset;
        plan.arenaBytes = std::max(plan.arenaBytes, offset + size);
        placed.push_back(idx);
    }

    int lastStep = 0;
    for (const auto& r : requests) lastStep = std::max(lastStep, r.lastStep);
    std::vector<size_t> live(static_cast<size_t>(lastStep) + 1, 0);
    for (const auto& r : requests)
        for (int s = std::max(r.firstStep, 0); s <= r.lastStep; ++s)
            live[static_cast<size_t>(s)] += alignUp(std::max<size_t>(r.bytes, 1), alignment);
    for (size_t v : live) plan.lowerBoundBytes = std::max(plan.lowerBoundBytes, v);
    return plan;
}

bool planHasOverlap(const std::vector<BufferRequest>& requests, const MemoryPlan& plan)
{
    for (size_t a = 0; a < requests.size(); ++a)
        for (size_t b = a + 1; b < requests.size(); ++b) {
            if (!livesOverlap(requests[a], requests[b])) continue;
            if (requests[a].bytes == 0 || requests[b].bytes == 0) continue;
            const size_t aEnd = plan.offsets[a] + requests[a].bytes;
            const size_t bEnd = plan.offsets[b] + requests[b].bytes;
            if (plan.offsets[a] < bEnd && plan.offsets[b] < aEnd) return true;
        }
    return false;
}

} // namespace joule::rt
