// The per-input view on real data: the committed little CNN and ResNet-8 as a cascade on the first
// 1,000 Fashion-MNIST test images, costed on stm32l4r5. The records come from running the cascade
// (adaptive::runCascade), the what-if data from scoring every stage on every input
// (adaptive::scoreStages): two computations that the view must bring together. At the policy's
// threshold its counts and confusion equal the records'; the filters count what the records count;
// every 25th slider step is fast (also over 10,000 inputs) and equals adaptive::simulate, and at three
// thresholds `joule whatif` agrees; a plain candidate shows its evaluate() records; class_max_prob
// has a slider per class that moves only its class; bad data throws or goes without thumbnails.
//
//   QT_QPA_PLATFORM=offscreen JOULE_SOURCE_DIR=. JOULE_BUILD_DIR=build build/tests/tst_per_input_view
//   (the screenshots are kept at $TMPDIR/per_input_view.png and per_input_view_class_max_prob.png)
#include "views/per_input_view.h"

#include "adaptive/cascade.h"
#include "cost/estimator.h"
#include "cost/layer_stats.h"
#include "cost/target_profile.h"
#include "onnx/onnx_io.h"
#include "plugin/model_card.h"
#include "thread_clock.h"

#include <qcustomplot.h>

#include <QDir>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QListWidget>
#include <QProcess>
#include <QSet>
#include <QSignalSpy>
#include <QSlider>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace joule;
using joule::ui::PerInputData;
using joule::ui::PerInputView;

namespace {

QString sourceDir()
{
    const QString root = qEnvironmentVariable("JOULE_SOURCE_DIR");
    if (root.isEmpty()) throw std::runtime_error("JOULE_SOURCE_DIR is not set (ctest sets it)");
    return root;
}

QString modelPath(const char* file) { return sourceDir() + "/resources/models/" + file; }

std::vector<std::vector<int64_t>> confusionOf(const std::vector<eval::InputRecord>& records, int64_t classes)
{
    std::vector<std::vector<int64_t>> m(static_cast<size_t>(classes), std::vector<int64_t>(static_cast<size_t>(classes), 0));
    for (const auto& r : records) ++m[static_cast<size_t>(r.label)][static_cast<size_t>(r.prediction)];
    return m;
}

double barsSum(QCustomPlot* plot, int index)
{
    auto* bars = qobject_cast<QCPBars*>(plot->plottable(index));
    if (!bars) return -1;
    double sum = 0;
    for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) sum += it->value;
    return sum;
}

} // namespace

class TestPerInputView : public QObject {
    Q_OBJECT
private:
    std::shared_ptr<const data::LabeledImages> images_;   // the first 1,000 test images
    std::vector<Graph> graphs_;                           // little, resnet8
    data::Preprocessing prep_;
    cost::TargetProfile target_;
    adaptive::Policy policy_;                             // cascade, max_prob 0.9
    adaptive::StageOutputs stages_;
    adaptive::CascadeRun run_;

    PerInputData cascadeData() const
    {
        return PerInputData{.candidateLabel = "little → resnet8 (max_prob 0.9)", .records = run_.result.records,
                            .classNames = images_->classNames, .images = images_, .stages = stages_, .policy = policy_};
    }

    // outcome() against adaptive::simulate at `t` (what the slider says the thresholds are).
    static void compareOutcome(const adaptive::Outcome& got, const adaptive::Outcome& want)
    {
        QCOMPARE(got.correct, want.correct);
        QCOMPARE(got.accuracy, want.accuracy);
        QCOMPARE(got.stageOf, want.stageOf);
        QCOMPARE(got.answered, want.answered);
        QVERIFY(got.expectedEnergyUj && want.expectedEnergyUj);
        QCOMPARE(*got.expectedEnergyUj, *want.expectedEnergyUj);
        QCOMPARE(got.expectedLatencyMs, want.expectedLatencyMs);
    }

