#pragma once
// The Qt plugin interface every Joule plugin implements.
//
//   class QuantizePlugin : public QObject, public joule::plugin::PluginInterface {
//       Q_OBJECT
//       Q_PLUGIN_METADATA(IID JOULE_PLUGIN_IID FILE "quantize.json")
//       Q_INTERFACES(joule::plugin::PluginInterface)
//   public:
//       std::unique_ptr<joule::plugin::Pass> createPass() override { return std::make_unique<QuantizePass>(); }
//   };
//
// The manifest (quantize.json) is {"name","version","summary","parameters":[...]} (see parameter.h);
// the plugin manager reads it without loading the library. The constructor must do nothing.
// See docs/plugins.md.
//
// Versioning: JOULE_PLUGIN_API_VERSION counts incompatible changes of the plugin API (this interface,
// Pass, PassContext, Candidate, the IR and every header they include). The IID a plugin is built with
// ends in it, so a plugin built against another API version is listed as broken with both versions
// named and never loaded. Within one API version, additions keep old plugins working.

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

// The API version, and the IID that carries it (moc needs the IID as one literal: keep them in step).
#define JOULE_PLUGIN_API_VERSION 1
#define JOULE_PLUGIN_IID "org.joule-studio.Plugin/1"
#define JOULE_PLUGIN_IID_PREFIX "org.joule-studio.Plugin/"
Q_DECLARE_INTERFACE(joule::plugin::PluginInterface, JOULE_PLUGIN_IID)
