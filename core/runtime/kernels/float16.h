#pragma once
// A float16 element type for kernels that template on their element type. The conversions are the
// IR's: joule::halfToFloat (exact) and joule::floatToHalf (round to nearest even), in ir/tensor.h.
//
//   Half h{floatToHalf(0.1f)};          // 0x2e66
//   float f = halfToFloat(h.bits);

#include "ir/tensor.h"

#include <cstdint>

namespace joule::rt {

// A float16 element (IEEE binary16 bits).
struct Half {
    uint16_t bits;
};

} // namespace joule::rt
