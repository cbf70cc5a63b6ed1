// core/adaptive: stopping rules, the what-if simulation, sweeps, tuning and the stage-outputs file,
// on hand-made stage outputs whose answers are known.
#include "adaptive/policy.h"
#include "adaptive/whatif.h"

#include <QJsonArray>
#include <QtTest>

#include <random>

using namespace joule::adaptive;

namespace {

// Two stages over 4 inputs of 3 classes; costs 10 (little) and 100 (big, after little).
//   input  label  little (pred, top1)   big (pred)
//   0      0      0, 0.95 (right)        0 (right)
//   1      1      2, 0.60 (wrong)        1 (right)
//   2      2      2, 0.80 (right)        1 (wrong)
//   3      1      0, 0.90 (wrong)        1 (right)
StageOutputs fourInputs()
{
    StageOutputs out;
    out.stageNames = {"little", "big"};
    out.costs = {{10, 1.0, 10.0}, {100, 9.0, 100.0}};
    out.classes = 3;
    out.labels = {0, 1, 2, 1};
    out.scores = {{{0, 0.95f, 0.9f, 0.2f}, {2, 0.60f, 0.3f, 0.9f}, {2, 0.80f, 0.7f, 0.5f}, {0, 0.90f, 0.85f, 0.3f}},
                  {{0, 0.99f, 0.98f, 0.1f}, {1, 0.97f, 0.95f, 0.1f}, {1, 0.70f, 0.5f, 0.6f}, {1, 0.99f, 0.98f, 0.1f}}};
    return out;
}

StageOutputs randomOutputs(int64_t n, unsigned seed)
{
    StageOutputs out;
    out.stageNames = {"a", "b"};
    out.costs = {{5, 0.5, 2.0}, {50, 4.0, 30.0}};
    out.classes = 10;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0.1f, 1.0f);
    std::uniform_int_distribution<int> cls(0, 9);
    out.scores.resize(2);
    for (int64_t i = 0; i < n; ++i) {
        out.labels.push_back(cls(rng));
        for (auto& stage : out.scores) {
            const float p = std::round(u(rng) * 100) / 100;   // ties on purpose
            stage.push_back({u(rng) < 0.8f ? out.labels.back() : cls(rng), p, p * 0.7f, (1 - p) * 2.0f});
        }
    }
    return out;
}

// Two stages over 3 classes (costs 10 and 100), built fold by fold: tune() puts input i in fold i % 5,
// so fold f's inputs are placed at indices f, f + 5, f + 10, ... Every fold has, for each class, 20
// easy inputs (top-1 0.95, both stages right) and 4 hard ones (top-1 0.5, only the big stage right).
// Classes 1 and 2 also have 4 inputs per fold at 0.7 that only the big stage gets right, so no single
// threshold may go down to 0.7 without losing accuracy. Class 0 has `low[f]` inputs at 0.7 in fold f,
// whose little-stage answer costs `lost[f]` correct answers each (0: both right; 1: only big right;
// -1: only little right).
StageOutputs classCase(const std::vector<int>& low, const std::vector<int>& lost)
{
    struct In {
        int64_t label, little, big;
        float top1;
    };
    std::vector<std::vector<In>> folds(5);
    for (size_t f = 0; f < folds.size(); ++f) {
        for (int64_t c = 0; c < 3; ++c) {
            for (int k = 0; k < 20; ++k) folds[f].push_back({c, c, c, 0.95f});
            for (int k = 0; k < 4; ++k) folds[f].push_back({c, (c + 1) % 3, c, 0.5f});
            if (c > 0)
                for (int k = 0; k < 4; ++k) folds[f].push_back({(c + 1) % 3, c, (c + 1) % 3, 0.7f});
        }
        for (int k = 0; k < low[f]; ++k)
            folds[f].push_back(lost[f] == 0 ? In{0, 0, 0, 0.7f} : lost[f] > 0 ? In{1, 0, 1, 0.7f} : In{0, 0, 1, 0.7f});
    }
    size_t rows = 0;
    for (auto& f : folds) rows = std::max(rows, f.size());
    for (auto& f : folds)
        while (f.size() < rows) f.push_back({2, 2, 2, 0.95f});
    StageOutputs out;
    out.stageNames = {"little", "big"};
    out.costs = {{10, 1.0, 10.0}, {100, 9.0, 100.0}};
    out.classes = 3;
    out.scores.resize(2);
    for (size_t r = 0; r < rows; ++r)
        for (auto& f : folds) {
            const In& in = f[r];
            out.labels.push_back(in.label);
            out.scores[0].push_back({in.little, in.top1, in.top1 - 0.05f, 1 - in.top1});
            out.scores[1].push_back({in.big, 0.9f, 0.8f, 0.3f});
        }
    return out;
}

