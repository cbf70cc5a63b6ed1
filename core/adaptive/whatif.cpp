#include "adaptive/whatif.h"

#include <QJsonArray>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace joule::adaptive {

namespace {

// Cost of an input answered by stage k: the sum of the stage costs up to k.
struct Cumulative {
    std::vector<double> macs, latencyMs, energyUj;
    bool hasEnergy = true;
};

Cumulative cumulative(const StageOutputs& out)
{
    Cumulative c;
    for (const StageCost& p : pathCosts(out.costs)) {
        c.macs.push_back(static_cast<double>(p.macs));
        c.latencyMs.push_back(p.latencyMs);
        c.energyUj.push_back(p.energyUj.value_or(0.0));
        c.hasEnergy = c.hasEnergy && p.energyUj.has_value();
    }
    return c;
}

void checkOutputs(const StageOutputs& out)
{
    if (out.scores.size() < 2) throw PolicyError("an adaptive policy needs at least two stages");
    if (out.costs.size() != out.scores.size())
        throw PolicyError("stage costs: " + std::to_string(out.costs.size()) + " for " + std::to_string(out.scores.size()) + " stages");
    for (const auto& s : out.scores)
        if (static_cast<int64_t>(s.size()) != out.inputCount())
            throw PolicyError("every stage needs a score for each of the " + std::to_string(out.inputCount()) + " inputs");
}

void checkAll(const StageOutputs& out, StopRule rule, const std::vector<std::vector<double>>& thresholds)
{
    checkOutputs(out);
    if (thresholds.size() + 1 != out.stageCount())
        throw PolicyError(std::to_string(out.stageCount()) + " stages need " + std::to_string(out.stageCount() - 1) +
                          " thresholds, got " + std::to_string(thresholds.size()));
    for (const auto& t : thresholds) checkThresholds(rule, t, out.classes);
}

// The stage that answers input i.
int answeringStage(const StageOutputs& out, StopRule rule, const std::vector<std::vector<double>>& t, int64_t i)
{
    const size_t last = out.stageCount() - 1;
    for (size_t s = 0; s < last; ++s)
        if (confident(rule, t[s], out.scores[s][static_cast<size_t>(i)])) return static_cast<int>(s);
    return static_cast<int>(last);
}

struct Quick {
    int64_t correct = 0;
    double cost = 0;         // summed energy (or latency without a power model)
    double latency = 0;
};

Quick quickEval(const StageOutputs& out, const Cumulative& cum, StopRule rule, const std::vector<std::vector<double>>& t)
{
    Quick q;
    const std::vector<double>& cost = cum.hasEnergy ? cum.energyUj : cum.latencyMs;
    for (int64_t i = 0; i < out.inputCount(); ++i) {
        const int k = answeringStage(out, rule, t, i);
        q.correct += out.scores[static_cast<size_t>(k)][static_cast<size_t>(i)].prediction == out.labels[static_cast<size_t>(i)];
        q.cost += cost[static_cast<size_t>(k)];
        q.latency += cum.latencyMs[static_cast<size_t>(k)];
    }
    return q;
}

double measure(StopRule rule, const StageScore& s)
{
    switch (rule) {
    case StopRule::Margin: return s.margin;
    case StopRule::Entropy: return s.entropy;
    default: return s.top1;
    }
}

double ruleMax(StopRule rule, int64_t classes)
{
    return rule == StopRule::Entropy ? std::log(static_cast<double>(std::max<int64_t>(classes, 2))) : 1.0;
}

// Up to `count` candidate values: quantiles of what the non-final stages measure, plus both ends.
std::vector<double> candidateValues(const StageOutputs& out, StopRule rule, size_t count)
{
    std::vector<double> v;
    for (size_t s = 0; s + 1 < out.stageCount(); ++s)
        for (const StageScore& sc : out.scores[s]) v.push_back(measure(rule, sc));
    std::sort(v.begin(), v.end());
    std::vector<double> c{0.0, ruleMax(rule, out.classes)};
    for (size_t k = 0; k < count && !v.empty(); ++k) c.push_back(std::clamp(v[k * (v.size() - 1) / std::max<size_t>(count - 1, 1)], 0.0, c[1]));
    std::sort(c.begin(), c.end());
    c.erase(std::unique(c.begin(), c.end()), c.end());
    return c;
}

std::vector<std::vector<double>> uniform(const StageOutputs& out, StopRule rule, double value)
{
    const size_t per = rule == StopRule::ClassMaxProb ? static_cast<size_t>(out.classes) : 1;
    return std::vector<std::vector<double>>(out.stageCount() - 1, std::vector<double>(per, value));
}

Percentiles percentiles(std::vector<double> v)
{
    Percentiles p;
    if (v.empty()) return p;
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())) - 1))]; };
    p.p50 = at(0.50);
    p.p90 = at(0.90);
    p.p99 = at(0.99);
    p.max = v.back();
    return p;
}

