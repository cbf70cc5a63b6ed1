// The weight-clustering plugin: an optimization built outside Joule's tree, against the installed SDK.
// It replaces every large enough fp32 Conv / Gemm / MatMul weight tensor by k shared values (k-means per
// layer, see kmeans.h). The graph stays fp32 and runs anywhere; its notes say what storing it as
// log2(k)-bit indices plus a palette would take.
#include "kmeans.h"

#include "plugin/plugin_interface.h"

#include <QObject>
#include <QJsonArray>
#include <QJsonObject>

#include <cmath>
#include <set>

namespace {

using namespace joule;

class WeightClusteringPass : public plugin::Pass {
public:
    std::vector<plugin::Candidate> run(const plugin::Candidate& input, const QVariantMap& params, plugin::PassContext& ctx) override
    {
        const int k = params.value("clusters").toInt();
        const auto init = params.value("init").toString() == "density" ? weight_clustering::Init::Density : weight_clustering::Init::Linear;
        const int iterations = params.value("iterations").toInt();
        const int64_t minWeights = params.value("min_weights").toLongLong();
        if (input.graphs.size() != 1) throw std::runtime_error("clusters the weights of a plain model (one graph), not of a multi-graph candidate");

        plugin::Candidate out;
        out.graphs = {input.graphs.front()};
        Graph& g = out.graphs.front();

        // The weight tensors, in node order, each once (two nodes may share one).
        std::vector<std::string> names;
        std::set<std::string> seen;
        for (const Node& n : g.nodes()) {
            if ((n.opType != "Conv" && n.opType != "Gemm" && n.opType != "MatMul") || !n.hasInput(1)) continue;
            const Tensor* w = g.initializer(n.inputs[1]);
            if (w && w->dtype() == DataType::Float32 && w->numel() >= minWeights && seen.insert(n.inputs[1]).second)
                names.push_back(n.inputs[1]);
        }
        if (names.empty()) throw std::runtime_error("no fp32 Conv, Gemm or MatMul weight has min_weights = " + std::to_string(minWeights) + " or more values");

        const int bits = static_cast<int>(std::ceil(std::log2(k)));
        int64_t clustered = 0, paletteBytes = 0;
        double signal = 0.0, noise = 0.0;
        QJsonArray layers;
        for (size_t l = 0; l < names.size(); ++l) {
            ctx.throwIfCancelled();
            ctx.progress(double(l) / double(names.size()), QString::fromStdString("clustering " + names[l]));
            Tensor t = g.initializer(names[l])->clone();
            float* v = t.data<float>();
            const auto n = static_cast<size_t>(t.numel());
            const weight_clustering::Clustering c = weight_clustering::kmeans1d({v, n}, k, init, iterations);
            double layerSignal = 0.0;
            for (size_t i = 0; i < n; ++i) {
                layerSignal += double(v[i]) * v[i];
                v[i] = c.centroids[c.assignment[i]];
            }
            g.setInitializer(names[l], std::move(t));
            clustered += static_cast<int64_t>(n);
            paletteBytes += 4 * k;
            signal += layerSignal;
            noise += c.sumSquaredError;
            layers.append(QJsonObject{{"weight", QString::fromStdString(names[l])},
                                      {"weights", static_cast<qint64>(n)},
                                      {"iterations", c.iterations},
                                      {"sqnr_db", sqnrDb(layerSignal, c.sumSquaredError)}});
        }
        ctx.progress(1.0, "done");

        const int64_t indexBytes = (clustered * bits + 7) / 8;
        out.label = QString("%1-entry palettes, %2 layers").arg(k).arg(names.size());
        out.notes["clusters"] = k;
        out.notes["index_bits"] = bits;
        out.notes["layers_clustered"] = static_cast<qint64>(names.size());
        out.notes["weights_clustered"] = static_cast<qint64>(clustered);
        out.notes["fp32_bytes_of_clustered_weights"] = static_cast<qint64>(4 * clustered);
        out.notes["packed_bytes_of_clustered_weights"] = static_cast<qint64>(indexBytes + paletteBytes);
        out.notes["compression"] = double(4 * clustered) / double(indexBytes + paletteBytes);
        out.notes["sqnr_db"] = sqnrDb(signal, noise);
        out.notes["layers"] = layers;
        return {out};
    }

private:
    static double sqnrDb(double signal, double noise)
    {
        return noise > 0.0 ? 10.0 * std::log10(signal / noise) : 999.0;   // 999: no error at all
    }
};

} // namespace

class WeightClusteringPlugin : public QObject, public joule::plugin::PluginInterface {
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JOULE_PLUGIN_IID FILE "weight-clustering.json")
    Q_INTERFACES(joule::plugin::PluginInterface)
public:
    std::unique_ptr<joule::plugin::Pass> createPass() override { return std::make_unique<WeightClusteringPass>(); }
};

#include "weight_clustering_plugin.moc"
