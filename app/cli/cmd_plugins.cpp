// joule plugins [--json]
#include "cli_common.h"

#include "plugin/plugin_manager.h"

#include <QJsonArray>

#include <cstdio>

namespace joule::cli {

namespace {

QJsonObject pluginToJson(const plugin::PluginInfo& p)
{
    QJsonArray params;
    for (const auto& spec : p.params) params.append(plugin::paramSpecToJson(spec));
    return QJsonObject{{"name", p.name.isEmpty() ? QJsonValue() : QJsonValue(p.name)},
                       {"version", p.version},
                       {"summary", p.summary},
                       {"path", p.path},
                       {"ok", p.ok},
                       {"error", p.ok ? QJsonValue() : QJsonValue(p.error)},
                       {"parameters", params}};
}

QString rangeText(const plugin::ParamSpec& s)
{
    if (!s.choices.isEmpty()) return s.choices.join("|");
    if (!s.min && !s.max) return "-";
    return "[" + (s.min ? QString::number(*s.min) : QString("-inf")) + ", " + (s.max ? QString::number(*s.max) : QString("inf")) + "]";
}

} // namespace

int runPlugins(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("Lists every plugin found in $JOULE_PLUGIN_PATH (colon-separated), the build tree "
                                     "(<bin>/../plugins), the install directory (<bin>/../lib/joule/plugins), the user's "
                                     "folder (~/.local/share/joule/plugins) and the folders added in the studio's "
                                     "Settings > Plugin Folders: usable ones with their parameters, broken ones (another "
                                     "plugin API version, a bad manifest, ...) with the reason. Manifests are read "
                                     "without loading the plugins.");
    parser.addOption({"json", "Print one JSON document on stdout."});
    parseOrExit(parser, args);
    if (!parser.positionalArguments().isEmpty()) throw CliError("joule plugins takes no arguments (see --help)");

    const plugin::PluginManager manager;
    if (parser.isSet("json")) {
        QJsonArray list;
        for (const auto& p : manager.plugins()) list.append(pluginToJson(p));
        printJson(QJsonObject{{"plugins", list}, {"search_path", QJsonArray::fromStringList(manager.dirs())}});
        return 0;
    }
    if (manager.plugins().empty()) std::printf("no plugins found (searched %s)\n", manager.dirs().join(", ").toUtf8().constData());
    for (const auto& p : manager.plugins()) {
        if (!p.ok) {
            std::printf("%s  BROKEN  %s\n    %s\n", (p.name.isEmpty() ? QString("(unnamed)") : p.name).toUtf8().constData(),
                        p.path.toUtf8().constData(), p.error.toUtf8().constData());
            continue;
        }
        std::printf("%s %s  %s\n    %s\n", p.name.toUtf8().constData(), p.version.toUtf8().constData(),
                    p.summary.toUtf8().constData(), p.path.toUtf8().constData());
        for (const auto& s : p.params)
            std::printf("    %-22s %-7s default %-12s %-28s %s\n", s.key.toUtf8().constData(),
                        plugin::paramTypeName(s.type).toUtf8().constData(), s.defaultValue.toString().toUtf8().constData(),
                        rangeText(s).toUtf8().constData(), s.help.toUtf8().constData());
    }
    return 0;
}

} // namespace joule::cli
