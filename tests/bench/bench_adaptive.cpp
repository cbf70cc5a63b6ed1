// Does the host really skip work? Runs an adaptive recipe (default: the early-exit recipe), then
// times, one image at a time on one thread, the full model and the adaptive candidate on the test
// set: the mean measured latency per image of each. A benchmark, not a test (timings vary).
//
//   build/tests/bench_adaptive [RECIPE.json] [--limit N]
#include "adaptive/cascade.h"
#include "adaptive/early_exit.h"
#include "onnx/onnx_io.h"
#include "plugin/model_card.h"
#include "plugin/plugin_manager.h"
#include "plugin/recipe_runner.h"

#include <QCoreApplication>

#include <cstdio>
#include <cstring>

using namespace joule;

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    const char* src = std::getenv("JOULE_SOURCE_DIR");
    std::string recipePath = std::string(src ? src : JOULE_BENCH_SOURCE_DIR) + "/resources/recipes/fmnist_early_exit.json";
    int64_t limit = 2000;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--limit") == 0 && i + 1 < argc) limit = std::atoll(argv[++i]);
        else recipePath = argv[i];
    }
    try {
        const plugin::Recipe recipe = plugin::loadRecipe(QString::fromStdString(recipePath));
        plugin::PluginManager plugins({QString(JOULE_BENCH_BUILD_DIR) + "/plugins"});
        std::fprintf(stderr, "bench_adaptive: running %s\n", recipePath.c_str());
        const plugin::OptimizeResult result = plugin::runRecipe(recipe, plugins);
        const plugin::CandidateResult* adaptive = nullptr;
        for (const auto& c : result.candidates) if (c.adaptive) adaptive = &c;
        if (!adaptive) {
            std::fprintf(stderr, "bench_adaptive: %s makes no adaptive candidate\n", recipePath.c_str());
            return 1;
        }
        const Graph full = onnx::loadModel(recipe.model.toStdString());
        const data::Preprocessing prep = plugin::preprocessingFromCard(recipe.model);
        const data::LabeledImages test = data::loadDataset(recipe.test.spec.toStdString(), prep);
        eval::EvalOptions one;
        one.workers = 1;
        one.batchSize = 1;
        one.limit = limit;
        const auto& a = *adaptive->adaptive;
        // Interleaved, twice each, so a slow moment of the machine hits both.
        double fullSeconds = 0, adaptiveSeconds = 0;
        for (int round = 0; round < 2; ++round) {
            fullSeconds += eval::evaluate(full, test, prep, one).seconds;
            adaptiveSeconds += a.policy.kind == adaptive::PolicyKind::EarlyExit
                                   ? adaptive::runChain(a.policy, adaptive->candidate.graphs, a.costs, test, prep, one).result.seconds
                                   : adaptive::runCascade(a.policy, adaptive->candidate.graphs, a.costs, test, prep, one).result.seconds;
        }
        const double n = 2.0 * static_cast<double>(std::min<int64_t>(limit, test.size()));
        const double fullMs = 1e3 * fullSeconds / n, adaptiveMs = 1e3 * adaptiveSeconds / n;
        std::printf("%s on %lld test images, batch 1, 1 thread (measured here):\n", adaptive->candidate.label.toUtf8().constData(),
                    static_cast<long long>(n / 2));
        std::printf("  full model      %.4f ms per image\n", fullMs);
        std::printf("  %-15s %.4f ms per image  (%.1f%% below the full model; expected MACs %.0f of %lld)\n",
                    adaptive::kindName(a.policy.kind), adaptiveMs, 100.0 * (1.0 - adaptiveMs / fullMs), a.outcome.expectedMacs,
                    static_cast<long long>(result.candidates.front().stats.macs));
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_adaptive: %s\n", e.what());
        return 1;
    }
}
