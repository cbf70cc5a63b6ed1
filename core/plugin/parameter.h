#pragma once
// A plugin's parameters, declared once in its manifest and reused by the CLI recipe keys, the GUI
// settings form and the experiment store.
//
//   // manifest: "parameters": [{"key": "calibration", "type": "choice", "default": "minmax",
//   //                            "choices": ["minmax", "percentile", "entropy", "mse"], "help": "..."}]
//   std::vector<ParamSpec> specs = {parseParamSpec(entry, "plugin 'quantize'")};
//   QVariantMap p = resolveParams(specs, {{"calibration", "entropy"}}, "plugin 'quantize'");
//   p["calibration"].toString();   // "entropy"; every other declared key holds its default
//
// Manifest types are spelled "int", "double", "bool", "choice", "string". Every error is a PluginError
// whose message starts with `where` and names the key, e.g.
//   "plugin 'quantize': parameter 'percentile': 120 is above the maximum 100".

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <QVariant>
#include <QVariantMap>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace joule::plugin {

class PluginError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
    explicit PluginError(const QString& message) : std::runtime_error(message.toStdString()) {}
};

struct ParamSpec {
    QString key;
    enum class Type { Int, Double, Bool, Choice, String } type = Type::String;
    QVariant defaultValue;            // qlonglong, double, bool or QString, matching `type`
    std::optional<double> min, max;   // Int and Double only; inclusive
    QStringList choices;              // Choice only; the default is one of them
    QString help;
};

// "int", "double", "bool", "choice", "string".
QString paramTypeName(ParamSpec::Type type);

// One manifest entry {"key","type","default","min","max","choices","help"}. Throws PluginError
// ("<where>: parameter 'KEY': ...") for a missing key or type, an unknown type, a default of the
// wrong type or outside [min, max] / the choices, min > max, or choices on a non-choice parameter.
ParamSpec parseParamSpec(const QJsonObject& entry, const QString& where);

// The manifest form again (for `joule plugins --json` and the store).
QJsonObject paramSpecToJson(const ParamSpec& spec);

// Checks `given` against the specs and fills in defaults. Values are converted to the declared
// type (an Int accepts 3 or 3.0 or "3", never 3.5; a Bool accepts true/false only). Throws PluginError
// naming `where` and the key for an unknown key, a value of the wrong type, out of range, or not
// one of the choices. The result holds exactly the declared keys.
QVariantMap resolveParams(const std::vector<ParamSpec>& specs, const QVariantMap& given, const QString& where);

} // namespace joule::plugin
