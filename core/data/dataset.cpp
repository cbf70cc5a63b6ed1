#include "data/dataset.h"

#include "data/bilinear.h"
#include "data/idx.h"
#include "data/image_folder.h"
#include "data/npy.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace joule::data {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMaxClasses = 1'000'000;
const char* const kSpecForms = "fashion-mnist:train|test, idx:IMAGES,LABELS, npy:X.npy,Y.npy or folder:DIR";

// "A,B" -> {A, B}; anything else is an error naming the spec.
std::pair<std::string, std::string> twoPaths(const std::string& spec, const std::string& rest, const char* form)
{
    const size_t comma = rest.find(',');
    if (comma == std::string::npos || comma == 0 || comma + 1 == rest.size() || rest.find(',', comma + 1) != std::string::npos)
        throw DataError("dataset spec '" + spec + "': expected " + form);
    return {rest.substr(0, comma), rest.substr(comma + 1)};
}

// IEEE 754 binary16 -> binary32.
float halfToFloat(uint16_t h)
{
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000 | (mantissa << 13);   // inf / nan
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {   // subnormal: normalise
        exponent = 113;
        while (!(mantissa & 0x400)) { mantissa <<= 1; --exponent; }
        bits = sign | (exponent << 23) | ((mantissa & 0x3FF) << 13);
    }
    return std::bit_cast<float>(bits);
}

// uint8 [N,H,W] / [N,H,W,C] / [N,C,H,W] -> uint8 [N,H,W,C]; any other numeric [N,...] -> float32.
Tensor imagesFromArray(const Tensor& array, const std::string& file)
{
    if (array.rank() < 1) throw DataError(file + ": expected an array of samples [N,...], found a scalar");
    if (array.dtype() == DataType::UInt8) {
        if (array.rank() == 3) return array.reshaped({array.dim(0), array.dim(1), array.dim(2), 1});
        if (array.rank() != 4)
            throw DataError(file + ": uint8 images must be [N,H,W] or [N,H,W,C], found " + shapeToString(array.shape()));
        auto isChannels = [](int64_t d) { return d == 1 || d == 3 || d == 4; };
        if (isChannels(array.dim(3)) || !isChannels(array.dim(1))) return array;
        // [N,C,H,W] -> [N,H,W,C]
        const int64_t n = array.dim(0), c = array.dim(1), h = array.dim(2), w = array.dim(3);
        Tensor nhwc(DataType::UInt8, {n, h, w, c});
        const uint8_t* src = array.data<uint8_t>();
        uint8_t* dst = nhwc.data<uint8_t>();
        for (int64_t i = 0; i < n; ++i)
            for (int64_t ch = 0; ch < c; ++ch)
                for (int64_t p = 0; p < h * w; ++p) dst[(i * h * w + p) * c + ch] = src[(i * c + ch) * h * w + p];
        return nhwc;
    }
    if (array.dtype() == DataType::Float32) return array;
    if (array.dtype() == DataType::Bool || (!isFloating(array.dtype()) && !isInteger(array.dtype())))
        throw DataError(file + ": samples must be numeric, found " + dataTypeName(array.dtype()));
    Tensor f(DataType::Float32, array.shape());
    float* to = f.data<float>();
    if (array.dtype() == DataType::Float16) {
        for (int64_t i = 0; i < array.numel(); ++i) to[i] = halfToFloat(array.data<uint16_t>()[i]);
    } else {
        for (int64_t i = 0; i < array.numel(); ++i) to[i] = static_cast<float>(array.asDouble(i));
    }
    return f;
}

