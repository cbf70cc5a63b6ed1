// Graph view speed on a model: the Graphviz layout alone, and what opening a model costs the studio
// (setGraph, which lays out, + setNodeValues + rendering the view into a 1280x800 image), median over 5
// runs each, offscreen. A benchmark, not a test. The acceptance: ResNet-18 laid out and drawn in under 2 s.
//
//   build/tests/bench_graph_view [MODEL.onnx] [--png FILE]   (default build/test-models/resnet18.onnx;
//                                                            --png keeps the last rendering)
#include "graph/graph_view.h"

#include "onnx/onnx_io.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QImage>
#include <QPainter>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

using namespace joule;

namespace {

constexpr int kRuns = 5;

template <typename F>
double medianMs(F&& f)
{
    std::vector<double> ms;
    for (int k = 0; k < kRuns; ++k) {
        QElapsedTimer t;
        t.start();
        f();
        ms.push_back(static_cast<double>(t.nsecsElapsed()) / 1e6);
    }
    std::sort(ms.begin(), ms.end());
    return ms[kRuns / 2];
}

} // namespace

int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QString model = QString(JOULE_BENCH_BUILD_DIR) + "/test-models/resnet18.onnx", png;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--png") == 0 && i + 1 < argc)
            png = argv[++i];
        else
            model = argv[i];
    }
    if (!QFileInfo::exists(model)) {
        std::fprintf(stderr, "bench_graph_view: %s does not exist; make the torchvision models with\n"
                             "  /usr/bin/python3 %s/tests/models/export_torchvision.py %s/test-models\n",
                     qPrintable(model), JOULE_BENCH_SOURCE_DIR, JOULE_BENCH_BUILD_DIR);
        return 1;
    }
    Graph graph;
    try {
        graph = onnx::loadModel(model.toStdString());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_graph_view: %s\n", e.what());
        return 1;
    }
    const size_t n = graph.nodes().size();
    std::vector<double> values(n);
    for (size_t i = 0; i < n; ++i)
        values[i] = static_cast<double>((i * 37) % 100 + 1);   // 1..100: a spread on a linear scale

    size_t edges = 0;
    const double layoutMs = medianMs([&] { edges = ui::layoutGraph(graph).edges.size(); });

    ui::GraphView view;
    view.resize(1280, 800);
    view.show();   // a hidden view's viewport is not sized yet
    QCoreApplication::processEvents();
    QImage image(view.size(), QImage::Format_ARGB32_Premultiplied);
    const double drawMs = medianMs([&] {
        view.setGraph(graph);
        view.setNodeValues(values, "energy", "µJ");
        image.fill(Qt::white);
        QPainter painter(&image);
        view.render(&painter);
    });
    if (!png.isEmpty() && !image.save(png)) {
        std::fprintf(stderr, "bench_graph_view: cannot write %s\n", qPrintable(png));
        return 1;
    }

    std::printf("%s: %zu nodes, %zu edges\n", qPrintable(QFileInfo(model).fileName()), n, edges);
    std::printf("layoutGraph                              median %7.1f ms over %d runs\n", layoutMs, kRuns);
    std::printf("setGraph + setNodeValues + render 1280x800 median %7.1f ms over %d runs\n", drawMs, kRuns);
    return 0;
}
