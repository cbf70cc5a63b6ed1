#include "plugin/pass.h"

#include "plugin/parameter.h"

#include <algorithm>

namespace joule::plugin {

Pass::~Pass() = default;

eval::EvalResult PassContext::evaluate(const Graph& graph, const data::LabeledImages& data, int64_t limit)
{
    throwIfCancelled();
    eval::EvalOptions options;
    options.workers = std::max(1, setup_.evalWorkers);
    options.limit = limit;
    options.cancel = setup_.cancel;
    return eval::evaluate(graph, data, setup_.preprocessing, options);
}

cost::ModelEstimate PassContext::estimate(const Graph& graph)
{
    if (!setup_.target) throw PluginError("no target profile: this step needs the recipe's \"target\"");
    return cost::estimateModel(cost::analyzeModel(graph), *setup_.target);
}

const std::vector<Candidate>& PassContext::pool() const
{
    static const std::vector<Candidate> none;
    return setup_.pool ? *setup_.pool : none;
}

const Candidate& PassContext::candidateOf(const QString& root) const
{
    const Candidate* found = nullptr;
    QStringList roots;
    for (const Candidate& c : pool()) {
        if (c.root == root) found = &c;
        if (!roots.contains(c.root)) roots << c.root;
    }
    if (!found)
        throw PluginError("no candidate comes from a model named '" + root + "' (the recipe's models: " + roots.join(", ") +
                          "; name further ones in the recipe's \"models\")");
    return *found;
}

const Candidate& PassContext::candidateFor(const QString& stage) const
{
    const qsizetype colon = stage.indexOf(':');
    if (colon < 0) return candidateOf(stage);
    const QString root = stage.left(colon), which = stage.mid(colon + 1);
    std::vector<const Candidate*> of;
    for (const Candidate& c : pool())
        if (c.root == root) of.push_back(&c);
    if (of.empty()) return candidateOf(root);   // the error naming the known roots
    bool ok = false;
    const qsizetype n = which == "first" ? 0 : which == "last" ? static_cast<qsizetype>(of.size()) - 1 : which.toLongLong(&ok);
    if ((which != "first" && which != "last" && !ok) || n < 0 || n >= static_cast<qsizetype>(of.size()))
        throw PluginError("stage '" + stage + "': the pool holds " + QString::number(of.size()) + " candidates of '" + root +
                          "'; use " + root + ":0 to " + root + ":" + QString::number(of.size() - 1) + ", :first or :last");
    return *of[static_cast<size_t>(n)];
}

void PassContext::progress(double fraction, const QString& message)
{
    if (setup_.progress) setup_.progress(std::clamp(fraction, 0.0, 1.0), message);
}

} // namespace joule::plugin
