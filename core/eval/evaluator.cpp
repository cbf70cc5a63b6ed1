#include "eval/evaluator.h"
#include "runtime/qdq_lower.h"

#include "runtime/session.h"

#include <QSaveFile>
#include <QString>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>
#include <thread>

namespace joule::eval {

int64_t declaredOutputWidth(const ValueInfo& out)
{
    if (!out.hasShape || out.shape.empty()) return -1;
    int64_t width = 1;
    for (size_t d = 1; d < out.shape.size(); ++d) {
        if (out.shape[d] < 0) return -1;
        width *= out.shape[d];
    }
    return width > 0 ? width : -1;
}

namespace {

// A label must name one of the model's classes.
void checkLabel(const data::LabeledImages& data, int64_t index, int64_t classes, const std::string& output)
{
    const int64_t label = data.labels[static_cast<size_t>(index)];
    if (label < 0 || label >= classes)
        throw data::DataError(data.source + ": input " + std::to_string(index) + " has label " + std::to_string(label) +
                              ", outside the model's " + std::to_string(classes) + " classes (width of output '" + output + "')");
}

} // namespace

EvalResult evaluate(const Graph& graph, const data::LabeledImages& data, const data::Preprocessing& prep,
                    const EvalOptions& options)
{
    const auto inputs = graph.requiredInputs();
    if (inputs.size() != 1)
        throw std::runtime_error("evaluation needs a model with exactly one input; this one has " + std::to_string(inputs.size()));
    if (graph.outputs().empty()) throw std::runtime_error("the model has no outputs");
    const ValueInfo& in = inputs.front();
    const Shape sample = data::sampleShape(data, prep);

    // The model's input must be [batch, sample...]; a fixed batch other than 1 is not supported.
    if (in.hasShape && in.shape.size() != sample.size() + 1)
        throw std::runtime_error("input '" + in.name + "' expects shape " + shapeToString(in.shape) +
                                 ", the dataset gives samples of shape " + shapeToString(sample) + " (" + data.source + ")");
    for (size_t d = 0; in.hasShape && d < sample.size(); ++d)
        if (in.shape[d + 1] >= 0 && in.shape[d + 1] != sample[d])
            throw std::runtime_error("input '" + in.name + "' expects shape " + shapeToString(in.shape) +
                                     ", the dataset gives samples of shape " + shapeToString(sample) + " (" + data.source + ")");
    const bool freeBatch = !in.hasShape || in.shape.empty() || in.shape[0] < 0;
    if (in.hasShape && !in.shape.empty() && in.shape[0] > 1)
        throw std::runtime_error("input '" + in.name + "' has a fixed batch of " + std::to_string(in.shape[0]) +
                                 "; export the model with a free or unit batch dimension");
    const int64_t batch = freeBatch ? std::max<int64_t>(1, options.batchSize) : 1;

    const int64_t total = options.limit >= 0 ? std::min(options.limit, data.size()) : data.size();
    const std::string outName = graph.outputs().front().name;
    // The class count is the width of the model's output: declared, or else seen on the first batch.
    const int64_t declaredClasses = declaredOutputWidth(graph.outputs().front());
    if (declaredClasses > 0)
        for (int64_t i = 0; i < total; ++i) checkLabel(data, i, declaredClasses, outName);
    std::atomic<int64_t> outputWidth{declaredClasses};
    EvalResult result;
    result.samples = total;
    result.records.resize(static_cast<size_t>(total));

    std::atomic<int64_t> nextBatch{0};
    std::atomic<int64_t> done{0};
    std::mutex errorMutex;
    std::string error;
    bool cancelled = false;

    // A quantized (QDQ) graph runs on the integer engine, as it would on the board.
    std::optional<Graph> lowered;
    if (options.integerEngine && rt::hasQdq(graph)) lowered = rt::lowerQdq(graph);
    const Graph& runGraph = lowered ? *lowered : graph;

    auto worker = [&] {
        try {
            rt::Session session(runGraph, {.threads = 1, .fuseActivations = true, .channelsLast = true});
            std::vector<float> prob;
            for (;;) {
                if (options.cancel && options.cancel->load()) {
                    std::lock_guard lock(errorMutex);
                    cancelled = true;
                    return;
                }
                const int64_t begin = nextBatch.fetch_add(1) * batch;
                if (begin >= total) return;
                const int64_t count = std::min(batch, total - begin);
                Shape shape{count};
                shape.insert(shape.end(), sample.begin(), sample.end());
                Tensor x(DataType::Float32, shape);
                data::fillBatch(data, prep, begin, count, x.data<float>());
                auto out = session.run({{in.name, x}});
                const Tensor& y = out.at(outName);
                const int64_t classes = y.rank() >= 1 && y.dim(0) == count ? y.numel() / count : 0;
                int64_t expected = -1;
                if (y.dtype() != DataType::Float32 || classes < 1 ||
                    (!outputWidth.compare_exchange_strong(expected, classes) && expected != classes))
                    throw std::runtime_error("output '" + outName + "' has shape " + shapeToString(y.shape()) + " " +
                                             dataTypeName(y.dtype()) + "; expected [" + std::to_string(count) + "," +
                                             (expected > 0 ? std::to_string(expected) : std::string("classes")) +
                                             "] float32 class scores");
                for (int64_t i = 0; i < count; ++i) {
                    if (declaredClasses <= 0) checkLabel(data, begin + i, classes, outName);
                    InputRecord& r = result.records[static_cast<size_t>(begin + i)];
                    r.index = begin + i;
                    r.label = data.labels[static_cast<size_t>(begin + i)];
                    r.macs = options.macsPerInput;
                    r.latencyMs = options.latencyMsPerInput;
                    r.energyUj = options.energyUjPerInput;
                    scoreRow(y.data<float>() + i * classes, classes, r, prob);
                }
                const int64_t now = done.fetch_add(count) + count;
                if (options.progress) options.progress(now, total);
            }
        } catch (const std::exception& e) {
            std::lock_guard lock(errorMutex);
            if (error.empty()) error = e.what();
            nextBatch.store(total);   // stop the other workers
        }
    };

    const auto t0 = std::chrono::steady_clock::now();
    const int workers = static_cast<int>(std::clamp<int64_t>(options.workers, 1, std::max<int64_t>(1, (total + batch - 1) / batch)));
    std::vector<std::thread> threads;
    for (int w = 1; w < workers; ++w) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!error.empty()) throw std::runtime_error(error);
    if (cancelled) throw Cancelled();
    result.classes = std::max<int64_t>(outputWidth.load(), 1);
    summarize(result);
    result.imagesPerSecond = result.seconds > 0 ? static_cast<double>(total) / result.seconds : 0.0;
    return result;
}

