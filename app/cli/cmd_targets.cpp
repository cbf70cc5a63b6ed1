// joule targets [--json]
#include "cli_common.h"

#include "cost/host_profiler.h"
#include "cost/target_profile.h"

#include <QJsonArray>

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace joule::cli {

namespace {

double highestClockMhz(const cost::TargetProfile& t)
{
    double mhz = 0.0;
    for (const auto& c : t.clusters) mhz = std::max(mhz, c.clockMhz.value);
    return mhz;
}

QJsonObject targetToJson(const cost::TargetProfile& t)
{
    QJsonArray clusters;
    for (const auto& c : t.clusters)
        clusters.append(QJsonObject{{"id", QString::fromStdString(c.id)},
                                    {"name", QString::fromStdString(c.name)},
                                    {"cores", c.cores.value},
                                    {"clock_mhz", c.clockMhz.value},
                                    {"active_power_mw", c.activePowerMw.value}});
    return QJsonObject{{"id", QString::fromStdString(t.id)},
                       {"name", QString::fromStdString(t.name)},
                       {"kind", QString::fromStdString(t.kind)},
                       {"clock_mhz", highestClockMhz(t)},
                       {"flash_bytes", static_cast<qint64>(t.memory.flashBytes.value)},
                       {"ram_bytes", static_cast<qint64>(t.memory.ramBytes.value)},
                       {"int4", t.anyClusterHasInt4()},
                       {"measured", false},
                       {"clusters", clusters},
                       {"file", t.file}};
}

QString clocksText(const cost::TargetProfile& t)
{
    QStringList parts;
    for (const auto& c : t.clusters) parts << QString::number(c.clockMhz.value, 'g', 6);
    return parts.join("/") + " MHz";
}

} // namespace

int runTargets(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("Lists the target profiles `joule profile --target ID` accepts: the built-in "
                                     "`host` (measures on this machine) and every resources/targets/*.json found in "
                                     "$JOULE_TARGET_PATH, the install directory and the source tree. A broken profile "
                                     "is an error naming its file and field.");
    parser.addOption({"json", "Print one JSON document on stdout."});
    parseOrExit(parser, args);
    if (!parser.positionalArguments().isEmpty()) throw CliError("joule targets takes no arguments (see --help)");

    const std::vector<cost::TargetProfile> targets = cost::loadAllTargets();
    const std::string cpu = cost::hostCpuName();
    if (parser.isSet("json")) {
        QJsonArray list;
        list.append(QJsonObject{{"id", "host"},
                                {"name", QString::fromStdString("this machine (" + cpu + ")")},
                                {"kind", "host"},
                                {"clock_mhz", QJsonValue()},
                                {"flash_bytes", QJsonValue()},
                                {"ram_bytes", QJsonValue()},
                                {"int4", false},
                                {"measured", true},
                                {"clusters", QJsonArray()},
                                {"file", QJsonValue()}});
        for (const auto& t : targets) list.append(targetToJson(t));
        printJson(QJsonObject{{"targets", list}, {"search_path", QJsonArray::fromStringList(cost::targetSearchPath())}});
        return 0;
    }
    std::printf("%-12s %-34s %-14s %-16s %14s %14s\n", "id", "name", "kind", "clock", "flash bytes", "ram bytes");
    std::printf("%-12s %-34.34s %-14s %-16s %14s %14s\n", "host", ("this machine (" + cpu + ")").c_str(), "measured", "-",
                "-", "-");
    for (const auto& t : targets)
        std::printf("%-12s %-34.34s %-14s %-16s %14lld %14lld\n", t.id.c_str(), t.name.c_str(), t.kind.c_str(),
                    clocksText(t).toStdString().c_str(), static_cast<long long>(t.memory.flashBytes.value),
                    static_cast<long long>(t.memory.ramBytes.value));
    return 0;
}

} // namespace joule::cli
