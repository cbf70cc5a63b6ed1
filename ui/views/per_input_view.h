#pragma once
// Per input: what one candidate answered on every test input. A histogram of the top-1 probability
// (correct and wrong apart), the confusion matrix as a heat map, what each input cost, and the
// inputs themselves as thumbnails, filtered by class, answer and answering stage. For an adaptive
// candidate a threshold slider replays its policy on the stored stage outputs (adaptive::simulate):
// every figure follows the slider live, and operatingPointChanged reports the new point.
//
//   PerInputData d{.candidateLabel = "cascade", .records = run.result.records, .classNames = names,
//                  .images = images, .stages = stageOutputs, .policy = policy};
//   view->setData(std::move(d));                 // throws std::invalid_argument on inconsistent data
//   view->thresholdSlider()->setValue(950);      // max_prob: t = 0.95 for every stage
//   view->outcome()->accuracy;                   // adaptive::simulate at view->thresholds()
//   view->setAnswerFilter(PerInputView::Answer::Wrong);
//   view->matchingCount() == view->wrongCount(); // the grid shows at most 200 of them
//
// Plain candidate: everything comes from the records. Adaptive candidate: input i is answered by
// outcome()->stageOf[i], its prediction and probability are that stage's (stages->scores), its cost
// the path cost up to that stage (energy, else latency where the target has no power model). At the
// policy's own thresholds this is what the candidate's run stored. The counts, confusion and outcome
// are current as soon as a slider's valueChanged returns; after a slider move the plots redraw and
// the thumbnail grid rebuilds on the next pass of the event loop (once for any number of moves in
// between), after a filter change the grid rebuilds at once.

#include "project/project.h"
#include "adaptive/policy.h"
#include "adaptive/whatif.h"
#include "data/dataset.h"
#include "eval/evaluator.h"

#include <QHash>
#include <QPixmap>
#include <QString>
#include <QWidget>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

class QComboBox;
class QCPBars;
class QCPColorMap;
class QCPItemStraightLine;
class QCPItemText;
class QCustomPlot;
class QLabel;
class QListWidget;
class QScrollArea;
class QSlider;
class QTimer;

namespace joule::ui {

struct PerInputData {
    QString candidateLabel;
    std::vector<eval::InputRecord> records;              // one per test input, as the candidate's run stored them
    std::vector<std::string> classNames;                 // may be empty: then "class N"
    std::shared_ptr<const data::LabeledImages> images;   // the test inputs; records[i].index indexes it; may be null (no thumbnails)
    std::optional<adaptive::StageOutputs> stages;        // adaptive candidates: every stage on every input (input i = records[i])
    std::optional<adaptive::Policy> policy;              // and their policy (rule, tuned thresholds, stage names)
};

// What a stored candidate's per-input data (Project::inputs) gives the view.
PerInputData perInputData(const QString& label, const InputsOf& inputs);


class PerInputView : public QWidget {
    Q_OBJECT
public:
    enum class Answer { All, Correct, Wrong };
    static constexpr int SliderSteps = 1000;   // a threshold slider spans the rule's range in this many steps
    static constexpr int MaxThumbnails = 200;

    explicit PerInputView(QWidget* parent = nullptr);

    // Shows `data`. Throws std::invalid_argument (and keeps what it showed) when stage outputs come
    // without a policy, hold another number of inputs than the records, or disagree on a label;
    // adaptive::PolicyError when the policy's thresholds do not fit the stages.
    void setData(PerInputData data);
    void clear();

    // Filters of the thumbnail grid.
    void setClassFilter(int label);          // -1 = all
    void setAnswerFilter(Answer a);
    void setStageFilter(int stage);          // -1 = all

    // What is shown (under the current thresholds).
    int64_t correctCount() const { return correct_; }
    int64_t wrongCount() const { return static_cast<int64_t>(shown_.size()) - correct_; }
    std::vector<std::vector<int64_t>> confusion() const { return confusion_; }   // [label][prediction]
    int thumbnailCount() const;              // thumbnails in the grid now (at most MaxThumbnails)
    int matchingCount() const { return static_cast<int>(matching_.size()); }   // inputs that pass the filters
    QString summaryText() const;

    QSlider* thresholdSlider() const;        // nullptr unless adaptive
    std::vector<QSlider*> classSliders() const { return classSliders_; }   // class_max_prob: one per class; else empty
    std::vector<std::vector<double>> thresholds() const { return thresholds_; }   // per stage but the last, as the policy holds them
    std::optional<adaptive::Outcome> outcome() const { return outcome_; }        // adaptive: adaptive::simulate at thresholds()

    QCustomPlot* confidencePlot() const { return confidencePlot_; }   // top-1 probability, correct vs wrong
    QCustomPlot* confusionPlot() const { return confusionPlot_; }     // label x prediction heat map with the counts
    QCustomPlot* energyPlot() const { return costPlot_; }             // inputs per cost (µJ, else ms), the expected value marked
    QListWidget* thumbnails() const { return grid_; }

signals:
    // Adaptive, on every slider move. The energy is NaN where the target has no power model.
    void operatingPointChanged(double accuracy, double expectedEnergyUj, double expectedLatencyMs);

private:
    // What the view shows of one input under the current thresholds.
    struct Shown {
        int64_t label = 0, prediction = 0;
        float top1 = 0;
        bool correct = false;
        int stage = 0;
        std::optional<double> cost;
    };

    bool adaptive() const { return data_.stages.has_value(); }
    QString className(int64_t c) const;
    QString stageName(int s) const;
    double ruleMax() const;
    int sliderValue(double threshold) const;
    double thresholdAt(int value) const;
    void buildPlots();
    void buildControls();
    void showMeanOnMainSlider();
    void onMainSlider(int value);
    void onClassSlider(size_t c, int value);
    void resimulate();           // outcome_ at thresholds_, then recompute() and the signal
    void recompute();            // shown_, counts, confusion, plots' data, summary, filters
    void applyFilters();         // matching_ and the grid's label; the grid itself later
    void updatePlots();
    void rebuildGrid();
    QPixmap thumbnail(int64_t index);

    PerInputData data_;
    int64_t classes_ = 0;
    bool costIsEnergy_ = true;                     // else latency
    std::vector<double> pathCost_;                 // adaptive: per answering stage
    std::vector<std::vector<double>> thresholds_;
    std::optional<adaptive::Outcome> outcome_;
    std::vector<Shown> shown_;                     // per record
    std::vector<int> matching_;                    // positions in the records passing the filters
    int64_t correct_ = 0;
    std::vector<std::vector<int64_t>> confusion_;
    QHash<qint64, QPixmap> icons_;                 // by image index, unframed

    QWidget* sliderPanel_;
    QLabel* ruleLabel_;
    QSlider* threshold_;
    QLabel* thresholdValue_;
    QScrollArea* classArea_;
    std::vector<QSlider*> classSliders_;
    std::vector<QLabel*> classValues_;
    QLabel* title_;
    QLabel* summary_;
    QCustomPlot *confidencePlot_, *confusionPlot_, *costPlot_;
    QCPBars *correctBars_, *wrongBars_, *costBars_;
    QCPColorMap* heat_;
    std::vector<QCPItemText*> cellTexts_;          // [label * classes + prediction], for up to 20 classes
    QCPItemStraightLine* expectedLine_;
    QCPItemText* expectedText_;
    QComboBox *classFilter_, *answerFilter_, *stageFilter_;
    QLabel* stageFilterLabel_;
    QListWidget* grid_;
    QLabel* gridLabel_;
    QTimer* gridTimer_;
};

} // namespace joule::ui
