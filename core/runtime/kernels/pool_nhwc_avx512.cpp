// MaxPoolNhwc's AVX-512 loop (pool_nhwc.cpp): compiled with -mavx512f and called only on CPUs that
// have it. oneDNN 2.6's jit pooling took 100 us for SqueezeNet's first pool (64 channels, 111 -> 55,
// 3 x 3 stride 2) on two threads; this loop keeps 64 channels of an output position in four
// registers while it reads the window's rows.
#include "runtime/kernel.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <limits>

namespace joule::rt {

void maxPoolNhwcAvx512(const float* x, float* y, const int64_t in[4], const int64_t out[2], const int64_t kernel[2],
                       const int64_t stride[2], const int64_t padBegin[2], int threads)
{
    const int64_t N = in[0], H = in[1], W = in[2], C = in[3], OH = out[0], OW = out[1];
    const __m512 lowest = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    const int64_t full = C / 64 * 64;
    const __mmask16 tail = static_cast<__mmask16>((1u << (C % 16)) - 1);
    auto rows = [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const int64_t n = r / OH, oh = r % OH, ih0 = oh * stride[0] - padBegin[0];
            const int64_t kh0 = std::max<int64_t>(0, -ih0), kh1 = std::min<int64_t>(kernel[0], H - ih0);
            for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t iw0 = ow * stride[1] - padBegin[1];
                const int64_t kw0 = std::max<int64_t>(0, -iw0), kw1 = std::min<int64_t>(kernel[1], W - iw0);
                float* yo = y + ((n * OH + oh) * OW + ow) * C;
                auto at = [&](int64_t kh, int64_t kw) { return x + ((n * H + ih0 + kh) * W + iw0 + kw) * C; };
                int64_t c = 0;
                for (; c < full; c += 64) {
                    __m512 m0 = lowest, m1 = lowest, m2 = lowest, m3 = lowest;
                    for (int64_t kh = kh0; kh < kh1; ++kh)
                        for (int64_t kw = kw0; kw < kw1; ++kw) {
                            const float* p = at(kh, kw) + c;
                            m0 = _mm512_max_ps(m0, _mm512_loadu_ps(p));
                            m1 = _mm512_max_ps(m1, _mm512_loadu_ps(p + 16));
                            m2 = _mm512_max_ps(m2, _mm512_loadu_ps(p + 32));
                            m3 = _mm512_max_ps(m3, _mm512_loadu_ps(p + 48));
                        }
                    _mm512_storeu_ps(yo + c, m0);
                    _mm512_storeu_ps(yo + c + 16, m1);
                    _mm512_storeu_ps(yo + c + 32, m2);
                    _mm512_storeu_ps(yo + c + 48, m3);
                }
                for (; c < C; c += 16) {
                    const __mmask16 k = C - c >= 16 ? static_cast<__mmask16>(0xFFFF) : tail;
                    __m512 m = lowest;
                    for (int64_t kh = kh0; kh < kh1; ++kh)
                        for (int64_t kw = kw0; kw < kw1; ++kw) m = _mm512_max_ps(m, _mm512_maskz_loadu_ps(k, at(kh, kw) + c));
                    _mm512_mask_storeu_ps(yo + c, k, m);
                }
            }
        }
    };
    const bool parallel = threads > 1 && N * OH * OW * C * kernel[0] * kernel[1] >= (int64_t{1} << 16);
    if (parallel) parallelFor(threads, N * OH, 1, rows);
    else rows(0, N * OH);
}

} // namespace joule::rt
