#pragma once
// --help as users type the program. QCommandLineParser::helpText() starts "Usage: <argv[0]>", the path
// the program was started from (build/bin/joule); docs/cli.md and the man pages need the name.
//
//   std::cout << joule::app::helpText(parser, "joule-studio").toStdString();

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QString>

namespace joule::app {

inline QString helpText(const QCommandLineParser& parser, const QString& program)
{
    QString text = parser.helpText();
    const QString started = "Usage: " + QCoreApplication::arguments().value(0);
    if (text.startsWith(started)) text.replace(0, started.size(), "Usage: " + program);
    return text;
}

// True when the command line asks for --help (or -h), which QCommandLineParser::process() would
// answer with the path-named text.
inline bool helpAsked(const QStringList& arguments)
{
    return arguments.contains("--help") || arguments.contains("-h");
}

} // namespace joule::app
