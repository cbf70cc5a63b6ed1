#include "cost/target_profile.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <cmath>
#include <set>

namespace joule::cost {

const char* precisionName(Precision p)
{
    switch (p) {
    case Precision::Fp32: return "fp32";
    case Precision::Int8: return "int8";
    case Precision::Int4: return "int4";
    }
    return "fp32";
}

std::optional<Precision> precisionFromName(const std::string& name)
{
    if (name == "fp32") return Precision::Fp32;
    if (name == "int8") return Precision::Int8;
    if (name == "int4") return Precision::Int4;
    return std::nullopt;
}

double bytesPerWeight(Precision p)
{
    switch (p) {
    case Precision::Fp32: return 4.0;
    case Precision::Int8: return 1.0;
    case Precision::Int4: return 0.5;
    }
    return 4.0;
}

const MacKernel* Cluster::macKernel(KernelClass k, Precision p) const
{
    auto c = macKernels.find(k);
    if (c == macKernels.end()) return nullptr;
    auto e = c->second.find(p);
    return e == c->second.end() ? nullptr : &e->second;
}

const ElementKernel& Cluster::elementKernel(KernelClass k, Precision activations) const
{
    return elementKernels.at(k).at(activations == Precision::Fp32 ? Precision::Fp32 : Precision::Int8);
}

bool TargetProfile::anyClusterHasInt4() const
{
    for (const auto& c : clusters)
        for (const auto& [k, byType] : c.macKernels)
            if (byType.count(Precision::Int4)) return true;
    return false;
}

int TargetProfile::clusterIndex(const std::string& clusterId) const
{
    for (size_t i = 0; i < clusters.size(); ++i)
        if (clusters[i].id == clusterId) return static_cast<int>(i);
    return -1;
}

namespace {

const std::vector<std::pair<const char*, KernelClass>> kMacClasses = {
    {"conv", KernelClass::Conv}, {"depthwise", KernelClass::Depthwise},
    {"pointwise", KernelClass::Pointwise}, {"fc", KernelClass::FullyConnected}};
const std::vector<std::pair<const char*, KernelClass>> kElementClasses = {
    {"elementwise", KernelClass::Elementwise}, {"pooling", KernelClass::Pooling}};

enum class Range { NonNegative, Positive, AtLeastOne };

std::string jsonTypeName(const QJsonValue& v)
{
    switch (v.type()) {
    case QJsonValue::Null: return "null";
    case QJsonValue::Bool: return "a boolean";
    case QJsonValue::Double: return "a number";
    case QJsonValue::String: return "a string";
    case QJsonValue::Array: return "an array";
    case QJsonValue::Object: return "an object";
    case QJsonValue::Undefined: return "nothing";
    }
    return "?";
}

std::string numberText(double v)
{
    return QString::number(v, 'g', 12).toStdString();
}

// Text of a field name up to its unit suffix: "clock_mhz" -> "clock", "ram_bytes" -> "ram".
std::string unitStem(const std::string& key)
{
    const auto pos = key.rfind('_');
    return pos == std::string::npos ? key : key.substr(0, pos);
}

// Reads one profile, remembering the file for messages. Every check names the field path.
class ProfileReader {
public:
    explicit ProfileReader(QString file) : file_(std::move(file)) {}

    [[noreturn]] void fail(const std::string& path, const std::string& what) const
    {
        throw TargetProfileError(file_.toStdString() + ": field '" + path + "' " + what);
    }

    // Rejects unknown fields (naming a wrong unit when the field differs from a missing one only in
    // its unit suffix), then missing ones.
    void expectKeys(const QJsonObject& o, const std::string& path, const std::vector<std::string>& required,
                    const std::vector<std::string>& optional = {}) const
    {
        const std::set<std::string> known = [&] {
            std::set<std::string> s(required.begin(), required.end());
            s.insert(optional.begin(), optional.end());
            return s;
        }();
        for (auto it = o.begin(); it != o.end(); ++it) {
            const std::string key = it.key().toStdString();
            if (known.count(key)) continue;
            for (const auto& r : required)
                if (!o.contains(QString::fromStdString(r)) && unitStem(r) == unitStem(key) && r.find('_') != std::string::npos)
                    fail(join(path, key), "has the wrong unit: expected '" + join(path, r) + "'");
            fail(join(path, key), "is unknown");
        }
        for (const auto& r : required)
            if (!o.contains(QString::fromStdString(r))) fail(join(path, r), "is missing");
    }

