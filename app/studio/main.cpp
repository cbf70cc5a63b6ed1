// joule-studio: the desktop studio.
//   joule-studio [FILE]                   opens a model (.onnx), a recipe (.json) or a project store (.db)
//   joule-studio --screenshot DIR FILE    opens FILE offscreen, renders every view into DIR/VIEW.png, exits
#include "help_text.h"
#include "main_window.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QTimer>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv)
{
    // Screenshots need no display; a window does.
    bool screenshot = false, informational = false;
    for (int i = 1; i < argc; ++i) {
        const QByteArray a(argv[i]);
        screenshot = screenshot || a == "--screenshot";
        informational = informational || a == "--help" || a == "-h" || a == "--version" || a == "-v";
    }
    const bool haveDisplay = qEnvironmentVariableIsSet("DISPLAY") || qEnvironmentVariableIsSet("WAYLAND_DISPLAY")
                             || qEnvironmentVariableIsSet("QT_QPA_PLATFORM");
    if ((screenshot || informational) && !haveDisplay) qputenv("QT_QPA_PLATFORM", "offscreen");
    if (!screenshot && !informational && !haveDisplay) {
        std::fprintf(stderr, "joule-studio: no display (DISPLAY is not set); run it on a desktop, under xvfb-run, "
                             "or render the views with --screenshot DIR FILE\n");
        return 1;
    }

    QApplication app(argc, argv);
    QApplication::setApplicationName("Joule Studio");
    QApplication::setOrganizationName("Joule");
    QApplication::setApplicationVersion(JOULE_VERSION);

    QCommandLineParser parser;
    parser.setApplicationDescription("Joule Studio: what every layer of a model costs on a board, and what optimizing it saves.");
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOption({"screenshot", "Open FILE offscreen, render every view into DIR/VIEW.png and exit.", "DIR"});
    parser.addPositionalArgument("FILE", "A model (.onnx), a recipe (.json) or a project store (.db) to open.");
    if (joule::app::helpAsked(app.arguments())) {
        std::fputs(qPrintable(joule::app::helpText(parser, "joule-studio")), stdout);
        return 0;
    }
    parser.process(app);
    const QStringList files = parser.positionalArguments();
    if (files.size() > 1) {
        std::fprintf(stderr, "joule-studio: give one FILE, not %lld\n", static_cast<long long>(files.size()));
        return 1;
    }

    joule::ui::MainWindow window;
    if (parser.isSet("screenshot")) {
        if (files.isEmpty()) {
            std::fprintf(stderr, "joule-studio: --screenshot DIR needs a FILE to open\n");
            return 1;
        }
        window.resize(1600, 1000);
        window.show();
        window.openFile(files.front());
        window.jobs()->waitForIdle();
        if (!window.lastError().isEmpty()) {
            std::fprintf(stderr, "joule-studio: %s\n", qPrintable(window.lastError()));
            return 1;
        }
        try {
            for (const QString& f : window.saveScreenshots(parser.value("screenshot"))) std::printf("%s\n", qPrintable(f));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "joule-studio: %s\n", e.what());
            return 1;
        }
        return 0;
    }
    window.show();
    if (!files.isEmpty()) QTimer::singleShot(0, &window, [&] { window.openFile(files.front()); });
    return app.exec();
}
