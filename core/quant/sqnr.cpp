#include "quant/sqnr.h"

#include "quant/quant_error.h"

#include <QJsonObject>
#include <cmath>
#include <limits>

namespace joule::quant {

double sqnrDb(double signalPower, double noisePower)
{
    if (noisePower <= 0) return std::numeric_limits<double>::infinity();
    if (signalPower <= 0) return -std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(signalPower / noisePower);
}

namespace {

// Values of the named tensors for one batch, copied out of the session.
std::map<std::string, std::vector<float>> capture(const Graph& g, const std::set<std::string>& names,
                                                  const data::LabeledImages& images, const data::Preprocessing& prep,
                                                  RunOptions run, int64_t first, int64_t count)
{
    std::map<std::string, std::vector<float>> values;
    run.first = first;
    run.count = count;
    run.progress = nullptr;
    runObserved(g, images, prep, run, [&](const std::string& name, const Tensor& t) {
        if (!names.count(name)) return;
        std::vector<float>& v = values[name];
        v.insert(v.end(), t.data<float>(), t.data<float>() + t.numel());
    });
    return values;
}

} // namespace

std::vector<LayerSqnr> layerSqnr(const Graph& fp32, const QuantizedModel& quantized, const data::LabeledImages& images,
                                 const data::Preprocessing& prep, const RunOptions& options)
{
    std::set<std::string> fpNames, qNames;
    std::vector<LayerSqnr> out;
    for (const QuantizedLayer& l : quantized.layers) {
        fpNames.insert(l.output);
        qNames.insert(l.dequantized);
        out.push_back({.node = l.node, .op = l.op, .weightBits = l.weightBits});
    }
    // Chunks keep the copied activations small.
    const int64_t total = std::min(options.count, images.size() - options.first);
    constexpr int64_t kChunk = 32;
    for (int64_t begin = 0; begin < total; begin += kChunk) {
        if (options.cancel && options.cancel->load()) throw QuantError("SQNR measurement cancelled");
        const int64_t n = std::min(kChunk, total - begin);
        const auto ref = capture(fp32, fpNames, images, prep, options, options.first + begin, n);
        const auto got = capture(quantized.graph, qNames, images, prep, options, options.first + begin, n);
        for (size_t i = 0; i < quantized.layers.size(); ++i) {
            const QuantizedLayer& l = quantized.layers[i];
            const auto r = ref.find(l.output);
            const auto q = got.find(l.dequantized);
            if (r == ref.end() || q == got.end() || r->second.size() != q->second.size())
                throw QuantError("layer '" + l.node + "': output '" + l.output + "' not observed in both graphs");
            for (size_t k = 0; k < r->second.size(); ++k) {
                const double x = r->second[k], d = x - q->second[k];
                out[i].signalPower += x * x;
                out[i].noisePower += d * d;
            }
        }
        if (options.progress) options.progress(static_cast<double>(begin + n) / static_cast<double>(total));
    }
    for (LayerSqnr& l : out) l.sqnrDb = sqnrDb(l.signalPower, l.noisePower);
    return out;
}

QJsonArray sqnrToJson(const std::vector<LayerSqnr>& layers)
{
    QJsonArray a;
    for (const LayerSqnr& l : layers) {
        QJsonObject o{{"node", QString::fromStdString(l.node)}, {"op", QString::fromStdString(l.op)},
                      {"weight_bits", l.weightBits}};
        o["sqnr_db"] = std::isfinite(l.sqnrDb) ? QJsonValue(l.sqnrDb) : QJsonValue();
        a.append(o);
    }
    return a;
}

} // namespace joule::quant