// classCase with a middle stage between little and big (costs 10, 30 and 100): the middle stage
// answers as big does, at top-1 0.95, except on every seventh input, where it is wrong at 0.5 and only
// big is right. No (stage, class) threshold but class 0's at the little stage has anything to gain.
StageOutputs threeStages(const StageOutputs& two)
{
    StageOutputs out = two;
    out.stageNames = {"little", "middle", "big"};
    out.costs = {{10, 1.0, 10.0}, {30, 3.0, 30.0}, {100, 9.0, 100.0}};
    std::vector<StageScore> middle;
    for (size_t i = 0; i < out.labels.size(); ++i) {
        const int64_t big = two.scores[1][i].prediction;
        middle.push_back(i % 7 == 0 ? StageScore{(big + 1) % 3, 0.5f, 0.45f, 0.5f} : StageScore{big, 0.95f, 0.9f, 0.05f});
    }
    out.scores = {two.scores[0], middle, two.scores[1]};
    return out;
}

} // namespace

class TestAdaptive : public QObject {
    Q_OBJECT
private slots:
    void eachRuleStopsAsDefined()
    {
        const StageScore s{.prediction = 1, .top1 = 0.8f, .margin = 0.5f, .entropy = 0.6f};
        QVERIFY(confident(StopRule::MaxProb, {0.8}, s));
        QVERIFY(!confident(StopRule::MaxProb, {0.81}, s));
        QVERIFY(confident(StopRule::Margin, {0.5}, s));
        QVERIFY(!confident(StopRule::Margin, {0.51}, s));
        QVERIFY(confident(StopRule::Entropy, {0.6}, s));
        QVERIFY(!confident(StopRule::Entropy, {0.59}, s));
        QVERIFY(confident(StopRule::ClassMaxProb, {0.99, 0.7, 0.99}, s));    // class 1's threshold decides
        QVERIFY(!confident(StopRule::ClassMaxProb, {0.1, 0.9, 0.1}, s));
    }

    void badThresholdsAreErrorsNamingTheValue()
    {
        auto message = [](auto f) -> QString {
            try {
                f();
            } catch (const PolicyError& e) {
                return e.what();
            }
            return {};
        };
        QVERIFY(message([] { checkThresholds(StopRule::MaxProb, {1.5}, 10); }).contains("max_prob threshold 1.5 is outside [0, 1]"));
        QVERIFY(message([] { checkThresholds(StopRule::Margin, {-0.1}, 10); }).contains("outside [0, 1]"));
        QVERIFY(message([] { checkThresholds(StopRule::Entropy, {-1}, 10); }).contains("outside [0, inf)"));
        QVERIFY(message([] { checkThresholds(StopRule::ClassMaxProb, {0.5, 0.5}, 10); }).contains("one threshold per class (10)"));
        QVERIFY(message([] { checkThresholds(StopRule::ClassMaxProb, std::vector<double>(10, 2.0), 10); }).contains("outside [0, 1]"));
        QVERIFY(message([] { checkThresholds(StopRule::Entropy, {0.5}, 10); }).isEmpty());
    }

