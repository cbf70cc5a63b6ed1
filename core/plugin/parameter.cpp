#include "plugin/parameter.h"

#include <QJsonArray>

#include <cmath>
#include <limits>

namespace joule::plugin {

namespace {

const QStringList kFields = {"key", "type", "default", "min", "max", "choices", "help"};

[[noreturn]] void fail(const QString& where, const QString& key, const QString& what)
{
    throw PluginError(where + ": parameter '" + key + "': " + what);
}

std::optional<ParamSpec::Type> typeFromName(const QString& name)
{
    if (name == "int") return ParamSpec::Type::Int;
    if (name == "double") return ParamSpec::Type::Double;
    if (name == "bool") return ParamSpec::Type::Bool;
    if (name == "choice") return ParamSpec::Type::Choice;
    if (name == "string") return ParamSpec::Type::String;
    return std::nullopt;
}

QString describe(const QVariant& v)
{
    if (v.typeId() == QMetaType::QString) return "\"" + v.toString() + "\"";
    if (v.typeId() == QMetaType::Bool) return v.toBool() ? "true" : "false";
    if (!v.isValid() || v.isNull()) return "null";
    const QString s = v.toString();
    return s.isEmpty() ? QString("a value of type ") + v.typeName() : s;
}

bool isNumber(const QVariant& v)
{
    switch (v.typeId()) {
    case QMetaType::Int: case QMetaType::UInt: case QMetaType::LongLong: case QMetaType::ULongLong:
    case QMetaType::Double: case QMetaType::Float: case QMetaType::Long: case QMetaType::ULong:
    case QMetaType::Short: case QMetaType::UShort:
        return true;
    default:
        return false;
    }
}

// Converts `v` to the spec's type, or returns an empty optional with `why` set.
std::optional<QVariant> convert(const ParamSpec& spec, const QVariant& v, QString* why)
{
    switch (spec.type) {
    case ParamSpec::Type::Int: {
        double d = 0;
        if (isNumber(v)) d = v.toDouble();
        else if (v.typeId() == QMetaType::QString) {
            bool ok = false;
            d = static_cast<double>(v.toString().trimmed().toLongLong(&ok));
            if (!ok) { *why = describe(v) + " is not an integer"; return std::nullopt; }
        } else { *why = describe(v) + " is not an integer"; return std::nullopt; }
        if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e15) {
            *why = describe(v) + " is not an integer";
            return std::nullopt;
        }
        return QVariant(static_cast<qlonglong>(d));
    }
    case ParamSpec::Type::Double: {
        double d = 0;
        if (isNumber(v)) d = v.toDouble();
        else if (v.typeId() == QMetaType::QString) {
            bool ok = false;
            d = v.toString().trimmed().toDouble(&ok);
            if (!ok) { *why = describe(v) + " is not a number"; return std::nullopt; }
        } else { *why = describe(v) + " is not a number"; return std::nullopt; }
        if (!std::isfinite(d)) { *why = describe(v) + " is not a finite number"; return std::nullopt; }
        return QVariant(d);
    }
    case ParamSpec::Type::Bool:
        if (v.typeId() == QMetaType::Bool) return v;
        if (v.typeId() == QMetaType::QString && (v.toString() == "true" || v.toString() == "false"))
            return QVariant(v.toString() == "true");
        *why = describe(v) + " is not true or false";
        return std::nullopt;
    case ParamSpec::Type::Choice:
        if (v.typeId() != QMetaType::QString) { *why = describe(v) + " is not a string"; return std::nullopt; }
        if (!spec.choices.contains(v.toString())) {
            *why = describe(v) + " is not one of " + spec.choices.join(", ");
            return std::nullopt;
        }
        return v;
    case ParamSpec::Type::String:
        if (v.typeId() != QMetaType::QString) { *why = describe(v) + " is not a string"; return std::nullopt; }
        return v;
    }
    return std::nullopt;
}

QString rangeProblem(const ParamSpec& spec, const QVariant& v)
{
    if (spec.type != ParamSpec::Type::Int && spec.type != ParamSpec::Type::Double) return {};
    const double d = v.toDouble();
    if (spec.min && d < *spec.min) return QString::number(d) + " is below the minimum " + QString::number(*spec.min);
    if (spec.max && d > *spec.max) return QString::number(d) + " is above the maximum " + QString::number(*spec.max);
    return {};
}

} // namespace

QString paramTypeName(ParamSpec::Type type)
{
    switch (type) {
    case ParamSpec::Type::Int: return "int";
    case ParamSpec::Type::Double: return "double";
    case ParamSpec::Type::Bool: return "bool";
    case ParamSpec::Type::Choice: return "choice";
    case ParamSpec::Type::String: return "string";
    }
    return "?";
}

