#pragma once
// Finds plugins, reads their manifests without loading them, and creates passes.
//
//   joule::plugin::PluginManager plugins;                      // defaultDirs()
//   for (const PluginInfo& p : plugins.plugins())
//       std::cout << p.name << (p.ok ? "" : " (broken: " + p.error + ")");
//   std::unique_ptr<Pass> pass = plugins.createPass("quantize");   // loads the library now
//
// Search order: $JOULE_PLUGIN_PATH (colon-separated), then the build tree's plugins dir
// (<dir of the executable>/../plugins), then the install dir (<dir of the executable>/../lib/joule/plugins),
// then the user's folder (~/.local/share/joule/plugins, under $XDG_DATA_HOME when set), then the folders
// added in the studio's settings (key plugins/folders of the "Joule"/"Joule Studio" settings, which the
// CLI reads too).
// Every loadable library in those dirs is listed. A library that is not a Joule plugin (other IID,
// no metadata), a Joule plugin of another plugin API version (JOULE_PLUGIN_API_VERSION), a manifest
// without name/parameters or with a bad parameter, or a second
// plugin of a name already found is listed with ok = false and the reason — never a crash. A plugin
// whose instance() fails is marked broken when createPass() tries it.

#include "plugin/parameter.h"
#include "plugin/pass.h"

#include <QString>
#include <QPluginLoader>
#include <QStringList>

#include <memory>
#include <vector>

namespace joule::plugin {

struct PluginInfo {
    QString name, version, summary, path;
    std::vector<ParamSpec> params;
    bool ok = false;
    QString error;                     // why it is broken; empty when ok
};

class PluginManager {
public:
    static QStringList defaultDirs();
    // The user's plugin folder (it need not exist).
    static QString userDir();
    // The folders added in the studio's settings, and storing them (an empty list removes the key).
    static QStringList settingsDirs();
    static void setSettingsDirs(const QStringList& dirs);
    static constexpr const char* kSettingsOrganization = "Joule";
    static constexpr const char* kSettingsApplication = "Joule Studio";
    static constexpr const char* kSettingsKey = "plugins/folders";

    explicit PluginManager(QStringList dirs = defaultDirs());
    ~PluginManager();
    PluginManager(const PluginManager&) = delete;
    PluginManager& operator=(const PluginManager&) = delete;

    const QStringList& dirs() const { return dirs_; }
    // In search order: dirs in order, files by name within a dir.
    const std::vector<PluginInfo>& plugins() const { return plugins_; }
    // The usable plugin of that name, or nullptr.
    const PluginInfo* find(const QString& name) const;

    // Loads the plugin and creates a pass. Throws PluginError ("plugin 'NAME': ...") when no usable
    // plugin has that name, or when loading / instance() / createPass() fails (the plugin is then
    // marked broken with that reason). The library stays loaded for the manager's lifetime.
    std::unique_ptr<Pass> createPass(const QString& name);

private:
    void scan();
    QStringList dirs_;
    std::vector<PluginInfo> plugins_;
    std::vector<std::unique_ptr<QPluginLoader>> loaders_;   // loaded libraries, never unloaded
};

// Reads one library's manifest without loading it. Never throws: a library that is not a usable
// Joule plugin comes back with ok = false and `error` saying why (name filled when the manifest has one).
PluginInfo readPluginInfo(const QString& path);

} // namespace joule::plugin
