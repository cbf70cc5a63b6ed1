#pragma once
// Image-classification datasets stored as folders:
//
//   DIR/cat/001.png  DIR/cat/002.jpg  DIR/dog/a.png ...     class index = position of the sorted
//                                                            sub-folder name (cat = 0, dog = 1)
//   auto ds = joule::data::readImageFolder("DIR");            // uint8 [N,H,W,C], labels, class names
//
// PNG and JPEG files are recognised by content (other files, and hidden ones, are skipped); a class
// folder may contain sub-folders. Images decode to one channel when every image is grey (with or
// without alpha), otherwise to three (RGB; grey is replicated, alpha dropped). All images must have
// the same size unless a resize is requested (bilinear, to resizeHeight x resizeWidth; a 0 keeps the
// first image's size along that axis). Images are ordered by class, then by path.
// Errors (DataError): "DIR: no images found (expected one sub-folder per class with PNG or JPEG files)",
// "FILE: image is 32x30 (width x height) but FIRST is 28x28; ...", "FILE: cannot decode PNG (...)".

#include "data/dataset.h"

#include <string>

namespace joule::data {

LabeledImages readImageFolder(const std::string& dir, int resizeHeight = 0, int resizeWidth = 0);

} // namespace joule::data
