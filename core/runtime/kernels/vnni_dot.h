#pragma once
// vpdpbusd for the AVX-512 VNNI int8 kernels (include only from files compiled with -mavx512vnni,
// and call only on CPUs that have it).
//
// acc + the sums of 4 u8 x s8 products per int32 lane. GCC 12 compiles the intrinsic
// _mm512_dpbusd_epi32 with a register copy before and after every instruction in a loop of several
// accumulators (and spills them); tying the accumulator to the destination in inline asm does not.

#include <immintrin.h>

namespace joule::rt {

inline __m512i dpbusd(__m512i acc, __m512i u8, __m512i s8)
{
#if defined(__GNUC__) && !defined(__clang__)
    asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "v"(s8));
    return acc;
#else
    return _mm512_dpbusd_epi32(acc, u8, s8);
#endif
}

} // namespace joule::rt