// Better: feasible beats infeasible; then lower cost; then higher accuracy.
bool better(const Quick& a, const Quick& b, int64_t need)
{
    const bool fa = a.correct >= need, fb = b.correct >= need;
    if (fa != fb) return fa;
    if (!fa) return a.correct > b.correct;
    if (a.cost != b.cost) return a.cost < b.cost;
    return a.correct > b.correct;
}

} // namespace

std::vector<StageCost> pathCosts(const std::vector<StageCost>& costs)
{
    std::vector<StageCost> out;
    StageCost sum{.macs = 0, .latencyMs = 0, .energyUj = 0.0};
    for (const StageCost& c : costs) {
        sum.macs += c.macs;
        sum.latencyMs += c.latencyMs;
        sum.energyUj = sum.energyUj && c.energyUj ? std::optional<double>(*sum.energyUj + *c.energyUj) : std::nullopt;
        out.push_back(sum);
    }
    return out;
}

Outcome simulate(const StageOutputs& out, StopRule rule, const std::vector<std::vector<double>>& thresholds)
{
    checkAll(out, rule, thresholds);
    const Cumulative cum = cumulative(out);
    Outcome o;
    o.samples = out.inputCount();
    o.answered.assign(out.stageCount(), 0.0);
    o.stageOf.resize(static_cast<size_t>(o.samples));
    std::vector<double> latency, energy;
    latency.reserve(static_cast<size_t>(o.samples));
    double macs = 0, lat = 0, en = 0;
    for (int64_t i = 0; i < o.samples; ++i) {
        const int k = answeringStage(out, rule, thresholds, i);
        const auto ks = static_cast<size_t>(k);
        o.stageOf[static_cast<size_t>(i)] = k;
        o.correct += out.scores[ks][static_cast<size_t>(i)].prediction == out.labels[static_cast<size_t>(i)];
        o.answered[ks] += 1;
        macs += cum.macs[ks];
        lat += cum.latencyMs[ks];
        en += cum.energyUj[ks];
        latency.push_back(cum.latencyMs[ks]);
        if (cum.hasEnergy) energy.push_back(cum.energyUj[ks]);
    }
    const double n = std::max<double>(static_cast<double>(o.samples), 1.0);
    o.accuracy = static_cast<double>(o.correct) / n;
    o.expectedMacs = macs / n;
    o.expectedLatencyMs = lat / n;
    if (cum.hasEnergy) o.expectedEnergyUj = en / n;
    for (double& a : o.answered) a /= n;
    o.latencyMs = percentiles(std::move(latency));
    if (cum.hasEnergy) o.energyUj = percentiles(std::move(energy));
    return o;
}

namespace {

// Two stages and one threshold: inputs sorted by what the first stage measures, so each threshold
// is a binary search plus prefix sums (1,000 thresholds over 10,000 inputs in well under 1 ms).
class TwoStageSweep {
public:
    TwoStageSweep(const StageOutputs& out, StopRule rule) : entropy_(rule == StopRule::Entropy)
    {
        const int64_t n = out.inputCount();
        std::vector<size_t> order(static_cast<size_t>(n));
        std::iota(order.begin(), order.end(), size_t(0));
        const StopRule m = rule == StopRule::ClassMaxProb ? StopRule::MaxProb : rule;
        std::vector<double> value(static_cast<size_t>(n));
        for (size_t i = 0; i < value.size(); ++i) value[i] = measure(m, out.scores[0][i]);
        // Stopping inputs first: highest probability / margin, lowest entropy.
        std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return entropy_ ? value[a] < value[b] : value[a] > value[b]; });
        sorted_.resize(order.size());
        stopCorrect_.assign(order.size() + 1, 0);
        goCorrect_.assign(order.size() + 1, 0);
        for (size_t k = 0; k < order.size(); ++k) {
            const size_t i = order[k];
            sorted_[k] = value[i];
            stopCorrect_[k + 1] = stopCorrect_[k] + (out.scores[0][i].prediction == out.labels[i]);
            goCorrect_[k + 1] = goCorrect_[k] + (out.scores[1][i].prediction == out.labels[i]);
        }
    }
    // Inputs the first stage answers at threshold t, and the correct answers overall.
    std::pair<int64_t, int64_t> at(double t) const
    {
        // Binary search for the first input that does not stop (sorted so that stopping ones come first;
        // compared as confident() compares, in float).
        const float tf = static_cast<float>(t);
        size_t lo = 0, hi = sorted_.size();
        while (lo < hi) {
            const size_t mid = (lo + hi) / 2;
            const float v = static_cast<float>(sorted_[mid]);
            const bool stops = entropy_ ? v <= tf : v >= tf;
            if (stops) lo = mid + 1;
            else hi = mid;
        }
        const int64_t correct = stopCorrect_[lo] + (goCorrect_.back() - goCorrect_[lo]);
        return {static_cast<int64_t>(lo), correct};
    }

private:
    bool entropy_;
    std::vector<double> sorted_;
    std::vector<int64_t> stopCorrect_, goCorrect_;
};

} // namespace

