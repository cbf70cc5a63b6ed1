#pragma once
// The quantize plugin's pass: a thin wrapper that maps the manifest's parameters (quantize.json)
// onto core/quant's pipeline (quant/pipeline.h) and turns its result into candidates.
//
// Input: a plain candidate with one fp32 graph. Needs calibration images; with mixed_precision also
// validation images (and uses the target for energy when the context has one). Output: one QDQ
// candidate, or up to max_candidates configurations of the mixed-precision Pareto front.

#include "plugin/pass.h"

namespace joule::plugins {

class QuantizePass final : public plugin::Pass {
public:
    std::vector<plugin::Candidate> run(const plugin::Candidate& input, const QVariantMap& params,
                                       plugin::PassContext& ctx) override;
};

} // namespace joule::plugins