    // Every 25th step from 0 to the end with PageUp on the real slider; each change timed on its
    // own and with the event processing after it (the plots' replot and the thumbnail grid).
    // Returns the slowest step and, in `median`, the median one, in the GUI thread's CPU time.
    void sweepSlider(PerInputView& view, const adaptive::StageOutputs& stages, double* worstChangeMs, double* worstTotalMs, double* medianTotalMs)
    {
        QSlider* slider = view.thresholdSlider();
        QTest::keyClick(slider, Qt::Key_Home);
        QCOMPARE(slider->value(), 0);
        QCoreApplication::processEvents();
        *worstChangeMs = *worstTotalMs = 0;
        std::vector<double> totals;
        QSignalSpy moved(&view, &PerInputView::operatingPointChanged);
        int steps = 0;
        while (slider->value() < slider->maximum()) {
            ThreadClock clock;   // the GUI thread's own time (see thread_clock.h)
            QTest::keyClick(slider, Qt::Key_PageUp);
            const double change = clock.elapsedMs();
            // Read right after valueChanged returned, before any event processing.
            const double t = slider->value() / 1000.0;
            QCOMPARE(view.thresholds(), (std::vector<std::vector<double>>{{t}}));
            const adaptive::Outcome want = adaptive::simulate(stages, adaptive::StopRule::MaxProb, {{t}});
            compareOutcome(*view.outcome(), want);
            QCOMPARE(view.correctCount(), want.correct);
            clock.restart();
            QCoreApplication::processEvents();
            const double total = change + clock.elapsedMs();
            *worstChangeMs = std::max(*worstChangeMs, change);
            *worstTotalMs = std::max(*worstTotalMs, total);
            totals.push_back(total);
            ++steps;
            QCOMPARE(moved.count(), steps);
            QCOMPARE(moved.last().at(0).toDouble(), want.accuracy);
            QCOMPARE(moved.last().at(1).toDouble(), *want.expectedEnergyUj);
        }
        QCOMPARE(steps, 40);
        std::sort(totals.begin(), totals.end());
        *medianTotalMs = totals[totals.size() / 2];
        QCOMPARE(view.thumbnailCount(), std::min(PerInputView::MaxThumbnails, view.matchingCount()));
    }

private slots:
    void initTestCase()
    {
        const data::LabeledImages all = data::loadDataset("fashion-mnist:test");
        std::vector<int64_t> first(1000);
        std::iota(first.begin(), first.end(), int64_t(0));
        images_ = std::make_shared<const data::LabeledImages>(adaptive::selectInputs(all, first));
        prep_ = plugin::preprocessingFromCard(modelPath("fmnist_little.onnx"));
        graphs_.push_back(onnx::loadModel(modelPath("fmnist_little.onnx").toStdString()));
        graphs_.push_back(onnx::loadModel(modelPath("fmnist_resnet8.onnx").toStdString()));
        target_ = cost::loadTarget("stm32l4r5");
        policy_ = adaptive::Policy{.kind = adaptive::PolicyKind::Cascade, .rule = adaptive::StopRule::MaxProb,
                                   .stages = {{"little", ""}, {"resnet8", ""}}, .thresholds = {{0.9}}};
        const auto costs = adaptive::stageCosts(graphs_, policy_, target_);
        stages_ = adaptive::scoreStages(graphs_, {"little", "resnet8"}, costs, *images_, prep_);
        run_ = adaptive::runCascade(policy_, graphs_, costs, *images_, prep_);
        QCOMPARE(stages_.inputCount(), 1000);
        QCOMPARE(static_cast<int64_t>(run_.result.records.size()), 1000);
        // Both stages answer a real share at 0.9, else the test proves little.
        QVERIFY(run_.executed[1] > 50 && run_.executed[1] < 950);
    }

