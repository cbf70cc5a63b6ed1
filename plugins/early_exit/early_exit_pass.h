#pragma once
// The early_exit plugin's pass: exit heads trained on the frozen model's pooled features (the
// calibration set is the training split), the model cut into segments at the exits, thresholds tuned
// on the validation set with adaptive::tune, and exits that do not lower the expected energy there
// dropped. One candidate: graphs are the segments, the policy says when each exit may answer.

#include "plugin/pass.h"

namespace joule::plugins {

class EarlyExitPass final : public plugin::Pass {
public:
    std::vector<plugin::Candidate> run(const plugin::Candidate& input, const QVariantMap& params,
                                       plugin::PassContext& ctx) override;
};

} // namespace joule::plugins
