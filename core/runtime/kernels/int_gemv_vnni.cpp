// intgemv (int_gemv_vnni.h): compiled with AVX-512 F/BW/VNNI and called only on CPUs that have them.
#include "runtime/kernels/int_gemv_vnni.h"

#include "runtime/kernel.h"

#if defined(__x86_64__) || defined(_M_X64)
#include "runtime/kernels/vnni_dot.h"

#include <immintrin.h>
#endif

#include <algorithm>
#include <cstring>

namespace joule::rt::intgemv {

PackedB pack(const int8_t* b, bool transB, int64_t K, int64_t N)
{
    PackedB p;
    p.K = K;
    p.N = N;
    p.k4 = (K + 3) / 4;
    p.blocks = (N + 15) / 16;
    p.data.assign(static_cast<size_t>(p.blocks * p.k4 * 16), 0);
    p.colSums.assign(static_cast<size_t>(N), 0);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
            const int8_t v = transB ? b[n * K + k] : b[k * N + n];
            p.colSums[static_cast<size_t>(n)] += v;
            auto* dword = reinterpret_cast<int8_t*>(&p.data[static_cast<size_t>(((n / 16) * p.k4 + k / 4) * 16 + n % 16)]);
            dword[k % 4] = v;
        }
    return p;
}

#if defined(__x86_64__) || defined(_M_X64)

namespace {

// Column blocks nb0..nb1 of every row: four blocks at a time share each broadcast of A's dword.
void blocks(const PackedB& b, const int32_t* a4, int64_t M, int64_t k4, int32_t* acc, int64_t nb0, int64_t nb1)
{
    const int64_t N = b.N;
    for (int64_t m = 0; m < M; ++m) {
        const int32_t* am = a4 + m * k4;
        int64_t nb = nb0;
        auto storeBlock = [&](int64_t block, __m512i v) {
            const int64_t n0 = block * 16, left = N - n0;
            _mm512_mask_storeu_epi32(acc + m * N + n0, left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1), v);
        };
        for (; nb + 4 <= nb1; nb += 4) {
            const int32_t* w = b.data.data() + nb * k4 * 16;
            const int64_t stride = k4 * 16;
            __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0;
            for (int64_t k = 0; k < k4; ++k, w += 16) {
                const __m512i x = _mm512_set1_epi32(am[k]);
                c0 = dpbusd(c0, x, _mm512_loadu_si512(w));
                c1 = dpbusd(c1, x, _mm512_loadu_si512(w + stride));
                c2 = dpbusd(c2, x, _mm512_loadu_si512(w + 2 * stride));
                c3 = dpbusd(c3, x, _mm512_loadu_si512(w + 3 * stride));
            }
            storeBlock(nb, c0);
            storeBlock(nb + 1, c1);
            storeBlock(nb + 2, c2);
            storeBlock(nb + 3, c3);
        }
        for (; nb < nb1; ++nb) {
            const int32_t* w = b.data.data() + nb * k4 * 16;
            __m512i c = _mm512_setzero_si512();
            for (int64_t k = 0; k < k4; ++k, w += 16) c = dpbusd(c, _mm512_set1_epi32(am[k]), _mm512_loadu_si512(w));
            storeBlock(nb, c);
        }
    }
}

} // namespace

void run(const PackedB& b, const uint8_t* a, int64_t M, uint8_t aFlip, int32_t* a4, int32_t* acc, int threads)
{
    // A's rows as dwords of 4 uint8 codes, zeros past K (which meet zero weights).
    const int64_t K = b.K, k4 = b.k4;
    for (int64_t m = 0; m < M; ++m) {
        auto* dst = reinterpret_cast<uint8_t*>(a4 + m * k4);
        std::memset(dst, 0, static_cast<size_t>(k4 * 4));
        for (int64_t k = 0; k < K; ++k) dst[k] = static_cast<uint8_t>(a[m * K + k] ^ aFlip);
    }
    const bool parallel = threads > 1 && M * b.N * K >= (int64_t{1} << 18);
    if (parallel)
        parallelFor(threads, b.blocks, 4, [&](int64_t nb0, int64_t nb1) { blocks(b, a4, M, k4, acc, nb0, nb1); });
    else
        blocks(b, a4, M, k4, acc, 0, b.blocks);
}

#else

void run(const PackedB&, const uint8_t*, int64_t, uint8_t, int32_t*, int32_t*, int) {}

#endif

} // namespace joule::rt::intgemv
