#include "plugin/plugin_manager.h"

#include "plugin/plugin_interface.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QLibrary>
#include <QRegularExpression>
#include <QSettings>
#include <QStandardPaths>

#include <string_view>

#define JOULE_STRINGIFY_(x) #x
#define JOULE_STRINGIFY(x) JOULE_STRINGIFY_(x)
static_assert(std::string_view(JOULE_PLUGIN_IID) == std::string_view(JOULE_PLUGIN_IID_PREFIX JOULE_STRINGIFY(JOULE_PLUGIN_API_VERSION)),
              "JOULE_PLUGIN_IID must end in JOULE_PLUGIN_API_VERSION");

namespace joule::plugin {

PluginInterface::~PluginInterface() = default;

namespace {

QString executableDir()
{
    if (QCoreApplication::instance()) return QCoreApplication::applicationDirPath();
    return QFileInfo(QFileInfo("/proc/self/exe").canonicalFilePath()).absolutePath();
}

// A plugin name as recipes use it: a letter, then letters, digits, '_', '-', '.'.
bool isPluginName(const QString& name)
{
    static const QRegularExpression identifier("^[A-Za-z][A-Za-z0-9_.-]*$");
    return identifier.match(name).hasMatch();
}

QString where(const PluginInfo& info)
{
    return info.name.isEmpty() ? info.path : "plugin '" + info.name + "'";
}

} // namespace

QString PluginManager::userDir()
{
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + "/joule/plugins";
}

QStringList PluginManager::settingsDirs()
{
    return QSettings(kSettingsOrganization, kSettingsApplication).value(kSettingsKey).toStringList();
}

void PluginManager::setSettingsDirs(const QStringList& dirs)
{
    QSettings settings(kSettingsOrganization, kSettingsApplication);
    if (dirs.isEmpty()) settings.remove(kSettingsKey);
    else settings.setValue(kSettingsKey, dirs);
}

QStringList PluginManager::defaultDirs()
{
    QStringList dirs;
    for (const QString& d : qEnvironmentVariable("JOULE_PLUGIN_PATH").split(':', Qt::SkipEmptyParts)) dirs << d;
    const QString exe = executableDir();
    dirs << QDir::cleanPath(exe + "/../plugins") << QDir::cleanPath(exe + "/../lib/joule/plugins");
    dirs << userDir() << settingsDirs();
    return dirs;
}

PluginInfo readPluginInfo(const QString& path)
{
    PluginInfo info;
    info.path = path;
    QPluginLoader loader(path);
    const QJsonObject meta = loader.metaData();
    if (meta.isEmpty()) {
        info.error = "not a Qt plugin (no plugin metadata)";
        return info;
    }
    const QString iid = meta.value("IID").toString();
    const QJsonValue manifestValue = meta.value("MetaData");
    if (iid != JOULE_PLUGIN_IID) {
        if (iid.startsWith(JOULE_PLUGIN_IID_PREFIX)) {
            // A Joule plugin of another API version: name it (when its manifest says) and never load it.
            const QString name = manifestValue.toObject().value("name").toString();
            if (isPluginName(name)) info.name = name;
            info.version = manifestValue.toObject().value("version").toString();
            info.error = "built for Joule plugin API " + iid.mid(qsizetype(sizeof(JOULE_PLUGIN_IID_PREFIX)) - 1)
                         + ", but this Joule provides API " + QString::number(JOULE_PLUGIN_API_VERSION)
                         + " (interface '" + iid + "', expected '" JOULE_PLUGIN_IID "'): rebuild it against this Joule's SDK";
        } else {
            info.error = "not a Joule plugin: interface '" + iid + "', expected '" JOULE_PLUGIN_IID "'";
        }
        return info;
    }
    if (!manifestValue.isObject() || manifestValue.toObject().isEmpty()) {
        info.error = "manifest missing: Q_PLUGIN_METADATA needs FILE \"<name>.json\"";
        return info;
    }
    const QJsonObject manifest = manifestValue.toObject();
    const QJsonValue name = manifest.value("name");
    if (!name.isString() || name.toString().isEmpty()) {
        info.error = "manifest: field 'name' is missing (a non-empty string)";
        return info;
    }
    info.name = name.toString();
    if (!isPluginName(info.name)) {
        info.error = "manifest: field 'name': '" + info.name + "' must start with a letter and hold only letters, digits, '_', '-', '.'";
        return info;
    }
    for (const char* field : {"version", "summary"}) {
        if (manifest.contains(field) && !manifest.value(field).isString()) {
            info.error = QString("manifest: field '") + field + "' must be a string";
            return info;
        }
    }
    info.version = manifest.value("version").toString();
    info.summary = manifest.value("summary").toString();
    if (!manifest.value("parameters").isArray()) {
        info.error = "manifest: field 'parameters' is missing (an array, possibly empty)";
        return info;
    }
    try {
        const QJsonArray params = manifest.value("parameters").toArray();
        QStringList keys;
        for (qsizetype i = 0; i < params.size(); ++i) {
            const QString at = "manifest: parameters[" + QString::number(i) + "]";
            if (!params[i].isObject()) throw PluginError(at + " is not an object");
            ParamSpec spec = parseParamSpec(params[i].toObject(), at);
            if (keys.contains(spec.key)) throw PluginError(at + ": parameter '" + spec.key + "' is declared twice");
            keys << spec.key;
            info.params.push_back(std::move(spec));
        }
    } catch (const PluginError& e) {
        info.params.clear();
        info.error = QString::fromStdString(e.what());
        return info;
    }
    info.ok = true;
    return info;
}

PluginManager::PluginManager(QStringList dirs) : dirs_(std::move(dirs))
{
    scan();
}

PluginManager::~PluginManager() = default;

void PluginManager::scan()
{
    QStringList seenDirs;
    for (const QString& dir : dirs_) {
        const QString canonical = QFileInfo(dir).canonicalFilePath();
        if (canonical.isEmpty() || seenDirs.contains(canonical)) continue;   // missing, or searched already
        seenDirs << canonical;
        const QFileInfoList files = QDir(canonical).entryInfoList(QDir::Files, QDir::Name);
        for (const QFileInfo& file : files) {
            if (!QLibrary::isLibrary(file.fileName())) continue;
            PluginInfo info = readPluginInfo(file.absoluteFilePath());
            if (info.ok) {
                if (const PluginInfo* first = find(info.name)) {
                    info.ok = false;
                    info.error = "duplicate: a plugin named '" + info.name + "' was found first at " + first->path;
                }
            }
            plugins_.push_back(std::move(info));
        }
    }
}

const PluginInfo* PluginManager::find(const QString& name) const
{
    for (const PluginInfo& p : plugins_)
        if (p.ok && p.name == name) return &p;
    return nullptr;
}

std::unique_ptr<Pass> PluginManager::createPass(const QString& name)
{
    PluginInfo* info = nullptr;
    for (PluginInfo& p : plugins_)
        if (p.ok && p.name == name) { info = &p; break; }
    if (!info) {
        QString why = "plugin '" + name + "': not found";
        for (const PluginInfo& p : plugins_)
            if (p.name == name) { why = "plugin '" + name + "': broken: " + p.error; break; }
        if (!why.contains("broken")) why += " (searched " + dirs_.join(", ") + "; see joule plugins)";
        throw PluginError(why);
    }
    auto broken = [&](const QString& reason) {
        info->ok = false;
        info->error = reason;
        return PluginError(where(*info) + ": " + reason);
    };
    auto loader = std::make_unique<QPluginLoader>(info->path);
    QObject* instance = loader->instance();
    if (!instance) throw broken("cannot load " + info->path + ": " + loader->errorString());
    auto* plugin = qobject_cast<PluginInterface*>(instance);
    if (!plugin) throw broken("does not implement joule::plugin::PluginInterface");
    std::unique_ptr<Pass> pass;
    try {
        pass = plugin->createPass();
    } catch (const std::exception& e) {
        loaders_.push_back(std::move(loader));
        throw PluginError(where(*info) + ": createPass failed: " + e.what());
    }
    loaders_.push_back(std::move(loader));
    if (!pass) throw PluginError(where(*info) + ": createPass returned no pass");
    return pass;
}

} // namespace joule::plugin