    void simulateCountsAnswersAndCosts()
    {
        // At 0.85: inputs 0 and 3 stop at little (0 right, 3 wrong); 1 and 2 go to big (1 right, 2 wrong).
        const Outcome o = simulate(fourInputs(), StopRule::MaxProb, {{0.85}});
        QCOMPARE(o.samples, int64_t(4));
        QCOMPARE(o.correct, int64_t(2));
        QCOMPARE(o.answered, (std::vector<double>{0.5, 0.5}));
        QCOMPARE(o.stageOf, (std::vector<int>{0, 1, 1, 0}));
        QCOMPARE(o.expectedMacs, (10 + 110 + 110 + 10) / 4.0);
        QCOMPARE(o.expectedLatencyMs, (1 + 10 + 10 + 1) / 4.0);
        QCOMPARE(*o.expectedEnergyUj, (10 + 110 + 110 + 10) / 4.0);
        QCOMPARE(o.energyUj->max, 110.0);
        QCOMPARE(o.energyUj->p50, 10.0);
        // Everything to big: big's own accuracy (3 of 4) at the full cost.
        const Outcome all = simulate(fourInputs(), StopRule::MaxProb, {{1.0}});
        QCOMPARE(all.correct, int64_t(3));
        QCOMPARE(*all.expectedEnergyUj, 110.0);
    }

    void aSweepAgreesWithSimulatingEachThreshold_data()
    {
        QTest::addColumn<int>("rule");
        QTest::newRow("max_prob") << int(StopRule::MaxProb);
        QTest::newRow("margin") << int(StopRule::Margin);
        QTest::newRow("entropy") << int(StopRule::Entropy);
        QTest::newRow("class_max_prob") << int(StopRule::ClassMaxProb);
    }
    void aSweepAgreesWithSimulatingEachThreshold()
    {
        QFETCH(int, rule);
        const StageOutputs out = randomOutputs(2000, 3);
        const auto points = sweep(out, StopRule(rule), 101);
        QCOMPARE(points.size(), size_t(101));
        for (const auto& p : points) {
            const Outcome o = simulate(out, StopRule(rule), p.thresholds);
            QCOMPARE(p.accuracy, o.accuracy);
            QVERIFY(std::fabs(p.expectedEnergyUj - *o.expectedEnergyUj) < 1e-9);
            QVERIFY(std::fabs(p.expectedLatencyMs - o.expectedLatencyMs) < 1e-9);
        }
    }

    void theFrontKeepsOnlyUndominatedPoints()
    {
        const auto front = paretoFront(sweep(randomOutputs(3000, 5), StopRule::MaxProb, 500));
        QVERIFY(front.size() >= 2);
        for (size_t i = 1; i < front.size(); ++i) {
            QVERIFY(front[i].expectedEnergyUj >= front[i - 1].expectedEnergyUj);
            QVERIFY(front[i].accuracy > front[i - 1].accuracy);
        }
    }

    void tuningFindsTheCheapestThresholdWithinTheDrop()
    {
        // Big alone: 3 of 4. A drop of 0 needs 3 correct: a threshold of 0.80 stops inputs 0, 2 and 3
        // at little (0 and 2 right) and sends 1 to big (right): 3 correct for (10 + 110 + 10 + 10) / 4.
        const Tuned t = tune(fourInputs(), StopRule::MaxProb, 0.0);
        QCOMPARE(t.referenceAccuracy, 0.75);
        QCOMPARE(t.outcome.correct, int64_t(3));
        QCOMPARE(t.outcome.stageOf, (std::vector<int>{0, 1, 0, 0}));
        QCOMPARE(*t.outcome.expectedEnergyUj, 35.0);
        // A drop of 0.25 allows 2 correct: little answers everything (0 and 2 right) for 10.
        const Tuned loose = tune(fourInputs(), StopRule::MaxProb, 0.25);
        QCOMPARE(loose.outcome.correct, int64_t(2));
        QCOMPARE(loose.outcome.stageOf, (std::vector<int>{0, 0, 0, 0}));
        QCOMPARE(*loose.outcome.expectedEnergyUj, 10.0);
    }