std::vector<OperatingPoint> sweep(const StageOutputs& out, StopRule rule, int count)
{
    checkOutputs(out);
    if (count < 1) throw PolicyError("a sweep needs at least one threshold, got " + std::to_string(count));
    const Cumulative cum = cumulative(out);
    const double hi = ruleMax(rule, out.classes);
    std::vector<OperatingPoint> points;
    points.reserve(static_cast<size_t>(count));
    const int64_t inputs = out.inputCount();
    const double n = std::max<double>(static_cast<double>(inputs), 1.0);
    std::optional<TwoStageSweep> two;
    if (out.stageCount() == 2) two.emplace(out, rule);
    const std::vector<double>& costOf = cum.hasEnergy ? cum.energyUj : cum.latencyMs;
    for (int k = 0; k < count; ++k) {
        const double t = count == 1 ? hi : hi * k / (count - 1);
        OperatingPoint p;
        p.thresholds = uniform(out, rule, t);
        Quick q;
        if (two) {
            const auto [stopped, correct] = two->at(t);
            const double d = static_cast<double>(stopped), e = static_cast<double>(inputs - stopped);
            q.correct = correct;
            q.cost = d * costOf[0] + e * costOf[1];
            q.latency = d * cum.latencyMs[0] + e * cum.latencyMs[1];
        } else {
            q = quickEval(out, cum, rule, p.thresholds);
        }
        p.accuracy = static_cast<double>(q.correct) / n;
        p.expectedEnergyUj = q.cost / n;
        p.expectedLatencyMs = q.latency / n;
        points.push_back(std::move(p));
    }
    return points;
}

std::vector<OperatingPoint> paretoFront(std::vector<OperatingPoint> points)
{
    std::sort(points.begin(), points.end(), [](const OperatingPoint& a, const OperatingPoint& b) {
        return a.expectedEnergyUj != b.expectedEnergyUj ? a.expectedEnergyUj < b.expectedEnergyUj : a.accuracy > b.accuracy;
    });
    std::vector<OperatingPoint> front;
    double best = -1;
    for (auto& p : points)
        if (p.accuracy > best) {
            best = p.accuracy;
            front.push_back(std::move(p));
        }
    return front;
}

namespace {

// class_max_prob tells a class's real difference from noise on folds of the tuning data: input i is in
// fold i % kFolds (deterministic, and interleaved so that the order of the data does not matter). Five
// folds, as in the usual five-fold cross-validation: each class's own threshold is tuned on 80% of the
// data and must pay on each of the five held-out fifths.
constexpr size_t kFolds = 5;
size_t foldOf(size_t i) { return i % kFolds; }

// Correct answers needed among `inputs`: at least the last stage's own there minus maxDrop, in whole
// inputs.
int64_t correctNeeded(const StageOutputs& out, const std::vector<size_t>& inputs, double maxDrop)
{
    int64_t correct = 0;
    for (size_t i : inputs) correct += out.scores.back()[i].prediction == out.labels[i];
    return static_cast<int64_t>(std::ceil((static_cast<double>(correct) - maxDrop * static_cast<double>(inputs.size())) - 1e-9));
}

// quickEval per fold: entries 0..kFolds-1 the folds, entry kFolds all inputs.
std::vector<Quick> foldEval(const StageOutputs& out, const Cumulative& cum, StopRule rule, const std::vector<std::vector<double>>& t)
{
    std::vector<Quick> q(kFolds + 1);
    const std::vector<double>& cost = cum.hasEnergy ? cum.energyUj : cum.latencyMs;
    for (int64_t i = 0; i < out.inputCount(); ++i) {
        const auto k = static_cast<size_t>(answeringStage(out, rule, t, i));
        const auto ii = static_cast<size_t>(i);
        const bool right = out.scores[k][ii].prediction == out.labels[ii];
        for (Quick* e : {&q[foldOf(ii)], &q[kFolds]}) {
            e->correct += right;
            e->cost += cost[k];
            e->latency += cum.latencyMs[k];
        }
    }
    return q;
}

// Two stages, over a subset of the inputs, the classes in groups that share a threshold. A group's
// threshold only decides the inputs the first stage predicts as one of its classes, so for a price
// per error each group's best threshold is found on its own: the one that minimises
//   -(inputs it stops) * (cost of the second stage) + price * (correct answers it loses).
// `cheapest` bisects the price to the lowest that keeps `need` correct answers.
class PricedThresholds {
public:
    PricedThresholds(const StageOutputs& out, const Cumulative& cum, const std::vector<size_t>& inputs, const std::vector<int>& groupOf)
        : out_(out), inputs_(inputs), groupOf_(groupOf)
    {
        const std::vector<double>& c = cum.hasEnergy ? cum.energyUj : cum.latencyMs;
        step_ = c[1] - c[0];
        groups_.resize(static_cast<size_t>(*std::max_element(groupOf.begin(), groupOf.end()) + 1));
        for (size_t i : inputs) {
            const int64_t p = out.scores[0][i].prediction;
            if (p >= 0 && p < out.classes) groups_[static_cast<size_t>(groupOf[static_cast<size_t>(p)])].push_back(i);
        }
        for (auto& idx : groups_)
            std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
                return out.scores[0][a].top1 != out.scores[0][b].top1 ? out.scores[0][a].top1 > out.scores[0][b].top1 : a < b;
            });
    }

    // One threshold per class at this price.
    std::vector<double> at(double price) const
    {
        std::vector<double> byGroup(groups_.size(), 1.0);
        for (size_t g = 0; g < groups_.size(); ++g) {
            const auto& idx = groups_[g];
            double loss = 0, bestObj = 0;   // stopping none
            for (size_t k = 0; k < idx.size(); ++k) {
                const size_t i = idx[k];
                loss += lost(i);
                const bool groupEnds = k + 1 == idx.size() || out_.scores[0][idx[k + 1]].top1 != out_.scores[0][i].top1;
                const double obj = -static_cast<double>(k + 1) * step_ + price * loss;
                if (groupEnds && obj < bestObj) {
                    bestObj = obj;
                    byGroup[g] = out_.scores[0][i].top1;
                }
            }
        }
        std::vector<double> t(groupOf_.size());
        for (size_t c = 0; c < t.size(); ++c) t[c] = byGroup[static_cast<size_t>(groupOf_[c])];
        return t;
    }

    // The thresholds at the lowest price that keeps `need` correct answers, and that price.
    std::pair<std::vector<double>, double> cheapest(int64_t need) const
    {
        double lo = step_ * 1e-3, hi = step_ * static_cast<double>(std::max<size_t>(inputs_.size(), 1)) * 10;
        for (int it = 0; it < 60; ++it) {
            const double mid = std::sqrt(lo * hi);
            if (evaluate(at(mid)).correct >= need) hi = mid;
            else lo = mid;
        }
        return {at(hi), hi};
    }

    // What class c's inputs among `inputs` add to the objective at threshold t.
    double objective(const std::vector<size_t>& inputs, int64_t c, double t, double price) const
    {
        double obj = 0;
        for (size_t i : inputs) {
            const StageScore& s = out_.scores[0][i];
            if (s.prediction == c && s.top1 >= static_cast<float>(t)) obj += -step_ + price * lost(i);
        }
        return obj;
    }

    // The cheapest threshold shared by every class among `values` that keeps `need` correct answers
    // (the most accurate one when none does), as tune() picks the single threshold.
    double bestShared(int64_t need, const std::vector<double>& values) const
    {
        double chosen = 1.0;
        Quick best = evaluate(std::vector<double>(groupOf_.size(), chosen));
        for (double v : values) {
            const Quick q = evaluate(std::vector<double>(groupOf_.size(), v));
            if (better(q, best, need)) {
                best = q;
                chosen = v;
            }
        }
        return chosen;
    }

