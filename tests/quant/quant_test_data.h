#pragma once
// Shared fixtures of the quantization tests: reference models, their preprocessing, and a few
// Fashion-MNIST images (loaded once per process).

#include "data/dataset.h"
#include "ir/graph.h"
#include "onnx/onnx_io.h"

#include <QString>
#include <QtGlobal>
#include <string>

namespace joule::quanttest {

inline std::string sourceDir() { return qEnvironmentVariable("JOULE_SOURCE_DIR", QString(JOULE_TEST_SOURCE_DIR)).toStdString(); }

inline Graph referenceModel(const std::string& name)
{
    return onnx::loadModel(sourceDir() + "/resources/models/fmnist_" + name + ".onnx");
}

// The model cards' preprocessing (all three reference models share it).
inline data::Preprocessing cardPreprocessing()
{
    data::Preprocessing p;
    p.scale = 1.0f / 255;
    p.mean = {0.286f};
    p.std = {0.353f};
    return p;
}

inline const data::LabeledImages& trainImages()
{
    static const data::LabeledImages d = data::loadDataset("fashion-mnist:train");
    return d;
}

inline const data::LabeledImages& testImages()
{
    static const data::LabeledImages d = data::loadDataset("fashion-mnist:test");
    return d;
}

} // namespace joule::quanttest
