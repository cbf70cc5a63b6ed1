#pragma once
// Ahead-of-time placement of activation buffers in one arena.
//
// Greedy by size, as TensorFlow Lite Micro's GreedyMemoryPlanner: buffers are placed largest first,
// each at the lowest offset where it overlaps no already-placed buffer that is alive at the same
// time. The lower bound is the largest sum of sizes of buffers alive at one step; no placement can
// use less.
//
//   std::vector<BufferRequest> req = {{.bytes = 4096, .firstStep = 0, .lastStep = 2}, ...};
//   MemoryPlan plan = planMemory(req);   // plan.offsets[i], plan.arenaBytes, plan.lowerBoundBytes

#include <cstddef>
#include <vector>

namespace joule::rt {

struct BufferRequest {
    size_t bytes = 0;
    int firstStep = 0;   // step that writes it (inclusive)
    int lastStep = 0;    // last step that reads it (inclusive)
};

struct MemoryPlan {
    std::vector<size_t> offsets;   // per request, aligned to `alignment`
    size_t arenaBytes = 0;
    size_t lowerBoundBytes = 0;    // max over steps of the sum of live (aligned) sizes
};

MemoryPlan planMemory(const std::vector<BufferRequest>& requests, size_t alignment = 64);

// True if two buffers of the plan that are alive at the same step overlap in memory.
bool planHasOverlap(const std::vector<BufferRequest>& requests, const MemoryPlan& plan);

} // namespace joule::rt
