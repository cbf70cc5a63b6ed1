// Test helpers compiled with AVX-512 flags (tests/kernels/CMakeLists.txt): VecRequant::apply and
// FastRequant::apply over 16 lanes, with nothing else in this file, so that no AVX-512 code reaches
// the test's own functions.
#include "runtime/kernels/requant_avx512.h"

namespace joule::rt::test {

void requantLanesAvx512(const int32_t* acc, int32_t* out, int32_t multiplier, int shift, int32_t zeroPoint, QuantClamp clamp)
{
    const VecRequant rq(multiplier, shift, zeroPoint, clamp);
    _mm512_storeu_si512(out, rq.apply(_mm512_loadu_si512(acc)));
}

void fastRequantLanesAvx512(const int32_t* acc, int32_t* out, int32_t multiplier, int shift, int32_t zeroPoint, QuantClamp clamp)
{
    const FastRequant rq(zeroPoint, clamp);
    _mm512_storeu_si512(out, rq.apply(_mm512_loadu_si512(acc), _mm512_set1_pd(FastRequant::scaleOf(multiplier, shift))));
}

bool fastRequantExact(int64_t accMin, int64_t accMax, int32_t multiplier, int shift)
{
    return FastRequant::exact(accMin, accMax, FastRequant::scaleOf(multiplier, shift));
}

} // namespace joule::rt::test
