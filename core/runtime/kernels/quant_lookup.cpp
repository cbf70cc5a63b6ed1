// The byte-table loop of QLookup / QLinearLeakyRelu / QLinearSigmoid / QLinearConcat (quant_lookup.h),
// with an AVX-512 VBMI version (quant_lookup_avx512.cpp) chosen at run time.
#include "runtime/kernels/quant_lookup.h"

#include <cstdlib>
#include <cstring>

namespace joule::rt {

#if defined(__x86_64__) || defined(_M_X64)
void lookupBytesAvx512Vbmi(const uint8_t* src, uint8_t* dst, int64_t n, const uint8_t* table, uint8_t flip);
#endif

namespace {

bool vbmiUsable()
{
    static const bool ok = [] {
        const char* want = std::getenv("JOULE_INT_ISA");
        if (want && (std::strcmp(want, "avx2") == 0 || std::strcmp(want, "portable") == 0)) return false;
#if defined(__x86_64__) || defined(_M_X64)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi");
#else
        return false;
#endif
    }();
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
