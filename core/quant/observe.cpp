#include "quant/observe.h"

#include "eval/evaluator.h"
#include "quant/quant_error.h"
#include "runtime/session.h"

namespace joule::quant {

void runObserved(const Graph& graph, const data::LabeledImages& images, const data::Preprocessing& prep,
                 const RunOptions& options, const ValueCallback& onValue)
{
    const std::vector<ValueInfo> required = graph.requiredInputs();
    if (required.size() != 1)
        throw QuantError("graph '" + graph.name + "' has " + std::to_string(required.size()) +
                         " required inputs; calibration feeds exactly one image input");
    const ValueInfo& input = required.front();
    const Shape sample = data::sampleShape(images, prep);
    const int64_t first = std::max<int64_t>(0, options.first);
    const int64_t count = std::min(options.count, images.size() - first);
    if (count <= 0) throw QuantError("dataset '" + images.source + "' has no images from index " + std::to_string(first));
    const bool freeBatch = !input.hasShape || input.shape.empty() || input.shape[0] <= 0;
    const int64_t batch = freeBatch ? std::max<int64_t>(1, options.batch) : input.shape[0];

    rt::Session session(graph);
    session.setObserver([&](const Node& node, size_t output, const Tensor& value) {
        if (value.dtype() == DataType::Float32 && output < node.outputs.size()) onValue(node.outputs[output], value);
    });

    const int64_t per = elementCount(sample);
    std::vector<float> buffer(static_cast<size_t>(batch * per));
    for (int64_t begin = 0; begin < count; begin += batch) {
        if (options.cancel && options.cancel->load()) throw eval::Cancelled();
        const int64_t n = std::min(batch, count - begin);
        if (n < batch && !freeBatch) break;   // a fixed batch dimension cannot take a short batch
        data::fillBatch(images, prep, first + begin, n, buffer.data());
        Shape shape{n};
        shape.insert(shape.end(), sample.begin(), sample.end());
        if (!freeBatch && elementCount(input.shape) == elementCount(shape)) shape = input.shape;
        Tensor feed = Tensor::view(DataType::Float32, shape, buffer.data());
        onValue(input.name, feed);
        session.run({{input.name, feed}});
        if (options.progress) options.progress(static_cast<double>(begin + n) / static_cast<double>(count));
    }
}

} // namespace joule::quant
