// The per-layer view on real candidates: `joule optimize` quantizes ResNet-8 (int8, and a mixed
// int4/int8 search) on small slices of Fashion-MNIST; the view's bars must equal, layer by layer, what
// `joule profile --json` prints for the exported candidate and for its fp32 parent, for energy, latency
// and MACs. The SQNR plot has one bar per finite SQNR of the notes, the sensitivity plot one point per
// scanned layer at the energy int4 weights save by the cost model. Also: layers matched by name (a
// renamed one splits in two), a measured estimate draws no energy bars, a target without int4 kernels
// has no sensitivity points, clicks select layers. Renders /tmp/per_layer_view.png.
//
//   QT_QPA_PLATFORM=offscreen JOULE_SOURCE_DIR=. JOULE_BUILD_DIR=build build/tests/tst_per_layer_view
#include "views/per_layer_view.h"

#include "cost/estimator.h"
#include "onnx/onnx_io.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <set>

using namespace joule;
using joule::ui::LayerSide;
using joule::ui::Metric;
using joule::ui::PerLayerView;

namespace {

QString source(const QString& relative) { return qEnvironmentVariable("JOULE_SOURCE_DIR") + "/" + relative; }
QString jouleBinary() { return qEnvironmentVariable("JOULE_BUILD_DIR") + "/bin/joule"; }

// Runs the command line; its stdout as JSON.
QJsonObject runJoule(const QStringList& args, int timeoutMs)
{
    QProcess p;
    p.start(jouleBinary(), args);
    if (!p.waitForFinished(timeoutMs)) throw std::runtime_error("joule " + args.join(' ').toStdString() + ": timed out");
    if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0)
        throw std::runtime_error("joule " + args.join(' ').toStdString() + ": " + p.readAllStandardError().toStdString());
    return QJsonDocument::fromJson(p.readAllStandardOutput()).object();
}

LayerSide side(const QString& label, const QString& onnx, const QString& target, const QJsonObject& notes = {})
{
    auto graph = std::make_shared<const Graph>(onnx::loadModel(onnx.toStdString()));
    auto stats = std::make_shared<const cost::ModelStats>(cost::analyzeModel(*graph));
    return {label, graph, stats, cost::estimateModel(*stats, cost::loadTarget(target)), notes};
}

bool close(double a, double b) { return std::abs(a - b) <= 1e-9 * std::abs(b) + 1e-12; }

// `joule profile MODEL --target ID --json`'s layers that cost something: (name, energy, latency, MACs).
struct ProfiledLayer {
    QString name;
    double energy, latency, macs;
};
std::vector<ProfiledLayer> profiledLayers(const QString& model, const QString& target)
{
    std::vector<ProfiledLayer> out;
    for (const QJsonValue& v : runJoule({"profile", model, "--target", target, "--json"}, 60000).value("layers").toArray()) {
        const QJsonObject l = v.toObject();
        if (l.value("class") == "free" || l.value("class") == "fused") continue;
        out.push_back({l.value("name").toString(), l.value("energy_uj").toDouble(), l.value("latency_ms").toDouble(),
                       l.value("macs").toDouble()});
    }
    return out;
}

double profiled(const ProfiledLayer& l, Metric m) { return m == Metric::Energy ? l.energy : m == Metric::Latency ? l.latency : l.macs; }

int barCount(QCustomPlot* plot)
{
    int n = 0;
    for (int i = 0; i < plot->plottableCount(); ++i)
        if (auto* b = qobject_cast<QCPBars*>(plot->plottable(i))) n += b->data()->size();
    return n;
}

} // namespace

class TestPerLayerView : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void barsEqualTheCommandLine();
    void sqnrBarsFromTheNotes();
    void sensitivityFromTheCostModel();
    void layersMatchedByName();
    void measuredEnergyIsNotDrawn();
    void noNotesHidesThePlots();
    void clicksSelectLayers();
    void screenshot();

private:
    // A recipe like fmnist_resnet8_int8.json on small data slices, run with --export-dir.
    QJsonObject optimize(const QString& name, bool mixed);
    QTemporaryDir dir_;
    QString parentModel_;
    QString int8Model_, mixedModel_;
    QJsonObject int8Notes_, mixedNotes_;
    QString mixedLabel_;
};

