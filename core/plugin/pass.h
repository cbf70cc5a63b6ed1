#pragma once
// What a plugin does: a Pass turns one candidate into one or more new candidates, with a
// PassContext that gives it data, the evaluator, the cost model, progress and cancellation.
//
//   class MyPass : public joule::plugin::Pass {
//       std::vector<Candidate> run(const Candidate& in, const QVariantMap& params, PassContext& ctx) override {
//           Candidate out = in;                                 // graphs are values: this is a copy
//           for (int64_t i = 0; i < ctx.calibration()->size(); i += 64) { ctx.throwIfCancelled(); ... }
//           ctx.progress(0.5, "calibrating");
//           out.label = "my change";
//           out.notes["accuracy_validation"] = ctx.evaluate(out.graphs[0], *ctx.validation(), 1000).accuracy;
//           return {out};
//       }
//   };
//
// `params` are already resolved against the manifest (every declared key present, types checked).
// A pass reports failure by throwing (any std::exception); the runner names the plugin. It must not
// modify anything the context points to. The context is used from the thread that called run().

#include "plugin/candidate.h"

#include "cost/estimator.h"
#include "cost/target_profile.h"
#include "data/dataset.h"
#include "eval/evaluator.h"

#include <QString>
#include <QVariantMap>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

namespace joule::plugin {

// Thrown by PassContext::throwIfCancelled() and by evaluate() when cancelled: the evaluator's type.
using Cancelled = eval::Cancelled;

class PassContext {
public:
    // Everything is optional: a pass that needs calibration data or a target and gets none throws.
    // Pointers are not owned and must outlive the context.
    struct Setup {
        const data::LabeledImages* calibration = nullptr;
        const data::LabeledImages* validation = nullptr;
        data::Preprocessing preprocessing{};
        const cost::TargetProfile* target = nullptr;
        const std::atomic<bool>* cancel = nullptr;                       // set by the caller to stop
        std::function<void(double, const QString&)> progress{};          // fraction in [0,1], message
        int evalWorkers = 2;
        const std::vector<Candidate>* pool = nullptr;   // the step's candidates (combining passes)
    };

    PassContext() = default;
    explicit PassContext(Setup setup) : setup_(std::move(setup)) {}

    const data::LabeledImages* calibration() const { return setup_.calibration; }
    const data::LabeledImages* validation() const { return setup_.validation; }
    const data::Preprocessing& preprocessing() const { return setup_.preprocessing; }
    const cost::TargetProfile* target() const { return setup_.target; }
    // Every candidate the step runs on: the recipe's models and what earlier steps made of them.
    const std::vector<Candidate>& pool() const;
    // The latest candidate of the pool derived from recipe model `root` ("model" or a name of the
    // recipe's "models"); PluginError naming the known roots when there is none.
    const Candidate& candidateOf(const QString& root) const;
    // A stage written ROOT (the latest candidate of that root) or ROOT:N / ROOT:first / ROOT:last (the
    // N-th, counted from 0, of the candidates the pool holds of ROOT, in the order the step made them:
    // e.g. two precisions of one model from a mixed-precision quantize step).
    const Candidate& candidateFor(const QString& stage) const;
    int evalWorkers() const { return setup_.evalWorkers; }
    const std::atomic<bool>* cancelFlag() const { return setup_.cancel; }

    // Accuracy etc. of `graph` on `data` (first `limit` inputs; -1 = all) with the context's
    // preprocessing; throws Cancelled when cancelled meanwhile.
    eval::EvalResult evaluate(const Graph& graph, const data::LabeledImages& data, int64_t limit = -1);
    // Estimate of `graph` on the context's target at the graph's own precision (QDQ int8 weights count
    // as int8). Throws PluginError when the context has no target.
    cost::ModelEstimate estimate(const Graph& graph);

    void progress(double fraction, const QString& message);
    bool cancelled() const { return setup_.cancel && setup_.cancel->load(); }
    void throwIfCancelled() const { if (cancelled()) throw Cancelled(); }

private:
    Setup setup_;
};

class Pass {
public:
    virtual ~Pass();
    virtual std::vector<Candidate> run(const Candidate& input, const QVariantMap& params, PassContext& ctx) = 0;
    // A pass that combines candidates (a cascade of a little and a big model) runs once per step, on
    // the first candidate, with every candidate of the step in PassContext::pool(); others run once
    // per candidate.
    virtual bool combinesCandidates() const { return false; }
};

} // namespace joule::plugin
