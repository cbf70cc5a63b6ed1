// eval::scoreRow on the portable score code of export/c_kernels/score.c, which the C export emits into
// every adaptive model.c (the two
// must give the same bits; this file is compiled with -ffp-contract=off, see CMakeLists.txt).
#include "eval/evaluator.h"

#include <stdint.h>
#include <string.h>

namespace joule::eval {

namespace {
namespace portable {
#include "export/c_kernels/rne.c"
#include "export/c_kernels/score.c"
}
} // namespace

void scoreRow(const float* scores, int64_t classes, InputRecord& r, std::vector<float>& prob)
{
    prob.resize(static_cast<size_t>(classes));
    const portable::jk_score s = portable::jk_score_row(scores, static_cast<int32_t>(classes), prob.data());
    r.prediction = s.prediction;
    r.top1Probability = s.top1;
    r.margin = s.margin;
    r.entropy = s.entropy;
    r.correct = s.prediction == r.label;
}

} // namespace joule::eval
