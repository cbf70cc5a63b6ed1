#include "data/image_folder.h"

#include "data/bilinear.h"
#include "data/file_bytes.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC          // keep stb's symbols out of libjoule-core's exports
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace joule::data {

namespace fs = std::filesystem;

namespace {

enum class ImageFormat { None, Png, Jpeg };

ImageFormat formatOf(const std::vector<uint8_t>& b)
{
    static constexpr uint8_t kPng[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (b.size() >= 8 && std::memcmp(b.data(), kPng, 8) == 0) return ImageFormat::Png;
    if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return ImageFormat::Jpeg;
    return ImageFormat::None;
}

struct EncodedImage {
    std::string path;
    int64_t label = 0;
    std::vector<uint8_t> bytes;
    ImageFormat format = ImageFormat::None;
    int width = 0, height = 0, channels = 0;
};

bool hidden(const fs::path& p) { return p.filename().string().starts_with('.'); }

std::string decodeError(const EncodedImage& image)
{
    return image.path + ": cannot decode " + (image.format == ImageFormat::Png ? "PNG" : "JPEG") + " (" +
           (stbi_failure_reason() ? stbi_failure_reason() : "unknown error") + ")";
}

// Files of one class folder (recursively), sorted by path, that are PNG or JPEG by content.
void collectClass(const fs::path& classDir, int64_t label, std::vector<EncodedImage>& out)
{
    std::vector<fs::path> files;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(classDir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (hidden(it->path())) {
            if (it->is_directory()) it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file()) files.push_back(it->path());
    }
    if (ec) throw DataError(classDir.string() + ": cannot list directory (" + ec.message() + ")");
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
        EncodedImage image{file.string(), label, readFileBytes(file.string())};
        image.format = formatOf(image.bytes);
        if (image.format == ImageFormat::None) continue;
        if (image.bytes.size() > static_cast<size_t>(INT32_MAX) ||
            !stbi_info_from_memory(image.bytes.data(), static_cast<int>(image.bytes.size()), &image.width, &image.height,
                                   &image.channels))
            throw DataError(decodeError(image));
        out.push_back(std::move(image));
    }
}

std::string sizeText(const EncodedImage& i) { return std::to_string(i.width) + "x" + std::to_string(i.height); }

} // namespace

LabeledImages readImageFolder(const std::string& dir, int resizeHeight, int resizeWidth)
{
    std::error_code ec;
    if (!fs::exists(dir, ec)) throw DataError(dir + ": no such directory");
    if (!fs::is_directory(dir, ec)) throw DataError(dir + ": not a directory");
    if (resizeHeight < 0 || resizeWidth < 0) throw DataError(dir + ": resize size must not be negative");

    LabeledImages data;
    std::vector<fs::path> classDirs;
    for (const auto& entry : fs::directory_iterator(dir, ec))
        if (entry.is_directory() && !hidden(entry.path())) classDirs.push_back(entry.path());
    if (ec) throw DataError(dir + ": cannot list directory (" + ec.message() + ")");
    std::sort(classDirs.begin(), classDirs.end());

    std::vector<EncodedImage> images;
    for (size_t i = 0; i < classDirs.size(); ++i) {
        data.classNames.push_back(classDirs[i].filename().string());
        collectClass(classDirs[i], static_cast<int64_t>(i), images);
    }
    if (images.empty())
        throw DataError(dir + ": no images found (expected one sub-folder per class with PNG or JPEG files)");

    const EncodedImage& first = images.front();
    const bool resize = resizeHeight > 0 || resizeWidth > 0;
    const int height = resizeHeight > 0 ? resizeHeight : first.height;
    const int width = resizeWidth > 0 ? resizeWidth : first.width;
    const bool allGrey = std::all_of(images.begin(), images.end(), [](const EncodedImage& i) { return i.channels <= 2; });
    const int channels = allGrey ? 1 : 3;
    if (!resize)
        for (const EncodedImage& image : images)
            if (image.width != first.width || image.height != first.height)
                throw DataError(image.path + ": image is " + sizeText(image) + " (width x height) but " + first.path +
                                " is " + sizeText(first) + "; all images must have the same size unless a resize is requested");

    const size_t sampleBytes = static_cast<size_t>(height) * static_cast<size_t>(width) * static_cast<size_t>(channels);
    data.images = Tensor(DataType::UInt8, {static_cast<int64_t>(images.size()), height, width, channels});
    uint8_t* out = data.images.data<uint8_t>();
    for (EncodedImage& image : images) {
        int w = 0, h = 0, n = 0;
        std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
            stbi_load_from_memory(image.bytes.data(), static_cast<int>(image.bytes.size()), &w, &h, &n, channels),
            stbi_image_free);
        if (!pixels) throw DataError(decodeError(image));
        if (w == width && h == height) std::memcpy(out, pixels.get(), sampleBytes);
        else resizeBilinear(pixels.get(), h, w, channels, height, width, out);
        out += sampleBytes;
        data.labels.push_back(image.label);
        image.bytes = {};
    }
    data.source = dir;
    return data;
}

} // namespace joule::data
