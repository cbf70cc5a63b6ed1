#include "adaptive/whatif.h"

#include <QJsonArray>

#include <algorithm>
#include <cmath>
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
        // Two stages: for a price per error, the best threshold of each class is found on its own
        // (a class's threshold only decides the inputs the first stage predicts as that class); the
        // price is bisected to the cheapest one that keeps the accuracy.
        const double step = (cum.hasEnergy ? cum.energyUj : cum.latencyMs)[1] - (cum.hasEnergy ? cum.energyUj : cum.latencyMs)[0];
        const auto byClass = [&] {
            std::vector<std::vector<size_t>> v(static_cast<size_t>(out.classes));
            for (size_t i = 0; i < out.labels.size(); ++i) {
                const int64_t p = out.scores[0][i].prediction;
                if (p >= 0 && p < out.classes) v[static_cast<size_t>(p)].push_back(i);
            }
            for (auto& idx : v)
                std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return out.scores[0][a].top1 > out.scores[0][b].top1; });
            return v;
        }();
        auto thresholdsFor = [&](double price) {
            std::vector<double> t(static_cast<size_t>(out.classes), 1.0);
            for (size_t c = 0; c < byClass.size(); ++c) {
                const auto& idx = byClass[c];
                double loss = 0, bestObj = 0;   // stopping none
                for (size_t k = 0; k < idx.size(); ++k) {
                    const size_t i = idx[k];
                    loss += static_cast<double>(out.scores[1][i].prediction == out.labels[i]) -
                            static_cast<double>(out.scores[0][i].prediction == out.labels[i]);
                    const bool groupEnds = k + 1 == idx.size() || out.scores[0][idx[k + 1]].top1 != out.scores[0][i].top1;
                    const double obj = -static_cast<double>(k + 1) * step + price * loss;
                    if (groupEnds && obj < bestObj) {
                        bestObj = obj;
                        t[c] = out.scores[0][i].top1;
                    }
                }
            }
            return std::vector<std::vector<double>>{t};
        };
        double lo = step * 1e-3, hi = step * static_cast<double>(std::max<int64_t>(n, 1)) * 10;
        for (int it = 0; it < 60; ++it) {
            const double mid = std::sqrt(lo * hi);
            if (quickEval(out, cum, rule, thresholdsFor(mid)).correct >= need) hi = mid;
            else lo = mid;
        }
        const auto th = thresholdsFor(hi);
        const Quick q = quickEval(out, cum, rule, th);
        if (better(q, bestQ, need)) {
            bestQ = q;
            best = th;
        }
    } else if (rule == StopRule::ClassMaxProb) {
        // One class's threshold at a time, over a coarser grid, while that pays.
        const std::vector<double> grid = candidateValues(out, StopRule::MaxProb, 200);
        for (int pass = 0; pass < 3; ++pass) {
            bool improved = false;
            for (size_t s = 0; s < best.size(); ++s)
                for (size_t c = 0; c < best[s].size(); ++c) {
                    const double keep = best[s][c];
                    double chosen = keep;
                    for (double v : grid) {
                        best[s][c] = v;
                        const Quick q = quickEval(out, cum, rule, best);
                        if (better(q, bestQ, need)) {
                            bestQ = q;
                            chosen = v;
                            improved = true;
                        }
                    }
                    best[s][c] = chosen;
                }
            if (!improved) break;
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
