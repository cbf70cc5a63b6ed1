#include "quant/bias_correction.h"

#include "quant/quant_error.h"

#include <cmath>
#include <set>

namespace joule::quant {
namespace {

struct Accumulator {
    std::vector<double> sum;
    int64_t perChannel = 0;
    void add(const Tensor& t)
    {
        if (t.rank() < 2) return;
        const int64_t n = t.dim(0), c = t.dim(1), inner = t.numel() / std::max<int64_t>(1, n * c);
        if (sum.empty()) sum.assign(static_cast<size_t>(c), 0.0);
        if (static_cast<int64_t>(sum.size()) != c) return;
        const float* v = t.data<float>();
        for (int64_t b = 0; b < n; ++b)
            for (int64_t ch = 0; ch < c; ++ch) {
                double s = 0;
                for (int64_t k = 0; k < inner; ++k) s += v[(b * c + ch) * inner + k];
                sum[static_cast<size_t>(ch)] += s;
            }
        perChannel += n * inner;
    }
    std::vector<double> means() const
    {
        std::vector<double> m(sum);
        for (double& x : m) x /= std::max<int64_t>(1, perChannel);
        return m;
    }
};

std::map<std::string, std::vector<double>> meansOf(const Graph& g, const std::set<std::string>& names,
                                                   const data::LabeledImages& images, const data::Preprocessing& prep,
                                                   const RunOptions& options)
{
    std::map<std::string, Accumulator> acc;
    runObserved(g, images, prep, options, [&](const std::string& name, const Tensor& t) {
        if (names.count(name)) acc[name].add(t);
    });
    std::map<std::string, std::vector<double>> out;
    for (const auto& [name, a] : acc) out[name] = a.means();
    return out;
}

double meanAbsDifference(const std::vector<double>& a, const std::vector<double>& b)
{
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += std::fabs(a[i] - b[i]);
    return a.empty() ? 0 : s / static_cast<double>(a.size());
}

} // namespace

std::vector<double> channelMeans(const Graph& g, const std::string& tensor, const data::LabeledImages& images,
                                 const data::Preprocessing& prep, const RunOptions& options)
{
    auto m = meansOf(g, {tensor}, images, prep, options);
    if (!m.count(tensor)) throw QuantError("tensor '" + tensor + "' is not computed by graph '" + g.name + "'");
    return m.at(tensor);
}

std::vector<BiasShift> correctBias(const Graph& fp32, QuantizedModel& quantized, const data::LabeledImages& images,
                                   const data::Preprocessing& prep, const RunOptions& options, bool measureAfter)
{
    std::set<std::string> targets;
    for (const QuantizedLayer& l : quantized.layers)
        if (!l.bias.empty()) targets.insert(l.rawOutput);
    RunOptions quiet = options;
    quiet.progress = nullptr;
    const auto reference = meansOf(fp32, targets, images, prep, quiet);
    std::vector<BiasShift> shifts;
    size_t done = 0;
    for (const QuantizedLayer& l : quantized.layers) {
        if (l.bias.empty()) continue;
        const auto ref = reference.find(l.rawOutput);
        if (ref == reference.end()) throw QuantError("layer '" + l.node + "': output '" + l.rawOutput + "' not observed in the fp32 graph");
        const std::vector<double> got = channelMeans(quantized.graph, l.rawOutput, images, prep, quiet);
        const Tensor* codes = quantized.graph.initializer(l.bias);
        if (!codes || codes->dtype() != DataType::Int32 || codes->numel() != static_cast<int64_t>(got.size()) || !codes->quant())
            throw QuantError("layer '" + l.node + "': bias '" + l.bias + "' is not an int32 per-channel bias of its output");
        const QuantParams q = *codes->quant();
        Tensor corrected = codes->clone();
        corrected.setQuant(q);
        for (size_t c = 0; c < got.size(); ++c) {
            const double s = q.scale[q.scale.size() == 1 ? 0 : c];
            const double delta = std::nearbyint((ref->second[c] - got[c]) / s);
            const double v = static_cast<double>(corrected.data<int32_t>()[c]) + delta;
            corrected.data<int32_t>()[c] = static_cast<int32_t>(std::clamp<double>(v, INT32_MIN, INT32_MAX));
        }
        quantized.graph.setInitializer(l.bias, corrected);
        BiasShift shift{.node = l.node, .meanAbsShift = meanAbsDifference(ref->second, got)};
        if (measureAfter)
            shift.meanAbsAfter = meanAbsDifference(ref->second, channelMeans(quantized.graph, l.rawOutput, images, prep, quiet));
        shifts.push_back(shift);
        ++done;
        if (options.progress) options.progress(static_cast<double>(done) / static_cast<double>(targets.size()));
    }
    return shifts;
}

} // namespace joule::quant
