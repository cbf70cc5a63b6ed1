#pragma once
// The Qt plugin interface every Joule plugin implements.
//
//   class QuantizePlugin : public QObject, public joule::plugin::PluginInterface {
//       Q_OBJECT
//       Q_PLUGIN_METADATA(IID "org.joule-studio.Plugin/1" FILE "quantize.json")
//       Q_INTERFACES(joule::plugin::PluginInterface)
//   public:
//       std::unique_ptr<joule::plugin::Pass> createPass() override { return std::make_unique<QuantizePass>(); }
//   };
//
// The manifest (quantize.json) is {"name","version","summary","parameters":[...]} (see parameter.h);
// the plugin manager reads it without loading the library. The constructor must do nothing.
// See docs/plugins.md.

#include "plugin/pass.h"

#include <QtPlugin>

#include <memory>

namespace joule::plugin {

class PluginInterface {
public:
    virtual ~PluginInterface();
    virtual std::unique_ptr<Pass> createPass() = 0;
};

} // namespace joule::plugin

#define JOULE_PLUGIN_IID "org.joule-studio.Plugin/1"
Q_DECLARE_INTERFACE(joule::plugin::PluginInterface, "org.joule-studio.Plugin/1")
