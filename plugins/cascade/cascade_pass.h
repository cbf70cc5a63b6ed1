#pragma once
// The cascade plugin's pass: stages named by the recipe's models (each the latest candidate an earlier
// step made of that model), scored on the validation set, thresholds tuned there with
// adaptive::tune, and one candidate returned whose graphs are the stages and whose policy says when
// each may answer. The test set is never seen here.

#include "plugin/pass.h"

namespace joule::plugins {

class CascadePass final : public plugin::Pass {
public:
    std::vector<plugin::Candidate> run(const plugin::Candidate& input, const QVariantMap& params,
                                       plugin::PassContext& ctx) override;
    bool combinesCandidates() const override { return true; }
};

} // namespace joule::plugins
