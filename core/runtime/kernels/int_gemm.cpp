// Portable integer micro-kernels and the run-time choice between them and the AVX2 ones
// (int_gemm_avx2.cpp). See int_gemm.h.
#include "runtime/kernels/int_gemm.h"
#include "runtime/cpu_isa.h"

#include <cstdlib>
#include <cstring>

namespace joule::rt::intgemm {

#if defined(__x86_64__) || defined(_M_X64)
int32_t dotAvx2(const int16_t* a, const int16_t* b, int64_t kp);
void tile4x2Avx2(const int16_t* a, int64_t lda, const int16_t* b, int64_t ldb, int64_t kp, int32_t* out);
#endif

namespace {

int32_t dotPortable(const int16_t* a, const int16_t* b, int64_t kp)
{
    int32_t s = 0;
    for (int64_t i = 0; i < kp; ++i) s += static_cast<int32_t>(a[i]) * static_cast<int32_t>(b[i]);
    return s;
}

void tile4x2Portable(const int16_t* a, int64_t lda, const int16_t* b, int64_t ldb, int64_t kp, int32_t* out)
{
    for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 2; ++c) out[r * 2 + c] = dotPortable(a + r * lda, b + c * ldb, kp);
}

const IntKernels kPortable{"portable", dotPortable, tile4x2Portable};
#if defined(__x86_64__) || defined(_M_X64)
const IntKernels kAvx2{"avx2", dotAvx2, tile4x2Avx2};
#endif

} // namespace

const IntKernels& portableIntKernels() { return kPortable; }

const IntKernels& intKernels()
{
    static const IntKernels& best = []() -> const IntKernels& {
        // JOULE_INT_ISA=portable forces the portable micro-kernels (tests, comparisons).
#if defined(__x86_64__) || defined(_M_X64)
        if (isaAllowed(Isa::Avx2, "JOULE_INT_ISA") && cpuHas(CpuFeature::Avx2Fma)) return kAvx2;
#endif
        return kPortable;
    }();
    return best;
}

} // namespace joule::rt::intgemm