    void atThePolicysThresholdItShowsTheRecords()
    {
        PerInputView view;
        view.setData(cascadeData());
        const auto& records = run_.result.records;
        QCOMPARE(view.thresholds(), policy_.thresholds);
        QCOMPARE(view.thresholdSlider()->value(), 900);
        QCOMPARE(view.correctCount() + view.wrongCount(), static_cast<int64_t>(records.size()));
        QCOMPARE(view.correctCount(), run_.result.correct);
        QCOMPARE(view.confusion(), confusionOf(records, 10));
        QCOMPARE(view.confusion(), run_.result.confusion);
        int64_t total = 0;
        for (const auto& row : view.confusion()) total = std::accumulate(row.begin(), row.end(), total);
        QCOMPARE(total, static_cast<int64_t>(records.size()));
        // The answering stage and the expected energy are the records' too.
        const adaptive::Outcome o = *view.outcome();
        double energy = 0;
        for (size_t i = 0; i < records.size(); ++i) {
            QCOMPARE(o.stageOf[i], records[i].stage);
            energy += *records[i].energyUj;
        }
        QVERIFY(std::abs(*o.expectedEnergyUj - energy / static_cast<double>(records.size())) < 1e-9 * energy);
        QCOMPARE(o.answered[1], static_cast<double>(run_.executed[1]) / 1000.0);

        // The plots hold the same counts: confidence bars split correct / wrong, one cost bar per stage.
        QCOMPARE(view.confidencePlot()->plottableCount(), 2);
        QCOMPARE(barsSum(view.confidencePlot(), 0), static_cast<double>(view.correctCount()));
        QCOMPARE(barsSum(view.confidencePlot(), 1), static_cast<double>(view.wrongCount()));
        QVERIFY(view.confidencePlot()->plottable(0)->brush().color() != view.confidencePlot()->plottable(1)->brush().color());
        QCOMPARE(barsSum(view.energyPlot(), 0), 1000.0);
        QCOMPARE(qobject_cast<QCPBars*>(view.energyPlot()->plottable(0))->data()->size(), 2);
        QVERIFY(qobject_cast<QCPColorMap*>(view.confusionPlot()->plottable(0)));
        auto names = view.confusionPlot()->xAxis->ticker().dynamicCast<QCPAxisTickerText>();
        QVERIFY(names);
        QCOMPARE(names->ticks().value(9), QString("Ankle boot"));
        QVERIFY(view.summaryText().contains("little") && view.summaryText().contains("µJ"));
    }

    void filtersCountWhatTheRecordsCount()
    {
        PerInputView view;
        view.setData(cascadeData());
        const auto& records = run_.result.records;
        QCOMPARE(view.matchingCount(), 1000);
        QCoreApplication::processEvents();
        QCOMPARE(view.thumbnailCount(), 200);
        view.setAnswerFilter(PerInputView::Answer::Wrong);
        QCOMPARE(view.matchingCount(), static_cast<int>(view.wrongCount()));
        QCOMPARE(view.thumbnailCount(), std::min(200, view.matchingCount()));
        QListWidgetItem* item = view.thumbnails()->item(0);
        QVERIFY(item && item->toolTip().contains("(wrong)"));
        QVERIFY(!records[static_cast<size_t>(item->data(Qt::UserRole).toLongLong())].correct);
        view.setAnswerFilter(PerInputView::Answer::Correct);
        QCOMPARE(view.matchingCount(), static_cast<int>(view.correctCount()));
        view.setAnswerFilter(PerInputView::Answer::All);
        for (int c = 0; c < 10; ++c) {
            view.setClassFilter(c);
            QCOMPARE(view.matchingCount(), static_cast<int>(std::count(images_->labels.begin(), images_->labels.end(), c)));
        }
        view.setClassFilter(-1);
        for (int s = 0; s < 2; ++s) {
            view.setStageFilter(s);
            QCOMPARE(view.matchingCount(), static_cast<int>(std::count_if(records.begin(), records.end(), [s](const auto& r) { return r.stage == s; })));
        }
        view.setStageFilter(1);
        view.setAnswerFilter(PerInputView::Answer::Wrong);
        QCOMPARE(view.matchingCount(),
                 static_cast<int>(std::count_if(records.begin(), records.end(), [](const auto& r) { return r.stage == 1 && !r.correct; })));
    }

