#pragma once
// Qt plugin entry of the quantize plugin; metadata in quantize.json. Does nothing until createPass().

#include "plugin/plugin_interface.h"
#include "quantize_pass.h"

#include <QObject>

namespace joule::plugins {

class QuantizePlugin : public QObject, public plugin::PluginInterface {
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JOULE_PLUGIN_IID FILE "quantize.json")
    Q_INTERFACES(joule::plugin::PluginInterface)
public:
    std::unique_ptr<plugin::Pass> createPass() override { return std::make_unique<QuantizePass>(); }
};

} // namespace joule::plugins