private:
    // Correct answers and cost (second stages run) among the inputs.
    Quick evaluate(const std::vector<double>& t) const
    {
        Quick q;
        for (size_t i : inputs_) {
            const bool stop = confident(StopRule::ClassMaxProb, t, out_.scores[0][i]);
            q.correct += out_.scores[stop ? 0 : 1][i].prediction == out_.labels[i];
            q.cost += stop ? 0.0 : step_;
        }
        return q;
    }
    // Correct answers lost by answering input i at the first stage instead of the second: 1, 0 or -1.
    double lost(size_t i) const
    {
        return static_cast<double>(out_.scores[1][i].prediction == out_.labels[i]) -
               static_cast<double>(out_.scores[0][i].prediction == out_.labels[i]);
    }

    const StageOutputs& out_;
    std::vector<size_t> inputs_;
    std::vector<int> groupOf_;
    double step_ = 0;
    std::vector<std::vector<size_t>> groups_;   // inputs per group, most confident first
};

// Per class: whether its own threshold pays on data it was not tuned on (cross-fitted). For every
// fold, two things are tuned on the other folds: one threshold per class (priced, at the lowest price
// that keeps the bound there) and the best single threshold (as tune() picks it). On the held-out
// fold, the class's inputs are costed at both thresholds at that price (second-stage cost of the
// inputs sent on, plus the price of each error): its own threshold pays when it costs less there. A
// class needs that on every fold; a class whose own threshold does not move from the single one
// never does.
std::vector<bool> ownThresholdPays(const StageOutputs& out, const Cumulative& cum, double maxDrop, const std::vector<double>& values)
{
    std::vector<bool> pays(static_cast<size_t>(out.classes), true);
    std::vector<int> separate(static_cast<size_t>(out.classes));
    std::iota(separate.begin(), separate.end(), 0);
    for (size_t f = 0; f < kFolds; ++f) {
        std::vector<size_t> train, held;
        for (size_t i = 0; i < out.labels.size(); ++i) (foldOf(i) == f ? held : train).push_back(i);
        const int64_t need = correctNeeded(out, train, maxDrop);
        const PricedThresholds perClass(out, cum, train, separate);
        const auto [own, price] = perClass.cheapest(need);
        const double common = perClass.bestShared(need, values);
        for (size_t c = 0; c < pays.size(); ++c) {
            const auto cls = static_cast<int64_t>(c);
            if (!(perClass.objective(held, cls, own[c], price) < perClass.objective(held, cls, common, price))) pays[c] = false;
        }
    }
    return pays;
}