QJsonObject TestPerLayerView::optimize(const QString& name, bool mixed)
{
    QFile in(source("resources/recipes/fmnist_resnet8_int8.json"));
    if (!in.open(QIODevice::ReadOnly)) throw std::runtime_error("cannot read the int8 recipe");
    QJsonObject recipe = QJsonDocument::fromJson(in.readAll()).object();
    recipe["name"] = name;
    recipe["model"] = parentModel_;
    QJsonObject datasets{{"calibration", QJsonObject{{"spec", "fashion-mnist:train"}, {"limit", 64}}},
                         {"test", QJsonObject{{"spec", "fashion-mnist:test"}, {"limit", 200}}}};
    QJsonArray steps = recipe.value("steps").toArray();
    QJsonObject step = steps[0].toObject();
    QJsonObject params = step.value("params").toObject();
    params["calibration_samples"] = 64;
    params["sqnr_samples"] = 16;
    if (mixed) {
        datasets["validation"] = QJsonObject{{"spec", "fashion-mnist:train"}, {"offset", 50000}, {"limit", 200}};
        params["mixed_precision"] = true;
        params["validation_samples"] = 200;
        params["max_candidates"] = 3;
    }
    step["params"] = params;
    steps[0] = step;
    recipe["steps"] = steps;
    recipe["datasets"] = datasets;
    const QString path = dir_.filePath(name + ".json");
    QFile out(path);
    if (!out.open(QIODevice::WriteOnly) || out.write(QJsonDocument(recipe).toJson()) < 0) throw std::runtime_error("cannot write the recipe");
    out.close();
    return runJoule({"optimize", path, "--export-dir", dir_.filePath(name), "--no-store", "--json"}, 600000);
}

void TestPerLayerView::initTestCase()
{
    QVERIFY(dir_.isValid());
    QVERIFY2(QFile::exists(jouleBinary()), "set JOULE_BUILD_DIR to a build with bin/joule");
    parentModel_ = source("resources/models/fmnist_resnet8.onnx");
    QVERIFY(QFile::exists(parentModel_));

    const QJsonObject int8 = optimize("int8", false);
    const QJsonArray c8 = int8.value("candidates").toArray();
    QCOMPARE(c8.size(), 2);   // baseline, c1
    const QJsonObject c1 = c8[1].toObject();
    QCOMPARE(c1.value("id").toString(), QString("c1"));
    QCOMPARE(c1.value("parent").toString(), QString("baseline"));
    int8Model_ = c1.value("files").toArray()[0].toString();
    int8Notes_ = c1.value("notes").toObject();
    QVERIFY(QFile::exists(int8Model_));
    QVERIFY(int8Notes_.value("sqnr").toArray().size() > 5);

    // The mixed search's candidate with the most int4 layers.
    const QJsonObject mixed = optimize("mixed", true);
    int most = -1;
    for (const QJsonValue& v : mixed.value("candidates").toArray()) {
        const QJsonObject c = v.toObject();
        const int int4 = static_cast<int>(c.value("notes").toObject().value("int4_layers").toArray().size());
        if (c.value("id") != "baseline" && int4 > most) {
            most = int4;
            mixedModel_ = c.value("files").toArray()[0].toString();
            mixedNotes_ = c.value("notes").toObject();
            mixedLabel_ = c.value("id").toString() + " · " + c.value("label").toString();
        }
    }
    QVERIFY(most > 0);
    QVERIFY(mixedNotes_.value("sensitivity").toArray().size() > 5);
    QCOMPARE(mixedNotes_.value("sensitivity_metric").toString(), QString("accuracy"));
}

