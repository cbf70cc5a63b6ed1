// What-if speed: a 1,000-threshold sweep (and its Pareto front) over 10,000 stored records of a
// two-stage cascade, for each rule. Prints the median of 20 sweeps. A benchmark, not a test.
//
//   build/tests/bench_whatif [STAGES.json]     (default: 10,000 seeded synthetic records)
#include "adaptive/whatif.h"
#include "cost/host_profiler.h"

#include <QFile>
#include <QJsonDocument>

#include <chrono>
#include <cstdio>
#include <random>

using namespace joule;

namespace {

adaptive::StageOutputs synthetic(int64_t n)
{
    adaptive::StageOutputs out;
    out.stageNames = {"little", "big"};
    out.costs = {{78400, 3.46, 154.4}, {9345920, 377.7, 16835.9}};
    out.classes = 10;
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(0.1f, 1.0f);
    std::uniform_int_distribution<int> cls(0, 9);
    out.scores.resize(2);
    for (int64_t i = 0; i < n; ++i) {
        const int label = cls(rng);
        out.labels.push_back(label);
        for (int s = 0; s < 2; ++s) {
            const float p = u(rng);
            out.scores[static_cast<size_t>(s)].push_back({u(rng) < 0.9f ? label : cls(rng), p, p * 0.8f, (1 - p) * 2.3f});
        }
    }
    return out;
}

} // namespace

int main(int argc, char** argv)
{
    adaptive::StageOutputs out;
    if (argc > 1) {
        QFile f(argv[1]);
        if (!f.open(QIODevice::ReadOnly)) {
            std::fprintf(stderr, "bench_whatif: %s: cannot read\n", argv[1]);
            return 1;
        }
        out = adaptive::stageOutputsFromJson(QJsonDocument::fromJson(f.readAll()).object(), argv[1]);
    } else {
        out = synthetic(10000);
    }
    std::printf("what-if sweep, 1000 thresholds over %lld records, %zu stages (median of 20, measured here)\n",
                static_cast<long long>(out.inputCount()), out.stageCount());
    for (auto rule : {adaptive::StopRule::MaxProb, adaptive::StopRule::Margin, adaptive::StopRule::Entropy,
                      adaptive::StopRule::ClassMaxProb}) {
        std::vector<double> ms;
        size_t front = 0;
        for (int r = 0; r < 20; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            front = adaptive::paretoFront(adaptive::sweep(out, rule, 1000)).size();
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
        std::printf("  %-15s %8.3f ms  (front: %zu points)\n", adaptive::ruleName(rule), cost::median(ms), front);
    }
    return 0;
}