    void classThresholdsNeverDoWorseThanTheBestSingleOneOnTheirOwnData()
    {
        const StageOutputs out = randomOutputs(3000, 11);
        const Tuned single = tune(out, StopRule::MaxProb, 0.01);
        const Tuned perClass = tune(out, StopRule::ClassMaxProb, 0.01);
        QCOMPARE(perClass.thresholds.front().size(), size_t(10));
        QVERIFY(perClass.outcome.accuracy >= perClass.referenceAccuracy - 0.01 - 1e-12);
        QVERIFY(*perClass.outcome.expectedEnergyUj <= *single.outcome.expectedEnergyUj + 1e-9);
    }

    void aClassKeepsTheSingleThresholdWhenItsDifferenceIsNoise()
    {
        // Class 0's inputs at 0.7 are right at the little stage in folds 0 and 1 and wrong in folds 2
        // to 4, so on the whole set answering them early loses nothing (-30 + 30) and saves their big
        // runs: tuned on all of it, class 0 would go down to 0.7. Held out, that loses accuracy on
        // folds 2 to 4, so class 0 keeps the single threshold, as every class does.
        const StageOutputs out = classCase({15, 15, 10, 10, 10}, {-1, -1, 1, 1, 1});
        const Tuned single = tune(out, StopRule::MaxProb, 0.0);
        const Tuned perClass = tune(out, StopRule::ClassMaxProb, 0.0);
        QCOMPARE(static_cast<float>(single.thresholds.front().front()), 0.95f);
        QCOMPARE(perClass.thresholds.front(), std::vector<double>(3, single.thresholds.front().front()));
        QCOMPARE(perClass.outcome.correct, single.outcome.correct);
        QCOMPARE(*perClass.outcome.expectedEnergyUj, *single.outcome.expectedEnergyUj);
    }

    void aClassReliableAtLowConfidenceOnEveryFoldGetsItsOwnThreshold()
    {
        // Class 0's inputs at 0.7 are right at both stages on every fold: answering them early costs
        // no accuracy anywhere, so class 0 goes down to 0.7 while the others stay at 0.95.
        const StageOutputs out = classCase({10, 10, 10, 10, 10}, {0, 0, 0, 0, 0});
        const Tuned single = tune(out, StopRule::MaxProb, 0.0);
        const Tuned perClass = tune(out, StopRule::ClassMaxProb, 0.0);
        const std::vector<double>& t = perClass.thresholds.front();
        QVERIFY2(static_cast<float>(t[0]) <= 0.7f && static_cast<float>(t[0]) > 0.5f, qPrintable(QString::number(t[0])));
        QCOMPARE(static_cast<float>(t[1]), 0.95f);
        QCOMPARE(static_cast<float>(t[2]), 0.95f);
        QCOMPARE(perClass.outcome.correct, single.outcome.correct);
        QVERIFY(*perClass.outcome.expectedEnergyUj < *single.outcome.expectedEnergyUj - 1.0);
    }

    void withThreeStagesAClassKeepsTheSingleThresholdWhenItsDifferenceIsNoise()
    {
        // As with two stages: class 0's inputs at 0.7 are right at the little stage in folds 0 and 1
        // only. Tuned on all of the data, its little-stage threshold would go down to 0.7; held out,
        // that loses accuracy on folds 2 to 4, so every stage and class keeps the single threshold.
        const StageOutputs out = threeStages(classCase({15, 15, 10, 10, 10}, {-1, -1, 1, 1, 1}));
        const Tuned single = tune(out, StopRule::MaxProb, 0.0);
        const Tuned perClass = tune(out, StopRule::ClassMaxProb, 0.0);
        QCOMPARE(static_cast<float>(single.thresholds.front().front()), 0.95f);
        QCOMPARE(perClass.thresholds.size(), size_t(2));
        for (const auto& stage : perClass.thresholds) QCOMPARE(stage, std::vector<double>(3, single.thresholds.front().front()));
        QCOMPARE(perClass.outcome.correct, single.outcome.correct);
        QCOMPARE(*perClass.outcome.expectedEnergyUj, *single.outcome.expectedEnergyUj);
    }