void TestPerLayerView::barsEqualTheCommandLine()
{
    const LayerSide candidate = side("c1 int8", int8Model_, "stm32l4r5", int8Notes_);
    const LayerSide parent = side("baseline", parentModel_, "stm32l4r5");
    const std::vector<ProfiledLayer> want = profiledLayers(int8Model_, "stm32l4r5");
    const std::vector<ProfiledLayer> wantParent = profiledLayers(parentModel_, "stm32l4r5");
    QVERIFY(want.size() >= 10);

    // Every costed layer of the candidate's ModelStats, in execution order.
    QStringList costed;
    for (const cost::LayerStats& l : candidate.stats->layers)
        if (l.kernelClass != cost::KernelClass::Free) costed << QString::fromStdString(l.name);

    PerLayerView view;
    view.setCandidate(candidate, parent, "stm32l4r5");
    QCOMPARE(view.barsPlot()->yAxis->label(), QString("energy (µJ) · estimated on stm32l4r5"));
    std::vector<double> energies;
    for (Metric m : {Metric::Energy, Metric::Latency, Metric::Macs}) {
        view.setMetric(m);
        const auto bars = view.bars();
        QCOMPARE(bars.size(), want.size());   // the fp32 parent has the same layers: none is appended
        QStringList names;
        for (size_t i = 0; i < bars.size(); ++i) {
            names << bars[i].layer;
            QCOMPARE(bars[i].layer, want[i].name);
            QVERIFY(bars[i].candidate && bars[i].parent);
            QVERIFY2(close(*bars[i].candidate, profiled(want[i], m)),
                     qPrintable(QString("%1: %2 vs %3").arg(want[i].name).arg(*bars[i].candidate, 0, 'g', 17).arg(profiled(want[i], m), 0, 'g', 17)));
            const auto p = std::find_if(wantParent.begin(), wantParent.end(), [&](const ProfiledLayer& l) { return l.name == bars[i].layer; });
            QVERIFY(p != wantParent.end());
            QVERIFY2(close(*bars[i].parent, profiled(*p, m)), qPrintable(bars[i].layer));
            if (m == Metric::Energy) energies.push_back(*bars[i].candidate);
        }
        QCOMPARE(names, costed);
        QCOMPARE(barCount(view.barsPlot()), static_cast<int>(2 * bars.size()));
        QCOMPARE(static_cast<int>(view.barsPlot()->xAxis->ticker().dynamicCast<QCPAxisTickerText>()->ticks().size()),
                 static_cast<int>(bars.size()));
    }
    QCOMPARE(wantParent.size(), want.size());
    // setMetric changes what is shown, and the combo follows.
    view.setMetric(Metric::Latency);
    QVERIFY(!close(*view.bars()[1].candidate, energies[1]));
    QVERIFY(view.barsPlot()->yAxis->label().startsWith("latency (ms)"));
    view.findChild<QComboBox*>("perLayerMetric")->setCurrentIndex(0);
    QCOMPARE(view.metric(), Metric::Energy);
    QVERIFY(close(*view.bars()[1].candidate, energies[1]));
}

void TestPerLayerView::sqnrBarsFromTheNotes()
{
    PerLayerView view;
    view.setCandidate(side("c1 int8", int8Model_, "stm32l4r5", int8Notes_), side("baseline", parentModel_, "stm32l4r5"), "stm32l4r5");
    int finite = 0;
    for (const QJsonValue& v : int8Notes_.value("sqnr").toArray()) finite += v.toObject().value("sqnr_db").isDouble();
    QVERIFY(finite > 5);
    QVERIFY(!view.sqnrPlot()->isHidden());
    QCOMPARE(barCount(view.sqnrPlot()), finite);
    // No sensitivity scan in a plain int8 run.
    QVERIFY(view.sensitivityPlot()->isHidden());

    // A null SQNR (nothing to compare) is skipped.
    QJsonObject notes = int8Notes_;
    QJsonArray sqnr = notes.value("sqnr").toArray();
    QJsonObject first = sqnr[0].toObject();
    first["sqnr_db"] = QJsonValue::Null;
    sqnr[0] = first;
    notes["sqnr"] = sqnr;
    view.setCandidate(side("c1 int8", int8Model_, "stm32l4r5", notes), std::nullopt, "stm32l4r5");
    QCOMPARE(barCount(view.sqnrPlot()), finite - 1);
}

