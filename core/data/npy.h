#pragma once
// NumPy .npy / .npz files: how tensors travel on the command line and between Joule and Python.
//
//   joule::Tensor x = joule::data::readNpy("input.npy");          // float32 [1,1,28,28], say
//   joule::data::writeNpy("out/logits.npy", logits);               // temp file + rename
//   auto arrays = joule::data::readNpz("calib.npz");               // {"x": ..., "y": ...}
//
// Supported: format versions 1, 2 and 3; little-endian, C-order arrays of float32, float64, float16,
// int8, uint8, int16, uint16, int32, uint32, int64, uint64 and bool. Anything else (Fortran order,
// big-endian data, Python objects, structured or string dtypes, truncated data) is a DataError that
// names the file and the header field, e.g.
//   "x.npy: header field 'fortran_order' is True; only C order is supported".
// Tensors returned own their bytes. Bool elements are normalised to 0 / 1.

#include "data/data_error.h"
#include "ir/tensor.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace joule::data {

Tensor readNpy(const std::string& path);

// Writes a version 1.0 file (2.0 if the header would exceed 64 KiB) atomically: a temporary file
// next to `path` is renamed over it once complete. int4 / uint4 / undefined tensors are rejected.
void writeNpy(const std::string& path, const Tensor& tensor);

// Members of an .npz archive (a zip of .npy files, stored or deflated, zip64 allowed), keyed by
// member name without the ".npy" suffix. Errors name the archive and the member.
std::map<std::string, Tensor> readNpz(const std::string& path);

// The same, from bytes already in memory; `name` starts every error message (a path, or
// "a.npz: member 'x.npy'").
Tensor parseNpy(const uint8_t* bytes, size_t size, const std::string& name);
std::vector<uint8_t> encodeNpy(const Tensor& tensor, const std::string& name);

} // namespace joule::data
