#pragma once
// Classification evaluation on a labeled dataset, keeping one record per input.
//
//   auto data = joule::data::loadDataset("fashion-mnist:test");
//   joule::eval::EvalOptions opt;            // 2 worker threads, batches of 8
//   joule::eval::EvalResult r = joule::eval::evaluate(graph, data, prep, opt);
//   r.accuracy;                               // fraction in [0,1]
//   r.records[17].margin;                     // top-1 minus top-2 probability of input 17
//   joule::eval::writeRecordsCsv("records.csv", r, data);
//
// The model's first output holds one score per class ([N, classes]): the class count is its width,
// whatever labels the data happens to hold, and a label outside it is a DataError naming the dataset
// and the input's index. Scores are turned into
// probabilities with a softmax unless they already are probabilities (non-negative rows summing to 1).
// Inputs are batched along the first dimension when the model's batch dimension is free; otherwise
// one at a time. Each worker thread runs its own Session. Progress and cancellation are polled
// between batches.

#include "data/dataset.h"
#include "ir/graph.h"

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace joule::eval {

// What happened to one input: which stage or exit answered (0 for a plain model) and what it cost
// (MACs executed; latency and energy estimated on a target, unknown without one).
struct InputRecord {
    int64_t index = 0;
    int64_t label = 0;
    int64_t prediction = 0;
    float top1Probability = 0;
    float margin = 0;       // top-1 minus top-2 probability
    float entropy = 0;      // of the probability vector, in nats
    bool correct = false;
    int stage = 0;
    int64_t macs = 0;
    std::optional<double> latencyMs;
    std::optional<double> energyUj;
};

struct EvalOptions {
    int workers = 2;                 // threads, each with its own session
    // Inputs per run of a model with a free batch dimension. 8, measured: Fashion-MNIST ResNet-8 on
    // 2 workers evaluates about 18% faster than in batches of 64, whose activations (3 MB per layer)
    // leave the caches between layers; 1 to 16 are within noise of each other (docs/performance.md).
    int64_t batchSize = 8;
    int64_t limit = -1;              // evaluate only the first N inputs (-1 = all)
    // Called from worker threads after each batch with (inputs done, total).
    std::function<void(int64_t, int64_t)> progress;
    const std::atomic<bool>* cancel = nullptr;   // set to stop early; evaluate() then throws Cancelled
    // A quantized graph in QDQ form runs lowered to the true-integer kernels (rt::lowerQdq), so its
    // accuracy is the integer engine's; false runs the QDQ graph as is (fake quantization in float).
    bool integerEngine = true;
    // The cost every record gets (a plain model costs the same on every input).
    int64_t macsPerInput = 0;
    std::optional<double> latencyMsPerInput, energyUjPerInput;
};

class Cancelled : public std::runtime_error {
public:
    Cancelled() : std::runtime_error("evaluation cancelled") {}
};

struct EvalResult {
    int64_t classes = 0;                          // the width of the model's output
    int64_t samples = 0;
    int64_t correct = 0;
    double accuracy = 0;                          // correct / samples
    std::vector<double> perClassAccuracy;         // per label; NaN-free: 0 for classes with no samples
    std::vector<int64_t> perClassSamples;
    std::vector<std::vector<int64_t>> confusion;  // [label][prediction]
    std::vector<InputRecord> records;             // in input order
    double seconds = 0;                           // measured wall time of inference + preprocessing
    double imagesPerSecond = 0;
};

EvalResult evaluate(const Graph& graph, const data::LabeledImages& data, const data::Preprocessing& preprocessing,
                    const EvalOptions& options = {});

// The class count of a declared [N, classes...] output (the product of the dimensions after the
// batch), or -1 when it is not known before running.
int64_t declaredOutputWidth(const ValueInfo& out);

// The records CSV: a header line, then one row per record (below).
std::string recordsCsv(const EvalResult& result);

// One row per record: index,label,prediction,correct,top1_probability,margin,entropy,stage,macs,
// latency_ms,energy_uj (an unknown cost is an empty field). Atomic write.
void writeRecordsCsv(const std::string& path, const EvalResult& result);

// Fills prediction, top-1 probability, margin, entropy and correct (against r.label) from one row of
// `classes` scores (softmax unless they already are probabilities); `prob` is scratch.
void scoreRow(const float* scores, int64_t classes, InputRecord& r, std::vector<float>& prob);

// Accuracy, per-class figures and the confusion matrix of `result` from its records and class count.
void summarize(EvalResult& result);

} // namespace joule::eval