void TestPerLayerView::sensitivityFromTheCostModel()
{
    const LayerSide candidate = side(mixedLabel_, mixedModel_, "stm32l4r5", mixedNotes_);
    PerLayerView view;
    view.setCandidate(candidate, side("baseline", parentModel_, "stm32l4r5"), "stm32l4r5");
    QVERIFY(!view.sensitivityPlot()->isHidden());
    QVERIFY(view.sensitivityPlot()->yAxis->label().contains("accuracy"));

    const cost::TargetProfile board = cost::loadTarget("stm32l4r5");
    const auto points = view.sensitivityPoints();
    size_t matched = 0;
    std::set<QString> seen;
    for (const QJsonValue& v : mixedNotes_.value("sensitivity").toArray()) {
        const QJsonObject o = v.toObject();
        const auto layer = std::find_if(candidate.stats->layers.begin(), candidate.stats->layers.end(),
                                        [&](const cost::LayerStats& l) { return QString::fromStdString(l.name) == o.value("node").toString(); });
        if (layer == candidate.stats->layers.end()) continue;
        const double saved = cost::layerCost(*layer, cost::Precision::Int8, board, 0).energyUj -
                             cost::layerCost(*layer, cost::Precision::Int4, board, 0).energyUj;
        QVERIFY(saved != 0.0);   // the M4 profile has int4 kernels, at another cost
        const auto p = std::find_if(points.begin(), points.end(), [&](const auto& t) { return std::get<0>(t) == o.value("node").toString(); });
        QVERIFY2(p != points.end(), qPrintable(o.value("node").toString()));
        QVERIFY(close(std::get<1>(*p), saved));
        QCOMPARE(std::get<2>(*p), o.value("loss").toDouble());
        seen.insert(std::get<0>(*p));
        ++matched;
    }
    QVERIFY(matched >= 8);
    QCOMPARE(points.size(), matched);
    QCOMPARE(seen.size(), matched);
    QCOMPARE(view.sensitivityPlot()->graph(0)->data()->size(), static_cast<int>(matched));

    // The mixed candidate's bars equal the command line too (int4 layers included).
    const std::vector<ProfiledLayer> want = profiledLayers(mixedModel_, "stm32l4r5");
    const auto bars = view.bars();
    QCOMPARE(bars.size(), want.size());
    for (size_t i = 0; i < bars.size(); ++i) {
        QCOMPARE(bars[i].layer, want[i].name);
        QVERIFY(close(*bars[i].candidate, want[i].energy));
    }

    // esp32s3 has no int4 kernels: the plot says so and has no points.
    view.setCandidate(side(mixedLabel_, int8Model_, "esp32s3", mixedNotes_), std::nullopt, "esp32s3");
    QVERIFY(!view.sensitivityPlot()->isHidden());
    QVERIFY(view.sensitivityPoints().empty());
    QCOMPARE(view.sensitivityPlot()->graphCount(), 0);
    QVERIFY(view.sensitivityPlot()->itemCount() > 0);
    QVERIFY(qobject_cast<QCPItemText*>(view.sensitivityPlot()->item(0))->text().contains("no int4 kernels"));
}

void TestPerLayerView::layersMatchedByName()
{
    const LayerSide parent = side("baseline", parentModel_, "stm32l4r5");
    Graph renamed = *parent.graph;
    for (Node& n : renamed.nodes())
        if (n.name == "/stem/Conv") n.name = "/stem/Conv_renamed";
    auto graph = std::make_shared<const Graph>(renamed);
    auto stats = std::make_shared<const cost::ModelStats>(cost::analyzeModel(*graph));
    const LayerSide candidate{"renamed", graph, stats, cost::estimateModel(*stats, cost::loadTarget("stm32l4r5")), {}};

    PerLayerView view;
    view.setCandidate(candidate, parent, "stm32l4r5");
    const auto bars = view.bars();
    const size_t layers = profiledLayers(parentModel_, "stm32l4r5").size();
    QCOMPARE(bars.size(), layers + 1);
    QCOMPARE(bars.front().layer, QString("/stem/Conv_renamed"));
    QVERIFY(bars.front().candidate && !bars.front().parent);
    QCOMPARE(bars.back().layer, QString("/stem/Conv"));
    QVERIFY(!bars.back().candidate && bars.back().parent);
    QCOMPARE(*bars.back().parent, *bars.front().candidate);   // the same layer under two names
    for (size_t i = 1; i + 1 < bars.size(); ++i) QCOMPARE(*bars[i].candidate, *bars[i].parent);
    QCOMPARE(barCount(view.barsPlot()), static_cast<int>(2 * layers));

    // A root: no parent bars.
    view.setCandidate(parent, std::nullopt, "stm32l4r5");
    QCOMPARE(view.bars().size(), layers);
    for (const auto& b : view.bars()) QVERIFY(b.candidate && !b.parent);
    QCOMPARE(view.barsPlot()->plottableCount(), 1);
}

