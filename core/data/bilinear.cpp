#include "data/bilinear.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace joule::data {

namespace {

struct Tap {
    int lo, hi;
    float w;   // weight of hi
};

std::vector<Tap> taps(int src, int dst)
{
    std::vector<Tap> t(static_cast<size_t>(dst));
    const float ratio = static_cast<float>(src) / static_cast<float>(dst);
    for (int i = 0; i < dst; ++i) {
        const float s = std::clamp((static_cast<float>(i) + 0.5f) * ratio - 0.5f, 0.0f, static_cast<float>(src - 1));
        const int lo = static_cast<int>(s);
        t[static_cast<size_t>(i)] = {lo, std::min(lo + 1, src - 1), s - static_cast<float>(lo)};
    }
    return t;
}

template <typename Store>
void resize(const uint8_t* src, int height, int width, int channels, int dstHeight, int dstWidth, Store store)
{
    const std::vector<Tap> ys = taps(height, dstHeight), xs = taps(width, dstWidth);
    const size_t stride = static_cast<size_t>(width) * static_cast<size_t>(channels);
    size_t o = 0;
    for (const Tap& y : ys) {
        const uint8_t* r0 = src + static_cast<size_t>(y.lo) * stride;
        const uint8_t* r1 = src + static_cast<size_t>(y.hi) * stride;
        for (const Tap& x : xs) {
            const size_t a = static_cast<size_t>(x.lo * channels), b = static_cast<size_t>(x.hi * channels);
            for (int c = 0; c < channels; ++c) {
                const float top = r0[a + c] + (static_cast<float>(r0[b + c]) - r0[a + c]) * x.w;
                const float bottom = r1[a + c] + (static_cast<float>(r1[b + c]) - r1[a + c]) * x.w;
                store(o++, top + (bottom - top) * y.w);
            }
        }
    }
}

} // namespace

void resizeBilinear(const uint8_t* src, int height, int width, int channels, int dstHeight, int dstWidth, float* dst)
{
    resize(src, height, width, channels, dstHeight, dstWidth, [dst](size_t i, float v) { dst[i] = v; });
}

void resizeBilinear(const uint8_t* src, int height, int width, int channels, int dstHeight, int dstWidth, uint8_t* dst)
{
    resize(src, height, width, channels, dstHeight, dstWidth, [dst](size_t i, float v) {
        dst[i] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
    });
}

} // namespace joule::data