    QJsonObject object(const QJsonValue& v, const std::string& path) const
    {
        if (!v.isObject()) fail(path, "must be an object, got " + jsonTypeName(v));
        return v.toObject();
    }

    QJsonArray array(const QJsonValue& v, const std::string& path) const
    {
        if (!v.isArray()) fail(path, "must be an array, got " + jsonTypeName(v));
        return v.toArray();
    }

    std::string string(const QJsonValue& v, const std::string& path) const
    {
        if (!v.isString()) fail(path, "must be a string, got " + jsonTypeName(v));
        const std::string s = v.toString().toStdString();
        if (s.empty()) fail(path, "must not be empty");
        return s;
    }

    void setSources(const std::map<std::string, std::string>& sources) { sources_ = &sources; }

    std::string sourceKey(const QJsonObject& o, const std::string& path) const
    {
        const std::string key = string(o.value("source"), path + ".source");
        if (!sources_->count(key)) fail(path + ".source", "names \"" + key + "\", which is not a key of 'sources'");
        return key;
    }

    Constant number(const QJsonValue& v, const std::string& path, Range range = Range::NonNegative,
                    bool integer = false) const
    {
        const QJsonObject o = object(v, path);
        expectKeys(o, path, {"value", "source"});
        const QJsonValue value = o.value("value");
        if (!value.isDouble()) fail(path + ".value", "must be a number, got " + jsonTypeName(value));
        const double x = value.toDouble();
        if (!std::isfinite(x)) fail(path + ".value", "must be finite");
        if (range == Range::Positive && !(x > 0)) fail(path + ".value", "must be > 0, got " + numberText(x));
        if (range == Range::AtLeastOne && x < 1) fail(path + ".value", "must be >= 1, got " + numberText(x));
        if (range == Range::NonNegative && x < 0) fail(path + ".value", "must be >= 0, got " + numberText(x));
        if (integer && (std::floor(x) != x || x > 9.007199254740992e15))
            fail(path + ".value", "must be an integer, got " + numberText(x));
        return {x, sourceKey(o, path)};
    }

    bool boolean(const QJsonValue& v, const std::string& path, std::string& source) const
    {
        const QJsonObject o = object(v, path);
        expectKeys(o, path, {"value", "source"});
        if (!o.value("value").isBool()) fail(path + ".value", "must be true or false, got " + jsonTypeName(o.value("value")));
        source = sourceKey(o, path);
        return o.value("value").toBool();
    }

