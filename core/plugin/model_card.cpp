#include "plugin/model_card.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <stdexcept>

namespace joule::plugin {

data::Preprocessing preprocessingFromCard(const QString& modelPath, QString* cardPath)
{
    data::Preprocessing prep;
    const QFileInfo info(modelPath);
    const QString card = info.dir().filePath(info.completeBaseName() + ".card.json");
    QFile f(card);
    if (!f.exists()) return prep;
    if (!f.open(QIODevice::ReadOnly)) throw std::runtime_error(card.toStdString() + ": cannot read: " + f.errorString().toStdString());
    const std::string where = card.toStdString();
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &error);
    if (error.error != QJsonParseError::NoError)
        throw std::runtime_error(where + ": not valid JSON: " + error.errorString().toStdString());
    const QJsonValue pv = doc.object().value("preprocessing");
    if (!pv.isUndefined() && !pv.isObject()) throw std::runtime_error(where + ": field 'preprocessing' must be an object");
    const QJsonObject p = pv.toObject();
    auto numbers = [&](const char* key) {
        std::vector<float> v;
        const QJsonValue value = p.value(key);
        if (value.isDouble()) v.push_back(static_cast<float>(value.toDouble()));
        else if (value.isArray()) {
            for (const auto& x : value.toArray()) {
                if (!x.isDouble()) throw std::runtime_error(where + ": field 'preprocessing." + key + "' must hold numbers");
                v.push_back(static_cast<float>(x.toDouble()));
            }
        }
        if (v.empty()) throw std::runtime_error(where + ": field 'preprocessing." + key + "' must be a number or a non-empty array of numbers");
        return v;
    };
    if (p.contains("scale")) {
        if (!p.value("scale").isDouble()) throw std::runtime_error(where + ": field 'preprocessing.scale' must be a number");
        prep.scale = static_cast<float>(p.value("scale").toDouble());
    }
    if (p.contains("mean")) prep.mean = numbers("mean");
    if (p.contains("std")) prep.std = numbers("std");
    if (cardPath) *cardPath = card;
    return prep;
}

} // namespace joule::plugin
