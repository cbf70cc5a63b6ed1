#pragma once
// Qt plugin entry of the prune plugin; metadata in prune.json. Does nothing until createPass().

#include "plugin/plugin_interface.h"
#include "prune_pass.h"

#include <QObject>

namespace joule::plugins {

class PrunePlugin : public QObject, public plugin::PluginInterface {
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JOULE_PLUGIN_IID FILE "prune.json")
    Q_INTERFACES(joule::plugin::PluginInterface)
public:
    std::unique_ptr<plugin::Pass> createPass() override { return std::make_unique<PrunePass>(); }
};

} // namespace joule::plugins
