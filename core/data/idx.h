#pragma once
// IDX files, the format of MNIST and Fashion-MNIST (plain or gzip-compressed).
//
//   joule::Tensor images = joule::data::readIdx("t10k-images-idx3-ubyte.gz");  // uint8 [10000,28,28]
//   joule::Tensor labels = joule::data::readIdx("t10k-labels-idx1-ubyte.gz");  // uint8 [10000]
//
// Layout: magic 00 00 TT NN (TT = element type, NN = number of dimensions; 0x00000803 is a stack
// of images, 0x00000801 a label vector), NN big-endian uint32 dimensions, then the elements,
// big-endian. Element types: 08 uint8, 09 int8, 0B int16, 0C int32, 0D float32, 0E float64.
// Compression is recognised by content (gzip magic 1f 8b), not by the file name.
// Errors (DataError): "FILE: not an IDX file (magic 0x...)", "FILE: truncated gzip stream",
// "FILE: IDX size mismatch: ...". The returned tensor owns its bytes.

#include "data/data_error.h"
#include "ir/tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace joule::data {

Tensor readIdx(const std::string& path);

// Decodes IDX bytes already in memory (uncompressed); `name` starts every error message.
Tensor parseIdx(const std::vector<uint8_t>& bytes, const std::string& name);

// The magic number that describes `t` (e.g. 0x00000803 for uint8 [N,H,W]); 0 if IDX cannot hold it.
uint32_t idxMagicFor(const Tensor& t);

} // namespace joule::data
