#pragma once
// Runs a graph over preprocessed dataset images and reports every float32 value it computes.
//
//   joule::quant::runObserved(graph, images, prep, {.count = 256}, [&](const std::string& name, const Tensor& t) {
//       ... // t is valid only during the call; copy what you keep
//   });
//
// The graph's (single) required input is fed images [first, first + count) in batches: the declared
// batch dimension when it is fixed (1 for the reference models; a final partial batch is then
// skipped), else `batch`. The input itself is
// reported too, under its own name. Progress is reported as a fraction after every batch; a set
// `cancel` flag stops the run with eval::Cancelled.

#include "data/dataset.h"
#include "ir/graph.h"

#include <atomic>
#include <functional>
#include <string>

namespace joule::quant {

using ValueCallback = std::function<void(const std::string& name, const Tensor& value)>;

struct RunOptions {
    int64_t first = 0;
    int64_t count = 256;                 // clipped to the dataset's size
    int64_t batch = 32;                  // used when the graph's batch dimension is free
    std::function<void(double)> progress;
    const std::atomic<bool>* cancel = nullptr;
};

void runObserved(const Graph& graph, const data::LabeledImages& images, const data::Preprocessing& prep,
                 const RunOptions& options, const ValueCallback& onValue);

} // namespace joule::quant
