// Experiment store at scale: a generator writes N runs (2 candidates each, no per-input records) into a
// fresh store, one transaction per run as joule optimize does, then times `joule pareto` and
// `joule runs list --json` on it as a user runs them (whole processes). A benchmark, not a test.
//
//   build/tests/bench_store [--runs 10000] [--keep STORE.db]   (--keep writes the store there and keeps it)
#include "store/store.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>

#include <cstdio>
#include <cstring>
#include <random>

using namespace joule;

namespace {

plugin::OptimizeResult generated(int i, std::mt19937& rng, const QString& model)
{
    std::uniform_real_distribution<double> u(0.0, 1.0);
    plugin::OptimizeResult r;
    r.recipe.file = "generated.json";
    r.recipe.name = "generated";
    r.recipe.model = model;
    r.recipe.test.spec = "fashion-mnist:test";
    r.target = "stm32l4r5";
    for (int c = 0; c < 2; ++c) {
        plugin::CandidateResult cr;
        cr.candidate.id = c ? "c1" : "baseline";
        cr.candidate.label = c ? "generated" : "fp32";
        cr.candidate.plugin = c ? "quantize" : "";
        cr.candidate.params = {{"calibration", "mse"}, {"run", i}};
        cr.test.samples = 10000;
        cr.test.accuracy = 0.85 + 0.08 * u(rng);
        cr.estimate.macs = 9345920;
        cr.estimate.latencyMs = 100 + 300 * u(rng);
        cr.estimate.energyUj = 5000 + 12000 * u(rng);
        cr.weightBytes = 50000 + static_cast<int64_t>(250000 * u(rng));
        r.candidates.push_back(std::move(cr));
    }
    return r;
}

double timeCommand(const QString& joule, const QStringList& args, qint64* bytes)
{
    QElapsedTimer t;
    t.start();
    QProcess p;
    p.start(joule, args);
    p.waitForFinished(120000);
    *bytes = p.readAllStandardOutput().size();
    return static_cast<double>(t.nsecsElapsed()) / 1e6;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    int runs = 10000;
    QString keep;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--runs") == 0) runs = std::atoi(argv[i + 1]);
        if (std::strcmp(argv[i], "--keep") == 0) keep = argv[i + 1];
    }
    const QString source = qEnvironmentVariable("JOULE_SOURCE_DIR", JOULE_BENCH_SOURCE_DIR);
    const QString joule = QString(JOULE_BENCH_BUILD_DIR) + "/bin/joule";
    QTemporaryDir dir;
    const QString path = keep.isEmpty() ? dir.filePath("bench.db") : keep;
    if (!keep.isEmpty()) QFile::remove(keep);
    {
        store::Store s(path);
        std::mt19937 rng(3);
        QElapsedTimer t;
        t.start();
        for (int i = 0; i < runs; ++i) s.addRun(generated(i, rng, source + "/resources/models/fmnist_little.onnx"));
        std::printf("generated %d runs (%d candidates) in %.2f s, one transaction each\n", runs, 2 * runs, t.nsecsElapsed() / 1e9);
    }
    for (const QStringList& args : {QStringList{"pareto", "--store", path, "--json"}, QStringList{"runs", "list", "--store", path, "--json"},
                                    QStringList{"runs", "list", "--store", path, "--csv"}}) {
        std::vector<double> ms;
        qint64 bytes = 0;
        for (int k = 0; k < 5; ++k) ms.push_back(timeCommand(joule, args, &bytes));
        std::sort(ms.begin(), ms.end());
        std::printf("joule %-32s median %7.1f ms over 5 runs (whole process, %lld bytes out)\n",
                    qPrintable(args.mid(0, args.size() - 3).join(' ') + " " + args.last()), ms[2], static_cast<long long>(bytes));
    }
    return 0;
}
