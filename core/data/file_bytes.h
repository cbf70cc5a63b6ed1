#pragma once
// Whole-file reads and atomic whole-file writes for the data layer, plus gzip / raw-deflate
// decompression (zlib). Every failure is a DataError whose message starts with `name` (usually
// the path).
//
//   std::vector<uint8_t> bytes = joule::data::readFileBytes("t10k-labels-idx1-ubyte.gz");
//   if (joule::data::isGzip(bytes)) bytes = joule::data::gunzip(bytes, "t10k-labels-idx1-ubyte.gz");

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace joule::data {

// The file's bytes. Errors: "PATH: no such file", "PATH: is a directory", "PATH: cannot read (...)".
std::vector<uint8_t> readFileBytes(const std::string& path);

// Writes `size` bytes to a temporary file next to `path`, then renames it over `path`; on any
// failure `path` is left untouched and no temporary file remains.
void writeFileAtomically(const std::string& path, const void* data, size_t size);

// True when the bytes start with the gzip magic 1f 8b (content, not the file name, decides).
bool isGzip(const std::vector<uint8_t>& bytes);

// The most one decompressed file may hold (4 GiB): a few kilobytes of gzip can claim terabytes.
inline constexpr size_t kMaxInflatedBytes = size_t(4) << 30;

// Decompresses a gzip stream (one or more concatenated members). A stream that ends early is
// "NAME: truncated gzip stream"; corrupt data is "NAME: corrupt gzip stream (zlib message)"; output
// over `limit` bytes is "NAME: gzip data expands to more than LIMIT bytes, ...".
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& bytes, const std::string& name, size_t limit = kMaxInflatedBytes);

// Decompresses raw deflate data (no header, as in zip members) that must expand to exactly
// `expectedSize` bytes (at most `limit`); data that would expand further is an error.
std::vector<uint8_t> inflateRaw(const uint8_t* data, size_t size, size_t expectedSize, const std::string& name,
                                size_t limit = kMaxInflatedBytes);

} // namespace joule::data
