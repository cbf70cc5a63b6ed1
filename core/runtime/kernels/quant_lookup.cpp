// The byte-table loop of QLookup / QLinearLeakyRelu / QLinearSigmoid / QLinearConcat (quant_lookup.h),
// with an AVX-512 VBMI version (quant_lookup_avx512.cpp) chosen at run time.
#include "runtime/kernels/quant_lookup.h"
#include "runtime/cpu_isa.h"

#include <cstdlib>
#include <cstring>

namespace joule::rt {

#if defined(__x86_64__) || defined(_M_X64)
void lookupBytesAvx512Vbmi(const uint8_t* src, uint8_t* dst, int64_t n, const uint8_t* table, uint8_t flip);
#endif

namespace {

bool vbmiUsable()
{
    static const bool ok = isaAllowed(Isa::Avx512, "JOULE_INT_ISA") && cpuHas(CpuFeature::Avx512Vbmi);
    return ok;
}

void lookupBytesScalar(const uint8_t* __restrict src, uint8_t* __restrict dst, int64_t n, const uint8_t* __restrict table, uint8_t flip)
{
    for (int64_t i = 0; i < n; ++i) dst[i] = table[static_cast<uint8_t>(src[i] ^ flip)];
}

} // namespace

void lookupBytes(const uint8_t* src, uint8_t* dst, int64_t n, const uint8_t* table, uint8_t flip)
{
#if defined(__x86_64__) || defined(_M_X64)
    if (n >= 64 && vbmiUsable()) {
        lookupBytesAvx512Vbmi(src, dst, n, table, flip);
        return;
    }
#endif
    lookupBytesScalar(src, dst, n, table, flip);
}

} // namespace joule::rt
