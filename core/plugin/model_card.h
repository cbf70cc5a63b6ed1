#pragma once
// The model card beside a model (MODEL.card.json next to MODEL.onnx) says how inputs are preprocessed:
//   {"preprocessing": {"scale": 0.00392156, "mean": [0.2860], "std": [0.3530]}, ...}
//
//   QString card;
//   data::Preprocessing prep = joule::plugin::preprocessingFromCard("m/fmnist_resnet8.onnx", &card);
//
// No card: the defaults (scale 1/255, mean 0, std 1) and `cardPath` left empty. A card that is not
// valid JSON or holds a mistyped field: std::runtime_error naming the card file and the field.

#include "data/dataset.h"

#include <QString>

namespace joule::plugin {

data::Preprocessing preprocessingFromCard(const QString& modelPath, QString* cardPath = nullptr);

} // namespace joule::plugin
