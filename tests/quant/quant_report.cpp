// joule-quant-report: quantizes a reference model with core/quant and measures it on a dataset.
// Not a test (it runs the full test set); the numbers of docs/quantization.md come from it.
//
//   joule-quant-report MODEL.onnx [--method entropy] [--percentile 99.99] [--activations uint8|int8]
//       [--weights per_channel|per_tensor] [--calib-samples 1000] [--cle] [--bias-correction]
//       [--mixed-precision [--sensitivity-sqnr] [--target ID]] [--int4 NODE]... [--integer]
//       [--limit N] [--sqnr N] [--save OUT.onnx]
// Calibration uses fashion-mnist:train images [0, calib-samples); the reported accuracy is on
// fashion-mnist:test (never used for calibration or search).
#include "cost/estimator.h"
#include "eval/evaluator.h"
#include "onnx/onnx_io.h"
#include "quant/pipeline.h"
#include "runtime/qdq_lower.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <string>

using namespace joule;

// Images [first, first + count) of `d` as a dataset of their own.
static data::LabeledImages slice(const data::LabeledImages& d, int64_t first, int64_t count)
{
    data::LabeledImages s;
    Shape shape = d.images.shape();
    shape[0] = count;
    s.images = Tensor(d.images.dtype(), shape);
    const size_t per = d.images.bytes() / static_cast<size_t>(d.size());
    std::memcpy(s.images.raw(), static_cast<const std::byte*>(d.images.raw()) + per * first, per * count);
    s.labels.assign(d.labels.begin() + first, d.labels.begin() + first + count);
    s.classNames = d.classNames;
    s.source = d.source + "[" + std::to_string(first) + ":" + std::to_string(first + count) + "]";
    return s;
}

static data::Preprocessing cardPreprocessing(const std::string& model)
{
    std::string card = model;
    if (card.size() > 5 && card.substr(card.size() - 5) == ".onnx") card = card.substr(0, card.size() - 5);
    card += ".card.json";
    QFile f(QString::fromStdString(card));
    data::Preprocessing p;
    if (!f.open(QIODevice::ReadOnly)) return p;
    const QJsonObject o = QJsonDocument::fromJson(f.readAll()).object().value("preprocessing").toObject();
    p.scale = static_cast<float>(o.value("scale").toDouble(1.0 / 255));
    p.mean.clear();
    p.std.clear();
    for (const auto v : o.value("mean").toArray()) p.mean.push_back(static_cast<float>(v.toDouble()));
    for (const auto v : o.value("std").toArray()) p.std.push_back(static_cast<float>(v.toDouble()));
    if (p.mean.empty()) p.mean = {0};
    if (p.std.empty()) p.std = {1};
    return p;
}

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: joule-quant-report MODEL.onnx [options]\n");
        return 1;
    }
    const std::string model = argv[1];
    quant::PipelineOptions opt;
    int64_t limit = -1;
    std::string save;
    std::string target = "stm32l4r5";
    bool integer = false;   // also run the integer engine (rt::lowerQdq) on the QDQ graph
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--method") opt.range.method = quant::calibrationMethodFromName(next());
        else if (a == "--percentile") opt.range.percentile = std::stod(next());
        else if (a == "--activations") opt.quantizer.activations = next() == "int8" ? quant::ActivationType::Int8 : quant::ActivationType::UInt8;
        else if (a == "--weights") opt.quantizer.weights = next() == "per_tensor" ? quant::WeightGranularity::PerTensor : quant::WeightGranularity::PerChannel;
        else if (a == "--calib-samples") opt.calibrationSamples = std::stoll(next());
        else if (a == "--cle") opt.cle = true;
        else if (a == "--cle-approximate") opt.cleClip = quant::ClipHandling::Approximate;
        else if (a == "--bias-correction") opt.biasCorrection = true;
        else if (a == "--mixed-precision") opt.mixedPrecision = true;
        else if (a == "--sensitivity-sqnr") opt.mixed.metric = quant::MixedPrecisionOptions::Metric::Sqnr;
        else if (a == "--target") target = next();
        else if (a == "--integer") integer = true;
        else if (a == "--int4") opt.quantizer.weightBits[next()] = 4;
        else if (a == "--limit") limit = std::stoll(next());
        else if (a == "--sqnr") opt.sqnrSamples = std::stoll(next());
        else if (a == "--save") save = next();
        else throw std::runtime_error("unknown option " + a);
    }
    try {
        const Graph fp32 = onnx::loadModel(model);
        const data::Preprocessing prep = cardPreprocessing(model);
        const data::LabeledImages train = data::loadDataset("fashion-mnist:train");
        const data::LabeledImages test = data::loadDataset("fashion-mnist:test");
        // Validation for the search: training images the calibration never sees.
        const data::LabeledImages validation = slice(train, 50000, 10000);
        const cost::TargetProfile board = cost::loadTarget(QString::fromStdString(target));
        opt.mixed.validation = &validation;
        opt.mixed.energyUj = [&](const Graph& g) { return cost::estimateModel(cost::analyzeModel(g), board).energyUj; };
        const quant::PipelineResult r = quant::quantizeModel(fp32, train, prep, opt);
        eval::EvalOptions eo;
        eo.limit = limit;
        const eval::EvalResult fp = eval::evaluate(fp32, test, prep, eo);
        const eval::EvalResult q = eval::evaluate(r.model.graph, test, prep, eo);
        QJsonObject out{{"model", QString::fromStdString(model)},
                        {"samples", static_cast<qint64>(q.samples)},
                        {"fp32_accuracy", fp.accuracy},
                        {"quantized_accuracy", q.accuracy},
                        {"weight_bytes", quant::weightMemoryBytes(r.model)},
                        {"notes", r.notes}};
        if (integer) {
            const Graph lowered = rt::lowerQdq(r.model.graph);
            const eval::EvalResult li = eval::evaluate(lowered, test, prep, eo);
            int64_t same = 0;
            for (size_t i = 0; i < li.records.size(); ++i) same += li.records[i].prediction == q.records[i].prediction;
            QJsonObject ops;
            for (const auto& [op, n] : rt::loweredOpCounts(lowered)) ops[QString::fromStdString(op)] = n;
            out["integer_accuracy"] = li.accuracy;
            out["integer_agreement_with_qdq"] = static_cast<double>(same) / static_cast<double>(li.records.size());
            out["integer_ops"] = ops;
        }
        if (r.mixed) {
            QJsonArray configs;
            for (size_t i = 0; i < r.mixed->configurations.size(); ++i) {
                const auto& c = r.mixed->configurations[i];
                const bool onFront = std::find(r.mixed->front.begin(), r.mixed->front.end(), i) != r.mixed->front.end();
                QJsonObject o{{"int4_layers", c.int4Layers}, {"validation_accuracy", c.accuracy},
                              {"weight_bytes", c.weightBytes}, {"on_front", onFront}};
                if (c.energyUj) o["energy_uj"] = *c.energyUj;
                if (onFront) o["test_accuracy"] = eval::evaluate(c.model.graph, test, prep, eo).accuracy;
                QJsonArray int4;
                for (const auto& [node, bits] : c.weightBits)
                    if (bits == 4) int4.append(QString::fromStdString(node));
                o["int4"] = int4;
                configs.append(o);
            }
            out["mixed_precision"] = configs;
            out["target"] = QString::fromStdString(target);
        }
        std::printf("%s\n", QJsonDocument(out).toJson().constData());
        if (!save.empty()) onnx::saveModel(r.model.graph, save);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "joule-quant-report: %s\n", e.what());
        return 1;
    }
    return 0;
}
