// Memory planner: exact placements on hand-made lifetimes, and on random lifetimes the two
// properties users rely on — live buffers never overlap, and the arena is never below the bound.
#include "runtime/memory_planner.h"

#include <QtTest>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

using joule::rt::BufferRequest;
using joule::rt::MemoryPlan;
using joule::rt::planHasOverlap;
using joule::rt::planMemory;

namespace {

size_t alignUp(size_t n, size_t a) { return (n + a - 1) / a * a; }

// Written independently of the planner: first overlapping pair of live buffers, or "" if none.
std::string findOverlap(const std::vector<BufferRequest>& req, const MemoryPlan& plan)
{
    if (plan.offsets.size() != req.size()) return "plan has " + std::to_string(plan.offsets.size()) + " offsets for " +
                                                  std::to_string(req.size()) + " requests";
    for (size_t a = 0; a < req.size(); ++a) {
        for (size_t b = 0; b < req.size(); ++b) {
            if (a == b || req[a].bytes == 0 || req[b].bytes == 0) continue;
            const int firstShared = std::max(req[a].firstStep, req[b].firstStep);
            const int lastShared = std::min(req[a].lastStep, req[b].lastStep);
            if (firstShared > lastShared) continue;   // never alive together
            // a starts inside b's bytes?
            if (plan.offsets[a] >= plan.offsets[b] && plan.offsets[a] < plan.offsets[b] + req[b].bytes)
                return "buffers " + std::to_string(a) + " and " + std::to_string(b) + " overlap at step " +
                       std::to_string(firstShared);
        }
    }
    return {};
}

// Max over steps of the sum of aligned sizes alive at that step, counted step by step.
size_t lowerBoundByHand(const std::vector<BufferRequest>& req, size_t alignment)
{
    int last = 0;
    for (const auto& r : req) last = std::max(last, r.lastStep);
    size_t best = 0;
    for (int step = 0; step <= last; ++step) {
        size_t sum = 0;
        for (const auto& r : req)
            if (r.firstStep <= step && step <= r.lastStep) sum += alignUp(r.bytes, alignment);
        best = std::max(best, sum);
    }
    return best;
}

std::vector<BufferRequest> randomLifetimes(unsigned seed)
{
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> count(1, 40), steps(1, 30), size(1, 5000), span(0, 6);
    const int n = count(rng);
    const int stepCount = steps(rng);
    std::vector<BufferRequest> req;
    for (int i = 0; i < n; ++i) {
        const int first = std::uniform_int_distribution<int>(0, stepCount - 1)(rng);
        // Mostly short lifetimes, sometimes one that spans to the end (a graph output).
        const int last = (rng() % 8 == 0) ? stepCount : std::min(stepCount, first + span(rng));
        size_t bytes = static_cast<size_t>(size(rng));
        if (rng() % 5 == 0) bytes *= 64;   // a few large buffers
        req.push_back({bytes, first, last});
    }
    return req;
}

} // namespace

class TestMemoryPlanner : public QObject {
    Q_OBJECT

private slots:
    void handMadeLifetimesGetExactOffsets()
    {
        // Sizes are rounded to 64 bytes. Placement order: largest first.
        const std::vector<BufferRequest> req = {
            {100, 0, 1},   // r0 -> 128 bytes
            {64, 1, 2},    // r1
            {200, 2, 3},   // r2 -> 256 bytes, placed first at 0
            {64, 3, 3},    // r3
            {10, 0, 0},    // r4 -> 64 bytes
        };
        const MemoryPlan plan = planMemory(req, 64);
        // r2 at 0; r0 at 0 (not alive with r2); r1 alive with r0 [0,128) and r2 [0,256) -> 256;
        // r3 alive with r2 only -> 256; r4 alive with r0 only -> 128.
        QCOMPARE(plan.offsets, (std::vector<size_t>{0, 256, 0, 256, 128}));
        QCOMPARE(plan.arenaBytes, size_t(320));
        // Steps: 0: 128+64, 1: 128+64, 2: 64+256, 3: 256+64.
        QCOMPARE(plan.lowerBoundBytes, size_t(320));
        QVERIFY(!planHasOverlap(req, plan));
    }

    void smallCaseFillsTheGapBetweenBuffers()
    {
        const std::vector<BufferRequest> req = {
            {10, 0, 2},   // b0
            {20, 1, 1},   // b1: placed first, at 0
            {5, 2, 3},    // b2: between b3 [0,7) and b0 [20,30) -> 7
            {7, 3, 4},    // b3
        };
        const MemoryPlan plan = planMemory(req, 1);
        QCOMPARE(plan.offsets, (std::vector<size_t>{20, 0, 7, 0}));
        QCOMPARE(plan.arenaBytes, size_t(30));
        // Steps: 0: 10, 1: 30, 2: 15, 3: 12, 4: 7.
        QCOMPARE(plan.lowerBoundBytes, size_t(30));
    }