    void everySliderStepIsFastAndEqualsSimulate()
    {
        PerInputView view;
        view.resize(1400, 900);
        view.show();
        view.setData(cascadeData());
        double change = 0, total = 0, median = 0;
        sweepSlider(view, stages_, &change, &total, &median);
        if (QTest::currentTestFailed()) return;
        qInfo("1,000 inputs: slowest step %.2f ms, %.2f ms with replot and thumbnails (median %.2f ms), GUI-thread CPU time", change, total, median);
        QVERIFY2(change < 50, qPrintable(QString("a slider step took %1 ms").arg(change)));
        QVERIFY2(total < 50, qPrintable(QString("a slider step with its redraw took %1 ms").arg(total)));
    }

    void tenThousandInputsStayUnder50ms()
    {
        // The 1,000 real inputs ten times over.
        adaptive::StageOutputs big = stages_;
        PerInputData d = cascadeData();
        big.labels.clear();
        for (auto& s : big.scores) s.clear();
        d.records.clear();
        for (int copy = 0; copy < 10; ++copy) {
            big.labels.insert(big.labels.end(), stages_.labels.begin(), stages_.labels.end());
            for (size_t s = 0; s < big.scores.size(); ++s) big.scores[s].insert(big.scores[s].end(), stages_.scores[s].begin(), stages_.scores[s].end());
            d.records.insert(d.records.end(), run_.result.records.begin(), run_.result.records.end());
        }
        d.stages = big;
        PerInputView view;
        view.resize(1400, 900);
        view.show();
        view.setData(std::move(d));
        QCOMPARE(view.correctCount(), 10 * run_.result.correct);
        double change = 0, total = 0, median = 0;
        sweepSlider(view, big, &change, &total, &median);
        if (QTest::currentTestFailed()) return;
        qInfo("10,000 inputs: slowest step %.2f ms, %.2f ms with replot and thumbnails (median %.2f ms), GUI-thread CPU time", change, total, median);
        QVERIFY2(change < 50, qPrintable(QString("a slider step took %1 ms").arg(change)));
        QVERIFY2(total < 50, qPrintable(QString("a slider step with its redraw took %1 ms").arg(total)));
    }

    void threeThresholdsEqualJouleWhatif()
    {
        QTemporaryDir dir;
        const QString file = dir.filePath("cascade.stages.json");
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QJsonDocument(adaptive::stageOutputsToJson(stages_, policy_)).toJson(QJsonDocument::Compact));
        f.close();
        const QString joule = qEnvironmentVariable("JOULE_BUILD_DIR") + "/bin/joule";
        QVERIFY2(QFile::exists(joule), qPrintable(joule + " is missing (build the joule target)"));

