#pragma once
// Vectorised float32 math over arrays, for kernels whose cost is a transcendental per element.
//
//   vmath::exp(x, y, n);        // y[i] = e^x[i], i < n; x and y may be the same array
//
// On x86-64 CPUs with AVX2 and FMA (chosen at run time) the functions work 8 lanes at a time with
// polynomial approximations: exp and sigmoid within 2 ulp, tanh within 1e-6 relative, erf within
// 2e-7 absolute (and relative near 0). Elsewhere they fall back to the C library, element by
// element. Not a kernel; listed in list_elementwise.cmake.

#include <cstdint>

namespace joule::rt::vmath {

void exp(const float* x, float* y, int64_t n);
void sigmoid(const float* x, float* y, int64_t n);   // 1 / (1 + e^-x)
void tanh(const float* x, float* y, int64_t n);
void erf(const float* x, float* y, int64_t n);
void sqrt(const float* x, float* y, int64_t n);

} // namespace joule::rt::vmath