using Thresholds = std::vector<std::vector<double>>;
using Free = std::vector<std::vector<char>>;   // [stage][class]: 1 where the threshold may move

// More than two stages, over a subset of the inputs: a threshold per stage and class for a price per
// error. With the other thresholds fixed, which inputs reach stage s, and where each would be answered
// if it went on, are fixed too; stage s's threshold for class c only decides which of the inputs that
// reach s predicted as c stop there. Its best value for the price minimises, over the inputs it stops,
//   (cost of stopping at s - cost of going on) + price * (correct answers lost by stopping),
// found in one scan of those inputs by confidence. Each free threshold is set so in turn (every move
// lowers the priced cost) until none moves. `cheapest` bisects the price to the lowest that keeps
// `need` correct answers.
class PricedChain {
public:
    PricedChain(const StageOutputs& out, const Cumulative& cum, const std::vector<size_t>& inputs)
        : out_(out), cost_(cum.hasEnergy ? cum.energyUj : cum.latencyMs), inputs_(inputs), last_(out.stageCount() - 1)
    {
        step_ = std::max(cost_[last_] - cost_[0], 1e-12);
        order_.resize(last_);
        for (size_t s = 0; s < last_; ++s) {
            order_[s] = inputs;
            const auto& sc = out.scores[s];
            std::sort(order_[s].begin(), order_[s].end(),
                      [&](size_t a, size_t b) { return sc[a].top1 != sc[b].top1 ? sc[a].top1 > sc[b].top1 : a < b; });
        }
    }

    // Coordinate descent from `t` at this price, moving only the free thresholds.
    void descend(double price, Thresholds& t, const Free& free) const
    {
        std::vector<double> delta(out_.labels.size());
        std::vector<char> reach(out_.labels.size());
        std::vector<std::vector<size_t>> byClass(static_cast<size_t>(out_.classes));
        for (int pass = 0; pass < 6; ++pass) {
            bool moved = false;
            for (size_t s = 0; s < last_; ++s) {
                if (std::find(free[s].begin(), free[s].end(), char(1)) == free[s].end()) continue;
                for (size_t i : inputs_) {
                    size_t k = 0;
                    while (k < s && !confident(StopRule::ClassMaxProb, t[k], out_.scores[k][i])) ++k;
                    reach[i] = k == s;
                    if (!reach[i]) continue;
                    size_t g = s + 1;
                    while (g < last_ && !confident(StopRule::ClassMaxProb, t[g], out_.scores[g][i])) ++g;
                    delta[i] = (cost_[s] - price * right(s, i)) - (cost_[g] - price * right(g, i));
                }
                for (auto& v : byClass) v.clear();
                for (size_t i : order_[s]) {
                    const int64_t p = out_.scores[s][i].prediction;
                    if (reach[i] && p >= 0 && p < out_.classes && free[s][static_cast<size_t>(p)]) byClass[static_cast<size_t>(p)].push_back(i);
                }
                const auto& sc = out_.scores[s];
                for (size_t c = 0; c < byClass.size(); ++c) {
                    const auto& idx = byClass[c];   // most confident first
                    if (idx.empty()) continue;
                    // The priced change of stopping the inputs at or above v, against stopping none.
                    auto stopping = [&](double v) {
                        double d = 0;
                        for (size_t i : idx) {
                            if (!(sc[i].top1 >= static_cast<float>(v))) break;
                            d += delta[i];
                        }
                        return d;
                    };
                    const double current = stopping(t[s][c]);
                    double bestD = stopping(1.0), bestV = 1.0, sum = 0;
                    for (size_t k = 0; k < idx.size(); ++k) {
                        sum += delta[idx[k]];
                        const bool groupEnds = k + 1 == idx.size() || sc[idx[k + 1]].top1 != sc[idx[k]].top1;
                        if (groupEnds && sum < bestD) {
                            bestD = sum;
                            bestV = sc[idx[k]].top1;
                        }
                    }
                    if (bestD < current - 1e-9 * step_) {
                        t[s][c] = bestV;
                        moved = true;
                    }
                }
            }
            if (!moved) break;
        }
    }

    // The thresholds at the lowest price that keeps `need` correct answers, and that price.
    std::pair<Thresholds, double> cheapest(int64_t need, const Thresholds& start, const Free& free) const
    {
        double lo = step_ * 1e-3, hi = step_ * static_cast<double>(std::max<size_t>(inputs_.size(), 1)) * 10;
        Thresholds atHi = start;
        descend(hi, atHi, free);
        for (int it = 0; it < 32; ++it) {
            const double mid = std::sqrt(lo * hi);
            Thresholds t = start;
            descend(mid, t, free);
            if (evaluate(inputs_, t).correct >= need) {
                hi = mid;
                atHi = std::move(t);
            } else {
                lo = mid;
            }
        }
        return {atHi, hi};
    }