        PerInputView view;
        view.setData(cascadeData());
        for (int value : {500, 800, 975}) {
            view.thresholdSlider()->setValue(value);
            const double t = view.thresholds()[0][0];
            QCOMPARE(t, value / 1000.0);
            QProcess p;
            p.start(joule, {"whatif", file, "--thresholds", QString::number(t, 'g', 17), "--json"});
            QVERIFY(p.waitForFinished(30000));
            QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
            const QJsonObject cli = QJsonDocument::fromJson(p.readAllStandardOutput()).object();
            QCOMPARE(cli["samples"].toInteger(), qint64(1000));
            QCOMPARE(cli["accuracy"].toDouble(), view.outcome()->accuracy);
            QCOMPARE(cli["accuracy"].toDouble(), static_cast<double>(view.correctCount()) / 1000.0);
            QVERIFY(std::abs(cli["energy_uj"].toDouble() - *view.outcome()->expectedEnergyUj) < 1e-9 * *view.outcome()->expectedEnergyUj);
            QCOMPARE(cli["answered"].toArray()[0].toObject()["share"].toDouble(), view.outcome()->answered[0]);
        }
    }

    void aPlainCandidateShowsItsRecords()
    {
        const cost::ModelEstimate e = cost::estimateModel(cost::analyzeModel(graphs_[1]), target_);
        QVERIFY(e.energyUj);
        eval::EvalOptions options;
        options.energyUjPerInput = e.energyUj;
        options.latencyMsPerInput = e.latencyMs;
        const eval::EvalResult r = eval::evaluate(graphs_[1], *images_, prep_, options);
        PerInputView view;
        view.setData({.candidateLabel = "resnet8", .records = r.records, .classNames = images_->classNames, .images = images_,
                      .stages = std::nullopt, .policy = std::nullopt});
        QVERIFY(view.thresholdSlider() == nullptr);
        QVERIFY(view.classSliders().empty());
        QVERIFY(view.thresholds().empty());
        QVERIFY(!view.outcome());
        QCOMPARE(view.correctCount(), r.correct);
        QCOMPARE(view.wrongCount(), r.samples - r.correct);
        QCOMPARE(view.confusion(), r.confusion);
        auto* bars = qobject_cast<QCPBars*>(view.energyPlot()->plottable(0));
        QCOMPARE(bars->data()->size(), 1);
        QCOMPARE(bars->data()->constBegin()->key, *e.energyUj);
        QCOMPARE(bars->data()->constBegin()->value, 1000.0);
        view.setAnswerFilter(PerInputView::Answer::Wrong);
        QCOMPARE(view.matchingCount(), static_cast<int>(r.samples - r.correct));
        QCOMPARE(view.thumbnailCount(), std::min(200, view.matchingCount()));
    }

    void classMaxProbHasOneSliderPerClass()
    {
        adaptive::Policy policy = policy_;
        policy.rule = adaptive::StopRule::ClassMaxProb;
        policy.thresholds = {std::vector<double>(10, 0.9)};   // the same as max_prob 0.9, so the records still hold
        PerInputData d = cascadeData();
        d.policy = policy;
        PerInputView view;
        view.setData(d);
        QCOMPARE(view.classSliders().size(), size_t(10));
        QCOMPARE(view.correctCount(), run_.result.correct);
        QCOMPARE(view.confusion(), run_.result.confusion);

        const std::vector<int> before = view.outcome()->stageOf;
        const int cls = 6;   // Shirt: the little model's least confident class
        view.classSliders()[cls]->setValue(500);
        std::vector<double> want(10, 0.9);
        want[cls] = 0.5;
        QCOMPARE(view.thresholds(), (std::vector<std::vector<double>>{want}));
        const std::vector<int> after = view.outcome()->stageOf;
        int changed = 0;
        for (size_t i = 0; i < before.size(); ++i)
            if (before[i] != after[i]) {
                ++changed;
                QCOMPARE(stages_.scores[0][i].prediction, int64_t(cls));
            }
        QVERIFY(changed > 0);
        compareOutcome(*view.outcome(), adaptive::simulate(stages_, adaptive::StopRule::ClassMaxProb, {want}));

        view.thresholdSlider()->setValue(700);
        for (QSlider* s : view.classSliders()) QCOMPARE(s->value(), 700);
        QCOMPARE(view.thresholds(), (std::vector<std::vector<double>>{std::vector<double>(10, 0.7)}));

        // Tuned per-class thresholds: each class slider at its own, the main one at their mean.
        for (int c = 0; c < 10; ++c) policy.thresholds[0][static_cast<size_t>(c)] = 0.5 + 0.05 * c;
        d.policy = policy;
        view.setData(d);
        QCOMPARE(view.thresholds(), policy.thresholds);
        for (int c = 0; c < 10; ++c) QCOMPARE(view.classSliders()[static_cast<size_t>(c)]->value(), 500 + 50 * c);
        QCOMPARE(view.thresholdSlider()->value(), 725);
    }

    void entropySpansLnClasses()
    {
        adaptive::Policy policy = policy_;
        policy.rule = adaptive::StopRule::Entropy;
        policy.thresholds = {{0.3}};
        PerInputData d = cascadeData();
        d.policy = policy;
        PerInputView view;
        view.setData(d);
        QCOMPARE(view.thresholdSlider()->value(), static_cast<int>(std::lround(0.3 / std::log(10.0) * 1000)));
        const double tuned = view.outcome()->answered[0];
        QVERIFY(tuned > 0 && tuned < 1);
        view.thresholdSlider()->setValue(1000);
        QCOMPARE(view.thresholds()[0][0], std::log(10.0));
        QCOMPARE(view.outcome()->answered[0], 1.0);   // every entropy is at most ln 10
        view.thresholdSlider()->setValue(0);
        QVERIFY(view.outcome()->answered[0] < tuned);   // entropy stops when entropy <= t: fewer at 0
    }

    void badDataThrowsOrGoesWithoutThumbnails()
    {
        PerInputView view;
        view.setData(cascadeData());
        const int64_t correct = view.correctCount();

        PerInputData d = cascadeData();
        for (auto& s : d.stages->scores) s.pop_back();
        d.stages->labels.pop_back();
        try {
            view.setData(d);
            QFAIL("no error for 999 stage inputs and 1000 records");
        } catch (const std::invalid_argument& e) {
            QVERIFY2(QString(e.what()).contains("999") && QString(e.what()).contains("1000"), e.what());
        }
        QCOMPARE(view.correctCount(), correct);   // still the data before

        d = cascadeData();
        d.policy.reset();
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, view.setData(d));

        // Images for only the first 150 inputs, and indices outside them: those go without a thumbnail.
        d = cascadeData();
        std::vector<int64_t> first(150);
        std::iota(first.begin(), first.end(), int64_t(0));
        d.images = std::make_shared<const data::LabeledImages>(adaptive::selectInputs(*images_, first));
        d.records[3].index = -1;
        d.records[4].index = 1 << 30;
        view.setData(d);
        view.setAnswerFilter(PerInputView::Answer::All);
        QCoreApplication::processEvents();
        QCOMPARE(view.matchingCount(), 1000);
        QCOMPARE(view.thumbnailCount(), 148);

        d.images.reset();
        view.setData(d);
        QCoreApplication::processEvents();
        QCOMPARE(view.thumbnailCount(), 0);
        QCOMPARE(view.matchingCount(), 1000);

        view.clear();
        QCOMPARE(view.matchingCount(), 0);
        QVERIFY(view.thresholdSlider() == nullptr);
    }

    void screenshot()
    {
        PerInputView view;
        view.resize(1500, 960);
        view.show();
        view.setData(cascadeData());
        view.thresholdSlider()->setValue(850);
        view.setAnswerFilter(PerInputView::Answer::Wrong);
        QCoreApplication::processEvents();
        const QImage shot = view.grab().toImage();
        const QString path = QDir::temp().filePath("per_input_view.png");
        QVERIFY(shot.save(path));
        // A real drawing: many colours, and the wrong answers' red somewhere.
        QSet<QRgb> colours;
        bool red = false;
        for (int y = 0; y < shot.height(); y += 3)
            for (int x = 0; x < shot.width(); x += 3) {
                const QRgb c = shot.pixel(x, y);
                colours.insert(c);
                red = red || (qRed(c) > 190 && qGreen(c) < 70 && qBlue(c) < 70);
            }
        QVERIFY(colours.size() > 200);
        QVERIFY(red);
        qInfo("screenshot: %s", qPrintable(path));

        // class_max_prob: the per-class sliders beside the main one.
        PerInputData d = cascadeData();
        d.candidateLabel = "little → resnet8 (class_max_prob)";
        d.policy->rule = adaptive::StopRule::ClassMaxProb;
        d.policy->thresholds = {std::vector<double>(10, 0.9)};
        view.setData(d);
        view.classSliders()[6]->setValue(600);
        QCoreApplication::processEvents();
        QVERIFY(view.grab().save(QDir::temp().filePath("per_input_view_class_max_prob.png")));
    }
};

QTEST_MAIN(TestPerInputView)
#include "tst_per_input_view.moc"
