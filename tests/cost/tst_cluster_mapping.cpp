// Layer-to-cluster mapping (docs/cost-model.md §6): the DPs against brute force on random problems.
#include "cost/cluster_mapping.h"

#include <QtTest>

#include <cmath>
#include <limits>
#include <random>

using namespace joule::cost;

namespace {

MappingProblem randomProblem(std::mt19937& rng, size_t layers, size_t clusters)
{
    std::uniform_real_distribution<double> u(0.1, 10.0);
    MappingProblem p;
    for (size_t i = 0; i < layers; ++i) {
        std::vector<double> t(clusters), e(clusters), st(clusters), se(clusters);
        for (size_t c = 0; c < clusters; ++c) {
            t[c] = u(rng);
            e[c] = u(rng);
            st[c] = 0.1 * u(rng);
            se[c] = 0.1 * u(rng);
        }
        p.latencyMs.push_back(t);
        p.energyUj.push_back(e);
        p.switchMs.push_back(st);
        p.switchUj.push_back(se);
    }
    return p;
}

// Every assignment, by counting in base `clusters`.
template <typename F>
void forEachMapping(const MappingProblem& p, F f)
{
    const size_t n = p.layers(), c = p.clusters();
    std::vector<int> m(n, 0);
    while (true) {
        f(evaluateMapping(p, m));
        size_t i = 0;
        while (i < n && ++m[i] == static_cast<int>(c)) m[i++] = 0;
        if (i == n) return;
    }
}

} // namespace

class ClusterMappingTest : public QObject {
    Q_OBJECT
private slots:
    void switchCostsAreChargedOnlyWhenTheClusterChanges()
    {
        MappingProblem p;
        p.latencyMs = {{2.0, 5.0}, {3.0, 7.0}, {1.0, 1.5}};
        p.energyUj = {{9.0, 4.0}, {12.0, 6.0}, {3.0, 2.0}};
        p.switchMs = {{0.0, 0.0}, {0.5, 0.25}, {0.5, 0.25}};
        p.switchUj = {{0.0, 0.0}, {1.0, 0.5}, {1.0, 0.5}};
        const Mapping m = evaluateMapping(p, {0, 1, 1});
        QCOMPARE(m.latencyMs, 2.0 + 7.25 + 1.5);
        QCOMPARE(m.energyUj, 9.0 + 6.5 + 2.0);
        QCOMPARE(m.switches, 1);
        QCOMPARE(minEnergyMapping(p).cluster, (std::vector<int>{1, 1, 1}));
        QCOMPARE(minLatencyMapping(p).cluster, (std::vector<int>{0, 0, 0}));
        // Budget 10 ms: all-little (13.5 ms) is too slow; the best within budget is little, big, big (9.5 ms, 20 uJ).
        const Mapping b = budgetedMapping(p, 10.0);
        QVERIFY(b.meetsBudget);
        QVERIFY(b.latencyMs <= 10.0);
        double best = std::numeric_limits<double>::infinity();
        forEachMapping(p, [&](const Mapping& x) { if (x.latencyMs <= 10.0) best = std::min(best, x.energyUj); });
        QCOMPARE(b.energyUj, best);
        QCOMPARE(b.cluster, (std::vector<int>{1, 0, 0}));
    }

    void unconstrainedDpsMatchBruteForce()
    {
        std::mt19937 rng(7);
        for (int trial = 0; trial < 50; ++trial) {
            const MappingProblem p = randomProblem(rng, 1 + trial % 9, 2 + trial % 2);
            double minE = std::numeric_limits<double>::infinity(), minT = minE;
            forEachMapping(p, [&](const Mapping& m) { minE = std::min(minE, m.energyUj); minT = std::min(minT, m.latencyMs); });
            QVERIFY(std::abs(minEnergyMapping(p).energyUj - minE) < 1e-9);
            QVERIFY(std::abs(minLatencyMapping(p).latencyMs - minT) < 1e-9);
        }
    }

    void budgetedDpIsFeasibleAndOptimalUpToOneBucketPerLayer()
    {
        std::mt19937 rng(11);
        const int buckets = 2000;
        for (int trial = 0; trial < 60; ++trial) {
            const MappingProblem p = randomProblem(rng, 2 + trial % 9, 2 + trial % 2);
            const double fastest = minLatencyMapping(p).latencyMs;
            const double cheapestTime = minEnergyMapping(p).latencyMs;
            const double budget = fastest + (cheapestTime - fastest) * (0.1 + 0.8 * (trial % 7) / 6.0);
            const Mapping m = budgetedMapping(p, budget, buckets);
            QVERIFY(m.meetsBudget);
            QVERIFY(m.latencyMs <= budget + 1e-9);
            // Any mapping within budget - layers*bucket is found by the quantized DP, so ours is no worse.
            const double slack = budget - static_cast<double>(p.layers()) * budget / buckets;
            double bestWithin = std::numeric_limits<double>::infinity(), bestExact = bestWithin;
            forEachMapping(p, [&](const Mapping& x) {
                if (x.latencyMs <= slack) bestWithin = std::min(bestWithin, x.energyUj);
                if (x.latencyMs <= budget) bestExact = std::min(bestExact, x.energyUj);
            });
            QVERIFY(m.energyUj <= bestWithin + 1e-9);
            QVERIFY(m.energyUj >= bestExact - 1e-9);
            const Mapping lag = lagrangianMapping(p, budget);
            QVERIFY(lag.latencyMs <= budget + 1e-9);
            QVERIFY(lag.energyUj >= bestExact - 1e-9);
        }
    }

    void anImpossibleBudgetGivesTheFastestMapping()
    {
        std::mt19937 rng(3);
        const MappingProblem p = randomProblem(rng, 6, 2);
        const Mapping fastest = minLatencyMapping(p);
        const Mapping m = budgetedMapping(p, 0.5 * fastest.latencyMs);
        QVERIFY(!m.meetsBudget);
        QCOMPARE(m.cluster, fastest.cluster);
    }
};

QTEST_GUILESS_MAIN(ClusterMappingTest)
#include "tst_cluster_mapping.moc"
