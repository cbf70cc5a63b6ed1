#pragma once
// The prune plugin's pass: a thin wrapper over core/prune (prune.h). One candidate out: the pruned
// graph (recovered on the calibration set when asked), with what was removed in its notes.

#include "plugin/pass.h"

namespace joule::plugins {

class PrunePass final : public plugin::Pass {
public:
    std::vector<plugin::Candidate> run(const plugin::Candidate& input, const QVariantMap& params, plugin::PassContext& ctx) override;
};

} // namespace joule::plugins
