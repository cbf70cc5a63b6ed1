// fp32 vs int8 latency of the reference models, measured in the same run on this machine.
//
//   build/tests/bench_int8 [--runs R] [--threads N] [--profile | --profile-int8] [--write-qdq DIR] [MODEL.onnx ...]
//
// Without models it measures resources/models/fmnist_{resnet8,dscnn,little}.onnx. The int8 graph
// is the model quantized with min-max ranges of 8 seeded random inputs (quant::quantizeMinMax, core/quant/minmax.h) and
// lowered to integer ops (rt::lowerQdq); a QDQ model is lowered as is. fp32 and int8 runs are
// interleaved so that load from other processes hits both alike. Batch 1. --profile adds the median
// and minimum time of each node (the gap between consecutive observer calls, so it includes the
// session's own per-node overhead); --profile-int8 does so for the int8 graph only. --write-qdq saves each min-max QDQ model as DIR/<model>_qdq.onnx (to run it
// elsewhere, e.g. in ONNX Runtime, or through `joule bench --precision int8`). Prints numbers only;
// never fails on timing.
#include "cost/host_profiler.h"
#include "cost/layer_stats.h"
#include "onnx/onnx_io.h"
#include "quant/minmax.h"
#include "runtime/qdq_lower.h"
#include "runtime/session.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace joule;
using Clock = std::chrono::steady_clock;

namespace {

double timeRun(rt::Session& s, const std::map<std::string, Tensor>& feeds)
{
    const auto t0 = Clock::now();
    s.run(feeds);
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void profile(rt::Session& s, const std::map<std::string, Tensor>& feeds, int runs, const char* label)
{
    std::map<std::string, std::vector<double>> perNode;
    std::vector<std::string> order;
    Clock::time_point last;
    s.setObserver([&](const Node& n, size_t o, const Tensor&) {
        if (o != 0) return;
        const auto now = Clock::now();
        const std::string key = n.opType + " " + n.name;
        if (!perNode.count(key)) order.push_back(key);
        perNode[key].push_back(std::chrono::duration<double, std::micro>(now - last).count());
        last = now;
    });
    for (int r = 0; r < runs; ++r) {
        last = Clock::now();
        s.run(feeds);
    }
    s.setObserver(nullptr);
    std::printf("  %s per node (us):\n    %8s  %8s\n", label, "median", "min");
    double total = 0, totalMin = 0;
    for (const auto& k : order) {
        const double m = cost::median(perNode[k]);
        const double lo = *std::min_element(perNode[k].begin(), perNode[k].end());
        total += m;
        totalMin += lo;
        std::printf("    %8.1f  %8.1f  %s\n", m, lo, k.c_str());
    }
    std::printf("    %8.1f  %8.1f  total\n", total, totalMin);
}

} // namespace

int main(int argc, char** argv)
{
    int runs = 200, threads = 1;
    bool withProfile = false, int8Only = false;
    std::vector<std::string> models;
    std::string qdqDir;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::max(1, std::atoi(argv[++i]));
        else if (!std::strcmp(argv[i], "--profile")) withProfile = true;
        else if (!std::strcmp(argv[i], "--profile-int8")) withProfile = int8Only = true;
        else if (!std::strcmp(argv[i], "--write-qdq") && i + 1 < argc) qdqDir = argv[++i];
        else models.push_back(argv[i]);
    }
    if (models.empty()) {
        const char* src = std::getenv("JOULE_SOURCE_DIR");
        const std::string dir = std::string(src ? src : JOULE_BENCH_SOURCE_DIR) + "/resources/models/";
        for (const char* m : {"fmnist_resnet8", "fmnist_dscnn", "fmnist_little"}) models.push_back(dir + m + ".onnx");
    }
    std::printf("%-28s %10s %10s %8s   (batch 1, %d thread%s, %d interleaved runs each, median)\n", "model", "fp32 ms",
                "int8 ms", "speedup", threads, threads == 1 ? "" : "s", runs);
    for (const auto& path : models) {
        try {
            const Graph g = onnx::loadModel(path);
            std::mt19937 rng(1);
            Graph int8;
            const bool qdq = rt::hasQdq(g);
            if (qdq) {
                int8 = rt::lowerQdq(g);
            } else {
                std::vector<std::map<std::string, Tensor>> calibration;
                for (int i = 0; i < 8; ++i) calibration.push_back(cost::randomInputs(g, rng));
                const Graph qdqModel = quant::quantizeMinMax(g, calibration);
                int8 = rt::lowerQdq(qdqModel);
                if (!qdqDir.empty()) {
                    const std::string stem = path.substr(path.find_last_of('/') + 1);
                    onnx::saveModel(qdqModel, qdqDir + "/" + stem.substr(0, stem.rfind('.')) + "_qdq.onnx");
                }
            }
            rt::Session fp(g, {.threads = threads, .fuseActivations = true, .channelsLast = true});   // a QDQ model: its fake-quant float run
            rt::Session in(int8, {.threads = threads, .fuseActivations = true, .channelsLast = true});
            const auto feeds = cost::randomInputs(g, rng);
            for (int i = 0; i < 10; ++i) {
                fp.run(feeds);
                in.run(feeds);
            }
            std::vector<double> tf, ti;
            for (int i = 0; i < runs; ++i) {
                tf.push_back(timeRun(fp, feeds));
                ti.push_back(timeRun(in, feeds));
            }
            const double mf = cost::median(tf), mi = cost::median(ti);
            std::string name = path.substr(path.find_last_of('/') + 1);
            std::printf("%-28s %10.3f %10.3f %7.2fx\n", name.c_str(), mf, mi, mf / mi);
            if (withProfile) {
                if (!int8Only) profile(fp, feeds, runs, "fp32");
                profile(in, feeds, runs, "int8");
            }
        } catch (const std::exception& e) {
            std::printf("%s: %s\n", path.c_str(), e.what());
            return 1;
        }
    }
    return 0;
}