std::vector<int64_t> labelsFromArray(const Tensor& array, const std::string& file, int64_t classLimit)
{
    if (array.rank() != 1)
        throw DataError(file + ": labels must be a 1-D array, found shape " + shapeToString(array.shape()));
    if (!isInteger(array.dtype()))
        throw DataError(file + ": labels must be integers, found " + std::string(dataTypeName(array.dtype())));
    std::vector<int64_t> labels = array.toInt64Vector();
    for (size_t i = 0; i < labels.size(); ++i)
        if (labels[i] < 0 || labels[i] >= classLimit)
            throw DataError(file + ": label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                            " is out of range (expected 0.." + std::to_string(classLimit - 1) + ")");
    return labels;
}

LabeledImages combine(const Tensor& images, const Tensor& labels, const std::string& imagesFile,
                      const std::string& labelsFile, const std::vector<std::string>& classNames)
{
    LabeledImages data;
    data.images = imagesFromArray(images, imagesFile);
    const int64_t classLimit = classNames.empty() ? kMaxClasses : static_cast<int64_t>(classNames.size());
    data.labels = labelsFromArray(labels, labelsFile, classLimit);
    if (data.size() != static_cast<int64_t>(data.labels.size()))
        throw DataError(imagesFile + ", " + labelsFile + ": image and label counts differ (images: " +
                        std::to_string(data.size()) + ", labels: " + std::to_string(data.labels.size()) + ")");
    if (data.size() == 0) throw DataError(imagesFile + ": contains no samples");
    data.classNames = classNames;
    if (data.classNames.empty()) {
        int64_t maxLabel = 0;
        for (int64_t l : data.labels) maxLabel = std::max(maxLabel, l);
        for (int64_t c = 0; c <= maxLabel; ++c) data.classNames.push_back(std::to_string(c));
    }
    return data;
}

// Checks that an IDX file holds what the spec says it should (images: rank >= 3, labels: rank 1).
void requireIdxKind(const Tensor& t, const std::string& file, bool images)
{
    if (images ? t.rank() >= 3 : t.rank() == 1) return;
    char magic[16];
    std::snprintf(magic, sizeof magic, "0x%08X", idxMagicFor(t));
    throw DataError(file + ": expected an IDX " + (images ? "image file (magic 0x00000803)" : "label file (magic 0x00000801)") +
                    ", found magic " + magic + " " + shapeToString(t.shape()));
}

LabeledImages loadIdx(const std::string& imagesFile, const std::string& labelsFile, const std::vector<std::string>& classNames)
{
    const Tensor images = readIdx(imagesFile);
    requireIdxKind(images, imagesFile, true);
    const Tensor labels = readIdx(labelsFile);
    requireIdxKind(labels, labelsFile, false);
    return combine(images, labels, imagesFile, labelsFile, classNames);
}

// `dir/name.gz` if it exists, else `dir/name` if that exists, else an error.
std::string findIdxFile(const fs::path& dir, const std::string& name, const std::string& spec)
{
    for (const std::string& candidate : {name + ".gz", name})
        if (fs::is_regular_file(dir / candidate)) return (dir / candidate).string();
    throw DataError(spec + ": " + (dir / (name + ".gz")).string() +
                    ": no such file (install Debian's dataset-fashion-mnist or set JOULE_DATA to a directory with the IDX files)");
}

LabeledImages loadFashionMnist(const std::string& spec, const std::string& split)
{
    if (split != "train" && split != "test")
        throw DataError("dataset spec '" + spec + "': unknown split '" + split + "' (expected train or test)");
    const std::string prefix = split == "train" ? "train" : "t10k";
    const fs::path dir = fashionMnistDirectory();
    const std::string images = findIdxFile(dir, prefix + "-images-idx3-ubyte", spec);
    const std::string labels = findIdxFile(dir, prefix + "-labels-idx1-ubyte", spec);
    return loadIdx(images, labels, fashionMnistClassNames());
}

struct Geometry {
    int64_t height, width, channels, outHeight, outWidth;
};

Geometry geometryOf(const LabeledImages& data, const Preprocessing& p)
{
    if (p.resizeHeight < 0 || p.resizeWidth < 0) throw DataError(data.source + ": resize size must not be negative");
    const int64_t h = data.images.dim(1), w = data.images.dim(2);
    return {h, w, data.images.dim(3), p.resizeHeight > 0 ? p.resizeHeight : h, p.resizeWidth > 0 ? p.resizeWidth : w};
}

// Per-channel affine map: x = pixel * gain[c] + offset[c].
void channelAffine(const LabeledImages& data, const Preprocessing& p, int64_t channels, std::vector<float>& gain,
                   std::vector<float>& offset)
{
    auto check = [&](const std::vector<float>& v, const char* what) {
        if (v.size() != 1 && static_cast<int64_t>(v.size()) != channels)
            throw DataError(data.source + ": preprocessing " + what + " has " + std::to_string(v.size()) +
                            " values but the images have " + std::to_string(channels) + " channel(s)");
    };
    check(p.mean, "mean");
    check(p.std, "std");
    for (int64_t c = 0; c < channels; ++c) {
        const float mean = p.mean[p.mean.size() == 1 ? 0 : static_cast<size_t>(c)];
        const float std = p.std[p.std.size() == 1 ? 0 : static_cast<size_t>(c)];
        if (std == 0) throw DataError(data.source + ": preprocessing std of channel " + std::to_string(c) + " is 0");
        gain.push_back(p.scale / std);
        offset.push_back(-mean / std);
    }
}

} // namespace

