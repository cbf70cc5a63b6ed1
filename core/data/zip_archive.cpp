#include "data/zip_archive.h"

#include "data/data_error.h"
#include "data/file_bytes.h"

#include <zlib.h>

#include <algorithm>

namespace joule::data {

namespace {

constexpr uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr uint32_t kZip64EndLocator = 0x07064b50;
constexpr uint32_t kZip64End = 0x06064b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;

// Bounds-checked little-endian reads over the archive's bytes.
class Reader {
public:
    Reader(const std::vector<uint8_t>& bytes, const std::string& path) : bytes_(bytes), path_(path) {}

    uint64_t u16(uint64_t at) const { return read(at, 2); }
    uint64_t u32(uint64_t at) const { return read(at, 4); }
    uint64_t u64(uint64_t at) const { return read(at, 8); }
    void require(uint64_t at, uint64_t size, const std::string& what) const
    {
        if (at > bytes_.size() || size > bytes_.size() - at)
            throw DataError(path_ + ": zip archive is truncated or corrupt (" + what + " lies beyond the end of the file)");
    }
    const uint8_t* at(uint64_t offset) const { return bytes_.data() + offset; }
    size_t size() const { return bytes_.size(); }

private:
    uint64_t read(uint64_t at, int n) const
    {
        require(at, static_cast<uint64_t>(n), "a record");
        uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i) v = (v << 8) | bytes_[at + static_cast<uint64_t>(i)];
        return v;
    }
    const std::vector<uint8_t>& bytes_;
    const std::string& path_;
};

struct CentralDirectory {
    uint64_t entries = 0;
    uint64_t offset = 0;
};

CentralDirectory findCentralDirectory(const Reader& r, const std::string& path)
{
    if (r.size() < 22) throw DataError(path + ": not a zip archive (file too short)");
    const uint64_t last = r.size() - 22;
    const uint64_t first = last > 0xFFFF ? last - 0xFFFF : 0;   // the comment is at most 64 KiB
    for (uint64_t pos = last + 1; pos-- > first;) {
        if (r.u32(pos) != kEndOfCentralDirectory) continue;
        CentralDirectory cd{r.u16(pos + 10), r.u32(pos + 16)};
        if ((cd.entries == 0xFFFF || cd.offset == 0xFFFFFFFF) && pos >= 20 && r.u32(pos - 20) == kZip64EndLocator) {
            const uint64_t z64 = r.u64(pos - 20 + 8);
            if (r.u32(z64) != kZip64End) throw DataError(path + ": zip archive is corrupt (bad zip64 end record)");
            cd.entries = r.u64(z64 + 32);
            cd.offset = r.u64(z64 + 48);
        }
        return cd;
    }
    throw DataError(path + ": not a zip archive (no end-of-central-directory record)");
}

struct Entry {
    std::string name;
    uint64_t method = 0, flags = 0, crc = 0, compressedSize = 0, size = 0, localOffset = 0;
};

// Replaces 0xFFFFFFFF sizes / offset by the values of the zip64 extra field (tag 0x0001).
void applyZip64Extra(const Reader& r, uint64_t extra, uint64_t extraLength, Entry& e)
{
    uint64_t pos = extra;
    while (pos + 4 <= extra + extraLength) {
        const uint64_t tag = r.u16(pos), length = r.u16(pos + 2);
        uint64_t field = pos + 4;
        if (tag == 0x0001) {
            if (e.size == 0xFFFFFFFF) { e.size = r.u64(field); field += 8; }
            if (e.compressedSize == 0xFFFFFFFF) { e.compressedSize = r.u64(field); field += 8; }
            if (e.localOffset == 0xFFFFFFFF) { e.localOffset = r.u64(field); }
        }
        pos += 4 + length;
    }
}

std::vector<uint8_t> extract(const Reader& r, const Entry& e, const std::string& path)
{
    const std::string member = path + ": member '" + e.name + "'";
    if (e.flags & 1) throw DataError(member + " is encrypted; encrypted archives are not supported");
    if (r.u32(e.localOffset) != kLocalHeader) throw DataError(member + ": bad local header (corrupt archive)");
    const uint64_t dataStart = e.localOffset + 30 + r.u16(e.localOffset + 26) + r.u16(e.localOffset + 28);
    r.require(dataStart, e.compressedSize, "member '" + e.name + "'");
    std::vector<uint8_t> out;
    if (e.method == 0) {
        if (e.compressedSize != e.size) throw DataError(member + ": stored member has inconsistent sizes");
        out.assign(r.at(dataStart), r.at(dataStart) + e.size);
    } else if (e.method == 8) {
        out = inflateRaw(r.at(dataStart), e.compressedSize, e.size, member);
    } else {
        throw DataError(member + " uses compression method " + std::to_string(e.method) +
                        "; only stored (0) and deflated (8) members are supported");
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    for (uint64_t done = 0; done < out.size();) {
        const uInt n = static_cast<uInt>(std::min<uint64_t>(out.size() - done, 1u << 30));
        crc = crc32(crc, out.data() + done, n);
        done += n;
    }
    if (crc != e.crc) throw DataError(member + " is corrupt (CRC-32 mismatch)");
    return out;
}

} // namespace

std::vector<ZipMember> readZipArchive(const std::string& path)
{
    const std::vector<uint8_t> bytes = readFileBytes(path);
    const Reader r(bytes, path);
    const CentralDirectory cd = findCentralDirectory(r, path);
    std::vector<ZipMember> members;
    uint64_t pos = cd.offset;
    for (uint64_t i = 0; i < cd.entries; ++i) {
        if (r.u32(pos) != kCentralHeader)
            throw DataError(path + ": zip archive is corrupt (central directory entry " + std::to_string(i) + ")");
        Entry e;
        e.flags = r.u16(pos + 8);
        e.method = r.u16(pos + 10);
        e.crc = r.u32(pos + 16);
        e.compressedSize = r.u32(pos + 20);
        e.size = r.u32(pos + 24);
        const uint64_t nameLength = r.u16(pos + 28), extraLength = r.u16(pos + 30), commentLength = r.u16(pos + 32);
        e.localOffset = r.u32(pos + 42);
        r.require(pos + 46, nameLength + extraLength, "central directory entry");
        e.name.assign(reinterpret_cast<const char*>(r.at(pos + 46)), nameLength);
        applyZip64Extra(r, pos + 46 + nameLength, extraLength, e);
        pos += 46 + nameLength + extraLength + commentLength;
        if (!e.name.empty() && e.name.back() == '/') continue;
        members.push_back({e.name, extract(r, e, path)});
    }
    return members;
}

} // namespace joule::data