    // Correct answers and cost among `inputs` at thresholds t.
    Quick evaluate(const std::vector<size_t>& inputs, const Thresholds& t) const
    {
        Quick q;
        for (size_t i : inputs) {
            const size_t k = stageOf(t, i);
            q.correct += out_.scores[k][i].prediction == out_.labels[i];
            q.cost += cost_[k];
        }
        return q;
    }

private:
    size_t stageOf(const Thresholds& t, size_t i) const
    {
        size_t k = 0;
        while (k < last_ && !confident(StopRule::ClassMaxProb, t[k], out_.scores[k][i])) ++k;
        return k;
    }
    double right(size_t k, size_t i) const { return out_.scores[k][i].prediction == out_.labels[i] ? 1.0 : 0.0; }

    const StageOutputs& out_;
    const std::vector<double>& cost_;
    std::vector<size_t> inputs_;
    size_t last_;
    double step_ = 0;
    std::vector<std::vector<size_t>> order_;   // [stage]: the inputs, most confident first
};

// More than two stages, per stage and class: whether its own threshold pays on data it was not tuned
// on (cross-fitted, as ownThresholdPays for two stages). For every fold, two things are tuned on the
// other folds: every stage and class threshold (priced, at the lowest price that keeps the bound
// there) and the best single threshold (as tune() picks it). On the held-out fold, the single
// threshold with just that one threshold changed to its own value is priced against the single
// threshold alone (cost of the inputs plus the price of each error): it pays when it costs less
// there. A (stage, class) needs that on every fold; one whose own threshold does not move from the
// single one never does.
Free ownStageThresholdsPay(const StageOutputs& out, const Cumulative& cum, double maxDrop, const std::vector<double>& values)
{
    const size_t stages = out.stageCount() - 1, classes = static_cast<size_t>(out.classes);
    const Free everything(stages, std::vector<char>(classes, 1));
    Free pays = everything;
    std::vector<std::vector<size_t>> held(kFolds), train(kFolds);
    for (size_t i = 0; i < out.labels.size(); ++i)
        for (size_t f = 0; f < kFolds; ++f) (foldOf(i) == f ? held : train)[f].push_back(i);
    std::vector<int64_t> need(kFolds);
    for (size_t f = 0; f < kFolds; ++f) need[f] = correctNeeded(out, train[f], maxDrop);
    // The best single threshold on each fold's training part, all in one scan: training = all - fold.
    auto training = [](const std::vector<Quick>& q, size_t f) {
        return Quick{q[kFolds].correct - q[f].correct, q[kFolds].cost - q[f].cost, q[kFolds].latency - q[f].latency};
    };
    std::vector<double> single(kFolds, 1.0);
    std::vector<Quick> singleQ(kFolds);
    std::vector<std::vector<Quick>> line(kFolds);   // every single threshold on each held-out fold
    {
        const std::vector<Quick> q = foldEval(out, cum, StopRule::ClassMaxProb, uniform(out, StopRule::ClassMaxProb, 1.0));
        for (size_t f = 0; f < kFolds; ++f) {
            singleQ[f] = training(q, f);
            line[f].push_back(q[f]);
        }
    }
    for (double v : values) {
        const std::vector<Quick> q = foldEval(out, cum, StopRule::ClassMaxProb, uniform(out, StopRule::ClassMaxProb, v));
        for (size_t f = 0; f < kFolds; ++f) {
            line[f].push_back(q[f]);
            const Quick tq = training(q, f);
            if (better(tq, singleQ[f], need[f])) {
                singleQ[f] = tq;
                single[f] = v;
            }
        }
    }
    // The cheapest a single threshold gets on held-out fold f with at least `correct` right there.
    auto singleLine = [&](size_t f, int64_t correct) {
        double c = std::numeric_limits<double>::infinity();
        for (const Quick& q : line[f])
            if (q.correct >= correct) c = std::min(c, q.cost);
        return c;
    };
    std::vector<std::vector<int>> direction(stages, std::vector<int>(classes, 0));   // -1 lower, +1 higher
    for (size_t f = 0; f < kFolds; ++f) {
        const PricedChain chain(out, cum, train[f]);
        const Thresholds common = uniform(out, StopRule::ClassMaxProb, single[f]);
        const auto [own, price] = chain.cheapest(need[f], common, everything);
        const Quick base = chain.evaluate(held[f], common);
        for (size_t s = 0; s < stages; ++s)
            for (size_t c = 0; c < classes; ++c) {
                if (!pays[s][c]) continue;
                const float o = static_cast<float>(own[s][c]), one = static_cast<float>(single[f]);
                const int way = o < one ? -1 : o > one ? 1 : 0;
                if (way == 0 || (f > 0 && way != direction[s][c])) {
                    pays[s][c] = 0;
                    continue;
                }
                direction[s][c] = way;
                Thresholds x = common;
                x[s][c] = own[s][c];
                const Quick q = chain.evaluate(held[f], x);
                const double lineCost = singleLine(f, q.correct), tolerance = 1e-9 * std::max(lineCost, 1.0);
                const double priced = q.cost - price * static_cast<double>(q.correct),
                             pricedBase = base.cost - price * static_cast<double>(base.correct);
                if (!(q.cost < lineCost - tolerance) || !(priced < pricedBase - tolerance)) pays[s][c] = 0;
            }
    }
    return pays;
}

} // namespace

