#pragma once
// The error every core/quant function throws for bad input: a graph it cannot quantize, a missing
// activation range, an option out of range. The message names the node, tensor or option at fault.

#include <stdexcept>

namespace joule::quant {

class QuantError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace joule::quant
