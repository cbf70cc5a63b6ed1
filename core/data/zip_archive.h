#pragma once
// Reads every member of a zip archive into memory (what .npz files are). Handles stored and
// deflated members and zip64 records; checks each member's CRC-32. Errors are DataErrors naming
// the archive and, where it applies, the member.
//
//   for (const auto& m : joule::data::readZipArchive("arrays.npz")) use(m.name, m.bytes);

#include <cstdint>
#include <string>
#include <vector>

namespace joule::data {

struct ZipMember {
    std::string name;            // as stored, e.g. "x.npy"
    std::vector<uint8_t> bytes;  // uncompressed contents
};

// Members in central-directory order; directory entries are skipped.
std::vector<ZipMember> readZipArchive(const std::string& path);

} // namespace joule::data
