// Accuracy against MACs removed by channel pruning, with and without least-squares recovery:
//   build/tests/bench_prune [MODEL.onnx] [--importance l1|l2|geometric_median|activation] [--scope layer|global]
//                           [--samples N] [--consumers-only] [--amounts A,B,...] [--exclude LAYER,...] [--ridge R]
// Test accuracy on all 10,000 Fashion-MNIST test images by our engine; recovery fits on the first N
// (default 256) training images, refitting every layer downstream of the first pruned one unless
// --consumers-only. Prints one line per amount (fraction of channels removed).
#include "cost/layer_stats.h"
#include "data/dataset.h"
#include "eval/evaluator.h"
#include "onnx/onnx_io.h"
#include "plugin/model_card.h"
#include "prune/prune.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <QString>
#include <QStringList>

using namespace joule;

int main(int argc, char** argv)
{
    std::string model = std::string(JOULE_BENCH_SOURCE_DIR) + "/resources/models/fmnist_resnet8.onnx";
    prune::Importance importance = prune::Importance::L1;
    prune::Scope scope = prune::Scope::Layer;
    int64_t samples = 256;
    bool downstream = true;
    std::vector<std::string> exclude;
    double ridge = 1e-4;
    std::vector<double> amounts = {0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5};
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--importance" && i + 1 < argc) {
            const std::string v = argv[++i];
            importance = v == "l2" ? prune::Importance::L2 : v == "geometric_median" ? prune::Importance::GeometricMedian
                         : v == "activation"   ? prune::Importance::Activation
                                               : prune::Importance::L1;
        } else if (a == "--samples" && i + 1 < argc) {
            samples = std::stoll(argv[++i]);
        } else if (a == "--amounts" && i + 1 < argc) {
            amounts.clear();
            for (const QString& v : QString(argv[++i]).split(',')) amounts.push_back(v.toDouble());
        } else if (a == "--ridge" && i + 1 < argc) {
            ridge = std::stod(argv[++i]);
        } else if (a == "--exclude" && i + 1 < argc) {
            for (const QString& v : QString(argv[++i]).split(',', Qt::SkipEmptyParts)) exclude.push_back(v.toStdString());
        } else if (a == "--consumers-only") {
            downstream = false;
        } else if (a == "--scope" && i + 1 < argc) {
            scope = std::strcmp(argv[++i], "global") == 0 ? prune::Scope::Global : prune::Scope::Layer;
        } else {
            model = a;
        }
    }
    const Graph g = onnx::loadModel(model);
    const data::Preprocessing prep = plugin::preprocessingFromCard(QString::fromStdString(model));
    const data::LabeledImages train = data::loadDataset("fashion-mnist:train", prep);
    const data::LabeledImages test = data::loadDataset("fashion-mnist:test", prep);
    const auto accuracy = [&](const Graph& m) { return eval::evaluate(m, test, prep, {}).accuracy; };
    const int64_t macs0 = cost::analyzeModel(g).macs;
    const double a0 = accuracy(g);
    std::printf("%s: %lld MACs, accuracy %.2f %% on 10,000 test images\n", model.c_str(), static_cast<long long>(macs0), 100 * a0);
    std::printf("%8s %12s %10s %12s %14s %12s\n", "channels", "MACs", "removed", "pruned", "recovered", "recovery s");
    for (double amount : amounts) {
        const prune::ChannelPruneResult r = prune::pruneChannels(g, {.importance = importance, .amount = amount, .scope = scope, .exclude = exclude, .data = &train, .prep = prep});
        const auto t0 = std::chrono::steady_clock::now();
        const Graph rec = prune::recoverLeastSquares(g, r, {.data = &train, .prep = prep, .samples = samples, .ridge = ridge, .downstream = downstream});
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const int64_t macs = cost::analyzeModel(rec).macs;
        std::printf("%7.0f%% %12lld %9.1f%% %11.2f%% %13.2f%% %12.1f\n", 100 * amount, static_cast<long long>(macs),
                    100.0 * (1.0 - static_cast<double>(macs) / static_cast<double>(macs0)), 100 * accuracy(r.graph), 100 * accuracy(rec), seconds);
        std::fflush(stdout);
    }
    return 0;
}
