#include "cost/host_profiler.h"

#include "runtime/channels_last.h"
#include "runtime/session.h"

#include <QFile>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <stdexcept>

namespace joule::cost {

namespace {

using Clock = std::chrono::steady_clock;

} // namespace

double median(std::vector<double> v)
{
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string hostCpuName()
{
    QFile f("/proc/cpuinfo");
    if (f.open(QIODevice::ReadOnly))
        for (const QByteArray& line : f.readAll().split('\n'))
            if (line.startsWith("model name")) {
                const auto colon = line.indexOf(':');
                if (colon >= 0) return line.mid(colon + 1).trimmed().toStdString();
            }
    return "unknown CPU";
}

ModelEstimate measureOnHost(const Graph& graph, const ModelStats& stats, const HostOptions& options)
{
    std::mt19937 rng(0);
    const auto feeds = randomInputs(graph, rng, options.inputShapes);

    // The kernels `joule run` uses, channels-last included. A Transpose the channels-last pass put in
    // is not a layer: its time goes to the next layer (the one reading the new layout), or to the
    // last layer when it comes at the end.
    rt::Session session(graph, {.threads = std::max(options.threads, 1), .channelsLast = true});
    session.prepare(feeds);
    const size_t steps = session.steps().size();
    std::vector<size_t> layerOf(steps);
    size_t n = 0;
    for (size_t s = 0; s < steps; ++s) {
        layerOf[s] = n;
        if (!rt::isLayoutChange(session.graph().nodes()[static_cast<size_t>(session.steps()[s].node)])) ++n;
    }
    if (n != stats.layers.size())
        throw std::runtime_error("host profile: the runtime executes " + std::to_string(n) + " layers, the analysis found " +
                                 std::to_string(stats.layers.size()));
    for (auto& l : layerOf) l = std::min(l, n - 1);

    // Observer: one timestamp per executed step (its first output), in step order.
    std::vector<Clock::time_point> stamps;
    stamps.reserve(steps);
    const Node* last = nullptr;
    std::set<const Node*> executed;   // nodes folded while preparing are observed too; they are not layers
    for (const auto& step : session.steps()) executed.insert(&session.graph().nodes()[static_cast<size_t>(step.node)]);
    session.setObserver([&](const Node& node, size_t, const Tensor&) {
        if (&node == last || !executed.count(&node)) return;
        last = &node;
        stamps.push_back(Clock::now());
    });

    for (int i = 0; i < std::max(options.warmup, 0); ++i) {
        stamps.clear();
        last = nullptr;
        session.run(feeds);
    }
    const int runs = std::max(options.runs, 1);
    std::vector<std::vector<double>> perLayer(n);
    std::vector<double> totals;
    std::vector<double> times(n);
    for (int r = 0; r < runs; ++r) {
        stamps.clear();
        last = nullptr;
        const auto start = Clock::now();
        session.run(feeds);
        if (stamps.size() != steps) throw std::runtime_error("host profile: observer saw " + std::to_string(stamps.size()) +
                                                             " of " + std::to_string(steps) + " steps");
        std::fill(times.begin(), times.end(), 0.0);
        auto prev = start;
        for (size_t s = 0; s < steps; ++s) {
            times[layerOf[s]] += std::chrono::duration<double, std::milli>(stamps[s] - prev).count();
            prev = stamps[s];
        }
        for (size_t i = 0; i < n; ++i) perLayer[i].push_back(times[i]);
        totals.push_back(std::chrono::duration<double, std::milli>(prev - start).count());
    }

    ModelEstimate e;
    e.target = "host";
    e.targetName = "this machine (" + hostCpuName() + ")";
    e.measured = true;
    e.measuredOn = hostCpuName();
    e.threads = std::max(options.threads, 1);
    e.runs = runs;
    e.precision = modelPrecision(stats);
    e.macs = stats.macs;
    for (size_t i = 0; i < n; ++i) {
        const LayerStats& l = stats.layers[i];
        LayerEstimate le = describeLayer(l, i, e.precision);
        le.latencyMs = median(perLayer[i]);
        e.memory.flashBytes += le.flashBytes;
        e.layers.push_back(std::move(le));
    }
    e.latencyMs = median(totals);
    const int64_t flash = e.memory.flashBytes;
    e.memory = planActivations(stats, e.precision);
    e.memory.flashBytes = flash;
    e.fit.flashNeeded = e.fit.flashAvailable = flash;   // no limits: this machine runs whatever the runtime can
    e.fit.ramNeeded = e.fit.ramAvailable = e.memory.arenaBytes;
    return e;
}

} // namespace joule::cost
