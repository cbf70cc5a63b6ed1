#pragma once
// Qt plugin entry of the early_exit plugin; metadata in early_exit.json. Does nothing until createPass().

#include "plugin/plugin_interface.h"
#include "early_exit_pass.h"

#include <QObject>

namespace joule::plugins {

class EarlyExitPlugin : public QObject, public plugin::PluginInterface {
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JOULE_PLUGIN_IID FILE "early_exit.json")
    Q_INTERFACES(joule::plugin::PluginInterface)
public:
    std::unique_ptr<plugin::Pass> createPass() override { return std::make_unique<EarlyExitPass>(); }
};

} // namespace joule::plugins