void TestPerLayerView::measuredEnergyIsNotDrawn()
{
    LayerSide measured = side("measured", parentModel_, "stm32l4r5");
    measured.estimate.measured = true;
    measured.estimate.measuredOn = "test CPU";
    measured.estimate.energyUj.reset();
    for (cost::LayerEstimate& l : measured.estimate.layers) l.energyUj.reset();

    PerLayerView view;
    view.setCandidate(measured, std::nullopt, "stm32l4r5");
    QCOMPARE(view.barsPlot()->plottableCount(), 0);
    QVERIFY(!view.bars().empty());
    for (const auto& b : view.bars()) QVERIFY(!b.candidate);
    QVERIFY(qobject_cast<QCPItemText*>(view.barsPlot()->item(0))->text().contains("No energy"));
    view.setMetric(Metric::Latency);
    QCOMPARE(barCount(view.barsPlot()), static_cast<int>(view.bars().size()));
}

void TestPerLayerView::noNotesHidesThePlots()
{
    PerLayerView view;
    view.setCandidate(side(mixedLabel_, mixedModel_, "stm32l4r5", mixedNotes_), std::nullopt, "stm32l4r5");
    QVERIFY(!view.sqnrPlot()->isHidden() && !view.sensitivityPlot()->isHidden());
    view.setCandidate(side("c1 int8", int8Model_, "stm32l4r5"), std::nullopt, "stm32l4r5");
    QVERIFY(view.sqnrPlot()->isHidden());
    QVERIFY(view.sensitivityPlot()->isHidden());
    QVERIFY(view.sensitivityPoints().empty());
    view.clear();
    QVERIFY(view.bars().empty());
    QCOMPARE(view.barsPlot()->plottableCount(), 0);
}

void TestPerLayerView::clicksSelectLayers()
{
    PerLayerView view;
    view.resize(1300, 900);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setCandidate(side(mixedLabel_, mixedModel_, "stm32l4r5", mixedNotes_), side("baseline", parentModel_, "stm32l4r5"), "stm32l4r5");
    QSignalSpy spy(&view, &PerLayerView::layerSelected);

    QCustomPlot* bars = view.barsPlot();
    bars->replot();
    const int i = 3;
    const QPoint at(static_cast<int>(bars->xAxis->coordToPixel(i)), bars->axisRect()->center().y());
    QTest::mouseClick(bars, Qt::LeftButton, {}, at);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.takeFirst().at(0).toString(), view.bars()[i].layer);
    QVERIFY(view.status().startsWith(view.bars()[i].layer + " — candidate: "));

    QCustomPlot* sens = view.sensitivityPlot();
    sens->replot();
    const auto [layer, saved, loss] = view.sensitivityPoints().front();
    const QPoint point(static_cast<int>(sens->xAxis->coordToPixel(saved)), static_cast<int>(sens->yAxis->coordToPixel(100.0 * loss)));
    QTest::mouseClick(sens, Qt::LeftButton, {}, point);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.takeFirst().at(0).toString(), layer);
    QVERIFY(view.status().contains("int4 weights cost") || view.status().contains("int4 weights save"));

    // Outside the axes: nothing.
    QTest::mouseClick(bars, Qt::LeftButton, {}, QPoint(2, 2));
    QCOMPARE(spy.count(), 0);
}

void TestPerLayerView::screenshot()
{
    PerLayerView view;
    view.resize(1400, 950);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setCandidate(side(mixedLabel_, mixedModel_, "stm32l4r5", mixedNotes_), side("baseline · fp32", parentModel_, "stm32l4r5"), "stm32l4r5");
    view.selectLayer("/stage2/conv2/Conv");
    QCoreApplication::processEvents();
    const QImage image = view.grab().toImage();
    QVERIFY(image.width() >= 1400 && image.height() >= 950);
    QVERIFY(image.save("/tmp/per_layer_view.png"));
}

QTEST_MAIN(TestPerLayerView)
#include "tst_per_layer_view.moc"
