#pragma once
// Shared by the export tests: the fixture's bundles, the harness, and the studio's own answers.

#include "adaptive/policy.h"
#include "data/dataset.h"
#include "eval/evaluator.h"
#include "onnx/onnx_io.h"
#include "plugin/model_card.h"
#include "runtime/qdq_lower.h"
#include "runtime/quant_math.h"
#include "runtime/session.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QtTest>

#include <cstring>
#include <memory>
#include <vector>

namespace export_test {

// The bundles the export_bundles fixture makes, as test data rows (column "bundle").
inline void addBundleRows()
{
    QTest::addColumn<QString>("bundle");
    QTest::newRow("fmnist_resnet8 int8") << "resnet8_int8";
    QTest::newRow("fmnist_dscnn int8, CLE + bias correction") << "dscnn_int8_cle";
    QTest::newRow("int8 cascade little -> ResNet-8") << "cascade_int8";
}

inline QString bundleDir(const QString& name) { return qEnvironmentVariable("JOULE_BUILD_DIR") + "/test-exports/" + name; }
inline QString harnessSource() { return qEnvironmentVariable("JOULE_SOURCE_DIR") + "/tests/export/harness.c"; }

inline QJsonObject readManifest(const QString& bundle)
{
    QFile f(bundle + "/manifest.json");
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

struct Run {
    int exitCode = -1;
    QString output;
};

inline Run run(const QString& program, const QStringList& args, int timeoutMs = 600000)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(program, args);
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        return {-1, program + " timed out"};
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromLocal8Bit(p.readAll())};
}

// The first `limit` Fashion-MNIST test images as the model sees them (its card's preprocessing).
inline std::vector<float> testImages(const QString& modelFile, int64_t limit, std::vector<int64_t>* labels = nullptr)
{
    const joule::data::Preprocessing prep = joule::plugin::preprocessingFromCard(modelFile);
    const joule::data::LabeledImages d = joule::data::loadDataset("fashion-mnist:test", prep);
    const int64_t n = std::min(limit, d.size());
    const joule::Shape sample = joule::data::sampleShape(d, prep);
    std::vector<float> x(static_cast<size_t>(n * joule::elementCount(sample)));
    joule::data::fillBatch(d, prep, 0, n, x.data());
    if (labels) labels->assign(d.labels.begin(), d.labels.begin() + n);
    return x;
}

inline bool writeFloats(const QString& path, const std::vector<float>& v)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) &&
           f.write(reinterpret_cast<const char*>(v.data()), static_cast<qint64>(v.size() * sizeof(float))) == static_cast<qint64>(v.size() * sizeof(float));
}

// One harness record: the float path's stage and output, the int8 path's stage and output.
struct Answer {
    int32_t stage = -1;
    std::vector<float> out;
    int32_t stage8 = -1;
    std::vector<int8_t> out8;
};

inline std::vector<Answer> readAnswers(const QString& path, int64_t outputSize)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    const QByteArray b = f.readAll();
    const int64_t record = 4 + 4 * outputSize + 4 + outputSize;
    std::vector<Answer> out;
    for (int64_t at = 0; at + record <= b.size(); at += record) {
        Answer a;
        const char* p = b.constData() + at;
        std::memcpy(&a.stage, p, 4);
        a.out.resize(static_cast<size_t>(outputSize));
        std::memcpy(a.out.data(), p + 4, static_cast<size_t>(4 * outputSize));
        std::memcpy(&a.stage8, p + 4 + 4 * outputSize, 4);
        a.out8.resize(static_cast<size_t>(outputSize));
        std::memcpy(a.out8.data(), p + 8 + 4 * outputSize, static_cast<size_t>(outputSize));
        out.push_back(std::move(a));
    }
    if (static_cast<int64_t>(out.size()) * record != b.size()) return {};
    return out;
}

// The studio's answers: the bundle's ONNX graphs on the integer engine, the candidate's stopping
// rule on eval::scoreRow's scores, the output quantized with the manifest's parameters.
inline std::vector<Answer> studioAnswers(const QString& bundle, const QJsonObject& manifest, const std::vector<float>& images, int64_t count)
{
    std::vector<std::unique_ptr<joule::rt::Session>> sessions;
    for (const QJsonValue& g : manifest["graphs"].toArray()) {
        const joule::Graph graph = joule::onnx::loadModel((bundle + "/" + g["file"].toString()).toStdString());
        sessions.push_back(std::make_unique<joule::rt::Session>(joule::rt::hasQdq(graph) ? joule::rt::lowerQdq(graph) : graph));
    }
    const QJsonObject policyJson = manifest["candidate"]["policy"].toObject();
    const bool adaptive = policyJson["kind"].toString() != "plain";
    const joule::adaptive::Policy policy = adaptive ? joule::adaptive::Policy::fromJson(policyJson) : joule::adaptive::Policy{};
    const bool earlyExit = adaptive && policy.kind == joule::adaptive::PolicyKind::EarlyExit;
    const QJsonObject c = manifest["c"].toObject();
    const float outScale = static_cast<float>(c["output_scale"].toDouble());
    const int32_t outZp = c["output_zero_point"].toInt();
    const int64_t inSize = c["input_size"].toInteger(), outSize = c["output_size"].toInteger();
    std::vector<Answer> answers(static_cast<size_t>(count));
    std::vector<float> prob;
    const int64_t batch = 500;
    for (int64_t begin = 0; begin < count; begin += batch) {
        const int64_t n = std::min(batch, count - begin);
        joule::Tensor x(joule::DataType::Float32, {n, 1, 28, 28});
        std::memcpy(x.data<float>(), images.data() + begin * inSize, static_cast<size_t>(n * inSize) * sizeof(float));
        std::vector<joule::Tensor> logits;
        joule::Tensor feed = x;
        for (size_t s = 0; s < sessions.size(); ++s) {
            const joule::Graph& g = sessions[s]->graph();
            auto out = sessions[s]->run({{g.requiredInputs().front().name, earlyExit ? feed : x}});
            logits.push_back(out.at(g.outputs().front().name));
            if (earlyExit && s + 1 < sessions.size()) feed = out.at(g.outputs().at(1).name);
        }
        for (int64_t i = 0; i < n; ++i) {
            Answer& a = answers[static_cast<size_t>(begin + i)];
            size_t s = 0;
            for (; adaptive && s + 1 < sessions.size(); ++s) {
                joule::eval::InputRecord r;
                joule::eval::scoreRow(logits[s].data<float>() + i * outSize, outSize, r, prob);
                if (joule::adaptive::stopsAt(policy, s, {r.prediction, r.top1Probability, r.margin, r.entropy})) break;
            }
            const float* y = logits[s].data<float>() + i * outSize;
            a.stage = a.stage8 = static_cast<int32_t>(s);
            a.out.assign(y, y + outSize);
            for (int64_t k = 0; k < outSize; ++k) a.out8.push_back(joule::rt::quantizeValue<int8_t>(y[k], outScale, outZp));
        }
    }
    return answers;
}

} // namespace export_test
