// Least-squares recovery of a channel-pruned graph (prune.h): each layer that lost input channels is
// refitted so that its output matches the original graph's on calibration inputs.
#include "prune/prune.h"

#include "runtime/session.h"

#include <Eigen/Dense>

#include <algorithm>
#include <stdexcept>

namespace joule::prune {
namespace {

using Matrix = Eigen::MatrixXd;

struct Geometry {
    int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
};

// One value of a graph, by name, over batches of inputs: one session for all the batches.
class Capture {
public:
    Capture(const Graph& graph, std::string value) : session_(graph), input_(graph.requiredInputs().front().name), value_(std::move(value))
    {
        session_.setObserver([this](const Node& n, size_t o, const Tensor& v) {
            if (n.outputs[o] == value_) seen_ = v.clone();
        });
    }
    Tensor operator()(const Tensor& batch)
    {
        seen_ = Tensor();
        session_.run({{input_, batch}});
        if (seen_.empty()) throw std::logic_error("recovery: '" + value_ + "' was not computed");
        return seen_;
    }

private:
    rt::Session session_;
    std::string input_, value_;
    Tensor seen_;
};


// Rows [x_patch, 1] and targets y[kept] of one batch, every `step`-th output position.
int64_t accumulate(const Tensor& x, const Tensor& y, const Node& node, const Shape& weights, const std::vector<int64_t>& kept, int64_t step,
                   Matrix& ata, Matrix& aty)
{
    int64_t total = 0;
    const bool conv = node.opType == "Conv";
    const int64_t batch = x.dim(0), d = ata.rows(), k = static_cast<int64_t>(kept.size());
    std::vector<double> row(static_cast<size_t>(d));
    Matrix rows(256, d), targets(256, k);
    int64_t filled = 0, position = 0;
    const auto flush = [&] {
        if (!filled) return;
        total += filled;
        ata.noalias() += rows.topRows(filled).transpose() * rows.topRows(filled);
        aty.noalias() += rows.topRows(filled).transpose() * targets.topRows(filled);
        filled = 0;
    };
    if (!conv) {
        const int64_t in = x.dim(1), out = y.dim(1);
        for (int64_t b = 0; b < batch; ++b) {
            for (int64_t i = 0; i < in; ++i) rows(filled, i) = x.data<float>()[b * in + i];
            rows(filled, in) = 1.0;
            for (int64_t j = 0; j < k; ++j) targets(filled, j) = y.data<float>()[b * out + kept[static_cast<size_t>(j)]];
            if (++filled == rows.rows()) flush();
        }
        flush();
        return total;
    }
    Geometry g;
    const std::vector<int64_t> ks = node.attrInts("kernel_shape", {weights[2], weights[3]}), st = node.attrInts("strides", {1, 1}), pads = node.attrInts("pads", {0, 0, 0, 0}),
                               dl = node.attrInts("dilations", {1, 1});
    g.kh = ks.at(0), g.kw = ks.at(1), g.sh = st[0], g.sw = st[1], g.ph = pads[0], g.pw = pads[1], g.dh = dl[0], g.dw = dl[1];
    const int64_t cin = x.dim(1), h = x.dim(2), w = x.dim(3), cout = y.dim(1), oh = y.dim(2), ow = y.dim(3);
    const float* xd = x.data<float>();
    const float* yd = y.data<float>();
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t oy = 0; oy < oh; ++oy)
            for (int64_t ox = 0; ox < ow; ++ox, ++position) {
                if (position % step) continue;
                int64_t col = 0;
                for (int64_t c = 0; c < cin; ++c)
                    for (int64_t ky = 0; ky < g.kh; ++ky)
                        for (int64_t kx = 0; kx < g.kw; ++kx, ++col) {
                            const int64_t iy = oy * g.sh - g.ph + ky * g.dh, ix = ox * g.sw - g.pw + kx * g.dw;
                            rows(filled, col) = iy < 0 || iy >= h || ix < 0 || ix >= w ? 0.0 : xd[((b * cin + c) * h + iy) * w + ix];
                        }
                rows(filled, col) = 1.0;
                for (int64_t j = 0; j < k; ++j) targets(filled, j) = yd[((b * cout + kept[static_cast<size_t>(j)]) * oh + oy) * ow + ox];
                if (++filled == rows.rows()) flush();
            }
    flush();
    return total;
}

} // namespace