    void chainPingPongsBetweenTwoSlots()
    {
        std::vector<BufferRequest> req;
        for (int i = 0; i < 10; ++i) req.push_back({1000, i, i + 1});
        const MemoryPlan plan = planMemory(req, 64);
        for (size_t i = 0; i < req.size(); ++i) QCOMPARE(plan.offsets[i], i % 2 ? size_t(1024) : size_t(0));
        QCOMPARE(plan.arenaBytes, size_t(2048));
        QCOMPARE(plan.lowerBoundBytes, size_t(2048));
    }

    void lowerBoundEqualsHandComputedValue()
    {
        // Alignment 16. Sizes aligned: 48, 32, 112, 16, 64.
        const std::vector<BufferRequest> req = {
            {40, 0, 3}, {17, 1, 2}, {100, 2, 2}, {16, 3, 5}, {64, 4, 5},
        };
        // Step 0: 48. 1: 48+32=80. 2: 48+32+112=192. 3: 48+16=64. 4: 16+64=80. 5: 80.
        const MemoryPlan plan = planMemory(req, 16);
        QCOMPARE(plan.lowerBoundBytes, size_t(192));
        QCOMPARE(lowerBoundByHand(req, 16), size_t(192));
        QVERIFY(plan.arenaBytes >= plan.lowerBoundBytes);
    }

    void overlapCheckersDetectABrokenPlan()
    {
        const std::vector<BufferRequest> req = {{128, 0, 1}, {64, 1, 2}, {64, 3, 4}};
        MemoryPlan plan = planMemory(req, 64);
        QVERIFY(!planHasOverlap(req, plan));
        QVERIFY(findOverlap(req, plan).empty());

        MemoryPlan broken = plan;
        broken.offsets = {0, 64, 0};   // r1 inside r0 while both alive at step 1
        QVERIFY(planHasOverlap(req, broken));
        QVERIFY(!findOverlap(req, broken).empty());

        MemoryPlan reuse = plan;
        reuse.offsets = {0, 128, 0};   // r2 reuses r0's bytes after r0 died: fine
        QVERIFY(!planHasOverlap(req, reuse));
        QVERIFY(findOverlap(req, reuse).empty());
    }

    void offsetsAreAligned()
    {
        const std::vector<BufferRequest> req = {{3, 0, 0}, {5, 0, 1}, {7, 1, 1}, {1, 0, 1}};
        for (size_t alignment : {size_t(1), size_t(8), size_t(64), size_t(4096)}) {
            const MemoryPlan plan = planMemory(req, alignment);
            for (size_t off : plan.offsets) QCOMPARE(off % alignment, size_t(0));
            QVERIFY(plan.arenaBytes % alignment == 0);
        }
    }

    void emptyRequestListGivesEmptyArena()
    {
        const MemoryPlan plan = planMemory({}, 64);
        QVERIFY(plan.offsets.empty());
        QCOMPARE(plan.arenaBytes, size_t(0));
        QCOMPARE(plan.lowerBoundBytes, size_t(0));
    }

    void randomLifetimesNeverOverlap_data()
    {
        QTest::addColumn<size_t>("alignment");
        QTest::newRow("align 1") << size_t(1);
        QTest::newRow("align 16") << size_t(16);
        QTest::newRow("align 64") << size_t(64);
    }

    void randomLifetimesNeverOverlap()
    {
        QFETCH(size_t, alignment);
        size_t plansAboveBound = 0;
        for (unsigned seed = 1; seed <= 200; ++seed) {
            const std::vector<BufferRequest> req = randomLifetimes(seed);
            const MemoryPlan plan = planMemory(req, alignment);
            const std::string where = "seed " + std::to_string(seed) + ": ";

            QVERIFY2(!planHasOverlap(req, plan), (where + "planHasOverlap").c_str());
            const std::string overlap = findOverlap(req, plan);
            QVERIFY2(overlap.empty(), (where + overlap).c_str());

            for (size_t i = 0; i < req.size(); ++i) {
                QVERIFY2(plan.offsets[i] % alignment == 0, (where + "unaligned offset").c_str());
                QVERIFY2(plan.offsets[i] + req[i].bytes <= plan.arenaBytes, (where + "buffer past the arena end").c_str());
            }
            const size_t bound = lowerBoundByHand(req, alignment);
            QVERIFY2(plan.lowerBoundBytes == bound,
                     (where + "lower bound " + std::to_string(plan.lowerBoundBytes) + ", by hand " + std::to_string(bound)).c_str());
            QVERIFY2(plan.arenaBytes >= plan.lowerBoundBytes, (where + "arena below its lower bound").c_str());
            size_t total = 0;
            for (const auto& r : req) total += alignUp(r.bytes, alignment);
            QVERIFY2(plan.arenaBytes <= total, (where + "arena larger than no reuse at all").c_str());
            if (plan.arenaBytes > plan.lowerBoundBytes) ++plansAboveBound;
        }
        qInfo("alignment %zu: %zu of 200 plans above the lower bound", alignment, plansAboveBound);
    }
};

QTEST_GUILESS_MAIN(TestMemoryPlanner)
#include "tst_memory_planner.moc"
