#pragma once
// Adaptive, input-dependent inference: stages run in order (a little model, then a big one; or the
// segments of one network, each with an exit head) and a rule over the answering stage's
// probabilities decides whether to stop.
//
//   Policy p{.kind = PolicyKind::Cascade, .rule = StopRule::MaxProb, .stages = {{"little"}, {"big"}},
//            .thresholds = {{0.9}}};               // stop after "little" when its top-1 probability >= 0.9
//   StageScore s{.prediction = 3, .top1 = 0.95f, .margin = 0.9f, .entropy = 0.2f};
//   bool stop = stopsAt(p, 0, s);                    // true
//   QJsonObject json = p.toJson();                  // {"kind": "cascade", "rule": "max_prob", ...}
//
// The rules, over the probabilities of the stage that just ran:
//   max_prob        top-1 probability >= t            (t in [0, 1])
//   margin          top-1 minus top-2 probability >= t (t in [0, 1])
//   entropy         entropy (nats) <= t               (t >= 0)
//   class_max_prob  top-1 probability >= t[predicted class]  (one t per class, each in [0, 1])
// The last stage always answers. Thresholds are given per stage except the last.

#include <QJsonObject>
#include <QString>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace joule::adaptive {

class PolicyError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class StopRule { MaxProb, Margin, Entropy, ClassMaxProb };
enum class PolicyKind { Cascade, EarlyExit };

const char* ruleName(StopRule rule);                      // "max_prob", ...
std::optional<StopRule> ruleFromName(const std::string& name);
const char* kindName(PolicyKind kind);                    // "cascade", "early_exit"

// What one stage said about one input (from its softmax probabilities).
struct StageScore {
    int64_t prediction = 0;
    float top1 = 0;      // top-1 probability
    float margin = 0;    // top-1 minus top-2 probability
    float entropy = 0;   // nats
};

struct Stage {
    std::string name;          // "little", "big", or the exit's tensor for early exits
    std::string cluster;       // cluster of the target profile it runs on ("" = the default mapping)
};

struct Policy {
    PolicyKind kind = PolicyKind::Cascade;
    StopRule rule = StopRule::MaxProb;
    std::vector<Stage> stages;
    // thresholds[s] for every stage s but the last: one value, or one per class for class_max_prob.
    std::vector<std::vector<double>> thresholds;

    QJsonObject toJson() const;
    // Throws PolicyError naming the field at fault.
    static Policy fromJson(const QJsonObject& json);
};

// Checks a threshold list against the rule: PolicyError naming the value at fault, e.g.
// "max_prob threshold 1.5 is outside [0, 1]". `classes` is needed for class_max_prob.
void checkThresholds(StopRule rule, const std::vector<double>& thresholds, int64_t classes);

// True when the rule says stage `s` may answer (always for the last stage).
bool stopsAt(const Policy& policy, size_t s, const StageScore& score);
bool confident(StopRule rule, const std::vector<double>& thresholds, const StageScore& score);

} // namespace joule::adaptive