    static std::string join(const std::string& path, const std::string& key)
    {
        return path.empty() ? key : path + "." + key;
    }

private:
    QString file_;
    const std::map<std::string, std::string>* sources_ = nullptr;
};

MacKernel readMacKernel(const ProfileReader& r, const QJsonValue& v, const std::string& path)
{
    const QJsonObject o = r.object(v, path);
    r.expectKeys(o, path, {"cycles_per_mac", "cycles_per_output", "cycles_per_patch_element"});
    return {r.number(o.value("cycles_per_mac"), path + ".cycles_per_mac"),
            r.number(o.value("cycles_per_output"), path + ".cycles_per_output"),
            r.number(o.value("cycles_per_patch_element"), path + ".cycles_per_patch_element")};
}

Cluster readCluster(const ProfileReader& r, const QJsonValue& v, const std::string& p)
{
    const QJsonObject o = r.object(v, p);
    r.expectKeys(o, p, {"id", "name", "cores", "clock_mhz", "active_power_mw", "idle_power_mw", "layer_overhead_cycles",
                        "cluster_switch_cycles", "cluster_switch_cycles_per_byte", "weight_fetch_extra_cycles_per_byte",
                        "weight_reuse_outputs", "mac_kernels", "element_kernels"});
    Cluster c;
    c.id = r.string(o.value("id"), p + ".id");
    c.name = r.string(o.value("name"), p + ".name");
    c.cores = r.number(o.value("cores"), p + ".cores", Range::AtLeastOne, true);
    c.clockMhz = r.number(o.value("clock_mhz"), p + ".clock_mhz", Range::Positive);
    c.activePowerMw = r.number(o.value("active_power_mw"), p + ".active_power_mw");
    c.idlePowerMw = r.number(o.value("idle_power_mw"), p + ".idle_power_mw");
    c.layerOverheadCycles = r.number(o.value("layer_overhead_cycles"), p + ".layer_overhead_cycles");
    c.clusterSwitchCycles = r.number(o.value("cluster_switch_cycles"), p + ".cluster_switch_cycles");
    c.clusterSwitchCyclesPerByte = r.number(o.value("cluster_switch_cycles_per_byte"), p + ".cluster_switch_cycles_per_byte");
    c.weightFetchExtraCyclesPerByte =
        r.number(o.value("weight_fetch_extra_cycles_per_byte"), p + ".weight_fetch_extra_cycles_per_byte");

    std::vector<std::string> macNames;
    for (const auto& [n, k] : kMacClasses) macNames.push_back(n);
    const std::string reuseP = p + ".weight_reuse_outputs";
    const QJsonObject reuse = r.object(o.value("weight_reuse_outputs"), reuseP);
    r.expectKeys(reuse, reuseP, macNames);
    for (const auto& [n, k] : kMacClasses)
        c.weightReuseOutputs[k] = r.number(reuse.value(n), reuseP + "." + n, Range::AtLeastOne);

    const std::string macP = p + ".mac_kernels";
    const QJsonObject mac = r.object(o.value("mac_kernels"), macP);
    r.expectKeys(mac, macP, macNames);
    for (const auto& [n, k] : kMacClasses) {
        const std::string cp = macP + "." + n;
        const QJsonObject byType = r.object(mac.value(n), cp);
        r.expectKeys(byType, cp, {"fp32", "int8"}, {"int4"});
        for (Precision t : {Precision::Fp32, Precision::Int8, Precision::Int4})
            if (byType.contains(precisionName(t)))
                c.macKernels[k][t] = readMacKernel(r, byType.value(precisionName(t)), cp + "." + precisionName(t));
    }

    const std::string elemP = p + ".element_kernels";
    const QJsonObject elem = r.object(o.value("element_kernels"), elemP);
    r.expectKeys(elem, elemP, {"elementwise", "pooling"});
    for (const auto& [n, k] : kElementClasses) {
        const std::string cp = elemP + "." + n;
        const QJsonObject byType = r.object(elem.value(n), cp);
        r.expectKeys(byType, cp, {"fp32", "int8"});
        for (Precision t : {Precision::Fp32, Precision::Int8}) {
            const std::string tp = cp + "." + precisionName(t);
            const QJsonObject e = r.object(byType.value(precisionName(t)), tp);
            r.expectKeys(e, tp, {"cycles_per_element"});
            c.elementKernels[k][t] = {r.number(e.value("cycles_per_element"), tp + ".cycles_per_element")};
        }
    }
    return c;
}

MemorySpec readMemory(const ProfileReader& r, const QJsonValue& v)
{
    const QJsonObject o = r.object(v, "memory");
    r.expectKeys(o, "memory", {"flash_bytes", "ram_bytes", "runtime_flash_bytes", "runtime_ram_bytes",
                               "weight_fetch_energy_pj_per_byte", "weights_share_ram"});
    MemorySpec m;
    m.flashBytes = r.number(o.value("flash_bytes"), "memory.flash_bytes", Range::Positive, true);
    m.ramBytes = r.number(o.value("ram_bytes"), "memory.ram_bytes", Range::Positive, true);
    m.runtimeFlashBytes = r.number(o.value("runtime_flash_bytes"), "memory.runtime_flash_bytes", Range::NonNegative, true);
    m.runtimeRamBytes = r.number(o.value("runtime_ram_bytes"), "memory.runtime_ram_bytes", Range::NonNegative, true);
    m.weightFetchEnergyPjPerByte = r.number(o.value("weight_fetch_energy_pj_per_byte"), "memory.weight_fetch_energy_pj_per_byte");
    m.weightsShareRam = r.boolean(o.value("weights_share_ram"), "memory.weights_share_ram", m.weightsShareRamSource);
    return m;
}

} // namespace

TargetProfile parseTargetProfile(const QByteArray& json, const QString& file)
{
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        throw TargetProfileError(file.toStdString() + ": not valid JSON at offset " + std::to_string(error.offset) +
                                 ": " + error.errorString().toStdString());
    if (!doc.isObject()) throw TargetProfileError(file.toStdString() + ": not a JSON object");
    const QJsonObject o = doc.object();

    ProfileReader r(file);
    r.expectKeys(o, "", {"schema", "id", "name", "description", "kind", "clusters", "memory", "sources"});
    TargetProfile t;
    t.file = file;
    if (r.string(o.value("schema"), "schema") != "joule-target/1")
        r.fail("schema", "must be \"joule-target/1\", got \"" + o.value("schema").toString().toStdString() + "\"");

    const QJsonObject sources = r.object(o.value("sources"), "sources");
    if (sources.isEmpty()) r.fail("sources", "must not be empty");
    for (auto it = sources.begin(); it != sources.end(); ++it)
        t.sources[it.key().toStdString()] = r.string(it.value(), "sources." + it.key().toStdString());
    r.setSources(t.sources);

    t.id = r.string(o.value("id"), "id");
    static const QRegularExpression idPattern("^[a-z0-9][a-z0-9_-]*$");
    if (!idPattern.match(QString::fromStdString(t.id)).hasMatch())
        r.fail("id", "must match [a-z0-9][a-z0-9_-]*, got \"" + t.id + "\"");
    if (t.id == "host") r.fail("id", "must not be \"host\" (reserved for measuring on this machine)");
    const QString base = QFileInfo(file).fileName();
    if (base != QString::fromStdString(t.id) + ".json")
        r.fail("id", "is \"" + t.id + "\" but the file is named " + base.toStdString());
    t.name = r.string(o.value("name"), "name");
    t.description = r.string(o.value("description"), "description");
    t.kind = r.string(o.value("kind"), "kind");
    if (t.kind != "mcu" && t.kind != "multicore-mcu" && t.kind != "big-little")
        r.fail("kind", "must be \"mcu\", \"multicore-mcu\" or \"big-little\", got \"" + t.kind + "\"");

    const QJsonArray clusters = r.array(o.value("clusters"), "clusters");
    if (clusters.isEmpty()) r.fail("clusters", "must not be empty");
    if (t.kind == "mcu" && clusters.size() != 1)
        r.fail("clusters", "must hold exactly one cluster for kind \"mcu\", got " + std::to_string(clusters.size()));
    if (t.kind != "mcu" && clusters.size() < 2)
        r.fail("clusters", "must hold at least two clusters for kind \"" + t.kind + "\"");
    std::set<std::string> ids;
    for (qsizetype i = 0; i < clusters.size(); ++i) {
        const std::string p = "clusters[" + std::to_string(i) + "]";
        t.clusters.push_back(readCluster(r, clusters.at(i), p));
        if (!ids.insert(t.clusters.back().id).second) r.fail(p + ".id", "repeats \"" + t.clusters.back().id + "\"");
    }
    t.memory = readMemory(r, o.value("memory"));
    return t;
}

TargetProfile loadTargetProfile(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw TargetProfileError(path.toStdString() + ": cannot read: " + f.errorString().toStdString());
    return parseTargetProfile(f.readAll(), path);
}

QStringList targetSearchPath()
{
    QStringList dirs;
    const QString env = qEnvironmentVariable("JOULE_TARGET_PATH");
    for (const QString& d : env.split(':', Qt::SkipEmptyParts)) dirs << d;
    if (QCoreApplication::instance())
        dirs << QDir::cleanPath(QCoreApplication::applicationDirPath() + "/../share/joule/targets");
#ifdef JOULE_SOURCE_TARGETS_DIR
    dirs << QStringLiteral(JOULE_SOURCE_TARGETS_DIR);
#endif
    dirs.removeDuplicates();
    return dirs;
}

std::vector<TargetFile> findTargetFiles()
{
    std::map<QString, QString> byId;
    for (const QString& dir : targetSearchPath()) {
        const QFileInfoList files = QDir(dir).entryInfoList({"*.json"}, QDir::Files | QDir::Readable, QDir::Name);
        for (const QFileInfo& f : files) byId.emplace(f.completeBaseName(), f.filePath());
    }
    std::vector<TargetFile> out;
    for (const auto& [id, path] : byId) out.push_back({id, path});
    return out;
}

TargetProfile loadTarget(const QString& id)
{
    const auto files = findTargetFiles();
    QStringList known{"host"};
    for (const auto& f : files) {
        if (f.id == id) return loadTargetProfile(f.path);
        known << f.id;
    }
    if (id == "host")   // measured by joule profile --target host; nothing else can estimate with it
        throw TargetProfileError("target 'host' is this machine, measured (joule profile --target host), not a profile to "
                                 "estimate with; name a board (" + known.mid(1).join(", ").toStdString() + ")");
    throw TargetProfileError("unknown target '" + id.toStdString() + "' (known: " + known.join(", ").toStdString() +
                             "; profiles are searched in " + targetSearchPath().join(":").toStdString() + ")");
}

std::vector<TargetProfile> loadAllTargets()
{
    std::vector<TargetProfile> out;
    for (const auto& f : findTargetFiles()) out.push_back(loadTargetProfile(f.path));
    return out;
}

} // namespace joule::cost
