// The studio's start and open times, offscreen. A benchmark, not a test. The acceptance: start to a
// usable window under 1 s with an empty project; opening torchvision ResNet-18 (read, checked, layers
// analysed, laid out and drawn) under 2 s.
//
//   build/tests/bench_studio [MODEL.onnx]   (default build/test-models/resnet18.onnx, made by
//                                            /usr/bin/python3 tests/models/export_torchvision.py build/test-models)
//
// "start" is measured from the top of main() (QApplication included) to the first frame of the window
// rendered, with the plugins scanned and the targets loaded; the process's own loading of its shared
// libraries comes before main and is measured by the shell: `time build/bin/joule-studio --help`.
#include "graph/graph_view.h"
#include "main_window.h"
#include "views/layer_table.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QImage>
#include <QSettings>
#include <QTemporaryDir>

#include <cstdio>

int main(int argc, char** argv)
{
    QElapsedTimer clock;
    clock.start();
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QTemporaryDir settings;   // a first start: no remembered geometry, target or files
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, settings.path());

    const QString model = argc > 1 ? QString(argv[1]) : QString(JOULE_BENCH_BUILD_DIR "/test-models/resnet18.onnx");
    if (!QFileInfo::exists(model)) {
        std::fprintf(stderr, "bench_studio: %s not found; make it with /usr/bin/python3 %s/tests/models/export_torchvision.py %s/test-models\n",
                     qPrintable(model), JOULE_BENCH_SOURCE_DIR, JOULE_BENCH_BUILD_DIR);
        return 1;
    }

    joule::ui::MainWindow window;
    window.resize(1600, 1000);
    window.show();
    QApplication::processEvents();
    (void)window.grab();   // the first frame, really drawn
    const double startMs = static_cast<double>(clock.nsecsElapsed()) / 1e6;

    clock.restart();
    window.openFile(model);
    window.jobs()->waitForIdle();
    (void)window.grab();
    const double openMs = static_cast<double>(clock.nsecsElapsed()) / 1e6;
    if (!window.lastError().isEmpty()) {
        std::fprintf(stderr, "bench_studio: %s\n", qPrintable(window.lastError()));
        return 1;
    }
    std::printf("start to a usable window (empty project): %.0f ms\n", startMs);
    std::printf("open %s (%d nodes: read, check, analyse, lay out, draw): %.0f ms\n", qPrintable(QFileInfo(model).fileName()),
                window.graphView()->nodeItemCount(), openMs);
    return 0;
}