ParamSpec parseParamSpec(const QJsonObject& entry, const QString& where)
{
    ParamSpec spec;
    const QJsonValue key = entry.value("key");
    if (!key.isString() || key.toString().isEmpty())
        throw PluginError(where + ": a parameter has no field 'key' (a non-empty string)");
    spec.key = key.toString();
    for (auto it = entry.begin(); it != entry.end(); ++it)
        if (!kFields.contains(it.key())) fail(where, spec.key, "unknown field '" + it.key() + "'");

    const QJsonValue type = entry.value("type");
    if (!type.isString()) fail(where, spec.key, "field 'type' is missing (int, double, bool, choice or string)");
    const auto t = typeFromName(type.toString());
    if (!t) fail(where, spec.key, "field 'type': unknown type '" + type.toString() + "' (int, double, bool, choice or string)");
    spec.type = *t;

    const bool numeric = spec.type == ParamSpec::Type::Int || spec.type == ParamSpec::Type::Double;
    for (const char* bound : {"min", "max"}) {
        if (!entry.contains(bound)) continue;
        const QJsonValue b = entry.value(bound);
        if (!numeric) fail(where, spec.key, QString("field '") + bound + "' applies to int and double parameters only");
        if (!b.isDouble()) fail(where, spec.key, QString("field '") + bound + "' must be a number");
        (QString(bound) == "min" ? spec.min : spec.max) = b.toDouble();
    }
    if (spec.min && spec.max && *spec.min > *spec.max)
        fail(where, spec.key, "field 'min' (" + QString::number(*spec.min) + ") is above 'max' (" + QString::number(*spec.max) + ")");

    if (entry.contains("choices")) {
        if (spec.type != ParamSpec::Type::Choice) fail(where, spec.key, "field 'choices' applies to choice parameters only");
        const QJsonValue c = entry.value("choices");
        if (!c.isArray()) fail(where, spec.key, "field 'choices' must be an array of strings");
        for (const QJsonValue& x : c.toArray()) {
            if (!x.isString() || x.toString().isEmpty()) fail(where, spec.key, "field 'choices' must hold non-empty strings");
            if (spec.choices.contains(x.toString())) fail(where, spec.key, "field 'choices' lists '" + x.toString() + "' twice");
            spec.choices << x.toString();
        }
    }
    if (spec.type == ParamSpec::Type::Choice && spec.choices.isEmpty())
        fail(where, spec.key, "a choice parameter needs a non-empty field 'choices'");

    if (entry.contains("help")) {
        if (!entry.value("help").isString()) fail(where, spec.key, "field 'help' must be a string");
        spec.help = entry.value("help").toString();
    }

    if (!entry.contains("default")) fail(where, spec.key, "field 'default' is missing");
    const QJsonValue d = entry.value("default");
    if (d.isNull() || d.isArray() || d.isObject()) fail(where, spec.key, "field 'default' must be a number, string or bool");
    QString why;
    const auto value = convert(spec, d.toVariant(), &why);
    // A manifest's default must already have the declared JSON type (no "3" for an int).
    const bool jsonTypeOk = (numeric && d.isDouble()) || (spec.type == ParamSpec::Type::Bool && d.isBool())
                            || ((spec.type == ParamSpec::Type::Choice || spec.type == ParamSpec::Type::String) && d.isString());
    if (!value || !jsonTypeOk)
        fail(where, spec.key, "field 'default': " + (why.isEmpty() ? describe(d.toVariant()) + " is not of type " + paramTypeName(spec.type) : why));
    const QString range = rangeProblem(spec, *value);
    if (!range.isEmpty()) fail(where, spec.key, "field 'default': " + range);
    spec.defaultValue = *value;
    return spec;
}

QJsonObject paramSpecToJson(const ParamSpec& spec)
{
    QJsonObject o{{"key", spec.key}, {"type", paramTypeName(spec.type)}, {"default", QJsonValue::fromVariant(spec.defaultValue)}};
    if (spec.min) o["min"] = *spec.min;
    if (spec.max) o["max"] = *spec.max;
    if (!spec.choices.isEmpty()) o["choices"] = QJsonArray::fromStringList(spec.choices);
    if (!spec.help.isEmpty()) o["help"] = spec.help;
    return o;
}

QVariantMap resolveParams(const std::vector<ParamSpec>& specs, const QVariantMap& given, const QString& where)
{
    QStringList known;
    for (const ParamSpec& s : specs) known << s.key;
    for (auto it = given.begin(); it != given.end(); ++it)
        if (!known.contains(it.key()))
            fail(where, it.key(), "unknown parameter" + (known.isEmpty() ? QString(" (it takes none)") : " (known: " + known.join(", ") + ")"));

    QVariantMap out;
    for (const ParamSpec& spec : specs) {
        if (!given.contains(spec.key)) {
            out[spec.key] = spec.defaultValue;
            continue;
        }
        QString why;
        const auto value = convert(spec, given.value(spec.key), &why);
        if (!value) fail(where, spec.key, why);
        const QString range = rangeProblem(spec, *value);
        if (!range.isEmpty()) fail(where, spec.key, range);
        out[spec.key] = *value;
    }
    return out;
}

} // namespace joule::plugin