const std::vector<std::string>& fashionMnistClassNames()
{
    static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

std::string fashionMnistDirectory()
{
    fs::path dir = "/usr/share/datasets/fashion-mnist";
    if (const char* env = std::getenv("JOULE_DATA"); env && *env) {
        dir = env;
        if (fs::is_directory(dir / "fashion-mnist")) dir /= "fashion-mnist";
    }
    return dir.string();
}

LabeledImages loadDataset(const std::string& spec, const Preprocessing& preprocessing)
{
    const size_t colon = spec.find(':');
    const std::string kind = spec.substr(0, colon);
    const std::string rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
    LabeledImages data;
    if (colon == std::string::npos || rest.empty()) {
        throw DataError("unknown dataset spec '" + spec + "' (expected " + kSpecForms + ")");
    } else if (kind == "fashion-mnist") {
        data = loadFashionMnist(spec, rest);
    } else if (kind == "idx") {
        const auto [images, labels] = twoPaths(spec, rest, "idx:IMAGES,LABELS");
        data = loadIdx(images, labels, {});
    } else if (kind == "npy") {
        const auto [x, y] = twoPaths(spec, rest, "npy:X.npy,Y.npy");
        data = combine(readNpy(x), readNpy(y), x, y, {});
    } else if (kind == "folder") {
        data = readImageFolder(rest, preprocessing.resizeHeight, preprocessing.resizeWidth);
    } else {
        throw DataError("unknown dataset spec '" + spec + "' (expected " + kSpecForms + ")");
    }
    data.source = spec;
    return data;
}

Tensor imageBatch(const LabeledImages& data, const Preprocessing& preprocessing, int64_t begin, int64_t count)
{
    Shape shape{count};
    const Shape sample = sampleShape(data, preprocessing);
    shape.insert(shape.end(), sample.begin(), sample.end());
    Tensor x(DataType::Float32, shape);
    fillBatch(data, preprocessing, begin, count, x.data<float>());
    return x;
}

Shape sampleShape(const LabeledImages& data, const Preprocessing& preprocessing)
{
    if (!data.isImageData()) return Shape(data.images.shape().begin() + 1, data.images.shape().end());
    const Geometry g = geometryOf(data, preprocessing);
    if (preprocessing.layout == Preprocessing::Layout::NCHW) return {g.channels, g.outHeight, g.outWidth};
    return {g.outHeight, g.outWidth, g.channels};
}

void fillBatch(const LabeledImages& data, const Preprocessing& preprocessing, int64_t begin, int64_t count, float* out)
{
    if (begin < 0 || count < 0 || begin > data.size() || count > data.size() - begin)
        throw DataError(data.source + ": batch [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
                        ") is outside the dataset's " + std::to_string(data.size()) + " samples");
    if (!data.isImageData()) {
        const int64_t sample = data.size() ? data.images.numel() / data.size() : 0;
        std::memcpy(out, data.images.data<float>() + begin * sample, static_cast<size_t>(count * sample) * sizeof(float));
        return;
    }
    const Geometry g = geometryOf(data, preprocessing);
    std::vector<float> gain, offset;
    channelAffine(data, preprocessing, g.channels, gain, offset);
    const bool nchw = preprocessing.layout == Preprocessing::Layout::NCHW;
    const bool resize = g.outHeight != g.height || g.outWidth != g.width;
    const int64_t plane = g.outHeight * g.outWidth, sampleIn = g.height * g.width * g.channels;
    const int64_t sampleOut = plane * g.channels;

    // Without resizing every pixel value maps through a 256-entry table per channel.
    std::vector<std::array<float, 256>> table(static_cast<size_t>(g.channels));
    for (size_t c = 0; c < table.size(); ++c)
        for (int v = 0; v < 256; ++v) table[c][static_cast<size_t>(v)] = static_cast<float>(v) * gain[c] + offset[c];
    std::vector<float> resized(resize ? static_cast<size_t>(sampleOut) : 0);

    const auto channels = static_cast<size_t>(g.channels);
    for (int64_t i = 0; i < count; ++i) {
        const uint8_t* src = data.images.data<uint8_t>() + (begin + i) * sampleIn;
        float* dst = out + i * sampleOut;
        if (resize)
            resizeBilinear(src, static_cast<int>(g.height), static_cast<int>(g.width), static_cast<int>(g.channels),
                           static_cast<int>(g.outHeight), static_cast<int>(g.outWidth), resized.data());
        for (size_t c = 0; c < channels; ++c) {
            // Element p * channels + c of the interleaved source goes to c * plane + p (NCHW) or stays (NHWC).
            float* to = nchw ? dst + static_cast<int64_t>(c) * plane : dst + c;
            const size_t step = nchw ? 1 : channels;
            if (resize) {
                const float* from = resized.data() + c;
                for (int64_t p = 0; p < plane; ++p) to[static_cast<size_t>(p) * step] = from[static_cast<size_t>(p) * channels] * gain[c] + offset[c];
            } else {
                const uint8_t* from = src + c;
                const std::array<float, 256>& map = table[c];
                for (int64_t p = 0; p < plane; ++p) to[static_cast<size_t>(p) * step] = map[from[static_cast<size_t>(p) * channels]];
            }
        }
    }
}

} // namespace joule::data
