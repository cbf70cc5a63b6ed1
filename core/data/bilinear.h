#pragma once
// Bilinear resizing of interleaved (HWC) uint8 images with half-pixel centres (as PyTorch's
// interpolate(mode='bilinear', align_corners=False) and OpenCV's INTER_LINEAR, without antialiasing).

#include <cstdint>

namespace joule::data {

// dst: dstHeight * dstWidth * channels floats (unrounded).
void resizeBilinear(const uint8_t* src, int height, int width, int channels, int dstHeight, int dstWidth, float* dst);
// dst: dstHeight * dstWidth * channels bytes (rounded to nearest).
void resizeBilinear(const uint8_t* src, int height, int width, int channels, int dstHeight, int dstWidth, uint8_t* dst);

} // namespace joule::data