namespace {

// From `priced`, every threshold `own(stage, class)` leaves out set to one shared value, scanned
// over `values` (pricing only reaches the convex hull of each group's trade-off); the best found,
// `priced` itself when no shared value beats it.
template <typename Own>
std::pair<std::vector<std::vector<double>>, Quick> scanShared(const StageOutputs& out, const Cumulative& cum, StopRule rule,
                                                              std::vector<std::vector<double>> priced,
                                                              const std::vector<double>& values, int64_t need, Own own)
{
    Quick q = quickEval(out, cum, rule, priced);
    auto chosen = priced;
    for (double v : values) {
        for (size_t s = 0; s < priced.size(); ++s)
            for (size_t c = 0; c < priced[s].size(); ++c)
                if (!own(s, c)) priced[s][c] = v;
        const Quick qv = quickEval(out, cum, rule, priced);
        if (better(qv, q, need)) {
            q = qv;
            chosen = priced;
        }
    }
    return {std::move(chosen), q};
}

} // namespace

Tuned tune(const StageOutputs& out, StopRule rule, double maxDrop)
{
    checkOutputs(out);
    if (!(maxDrop >= 0 && maxDrop <= 1)) throw PolicyError("max_drop must lie in [0, 1]");
    const Cumulative cum = cumulative(out);
    const int64_t n = out.inputCount();
    Tuned t;
    int64_t lastCorrect = 0;
    for (int64_t i = 0; i < n; ++i) lastCorrect += out.scores.back()[static_cast<size_t>(i)].prediction == out.labels[static_cast<size_t>(i)];
    t.referenceAccuracy = n ? static_cast<double>(lastCorrect) / static_cast<double>(n) : 0.0;
    // Correct answers needed: accuracy >= reference - maxDrop, counted in whole inputs.
    const int64_t need = static_cast<int64_t>(std::ceil((t.referenceAccuracy - maxDrop) * static_cast<double>(n) - 1e-9));

    // The best single threshold (the same for every stage and class).
    const StopRule single = rule == StopRule::ClassMaxProb ? StopRule::MaxProb : rule;
    const std::vector<double> values = candidateValues(out, single, 1000);
    std::vector<std::vector<double>> best = uniform(out, rule, rule == StopRule::Entropy ? 0.0 : 1.0);
    Quick bestQ = quickEval(out, cum, rule, best);
    for (double v : values) {
        auto th = uniform(out, rule, v);
        const Quick q = quickEval(out, cum, rule, th);
        if (better(q, bestQ, need)) {
            bestQ = q;
            best = std::move(th);
        }
    }
    if (rule == StopRule::ClassMaxProb && out.stageCount() == 2) {
        // Two stages: classes whose own threshold pays on held-out folds get one, priced (see
        // PricedThresholds); the others share one threshold, priced the same way.
        std::vector<size_t> all(static_cast<size_t>(n));
        std::iota(all.begin(), all.end(), size_t(0));
        const std::vector<bool> own = ownThresholdPays(out, cum, maxDrop, values);
        std::vector<int> groupOf(static_cast<size_t>(out.classes), 0);
        for (size_t c = 0; c < own.size(); ++c)
            if (own[c]) groupOf[c] = static_cast<int>(c) + 1;
        if (std::find(own.begin(), own.end(), true) != own.end()) {
            // The priced thresholds, then the shared one scanned as the single one was (pricing only
            // reaches the convex hull of each group's trade-off).
            const std::vector<std::vector<double>> priced{PricedThresholds(out, cum, all, groupOf).cheapest(need).first};
            auto [chosen, q] = scanShared(out, cum, rule, priced, values, need, [&](size_t, size_t c) { return own[c]; });
            if (better(q, bestQ, need)) {
                bestQ = q;
                best = std::move(chosen);
            }
        }
    } else if (rule == StopRule::ClassMaxProb) {
        // More stages: (stage, class) thresholds whose own value pays on held-out folds get one,
        // priced (see PricedChain); the others share one threshold, scanned like the single one.
        const auto own = ownStageThresholdsPay(out, cum, maxDrop, values);
        bool any = false;
        for (const auto& s : own) any = any || std::find(s.begin(), s.end(), char(1)) != s.end();
        if (any) {
            std::vector<size_t> all(static_cast<size_t>(n));
            std::iota(all.begin(), all.end(), size_t(0));
            const std::vector<std::vector<double>> priced = PricedChain(out, cum, all).cheapest(need, best, own).first;
            auto [chosen, q] = scanShared(out, cum, rule, priced, values, need, [&](size_t s, size_t c) { return own[s][c] != 0; });
            if (better(q, bestQ, need)) {
                bestQ = q;
                best = std::move(chosen);
            }
        }
    }
    t.thresholds = best;
    t.outcome = simulate(out, rule, best);
    return t;
}

