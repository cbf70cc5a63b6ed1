// lookupBytes (quant_lookup.h) with AVX-512 VBMI: 64 codes per step, each looked up in the 256-byte
// table as two 128-byte permutations (vpermi2b) blended on the index's top bit. Compiled with
// -mavx512vbmi; called only when the CPU has it.
#include <immintrin.h>

#include <cstdint>

namespace joule::rt {

void lookupBytesAvx512Vbmi(const uint8_t* src, uint8_t* dst, int64_t n, const uint8_t* table, uint8_t flip)
{
    const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
    const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
    const __m512i f = _mm512_set1_epi8(static_cast<char>(flip));
    const auto one = [&](__m512i x) {
        const __m512i idx = _mm512_xor_si512(x, f);
        const __m512i lo = _mm512_permutex2var_epi8(t0, idx, t1);   // entries 0..127 (index bit 7 ignored)
        const __m512i hi = _mm512_permutex2var_epi8(t2, idx, t3);   // entries 128..255
        return _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi);
    };
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) _mm512_storeu_si512(dst + i, one(_mm512_loadu_si512(src + i)));
    if (i < n) {
        const __mmask64 m = _bzhi_u64(~uint64_t{0}, static_cast<unsigned>(n - i));
        _mm512_mask_storeu_epi8(dst + i, m, one(_mm512_maskz_loadu_epi8(m, src + i)));
    }
}

} // namespace joule::rt