bool fixedBatch(const Graph& graph)
{
    const std::vector<ValueInfo> in = graph.requiredInputs();
    return !in.empty() && !in.front().shape.empty() && in.front().shape[0] > 0;
}

int64_t calibrationBatch(const Graph& graph)
{
    const std::vector<ValueInfo> in = graph.requiredInputs();
    return !in.empty() && !in.front().shape.empty() && in.front().shape[0] > 0 ? in.front().shape[0] : 32;
}

namespace {

bool recoverable(const Node& n)
{
    if (n.opType == "Conv")
        return n.attrInt("group", 1) == 1 && n.attrString("auto_pad", "NOTSET") == "NOTSET" && n.attrInts("kernel_shape", {1, 1}).size() == 2;
    return n.opType == "Gemm" && n.attrInt("transA", 0) == 0 && n.attrFloat("alpha", 1.0f) == 1.0f && n.attrFloat("beta", 1.0f) == 1.0f;
}

} // namespace

Graph reestimateBatchNorm(const Graph& graph, const RecoveryOptions& options, const std::vector<std::string>& keep)
{
    if (!options.data || options.data->size() == 0) throw std::invalid_argument("batch-norm re-estimation needs calibration data");
    Graph current = graph;
    const int64_t n = std::min<int64_t>(options.samples, options.data->size());
    for (int idx : graph.topologicalOrder()) {
        const Node node = current.nodes()[static_cast<size_t>(idx)];
        if (node.opType != "BatchNormalization" || !node.hasInput(4) || !current.initializer(node.inputs[3]) || !current.initializer(node.inputs[4]))
            continue;
        const int producer = current.producerOf(node.inputs[0]);
        if (producer >= 0 && std::find(keep.begin(), keep.end(), current.nodes()[static_cast<size_t>(producer)].name) != keep.end()) continue;
        std::vector<double> sum, sumSq;
        int64_t count = 0;
        const int64_t batch = calibrationBatch(graph);
        Capture input(current, node.inputs[0]);
        for (int64_t b = 0; b < n && (b + batch <= n || !fixedBatch(graph)); b += batch) {
            const Tensor x = input(data::imageBatch(*options.data, options.prep, b, std::min<int64_t>(batch, n - b)));
            const int64_t c = x.dim(1), per = x.numel() / (x.dim(0) * c);
            sum.resize(static_cast<size_t>(c), 0.0);
            sumSq.resize(static_cast<size_t>(c), 0.0);
            for (int64_t i = 0; i < x.numel(); ++i) {
                const double v = x.data<float>()[i];
                const size_t ch = static_cast<size_t>((i / per) % c);
                sum[ch] += v;
                sumSq[ch] += v * v;
            }
            count += x.dim(0) * per;
        }
        Tensor mean(DataType::Float32, {static_cast<int64_t>(sum.size())}), var(DataType::Float32, {static_cast<int64_t>(sum.size())});
        for (size_t ch = 0; ch < sum.size(); ++ch) {
            const double m = sum[ch] / static_cast<double>(count);
            mean.data<float>()[ch] = static_cast<float>(m);
            var.data<float>()[ch] = static_cast<float>(std::max(0.0, sumSq[ch] / static_cast<double>(count) - m * m));
        }
        current.setInitializer(node.inputs[3], std::move(mean));
        current.setInitializer(node.inputs[4], std::move(var));
    }
    return current;
}