void summarize(EvalResult& result)
{
    const int64_t classes = result.classes;
    const int64_t total = static_cast<int64_t>(result.records.size());
    result.samples = total;
    result.correct = 0;
    result.perClassAccuracy.clear();
    result.confusion.assign(static_cast<size_t>(classes), std::vector<int64_t>(static_cast<size_t>(classes), 0));
    result.perClassSamples.assign(static_cast<size_t>(classes), 0);
    std::vector<int64_t> perClassCorrect(static_cast<size_t>(classes), 0);
    for (const auto& r : result.records) {
        result.correct += r.correct ? 1 : 0;
        result.confusion[static_cast<size_t>(r.label)][static_cast<size_t>(r.prediction)] += 1;
        result.perClassSamples[static_cast<size_t>(r.label)] += 1;
        perClassCorrect[static_cast<size_t>(r.label)] += r.correct ? 1 : 0;
    }
    result.accuracy = total ? static_cast<double>(result.correct) / static_cast<double>(total) : 0.0;
    for (size_t c = 0; c < perClassCorrect.size(); ++c)
        result.perClassAccuracy.push_back(result.perClassSamples[c]
                                              ? static_cast<double>(perClassCorrect[c]) / static_cast<double>(result.perClassSamples[c])
                                              : 0.0);
}

std::string recordsCsv(const EvalResult& result)
{
    std::string text = "index,label,prediction,correct,top1_probability,margin,entropy,stage,macs,latency_ms,energy_uj\n";
    char line[256];
    auto optional = [](const std::optional<double>& v) {
        char t[32] = "";
        if (v) std::snprintf(t, sizeof t, "%.6g", *v);
        return std::string(t);
    };
    for (const auto& r : result.records) {
        std::snprintf(line, sizeof line, "%lld,%lld,%lld,%d,%.6f,%.6f,%.6f,%d,%lld,%s,%s\n", static_cast<long long>(r.index),
                      static_cast<long long>(r.label), static_cast<long long>(r.prediction), r.correct ? 1 : 0,
                      r.top1Probability, r.margin, r.entropy, r.stage, static_cast<long long>(r.macs),
                      optional(r.latencyMs).c_str(), optional(r.energyUj).c_str());
        text += line;
    }
    return text;
}

void writeRecordsCsv(const std::string& path, const EvalResult& result)
{
    const std::string text = recordsCsv(result);
    QSaveFile file(QString::fromStdString(path));
    if (!file.open(QIODevice::WriteOnly) || file.write(text.data(), static_cast<qint64>(text.size())) != static_cast<qint64>(text.size()) ||
        !file.commit())
        throw std::runtime_error(path + ": cannot write the records file: " + file.errorString().toStdString());
}

} // namespace joule::eval
