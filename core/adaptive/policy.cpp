#include "adaptive/policy.h"

#include <QJsonArray>

#include <cmath>

namespace joule::adaptive {

namespace {

struct RuleName {
    StopRule rule;
    const char* name;
};
constexpr RuleName kRules[] = {{StopRule::MaxProb, "max_prob"},
                               {StopRule::Margin, "margin"},
                               {StopRule::Entropy, "entropy"},
                               {StopRule::ClassMaxProb, "class_max_prob"}};

std::string number(double v)
{
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    return text;
}

} // namespace

const char* ruleName(StopRule rule)
{
    for (const auto& r : kRules)
        if (r.rule == rule) return r.name;
    return "max_prob";
}

std::optional<StopRule> ruleFromName(const std::string& name)
{
    for (const auto& r : kRules)
        if (name == r.name) return r.rule;
    return std::nullopt;
}

const char* kindName(PolicyKind kind) { return kind == PolicyKind::Cascade ? "cascade" : "early_exit"; }

void checkThresholds(StopRule rule, const std::vector<double>& t, int64_t classes)
{
    const char* name = ruleName(rule);
    if (rule == StopRule::ClassMaxProb) {
        if (static_cast<int64_t>(t.size()) != classes)
            throw PolicyError(std::string(name) + " needs one threshold per class (" + std::to_string(classes) + "), got " +
                              std::to_string(t.size()));
    } else if (t.size() != 1) {
        throw PolicyError(std::string(name) + " needs one threshold per stage, got " + std::to_string(t.size()));
    }
    for (double v : t) {
        if (!std::isfinite(v)) throw PolicyError(std::string(name) + " threshold " + number(v) + " is not a number");
        if (rule == StopRule::Entropy ? v < 0 : (v < 0 || v > 1))
            throw PolicyError(std::string(name) + " threshold " + number(v) + " is outside " +
                              (rule == StopRule::Entropy ? "[0, inf)" : "[0, 1]"));
    }
}

// Scores are float: thresholds are compared in float too, so "0.6" means the float 0.6 either way.
bool confident(StopRule rule, const std::vector<double>& t, const StageScore& s)
{
    switch (rule) {
    case StopRule::MaxProb: return s.top1 >= static_cast<float>(t[0]);
    case StopRule::Margin: return s.margin >= static_cast<float>(t[0]);
    case StopRule::Entropy: return s.entropy <= static_cast<float>(t[0]);
    case StopRule::ClassMaxProb:
        return s.prediction >= 0 && static_cast<size_t>(s.prediction) < t.size() &&
               s.top1 >= static_cast<float>(t[static_cast<size_t>(s.prediction)]);
    }
    return true;
}

bool stopsAt(const Policy& policy, size_t s, const StageScore& score)
{
    return s + 1 >= policy.stages.size() || confident(policy.rule, policy.thresholds[s], score);
}

QJsonObject Policy::toJson() const
{
    QJsonArray st, th;
    for (const Stage& s : stages) {
        QJsonObject o{{"name", QString::fromStdString(s.name)}};
        if (!s.cluster.empty()) o["cluster"] = QString::fromStdString(s.cluster);
        st.append(o);
    }
    for (const auto& t : thresholds) {
        if (rule == StopRule::ClassMaxProb) {
            QJsonArray per;
            for (double v : t) per.append(v);
            th.append(per);
        } else {
            th.append(t.empty() ? 0.0 : t[0]);
        }
    }
    return QJsonObject{{"kind", kindName(kind)}, {"rule", ruleName(rule)}, {"stages", st}, {"thresholds", th}};
}

Policy Policy::fromJson(const QJsonObject& json)
{
    Policy p;
    const QString kind = json.value("kind").toString();
    if (kind == "cascade") p.kind = PolicyKind::Cascade;
    else if (kind == "early_exit") p.kind = PolicyKind::EarlyExit;
    else throw PolicyError("policy field 'kind': expected cascade or early_exit, got '" + kind.toStdString() + "'");
    const auto rule = ruleFromName(json.value("rule").toString().toStdString());
    if (!rule)
        throw PolicyError("policy field 'rule': expected max_prob, margin, entropy or class_max_prob, got '" +
                          json.value("rule").toString().toStdString() + "'");
    p.rule = *rule;
    for (const auto& v : json.value("stages").toArray()) {
        const QJsonObject o = v.toObject();
        p.stages.push_back({o.value("name").toString().toStdString(), o.value("cluster").toString().toStdString()});
    }
    if (p.stages.size() < 2) throw PolicyError("policy field 'stages': an adaptive policy needs at least two stages");
    for (const auto& v : json.value("thresholds").toArray()) {
        std::vector<double> t;
        if (v.isArray()) for (const auto& x : v.toArray()) t.push_back(x.toDouble());
        else t.push_back(v.toDouble());
        p.thresholds.push_back(std::move(t));
    }
    if (p.thresholds.size() + 1 != p.stages.size())
        throw PolicyError("policy field 'thresholds': " + std::to_string(p.stages.size()) + " stages need " +
                          std::to_string(p.stages.size() - 1) + " thresholds, got " + std::to_string(p.thresholds.size()));
    return p;
}

} // namespace joule::adaptive