Graph recoverLeastSquares(const Graph& original, const ChannelPruneResult& pruned, const RecoveryOptions& options)
{
    if (!options.data || options.data->size() == 0) throw std::invalid_argument("recovery needs calibration data");
    Graph current = pruned.graph;
    const int64_t n = std::min<int64_t>(options.samples, options.data->size());
    const int64_t batch = calibrationBatch(original);
    std::vector<std::string> layers = pruned.changedInputs;
    if (options.downstream && !layers.empty()) {
        // Every recoverable layer from the first changed one on, in execution order.
        layers.clear();
        bool after = false;
        for (int idx : current.topologicalOrder()) {
            const Node& node = current.nodes()[static_cast<size_t>(idx)];
            after = after || node.name == pruned.changedInputs.front();
            if (after && recoverable(node)) layers.push_back(node.name);
        }
    }
    std::vector<std::string> refitted;
    for (size_t layer = 0; layer < layers.size(); ++layer) {
        if (options.cancel && options.cancel->load()) throw std::runtime_error("cancelled");
        const std::string& name = layers[layer];
        if (options.progress) options.progress(static_cast<double>(layer) / static_cast<double>(layers.size()), "refitting " + name);
        int at = -1;
        for (size_t i = 0; i < current.nodes().size(); ++i)
            if (current.nodes()[i].name == name) at = static_cast<int>(i);
        if (at < 0) continue;
        const Node node = current.nodes()[static_cast<size_t>(at)];
        if (!recoverable(node)) continue;
        const Tensor& w = *current.initializer(node.inputs[1]);
        const bool conv = node.opType == "Conv";
        const bool transB = !conv && node.attrInt("transB", 0) != 0;
        const int64_t outs = conv || transB ? w.dim(0) : w.dim(1);
        const int64_t ins = conv ? w.numel() / w.dim(0) : (transB ? w.dim(1) : w.dim(0));
        std::vector<int64_t> kept;
        if (auto it = pruned.keptOutputs.find(name); it != pruned.keptOutputs.end()) kept = it->second;
        else for (int64_t c = 0; c < outs; ++c) kept.push_back(c);
        const int64_t d = ins + 1;
        Matrix ata = Matrix::Zero(d, d), aty = Matrix::Zero(d, static_cast<int64_t>(kept.size()));
        if (fixedBatch(original) && n < batch)
            throw std::invalid_argument("recovery needs at least one batch of " + std::to_string(batch) + " images (the model's fixed batch size), got " + std::to_string(n));
        Capture input(current, node.inputs[0]), target(original, node.outputs[0]);
        int64_t rowsSeen = 0, step = 1;
        for (int64_t b = 0; b < n && (b + batch <= n || !fixedBatch(original)); b += batch) {
            const Tensor x = data::imageBatch(*options.data, options.prep, b, std::min(batch, n - b));
            const Tensor y = target(x);
            // Subsample positions so that the system has at most maxRows rows.
            if (b == 0) step = std::max<int64_t>(1, ((conv ? y.dim(2) * y.dim(3) : 1) * n + options.maxRows - 1) / options.maxRows);
            rowsSeen += accumulate(input(x), y, node, w.shape(), kept, step, ata, aty);
        }
        if (rowsSeen < d)
            throw std::invalid_argument("recovery of '" + name + "' needs at least " + std::to_string(d) + " rows, got " + std::to_string(rowsSeen) +
                                        " from " + std::to_string(n) + " images (raise the recovery samples)");
        const double lambda = options.ridge * std::max(ata.diagonal().mean(), 1e-12);
        ata.diagonal().array() += lambda;
        const Matrix solution = ata.ldlt().solve(aty);   // d x kept
        if (!solution.allFinite()) continue;
        // New weights and bias in the node's layout.
        Tensor nw(DataType::Float32, w.shape());
        float* dst = nw.data<float>();
        const int64_t k = static_cast<int64_t>(kept.size());
        for (int64_t o = 0; o < k; ++o)
            for (int64_t i = 0; i < ins; ++i) {
                const float v = static_cast<float>(solution(i, o));
                if (conv || transB) dst[o * ins + i] = v;
                else dst[i * k + o] = v;
            }
        Tensor bias(DataType::Float32, {k});
        for (int64_t o = 0; o < k; ++o) bias.data<float>()[o] = static_cast<float>(solution(ins, o));
        current.setInitializer(node.inputs[1], std::move(nw));
        Node& mutableNode = current.nodes()[static_cast<size_t>(at)];
        std::string biasName = node.hasInput(2) ? node.inputs[2] : node.name + "_recovered_bias";
        while (!node.hasInput(2) && current.initializer(biasName)) biasName += "_";
        if (!node.hasInput(2)) {
            mutableNode.inputs.resize(3);
            mutableNode.inputs[2] = biasName;
        }
        current.setInitializer(biasName, std::move(bias));
        refitted.push_back(name);
    }
    if (options.batchNorm && !pruned.changedInputs.empty()) {
        // Only a BatchNormalization that pruning can have changed the input of: after the first
        // changed layer, and not fed by a layer the refit restored. The others keep their statistics.
        std::vector<std::string> keep = refitted;
        bool after = false;
        for (int idx : current.topologicalOrder()) {
            const Node& node = current.nodes()[static_cast<size_t>(idx)];
            after = after || node.name == pruned.changedInputs.front();
            if (!after) keep.push_back(node.name);
        }
        current = reestimateBatchNorm(current, options, keep);
    }
    if (options.progress) options.progress(1.0, "refitted");
    current.validate();
    return current;
}

} // namespace joule::prune
