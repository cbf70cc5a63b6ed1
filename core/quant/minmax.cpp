#include "quant/minmax.h"

#include "quant/calibration.h"
#include "quant/quant_error.h"

#include <cstring>

namespace joule::quant {

Graph quantizeMinMax(const Graph& fp32, const std::vector<std::map<std::string, Tensor>>& feeds,
                     const QuantizerOptions& options)
{
    const auto inputs = fp32.requiredInputs();
    if (inputs.size() != 1)
        throw QuantError("min-max quantization from input tensors needs a model with one input; this one has " +
                         std::to_string(inputs.size()));
    if (feeds.empty()) throw QuantError("min-max quantization needs at least one input tensor");
    const std::string& name = inputs.front().name;

    // The feeds as a float "dataset" [N, sample...], which fillBatch copies as is.
    Shape sample;
    for (const auto& f : feeds) {
        auto it = f.find(name);
        if (it == f.end()) throw QuantError("a calibration feed lacks the model input '" + name + "'");
        const Tensor& t = it->second;
        if (t.dtype() != DataType::Float32 || t.rank() < 1 || t.dim(0) != 1)
            throw QuantError("calibration input '" + name + "' must be float32 with batch 1, got " + shapeToString(t.shape()) +
                             " " + dataTypeName(t.dtype()));
        const Shape s(t.shape().begin() + 1, t.shape().end());
        if (!sample.empty() && s != sample) throw QuantError("calibration inputs for '" + name + "' differ in shape");
        sample = s;
    }
    Shape all{static_cast<int64_t>(feeds.size())};
    all.insert(all.end(), sample.begin(), sample.end());
    data::LabeledImages images;
    images.images = Tensor(DataType::Float32, all);
    images.labels.assign(feeds.size(), 0);
    images.classNames = {"0"};
    images.source = "calibration inputs";
    const int64_t per = elementCount(sample);
    for (size_t i = 0; i < feeds.size(); ++i)
        std::memcpy(images.images.data<float>() + static_cast<int64_t>(i) * per, feeds[i].at(name).data<float>(),
                    static_cast<size_t>(per) * sizeof(float));

    const CalibrationStats stats = collectStatistics(fp32, images, {}, {.count = images.size()});
    return quantizeGraph(fp32, chooseRanges(stats, {.method = CalibrationMethod::MinMax}), options).graph;
}

} // namespace joule::quant
