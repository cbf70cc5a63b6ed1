#pragma once
// Labeled image datasets in memory, and turning them into model input batches.
//
//   auto ds = joule::data::loadDataset("fashion-mnist:test");   // 10000 x uint8 [28,28,1], 10 classes
//   joule::data::Preprocessing prep;                             // x = pixel / 255, NCHW
//   std::vector<float> batch(64 * joule::elementCount(joule::data::sampleShape(ds, prep)));
//   joule::data::fillBatch(ds, prep, 0, 64, batch.data());     // images 0..63 as float32 [64,1,28,28]
//   int64_t firstLabel = ds.labels[0];                           // 9, ds.classNames[9] == "Ankle boot"
//
// Dataset specs (docs/architecture.md, "Datasets"):
//   fashion-mnist:train | fashion-mnist:test  the IDX files in $JOULE_DATA (or $JOULE_DATA/fashion-mnist)
//                                             when that is set, else Debian's /usr/share/datasets/fashion-mnist
//                                             (package dataset-fashion-mnist); .gz or uncompressed
//   idx:IMAGES,LABELS                         two IDX files (gzip detected by content)
//   npy:X.npy,Y.npy                           X: uint8 [N,H,W], [N,H,W,C] or [N,C,H,W] (C = 1, 3 or 4) pixels,
//                                             or any other numeric [N,...] array, taken as already
//                                             preprocessed model input (converted to float32, copied as is);
//                                             Y: 1-D integer labels
//   folder:DIR                                one sub-folder per class (sorted names = class index) of
//                                             PNG / JPEG files (detected by content), see image_folder.h
// Class names: Fashion-MNIST's ten names, the folder names, or "0", "1", ... up to the largest label.
// Every problem is a one-line DataError naming the spec, file or directory at fault, e.g.
//   "t10k-images.gz, t10k-labels.gz: image and label counts differ (images: 10000, labels: 9999)".

#include "data/data_error.h"
#include "ir/tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace joule::data {

struct LabeledImages {
    Tensor images;                        // uint8 [N,H,W,C] for image data, or float32 [N,...] from NPY
    std::vector<int64_t> labels;          // N labels, each in [0, classNames.size())
    std::vector<std::string> classNames;
    std::string source;                   // the spec it was loaded from, e.g. "fashion-mnist:test"

    int64_t size() const { return images.empty() ? 0 : images.dim(0); }
    bool isImageData() const { return images.dtype() == DataType::UInt8; }
};

// How pixels become model input: x = (pixel * scale - mean[c]) / std[c] per channel c; mean / std
// of length 1 apply to every channel. Applies to uint8 image data only; float data is copied as is.
struct Preprocessing {
    float scale = 1.0f / 255;
    std::vector<float> mean{0};
    std::vector<float> std{1};
    int resizeHeight = 0, resizeWidth = 0;  // 0 = keep; bilinear (half-pixel centres)
    enum class Layout { NCHW, NHWC } layout = Layout::NCHW;
};

// Loads a dataset by spec. `preprocessing` matters only for folder: images of differing sizes
// are accepted when it asks for a resize (they are then resized while loading).
LabeledImages loadDataset(const std::string& spec, const Preprocessing& preprocessing = {});

// Fills `out` (float32, shape [count, C, H, W] or [count, H, W, C], H / W after resizing) with
// images [begin, begin + count). `out` must hold count * elementCount(sampleShape(...)) floats.
// Throws DataError for a range outside the dataset or a mean / std that does not fit the channels.
void fillBatch(const LabeledImages& data, const Preprocessing& preprocessing, int64_t begin, int64_t count, float* out);

// Images [begin, begin + count) as one float32 tensor [count, sample shape...], as fillBatch fills it.
Tensor imageBatch(const LabeledImages& data, const Preprocessing& preprocessing, int64_t begin, int64_t count);

// Shape of one preprocessed sample, e.g. [1,28,28] (NCHW) or [28,28,1] (NHWC); for float data the
// stored sample shape.
Shape sampleShape(const LabeledImages& data, const Preprocessing& preprocessing);

// Where fashion-mnist:train|test is read from: $JOULE_DATA (or its fashion-mnist/ sub-folder) when
// that is set, else Debian's /usr/share/datasets/fashion-mnist. The folder need not exist.
std::string fashionMnistDirectory();

// The ten Fashion-MNIST class names, label order ("T-shirt/top", ..., "Ankle boot").
const std::vector<std::string>& fashionMnistClassNames();

} // namespace joule::data
