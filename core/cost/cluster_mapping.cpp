#include "cost/cluster_mapping.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

namespace joule::cost {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double stepMs(const MappingProblem& p, size_t i, int from, int to)
{
    return p.latencyMs[i][static_cast<size_t>(to)] + (i > 0 && from != to ? p.switchMs[i][static_cast<size_t>(to)] : 0.0);
}

double stepUj(const MappingProblem& p, size_t i, int from, int to)
{
    return p.energyUj[i][static_cast<size_t>(to)] + (i > 0 && from != to ? p.switchUj[i][static_cast<size_t>(to)] : 0.0);
}

// Minimizes the additive score (wE*E + wT*T, then tE*E + tT*T to break ties) over all mappings.
Mapping solveAdditive(const MappingProblem& p, double wE, double wT, double tE, double tT)
{
    const size_t n = p.layers();
    const int c = static_cast<int>(p.clusters());
    if (n == 0 || c == 0) return {};
    using Score = std::pair<double, double>;
    std::vector<Score> best(static_cast<size_t>(c));
    std::vector<std::vector<int>> parent(n, std::vector<int>(static_cast<size_t>(c), -1));
    for (int k = 0; k < c; ++k) {
        const double t = stepMs(p, 0, k, k), e = stepUj(p, 0, k, k);
        best[static_cast<size_t>(k)] = {wE * e + wT * t, tE * e + tT * t};
    }
    for (size_t i = 1; i < n; ++i) {
        std::vector<Score> next(static_cast<size_t>(c), {kInf, kInf});
        for (int to = 0; to < c; ++to)
            for (int from = 0; from < c; ++from) {
                const double t = stepMs(p, i, from, to), e = stepUj(p, i, from, to);
                const Score s{best[static_cast<size_t>(from)].first + wE * e + wT * t,
                              best[static_cast<size_t>(from)].second + tE * e + tT * t};
                if (s < next[static_cast<size_t>(to)]) {
                    next[static_cast<size_t>(to)] = s;
                    parent[i][static_cast<size_t>(to)] = from;
                }
            }
        best = std::move(next);
    }
    int k = static_cast<int>(std::min_element(best.begin(), best.end()) - best.begin());
    std::vector<int> clusters(n);
    for (size_t i = n; i-- > 0;) {
        clusters[i] = k;
        if (i > 0) k = parent[i][static_cast<size_t>(k)];
    }
    return evaluateMapping(p, clusters);
}

} // namespace

Mapping evaluateMapping(const MappingProblem& p, const std::vector<int>& clusters)
{
    Mapping m;
    m.cluster = clusters;
    for (size_t i = 0; i < clusters.size(); ++i) {
        const int from = i > 0 ? clusters[i - 1] : clusters[i];
        m.latencyMs += stepMs(p, i, from, clusters[i]);
        m.energyUj += stepUj(p, i, from, clusters[i]);
        if (i > 0 && from != clusters[i]) ++m.switches;
    }
    return m;
}

Mapping minEnergyMapping(const MappingProblem& p) { return solveAdditive(p, 1.0, 0.0, 0.0, 1.0); }

Mapping minLatencyMapping(const MappingProblem& p) { return solveAdditive(p, 0.0, 1.0, 1.0, 0.0); }

Mapping budgetedMapping(const MappingProblem& p, double budgetMs, int buckets)
{
    const size_t n = p.layers();
    const int c = static_cast<int>(p.clusters());
    if (n == 0 || c == 0) return {};
    Mapping cheapest = minEnergyMapping(p);
    if (cheapest.latencyMs <= budgetMs) return cheapest;

    const size_t q = static_cast<size_t>(std::max(buckets, 1));
    const double width = budgetMs / static_cast<double>(q);
    auto bucketsOf = [&](double ms) -> size_t {
        if (!(width > 0)) return ms > 0 ? q + 1 : 0;
        const double b = std::ceil(ms / width - 1e-9);
        return b > static_cast<double>(q) ? q + 1 : static_cast<size_t>(std::max(b, 0.0));
    };
    // energy[k][tau]: least energy of layers 0..i ending on cluster k after tau buckets.
    const size_t states = static_cast<size_t>(c) * (q + 1);
    std::vector<double> energy(states, kInf), next(states, kInf);
    std::vector<std::vector<uint32_t>> parent(n, std::vector<uint32_t>(states, UINT32_MAX));   // from*(q+1)+tau
    for (int k = 0; k < c; ++k) {
        const size_t b = bucketsOf(stepMs(p, 0, k, k));
        if (b <= q) energy[static_cast<size_t>(k) * (q + 1) + b] = stepUj(p, 0, k, k);
    }
    for (size_t i = 1; i < n; ++i) {
        std::fill(next.begin(), next.end(), kInf);
        for (int to = 0; to < c; ++to)
            for (int from = 0; from < c; ++from) {
                const size_t db = bucketsOf(stepMs(p, i, from, to));
                if (db > q) continue;
                const double de = stepUj(p, i, from, to);
                for (size_t tau = 0; tau + db <= q; ++tau) {
                    const double e = energy[static_cast<size_t>(from) * (q + 1) + tau];
                    if (e == kInf) continue;
                    const size_t s = static_cast<size_t>(to) * (q + 1) + tau + db;
                    if (e + de < next[s]) {
                        next[s] = e + de;
                        parent[i][s] = static_cast<uint32_t>(static_cast<size_t>(from) * (q + 1) + tau);
                    }
                }
            }
        std::swap(energy, next);
    }
    const size_t end = static_cast<size_t>(std::min_element(energy.begin(), energy.end()) - energy.begin());
    if (energy[end] == kInf) {
        Mapping fastest = minLatencyMapping(p);
        fastest.meetsBudget = fastest.latencyMs <= budgetMs;
        return fastest;
    }
    std::vector<int> clusters(n);
    size_t s = end;
    for (size_t i = n; i-- > 0;) {
        clusters[i] = static_cast<int>(s / (q + 1));
        if (i > 0) s = parent[i][s];
    }
    Mapping m = evaluateMapping(p, clusters);
    m.meetsBudget = m.latencyMs <= budgetMs * (1 + 1e-12);
    return m;
}

Mapping lagrangianMapping(const MappingProblem& p, double budgetMs)
{
    Mapping m = minEnergyMapping(p);
    if (m.latencyMs <= budgetMs) return m;
    Mapping fastest = minLatencyMapping(p);
    if (fastest.latencyMs > budgetMs) {
        fastest.meetsBudget = false;
        return fastest;
    }
    // E + lambda*T: lambda large enough makes latency dominate.
    double lo = 0.0, hi = 1.0;
    for (int i = 0; i < 64 && solveAdditive(p, 1.0, hi, 0.0, 1.0).latencyMs > budgetMs; ++i) hi *= 4.0;
    Mapping feasible = solveAdditive(p, 1.0, hi, 0.0, 1.0);
    if (feasible.latencyMs > budgetMs) feasible = fastest;
    for (int i = 0; i < 60; ++i) {
        const double mid = 0.5 * (lo + hi);
        Mapping trial = solveAdditive(p, 1.0, mid, 0.0, 1.0);
        if (trial.latencyMs > budgetMs) lo = mid;
        else {
            hi = mid;
            feasible = trial;
        }
    }
    return feasible;
}

} // namespace joule::cost