QJsonObject tunedToJson(const Tuned& tuned, int64_t samples)
{
    QJsonArray answered;
    for (double a : tuned.outcome.answered) answered.append(a);
    const auto& energy = tuned.outcome.expectedEnergyUj;
    return QJsonObject{{"samples", static_cast<qint64>(samples)},
                       {"accuracy", tuned.outcome.accuracy},
                       {"reference_accuracy", tuned.referenceAccuracy},
                       {"expected_energy_uj", energy ? QJsonValue(*energy) : QJsonValue()},
                       {"expected_latency_ms", tuned.outcome.expectedLatencyMs},
                       {"answered", answered}};
}

QJsonObject stageOutputsToJson(const StageOutputs& out, const Policy& policy)
{
    QJsonArray stages, labels, outputs;
    for (size_t s = 0; s < out.costs.size(); ++s)
        stages.append(QJsonObject{{"name", QString::fromStdString(s < out.stageNames.size() ? out.stageNames[s] : std::string())},
                                  {"macs", static_cast<qint64>(out.costs[s].macs)},
                                  {"latency_ms", out.costs[s].latencyMs},
                                  {"energy_uj", out.costs[s].energyUj ? QJsonValue(*out.costs[s].energyUj) : QJsonValue()}});
    for (int64_t l : out.labels) labels.append(static_cast<qint64>(l));
    for (const auto& stage : out.scores) {
        QJsonArray pred, top1, margin, entropy;
        for (const StageScore& s : stage) {
            pred.append(static_cast<qint64>(s.prediction));
            top1.append(static_cast<double>(s.top1));
            margin.append(static_cast<double>(s.margin));
            entropy.append(static_cast<double>(s.entropy));
        }
        outputs.append(QJsonObject{{"prediction", pred}, {"top1", top1}, {"margin", margin}, {"entropy", entropy}});
    }
    return QJsonObject{{"format", "joule-stage-outputs"}, {"version", 1}, {"policy", policy.toJson()},
                       {"classes", static_cast<qint64>(out.classes)}, {"stages", stages}, {"labels", labels},
                       {"outputs", outputs}};
}

StageOutputs stageOutputsFromJson(const QJsonObject& json, const std::string& where, Policy* policy)
{
    auto fail = [&](const std::string& field, const std::string& why) { throw PolicyError(where + ": field '" + field + "': " + why); };
    if (json.value("format").toString() != "joule-stage-outputs")
        fail("format", "not a stage-outputs file (expected \"joule-stage-outputs\"; write one with joule optimize --records-dir)");
    if (json.value("version").toInt() != 1) fail("version", "version " + std::to_string(json.value("version").toInt()) + " is not supported (1 is)");
    StageOutputs out;
    out.classes = json.value("classes").toInteger();
    if (out.classes < 1) fail("classes", "must be a positive integer");
    for (const auto& v : json.value("stages").toArray()) {
        const QJsonObject o = v.toObject();
        out.stageNames.push_back(o.value("name").toString().toStdString());
        StageCost c;
        c.macs = o.value("macs").toInteger();
        c.latencyMs = o.value("latency_ms").toDouble();
        if (o.value("energy_uj").isDouble()) c.energyUj = o.value("energy_uj").toDouble();
        out.costs.push_back(c);
    }
    for (const auto& v : json.value("labels").toArray()) out.labels.push_back(v.toInteger());
    const QJsonArray outputs = json.value("outputs").toArray();
    if (outputs.size() != static_cast<qsizetype>(out.costs.size()) || outputs.size() < 2)
        fail("outputs", "needs one entry per stage (" + std::to_string(out.costs.size()) + "), at least two");
    for (qsizetype s = 0; s < outputs.size(); ++s) {
        const QJsonObject o = outputs[s].toObject();
        const QJsonArray pred = o.value("prediction").toArray(), top1 = o.value("top1").toArray(),
                         margin = o.value("margin").toArray(), entropy = o.value("entropy").toArray();
        const qsizetype n = static_cast<qsizetype>(out.labels.size());
        if (pred.size() != n || top1.size() != n || margin.size() != n || entropy.size() != n)
            fail("outputs[" + std::to_string(s) + "]", "needs " + std::to_string(n) + " values in each of prediction, top1, margin, entropy");
        std::vector<StageScore> scores(static_cast<size_t>(n));
        for (qsizetype i = 0; i < n; ++i)
            scores[static_cast<size_t>(i)] = {pred[i].toInteger(), static_cast<float>(top1[i].toDouble()),
                                              static_cast<float>(margin[i].toDouble()), static_cast<float>(entropy[i].toDouble())};
        out.scores.push_back(std::move(scores));
    }
    if (policy) {
        try {
            *policy = Policy::fromJson(json.value("policy").toObject());
        } catch (const PolicyError& e) {
            fail("policy", e.what());
        }
    }
    return out;
}

} // namespace joule::adaptive