    void withThreeStagesAClassReliableAtLowConfidenceOnEveryFoldGetsItsOwnThreshold()
    {
        // Class 0's inputs at 0.7 are right at every stage on every fold: at the little stage, class 0
        // goes down to 0.7; every other stage and class keeps the single threshold.
        const StageOutputs out = threeStages(classCase({10, 10, 10, 10, 10}, {0, 0, 0, 0, 0}));
        const Tuned single = tune(out, StopRule::MaxProb, 0.0);
        const Tuned perClass = tune(out, StopRule::ClassMaxProb, 0.0);
        const float one = static_cast<float>(single.thresholds.front().front());
        QCOMPARE(one, 0.95f);
        const std::vector<double>& little = perClass.thresholds.front();
        QVERIFY2(static_cast<float>(little[0]) <= 0.7f && static_cast<float>(little[0]) > 0.5f, qPrintable(QString::number(little[0])));
        QCOMPARE(static_cast<float>(little[1]), one);
        QCOMPARE(static_cast<float>(little[2]), one);
        for (double v : perClass.thresholds[1]) QCOMPARE(static_cast<float>(v), one);
        QCOMPARE(perClass.outcome.correct, single.outcome.correct);
        QVERIFY(*perClass.outcome.expectedEnergyUj < *single.outcome.expectedEnergyUj - 1.0);
    }

    void policiesAndStageOutputsRoundTripThroughJson()
    {
        Policy p{.kind = PolicyKind::Cascade, .rule = StopRule::ClassMaxProb, .stages = {{"little", "a53"}, {"big", "a72"}},
                 .thresholds = {{0.5, 0.6, 0.7}}};
        const Policy back = Policy::fromJson(p.toJson());
        QCOMPARE(back.stages.size(), size_t(2));
        QCOMPARE(back.stages[1].cluster, std::string("a72"));
        QCOMPARE(back.thresholds, p.thresholds);
        Policy read;
        const StageOutputs out = stageOutputsFromJson(stageOutputsToJson(fourInputs(), p), "x.json", &read);
        QCOMPARE(out.labels, fourInputs().labels);
        QCOMPARE(out.scores[1][2].prediction, int64_t(1));
        QCOMPARE(out.scores[0][1].top1, 0.60f);
        QCOMPARE(*out.costs[1].energyUj, 100.0);
        QCOMPARE(read.rule, StopRule::ClassMaxProb);
    }

    void aBrokenStageOutputsFileNamesTheField()
    {
        QJsonObject json = stageOutputsToJson(fourInputs(), Policy{.stages = {{"a"}, {"b"}}, .thresholds = {{0.5}}});
        json["format"] = "something else";
        QVERIFY_THROWS_EXCEPTION(PolicyError, stageOutputsFromJson(json, "x.json"));
        json = stageOutputsToJson(fourInputs(), Policy{.stages = {{"a"}, {"b"}}, .thresholds = {{0.5}}});
        QJsonArray outputs = json["outputs"].toArray();
        outputs.removeLast();
        json["outputs"] = outputs;
        try {
            stageOutputsFromJson(json, "x.json");
            QFAIL("no error");
        } catch (const PolicyError& e) {
            QVERIFY2(QString(e.what()).contains("x.json: field 'outputs'"), e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestAdaptive)
#include "tst_adaptive.moc"
