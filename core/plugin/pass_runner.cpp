#include "plugin/pass_runner.h"

#include "cost/layer_stats.h"
#include "runtime/session.h"

namespace joule::plugin {

QString graphProblem(const Graph& graph, const Graph& reference)
{
    try {
        graph.validate();
        std::map<std::string, Shape> shapes;
        for (const ValueInfo& in : reference.requiredInputs()) shapes[in.name] = in.shape;
        rt::Session session(graph);
        session.prepare(cost::placeholderInputs(graph, shapes));
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

std::vector<Candidate> runPass(Pass& pass, const QString& pluginName, const Candidate& input,
                               const QVariantMap& params, PassContext& ctx)
{
    const QString who = "plugin '" + pluginName + "'";
    const Candidate copy = input;   // the pass never sees the caller's candidate
    std::vector<Candidate> out;
    try {
        out = pass.run(copy, params, ctx);
    } catch (const Cancelled&) {
        throw;
    } catch (const std::exception& e) {
        throw PluginError(who + ": " + QString::fromStdString(e.what()));
    } catch (...) {
        throw PluginError(who + ": threw an unknown exception");
    }
    ctx.throwIfCancelled();
    if (out.empty()) throw PluginError(who + ": returned no candidates");
    if (input.graphs.empty()) throw PluginError(who + ": the input candidate has no graph");

    for (size_t i = 0; i < out.size(); ++i) {
        Candidate& c = out[i];
        const QString which = "candidate " + QString::number(i) + (c.label.isEmpty() ? "" : " '" + c.label + "'");
        if (c.graphs.empty()) throw PluginError(who + ": returned a candidate without graphs (" + which + ")");
        const QString kind = c.policy.value("kind").toString();
        if (kind.isEmpty()) throw PluginError(who + ": " + which + ": policy has no 'kind'");
        if (kind == "plain" && c.graphs.size() != 1)
            throw PluginError(who + ": " + which + ": a plain candidate needs exactly one graph, got " + QString::number(c.graphs.size()));
        for (size_t g = 0; g < c.graphs.size(); ++g) {
            const QString problem = graphProblem(c.graphs[g], input.graphs.front());
            if (!problem.isEmpty())
                throw PluginError(who + ": returned an invalid graph (" + which + ", graph " + QString::number(g) + "): " + problem);
        }
        c.plugin = pluginName;
        c.params = params;
        c.parentId = input.id;
        c.root = input.root;
    }
    return out;
}

} // namespace joule::plugin
