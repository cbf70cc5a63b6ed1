#pragma once
// Runs one pass safely: the pass works on a copy of the input candidate, every exception becomes a
// PluginError naming the plugin, and every graph it returns is checked before anyone sees it.
//
//   PluginManager plugins;
//   auto pass = plugins.createPass("quantize");
//   QVariantMap p = resolveParams(plugins.find("quantize")->params, {{"bits", 8}}, "plugin 'quantize'");
//   std::vector<Candidate> out = runPass(*pass, "quantize", baseline, p, ctx);
//   // out[i].plugin == "quantize", out[i].params == p, out[i].parentId == baseline.id
//
// A returned candidate is accepted when it has at least one graph (exactly one for policy "plain"),
// every graph passes Graph::validate() and a Session can prepare it with the input candidate's input
// shapes (free dimensions = 1). Otherwise the whole step fails with
//   "plugin 'NAME': returned an invalid graph (candidate 0 'int8', graph 0): <reason>".
// Cancellation (PassContext::throwIfCancelled) passes through as Cancelled.

#include "plugin/candidate.h"
#include "plugin/parameter.h"
#include "plugin/pass.h"

#include <QString>
#include <QVariantMap>

#include <vector>

namespace joule::plugin {

std::vector<Candidate> runPass(Pass& pass, const QString& pluginName, const Candidate& input,
                               const QVariantMap& params, PassContext& ctx);

// Empty when `graph` is usable (validates, and a Session prepares it with `reference`'s input shapes);
// else why not.
QString graphProblem(const Graph& graph, const Graph& reference);

} // namespace joule::plugin
