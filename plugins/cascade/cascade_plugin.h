#pragma once
// Qt plugin entry of the cascade plugin; metadata in cascade.json. Does nothing until createPass().

#include "plugin/plugin_interface.h"
#include "cascade_pass.h"

#include <QObject>

namespace joule::plugins {

class CascadePlugin : public QObject, public plugin::PluginInterface {
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JOULE_PLUGIN_IID FILE "cascade.json")
    Q_INTERFACES(joule::plugin::PluginInterface)
public:
    std::unique_ptr<plugin::Pass> createPass() override { return std::make_unique<CascadePass>(); }
};

} // namespace joule::plugins
