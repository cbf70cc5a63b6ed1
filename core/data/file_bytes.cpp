#include "data/file_bytes.h"

#include "data/data_error.h"

#include <QSaveFile>
#include <QString>

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <limits>

namespace joule::data {

std::vector<uint8_t> readFileBytes(const std::string& path)
{
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status)) throw DataError(path + ": no such file");
    if (std::filesystem::is_directory(status)) throw DataError(path + ": is a directory, expected a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw DataError(path + ": cannot read (" + std::strerror(errno) + ")");
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    in.seekg(0, std::ios::beg);
    std::vector<uint8_t> bytes(static_cast<size_t>(std::max<std::streamoff>(size, 0)));
    if (!bytes.empty() && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
        throw DataError(path + ": cannot read (" + std::strerror(errno) + ")");
    return bytes;
}

void writeFileAtomically(const std::string& path, const void* data, size_t size)
{
    QSaveFile file(QString::fromStdString(path));
    if (!file.open(QIODevice::WriteOnly))
        throw DataError(path + ": cannot write (" + file.errorString().toStdString() + ")");
    const auto* p = static_cast<const char*>(data);
    size_t done = 0;
    while (done < size) {
        const qint64 n = file.write(p + done, static_cast<qint64>(size - done));
        if (n <= 0) {
            const std::string reason = file.errorString().toStdString();
            file.cancelWriting();
            throw DataError(path + ": cannot write (" + reason + ")");
        }
        done += static_cast<size_t>(n);
    }
    if (!file.commit()) throw DataError(path + ": cannot write (" + file.errorString().toStdString() + ")");
}

bool isGzip(const std::vector<uint8_t>& bytes)
{
    return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

namespace {

// Inflates from `zs` (already initialised and pointed at the input) until the stream ends or the
// input runs out; appends to `out`. Returns true when the stream ended. Output beyond `limit` bytes
// is an error, found before more than one chunk past the limit is allocated.
bool inflateInto(z_stream& zs, std::vector<uint8_t>& out, size_t limit, const std::string& name, const char* what)
{
    constexpr size_t kChunk = 1 << 16;
    for (;;) {
        const size_t used = out.size();
        if (used > limit)
            throw DataError(name + ": " + what + " data expands to more than " + std::to_string(limit) +
                            " bytes, the limit for one file");
        if (out.capacity() - used < kChunk) out.reserve(std::min(std::max(out.capacity() * 2, used + kChunk), limit + kChunk));
        out.resize(out.capacity());
        const size_t room = std::min<size_t>(out.size() - used, std::numeric_limits<uInt>::max());
        zs.next_out = out.data() + used;
        zs.avail_out = static_cast<uInt>(room);
        const int rc = inflate(&zs, Z_NO_FLUSH);
        out.resize(used + (room - zs.avail_out));
        if (rc == Z_STREAM_END) return true;
        if (rc == Z_BUF_ERROR || (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0)) return false;
        if (rc != Z_OK)
            throw DataError(name + ": corrupt " + what + " stream (" + (zs.msg ? zs.msg : "zlib error " + std::to_string(rc)) + ")");
    }
}

struct InflateGuard {
    z_stream& zs;
    ~InflateGuard() { inflateEnd(&zs); }
};

} // namespace

std::vector<uint8_t> gunzip(const std::vector<uint8_t>& bytes, const std::string& name, size_t limit)
{
    std::vector<uint8_t> out;
    if (bytes.size() >= 18) {
        // ISIZE (uncompressed size mod 2^32) of the last member: a good first guess for one member.
        // Capped by deflate's best ratio (about 1032:1), since a truncated file ends in arbitrary bytes.
        const size_t n = bytes.size();
        const size_t isize = uint32_t(bytes[n - 4]) | uint32_t(bytes[n - 3]) << 8 | uint32_t(bytes[n - 2]) << 16 |
                             uint32_t(bytes[n - 1]) << 24;
        out.reserve(std::min({isize, n * 1032, size_t(1) << 30, limit}));
    }
    z_stream zs{};
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw DataError(name + ": cannot initialise zlib");
    InflateGuard guard{zs};
    size_t offset = 0;
    while (offset < bytes.size()) {
        zs.next_in = const_cast<Bytef*>(bytes.data() + offset);
        zs.avail_in = static_cast<uInt>(std::min<size_t>(bytes.size() - offset, std::numeric_limits<uInt>::max()));
        const size_t before = zs.avail_in;
        const bool ended = inflateInto(zs, out, limit, name, "gzip");
        offset += before - zs.avail_in;
        if (!ended) {
            if (offset < bytes.size()) continue;   // more than 4 GiB of input: feed the next slice
            throw DataError(name + ": truncated gzip stream");
        }
        // Another member may follow (concatenated gzip files); anything else ends the stream.
        if (bytes.size() - offset < 2 || bytes[offset] != 0x1f || bytes[offset + 1] != 0x8b) break;
        inflateReset(&zs);
    }
    return out;
}

std::vector<uint8_t> inflateRaw(const uint8_t* data, size_t size, size_t expectedSize, const std::string& name, size_t limit)
{
    if (expectedSize > limit)
        throw DataError(name + ": declares " + std::to_string(expectedSize) + " uncompressed bytes, more than the limit of " +
                        std::to_string(limit) + " for one file");
    std::vector<uint8_t> out;
    out.reserve(std::min(expectedSize, size * 1032 + 64));
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw DataError(name + ": cannot initialise zlib");
    InflateGuard guard{zs};
    size_t offset = 0;
    bool ended = false;
    while (!ended && offset < size) {
        zs.next_in = const_cast<Bytef*>(data + offset);
        zs.avail_in = static_cast<uInt>(std::min<size_t>(size - offset, std::numeric_limits<uInt>::max()));
        const size_t before = zs.avail_in;
        ended = inflateInto(zs, out, expectedSize, name, "deflate");
        offset += before - zs.avail_in;
    }
    if (!ended) throw DataError(name + ": truncated deflate stream");
    if (out.size() != expectedSize)
        throw DataError(name + ": inflated to " + std::to_string(out.size()) + " bytes, expected " + std::to_string(expectedSize));
    return out;
}

} // namespace joule::data
