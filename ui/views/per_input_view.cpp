#include "views/per_input_view.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPainter>
#include <QScrollArea>
#include <QSlider>
#include <QSplitter>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <tuple>

namespace joule::ui {

PerInputData perInputData(const QString& label, const InputsOf& in)
{
    PerInputData data{.candidateLabel = label, .records = in.records, .classNames = {}, .images = in.images,
                      .stages = in.stages, .policy = in.policy};
    if (in.images) data.classNames = in.images->classNames;
    return data;
}


namespace {

const QColor kCorrect("#1f77b4");
const QColor kWrong("#d62728");
constexpr int kConfidenceBins = 20;
constexpr int kMaxCountedClasses = 20;   // counts are written into the heat map's cells up to this many classes
constexpr int kIcon = 84;                // thumbnail side: 3 x 28

QFont smallFont(int points)
{
    QFont f;
    f.setPointSize(points);
    return f;
}

QCustomPlot* makePlot(const QString& title)
{
    auto* plot = new QCustomPlot;
    plot->setMinimumSize(280, 220);
    plot->plotLayout()->insertRow(0);
    QFont bold = smallFont(9);
    bold.setBold(true);
    plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot, title, bold));
    plot->plotLayout()->setRowSpacing(0);
    for (QCPAxis* a : {plot->xAxis, plot->yAxis}) {
        a->setTickLabelFont(smallFont(8));
        a->setLabelFont(smallFont(8));
        a->setLabelPadding(2);
    }
    return plot;
}

QString percent(double share) { return QString::number(100.0 * share, 'f', share >= 0.9995 || share == 0 ? 1 : 2) + " %"; }

} // namespace

PerInputView::PerInputView(QWidget* parent) : QWidget(parent)
{
    // Left: the policy's sliders and the summary.
    ruleLabel_ = new QLabel;
    ruleLabel_->setWordWrap(true);
    threshold_ = new QSlider(Qt::Horizontal);
    threshold_->setObjectName("threshold");
    threshold_->setRange(0, SliderSteps);
    threshold_->setSingleStep(1);
    threshold_->setPageStep(25);
    thresholdValue_ = new QLabel;
    thresholdValue_->setMinimumWidth(48);
    thresholdValue_->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    classArea_ = new QScrollArea;
    classArea_->setWidgetResizable(true);
    classArea_->setFrameShape(QFrame::NoFrame);
    classArea_->setMaximumHeight(290);
    title_ = new QLabel;
    title_->setWordWrap(true);
    QFont titleFont = title_->font();
    titleFont.setBold(true);
    title_->setFont(titleFont);
    summary_ = new QLabel;
    summary_->setObjectName("summary");
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    sliderPanel_ = new QWidget;
    auto* sliderLayout = new QVBoxLayout(sliderPanel_);
    sliderLayout->setContentsMargins(0, 0, 0, 0);
    sliderLayout->addWidget(ruleLabel_);
    auto* mainRow = new QHBoxLayout;
    mainRow->addWidget(threshold_, 1);
    mainRow->addWidget(thresholdValue_);
    sliderLayout->addLayout(mainRow);
    sliderLayout->addWidget(classArea_);

    auto* left = new QWidget;
    left->setFixedWidth(250);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 6, 0);
    leftLayout->addWidget(title_);
    leftLayout->addWidget(sliderPanel_);
    leftLayout->addSpacing(8);
    leftLayout->addWidget(summary_);
    leftLayout->addStretch(1);

    // Right: the plots, the thumbnails below them.
    buildPlots();
    auto* plots = new QWidget;
    auto* plotGrid = new QGridLayout(plots);
    plotGrid->setContentsMargins(0, 0, 0, 0);
    plotGrid->setSpacing(4);
    plotGrid->addWidget(confidencePlot_, 0, 0);
    plotGrid->addWidget(costPlot_, 1, 0);
    plotGrid->addWidget(confusionPlot_, 0, 1, 2, 1);
    plotGrid->setColumnStretch(0, 1);
    plotGrid->setColumnStretch(1, 1);

    classFilter_ = new QComboBox;
    classFilter_->setObjectName("classFilter");
    answerFilter_ = new QComboBox;
    answerFilter_->setObjectName("answerFilter");
    answerFilter_->addItem(tr("all answers"), static_cast<int>(Answer::All));
    answerFilter_->addItem(tr("correct"), static_cast<int>(Answer::Correct));
    answerFilter_->addItem(tr("wrong"), static_cast<int>(Answer::Wrong));
    stageFilter_ = new QComboBox;
    stageFilter_->setObjectName("stageFilter");
    stageFilterLabel_ = new QLabel(tr("Stage"));
    gridLabel_ = new QLabel;
    grid_ = new QListWidget;
    grid_->setViewMode(QListView::IconMode);
    grid_->setIconSize(QSize(kIcon, kIcon));
    grid_->setGridSize(QSize(kIcon + 10, kIcon + 22));
    grid_->setFont(smallFont(7));
    grid_->setUniformItemSizes(true);
    grid_->setMovement(QListView::Static);
    grid_->setResizeMode(QListView::Adjust);
    grid_->setSelectionMode(QAbstractItemView::SingleSelection);
    gridTimer_ = new QTimer(this);
    gridTimer_->setSingleShot(true);
    gridTimer_->setInterval(0);

    auto* filters = new QHBoxLayout;
    filters->addWidget(new QLabel(tr("Class")));
    filters->addWidget(classFilter_);
    filters->addSpacing(8);
    filters->addWidget(new QLabel(tr("Answer")));
    filters->addWidget(answerFilter_);
    filters->addSpacing(8);
    filters->addWidget(stageFilterLabel_);
    filters->addWidget(stageFilter_);
    filters->addSpacing(12);
    filters->addWidget(gridLabel_, 1);
    auto* thumbs = new QWidget;
    auto* thumbLayout = new QVBoxLayout(thumbs);
    thumbLayout->setContentsMargins(0, 0, 0, 0);
    thumbLayout->addLayout(filters);
    thumbLayout->addWidget(grid_, 1);

    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(plots);
    split->addWidget(thumbs);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    split->setChildrenCollapsible(false);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(left);
    layout->addWidget(split, 1);

    connect(threshold_, &QSlider::valueChanged, this, &PerInputView::onMainSlider);
    for (QComboBox* box : {classFilter_, answerFilter_, stageFilter_})
        connect(box, &QComboBox::currentIndexChanged, this, [this] {
            applyFilters();
            rebuildGrid();
        });
    connect(gridTimer_, &QTimer::timeout, this, &PerInputView::rebuildGrid);
    clear();
}

void PerInputView::buildPlots()
{
    confidencePlot_ = makePlot(tr("Confidence: top-1 probability"));
    confidencePlot_->setObjectName("confidencePlot");
    // Side by side on a log scale: the wrong answers are few, and their shape is the point.
    correctBars_ = new QCPBars(confidencePlot_->xAxis, confidencePlot_->yAxis);
    wrongBars_ = new QCPBars(confidencePlot_->xAxis, confidencePlot_->yAxis);
    auto* group = new QCPBarsGroup(confidencePlot_);
    group->setSpacingType(QCPBarsGroup::stAbsolute);
    group->setSpacing(0);
    for (auto [bars, colour, name] : {std::tuple{correctBars_, kCorrect, tr("correct")}, std::tuple{wrongBars_, kWrong, tr("wrong")}}) {
        bars->setName(name);
        bars->setWidth(0.45 / kConfidenceBins);
        bars->setPen(QPen(colour.darker(120), 0.5));
        bars->setBrush(colour);
        bars->setBarsGroup(group);
    }
    confidencePlot_->xAxis->setRange(0, 1);
    confidencePlot_->xAxis->setLabel(tr("top-1 probability of the answer"));
    confidencePlot_->yAxis->setLabel(tr("inputs (log scale)"));
    confidencePlot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
    confidencePlot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    confidencePlot_->legend->setVisible(true);
    confidencePlot_->legend->setFont(smallFont(8));
    confidencePlot_->legend->setRowSpacing(0);
    confidencePlot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);

    costPlot_ = makePlot(tr("Cost per input"));
    costPlot_->setObjectName("energyPlot");
    costBars_ = new QCPBars(costPlot_->xAxis, costPlot_->yAxis);
    costBars_->setPen(QPen(QColor("#5e35b1").darker(120), 0.5));
    costBars_->setBrush(QColor("#7e57c2"));
    costPlot_->yAxis->setLabel(tr("inputs"));
    expectedLine_ = new QCPItemStraightLine(costPlot_);
    expectedLine_->setPen(QPen(QColor("#333333"), 1.2, Qt::DashLine));
    expectedText_ = new QCPItemText(costPlot_);
    expectedText_->position->setType(QCPItemPosition::ptAxisRectRatio);
    expectedText_->setPositionAlignment(Qt::AlignTop | Qt::AlignRight);
    expectedText_->setTextAlignment(Qt::AlignRight);
    expectedText_->setFont(smallFont(8));
    expectedText_->setPadding(QMargins(2, 2, 2, 2));
    expectedText_->setBrush(QColor(255, 255, 255, 220));

    confusionPlot_ = makePlot(tr("Confusion: label × prediction"));
    confusionPlot_->setObjectName("confusionPlot");
    heat_ = new QCPColorMap(confusionPlot_->xAxis, confusionPlot_->yAxis);
    heat_->setInterpolate(false);
    QCPColorGradient gradient;
    gradient.setColorStops({{0.0, QColor("#ffffff")}, {0.35, QColor("#c6dbef")}, {0.7, QColor("#4292c6")}, {1.0, QColor("#08306b")}});
    heat_->setGradient(gradient);
    confusionPlot_->xAxis->setLabel(tr("prediction"));
    confusionPlot_->yAxis->setLabel(tr("label"));
    confusionPlot_->yAxis->setRangeReversed(true);
    for (QCPAxis* a : {confusionPlot_->xAxis, confusionPlot_->yAxis}) {
        a->grid()->setVisible(false);
        a->setSubTicks(false);
        a->setTickLength(0, 3);
    }
    confusionPlot_->xAxis->setTickLabelRotation(-40);
}

void PerInputView::clear()
{
    data_ = {};
    classes_ = 0;
    pathCost_.clear();
    thresholds_.clear();
    outcome_.reset();
    icons_.clear();
    buildControls();
    recompute();
}

void PerInputView::setData(PerInputData data)
{
    std::optional<adaptive::Outcome> start;
    if (data.stages) {
        const adaptive::StageOutputs& st = *data.stages;
        if (!data.policy) throw std::invalid_argument("per-input view: stage outputs come without their policy");
        if (st.inputCount() != static_cast<int64_t>(data.records.size()))
            throw std::invalid_argument("per-input view: the stage outputs hold " + std::to_string(st.inputCount()) + " inputs, the records " +
                                        std::to_string(data.records.size()));
        for (size_t i = 0; i < data.records.size(); ++i)
            if (st.labels[i] != data.records[i].label)
                throw std::invalid_argument("per-input view: input " + std::to_string(i) + " has label " + std::to_string(data.records[i].label) +
                                            " in the records, " + std::to_string(st.labels[i]) + " in the stage outputs");
        start = adaptive::simulate(st, data.policy->rule, data.policy->thresholds);   // PolicyError when they do not fit
    }
    data_ = std::move(data);
    icons_.clear();
    outcome_ = std::move(start);
    pathCost_.clear();
    if (adaptive()) {
        classes_ = data_.stages->classes;
        thresholds_ = data_.policy->thresholds;
        const auto path = adaptive::pathCosts(data_.stages->costs);
        costIsEnergy_ = std::all_of(path.begin(), path.end(), [](const adaptive::StageCost& c) { return c.energyUj.has_value(); });
        for (const adaptive::StageCost& c : path) pathCost_.push_back(costIsEnergy_ ? *c.energyUj : c.latencyMs);
    } else {
        classes_ = static_cast<int64_t>(data_.classNames.size());
        for (const eval::InputRecord& r : data_.records) classes_ = std::max({classes_, r.label + 1, r.prediction + 1});
        thresholds_.clear();
        costIsEnergy_ = std::all_of(data_.records.begin(), data_.records.end(), [](const eval::InputRecord& r) { return r.energyUj.has_value(); });
    }
    buildControls();
    recompute();
}

QString PerInputView::className(int64_t c) const
{
    if (c >= 0 && c < static_cast<int64_t>(data_.classNames.size())) return QString::fromStdString(data_.classNames[static_cast<size_t>(c)]);
    return tr("class %1").arg(c);
}

QString PerInputView::stageName(int s) const
{
    if (data_.policy && s >= 0 && s < static_cast<int>(data_.policy->stages.size()))
        return QString::fromStdString(data_.policy->stages[static_cast<size_t>(s)].name);
    return tr("stage %1").arg(s);
}

double PerInputView::ruleMax() const
{
    if (!data_.policy || data_.policy->rule != adaptive::StopRule::Entropy) return 1.0;
    return std::log(static_cast<double>(std::max<int64_t>(classes_, 2)));
}

int PerInputView::sliderValue(double threshold) const
{
    return std::clamp(static_cast<int>(std::lround(threshold / ruleMax() * SliderSteps)), 0, SliderSteps);
}

double PerInputView::thresholdAt(int value) const { return ruleMax() * value / SliderSteps; }

QSlider* PerInputView::thresholdSlider() const { return adaptive() ? threshold_ : nullptr; }

// What depends on the data but not on the thresholds: the filter lists, the axes, and the sliders of
// the policy (the main one at the mean of its thresholds; for class_max_prob one per class at that
// class's threshold of the first stage).
void PerInputView::buildControls()
{
    title_->setText(data_.candidateLabel);
    {
        const QSignalBlocker bc(classFilter_), bs(stageFilter_);
        const int oldClass = classFilter_->currentData().toInt();
        classFilter_->clear();
        classFilter_->addItem(tr("all classes"), -1);
        for (int64_t c = 0; c < classes_; ++c) classFilter_->addItem(className(c), static_cast<int>(c));
        classFilter_->setCurrentIndex(std::max(0, classFilter_->findData(oldClass)));
        stageFilter_->clear();
        stageFilter_->addItem(tr("all stages"), -1);
        for (size_t s = 0; s < pathCost_.size(); ++s) stageFilter_->addItem(stageName(static_cast<int>(s)), static_cast<int>(s));
    }

    // Confusion: class names on both axes, one count label per cell.
    const int c = static_cast<int>(classes_);
    heat_->data()->setSize(c, c);
    heat_->data()->setRange(QCPRange(0, std::max(c - 1, 1)), QCPRange(0, std::max(c - 1, 1)));
    for (QCPItemText* t : cellTexts_) confusionPlot_->removeItem(t);
    cellTexts_.clear();
    auto names = QSharedPointer<QCPAxisTickerText>::create();
    for (int k = 0; k < c; ++k) names->addTick(k, className(k));
    confusionPlot_->xAxis->setTicker(names);
    confusionPlot_->yAxis->setTicker(names);
    confusionPlot_->xAxis->setRange(-0.5, c - 0.5);
    confusionPlot_->yAxis->setRange(-0.5, c - 0.5);
    if (c <= kMaxCountedClasses)
        for (int label = 0; label < c; ++label)
            for (int pred = 0; pred < c; ++pred) {
                auto* t = new QCPItemText(confusionPlot_);
                t->position->setCoords(pred, label);
                t->setFont(smallFont(c <= 10 ? 8 : 6));
                cellTexts_.push_back(t);
            }

    // Cost: an adaptive candidate's bars stand at its stages' path costs, named.
    const QString unit = costIsEnergy_ ? tr("µJ") : tr("ms");
    costPlot_->xAxis->setLabel((costIsEnergy_ ? tr("energy per input (%1)") : tr("latency per input (%1)")).arg(unit));
    if (adaptive()) {
        auto ticker = QSharedPointer<QCPAxisTickerText>::create();
        for (size_t s = 0; s < pathCost_.size(); ++s)
            ticker->addTick(pathCost_[s], stageName(static_cast<int>(s)) + "\n" + QString::number(pathCost_[s], 'f', pathCost_[s] < 10 ? 2 : 0));
        costPlot_->xAxis->setTicker(ticker);
    } else {
        costPlot_->xAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    }

    classSliders_.clear();
    classValues_.clear();
    if (QWidget* old = classArea_->takeWidget()) old->deleteLater();
    sliderPanel_->setVisible(adaptive());
    stageFilter_->setVisible(adaptive());
    stageFilterLabel_->setVisible(adaptive());
    if (!adaptive()) return;

    const adaptive::StopRule rule = data_.policy->rule;
    const char* name = adaptive::ruleName(rule);
    ruleLabel_->setText(rule == adaptive::StopRule::Entropy
                            ? tr("Threshold (%1): a stage answers when its entropy ≤ t nats").arg(name)
                        : rule == adaptive::StopRule::Margin
                            ? tr("Threshold (%1): a stage answers when top-1 − top-2 probability ≥ t").arg(name)
                        : rule == adaptive::StopRule::ClassMaxProb
                            ? tr("Threshold (%1): a stage answers when top-1 probability ≥ t of the predicted class; "
                                 "this slider sets every class").arg(name)
                            : tr("Threshold (%1): a stage answers when top-1 probability ≥ t").arg(name));
    showMeanOnMainSlider();
    threshold_->setToolTip(tr("%1 steps over [0, %2]; PageUp / PageDown move 25").arg(SliderSteps).arg(ruleMax(), 0, 'f', 3));

    classArea_->setVisible(rule == adaptive::StopRule::ClassMaxProb);
    if (rule != adaptive::StopRule::ClassMaxProb) return;
    auto* box = new QWidget;
    auto* classGrid = new QGridLayout(box);
    classGrid->setContentsMargins(0, 0, 0, 0);
    classGrid->setVerticalSpacing(0);
    for (int64_t c = 0; c < classes_; ++c) {
        const auto cs = static_cast<size_t>(c);
        const int row = static_cast<int>(c);
        auto* label = new QLabel(className(c));
        label->setFont(smallFont(8));
        label->setFixedWidth(78);
        auto* slider = new QSlider(Qt::Horizontal);
        slider->setObjectName(QString("classThreshold%1").arg(c));
        slider->setRange(0, SliderSteps);
        slider->setPageStep(25);
        slider->setValue(sliderValue(thresholds_.front()[cs]));
        auto* value = new QLabel(QString::number(thresholds_.front()[cs], 'f', 3));
        value->setFont(smallFont(8));
        value->setMinimumWidth(36);
        value->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
        classGrid->addWidget(label, row, 0);
        classGrid->addWidget(slider, row, 1);
        classGrid->addWidget(value, row, 2);
        connect(slider, &QSlider::valueChanged, this, [this, cs](int v) { onClassSlider(cs, v); });
        classSliders_.push_back(slider);
        classValues_.push_back(value);
    }
    classArea_->setWidget(box);
    classArea_->setMinimumHeight(std::min(box->sizeHint().height(), classArea_->maximumHeight()));
}

void PerInputView::showMeanOnMainSlider()
{
    double sum = 0;
    size_t count = 0;
    for (const auto& t : thresholds_)
        for (double v : t) sum += v, ++count;
    const double mean = count ? sum / static_cast<double>(count) : 0.0;
    const QSignalBlocker block(threshold_);
    threshold_->setValue(sliderValue(mean));
    thresholdValue_->setText(QString::number(mean, 'f', 3));
}

void PerInputView::onMainSlider(int value)
{
    if (!adaptive()) return;
    const double t = thresholdAt(value);
    for (auto& stage : thresholds_) std::fill(stage.begin(), stage.end(), t);
    thresholdValue_->setText(QString::number(t, 'f', 3));
    for (size_t c = 0; c < classSliders_.size(); ++c) {
        const QSignalBlocker block(classSliders_[c]);
        classSliders_[c]->setValue(value);
        classValues_[c]->setText(QString::number(t, 'f', 3));
    }
    resimulate();
}

void PerInputView::onClassSlider(size_t c, int value)
{
    const double t = thresholdAt(value);
    for (auto& stage : thresholds_) stage[c] = t;
    classValues_[c]->setText(QString::number(t, 'f', 3));
    showMeanOnMainSlider();
    resimulate();
}

void PerInputView::recompute()
{
    const size_t n = data_.records.size();
    shown_.assign(n, {});
    if (adaptive()) {
        for (size_t i = 0; i < n; ++i) {
            const int k = outcome_->stageOf[i];
            const adaptive::StageScore& s = data_.stages->scores[static_cast<size_t>(k)][i];
            shown_[i] = {data_.stages->labels[i], s.prediction, s.top1, s.prediction == data_.stages->labels[i], k, pathCost_[static_cast<size_t>(k)]};
        }
    } else {
        for (size_t i = 0; i < n; ++i) {
            const eval::InputRecord& r = data_.records[i];
            shown_[i] = {r.label, r.prediction, r.top1Probability, r.correct, r.stage, costIsEnergy_ ? r.energyUj : r.latencyMs};
        }
    }
    correct_ = 0;
    const auto cs = static_cast<size_t>(classes_);
    confusion_.assign(cs, std::vector<int64_t>(cs, 0));
    for (const Shown& s : shown_) {
        correct_ += s.correct;
        if (s.label >= 0 && s.label < classes_ && s.prediction >= 0 && s.prediction < classes_)
            ++confusion_[static_cast<size_t>(s.label)][static_cast<size_t>(s.prediction)];
    }

    summary_->setText(summaryText());
    updatePlots();
    applyFilters();
    gridTimer_->start();
}

void PerInputView::resimulate()
{
    outcome_ = adaptive::simulate(*data_.stages, data_.policy->rule, thresholds_);
    recompute();
    emit operatingPointChanged(outcome_->accuracy, outcome_->expectedEnergyUj.value_or(std::numeric_limits<double>::quiet_NaN()),
                               outcome_->expectedLatencyMs);
}

QString PerInputView::summaryText() const
{
    const auto n = static_cast<int64_t>(shown_.size());
    if (n == 0) return tr("No per-input records.");
    QStringList lines;
    lines << tr("Accuracy %1 (%2 of %3 inputs)").arg(percent(static_cast<double>(correct_) / static_cast<double>(n))).arg(correct_).arg(n);
    const QString unit = costIsEnergy_ ? tr("µJ") : tr("ms");
    if (outcome_) {
        if (outcome_->expectedEnergyUj) lines << tr("Expected energy %1 µJ per input").arg(*outcome_->expectedEnergyUj, 0, 'f', 2);
        lines << tr("Expected latency %1 ms per input").arg(outcome_->expectedLatencyMs, 0, 'f', 3);
        for (size_t s = 0; s < outcome_->answered.size(); ++s)
            lines << tr("Answered by %1: %2").arg(stageName(static_cast<int>(s)), percent(outcome_->answered[s]));
    } else if (shown_.front().cost) {
        double sum = 0;
        for (const Shown& s : shown_) sum += s.cost.value_or(0.0);
        lines << tr("%1 %2 %3 per input").arg(costIsEnergy_ ? tr("Energy") : tr("Latency")).arg(sum / static_cast<double>(n), 0, 'f', 3).arg(unit);
    }
    return lines.join('\n');
}

void PerInputView::updatePlots()
{
    // Confidence: bins of 1/20 over [0, 1].
    QVector<double> keys(kConfidenceBins), right(kConfidenceBins, 0.0), wrong(kConfidenceBins, 0.0);
    for (int b = 0; b < kConfidenceBins; ++b) keys[b] = (b + 0.5) / kConfidenceBins;
    for (const Shown& s : shown_) {
        const int b = std::clamp(static_cast<int>(s.top1 * kConfidenceBins), 0, kConfidenceBins - 1);
        (s.correct ? right : wrong)[b] += 1;
    }
    correctBars_->setData(keys, right, true);
    wrongBars_->setData(keys, wrong, true);
    const double highest = std::max(*std::max_element(right.begin(), right.end()), *std::max_element(wrong.begin(), wrong.end()));
    confidencePlot_->yAxis->setRange(0.7, std::max(highest, 1.0) * 1.6);
    if (confidencePlot_->width() > 1 && confidencePlot_->height() > 1) confidencePlot_->replot(QCustomPlot::rpQueuedReplot);

    // Confusion: one cell per (prediction, label); colour by log(1 + count), counts written in.
    const int c = static_cast<int>(classes_);
    int64_t most = 1;
    for (const auto& row : confusion_) most = std::max(most, *std::max_element(row.begin(), row.end()));
    const double top = std::log1p(static_cast<double>(most));
    for (int label = 0; label < c; ++label)
        for (int pred = 0; pred < c; ++pred) {
            const int64_t count = confusion_[static_cast<size_t>(label)][static_cast<size_t>(pred)];
            const double v = std::log1p(static_cast<double>(count));
            heat_->data()->setCell(pred, label, v);
            if (cellTexts_.empty()) continue;
            QCPItemText* t = cellTexts_[static_cast<size_t>(label * c + pred)];
            t->setText(count ? QString::number(count) : QString());
            t->setColor(v > 0.6 * top ? Qt::white : QColor("#222222"));
        }
    heat_->setDataRange(QCPRange(0, top));
    if (confusionPlot_->width() > 1 && confusionPlot_->height() > 1) confusionPlot_->replot(QCustomPlot::rpQueuedReplot);

    // Cost: one bar per distinct cost (for an adaptive candidate, per answering stage).
    const QString unit = costIsEnergy_ ? tr("µJ") : tr("ms");
    std::map<double, double> perCost;
    double sum = 0;
    int64_t costed = 0;
    for (const Shown& s : shown_)
        if (s.cost) perCost[*s.cost] += 1, sum += *s.cost, ++costed;
    QVector<double> costKeys, counts;
    for (const auto& [k, v] : perCost) costKeys << k, counts << v;
    costBars_->setData(costKeys, counts, true);
    const double widest = costKeys.isEmpty() ? 1.0 : std::max(costKeys.back(), 1e-9);
    costBars_->setWidth(widest * 0.05);
    costPlot_->xAxis->setRange(-widest * 0.05, widest * 1.1);
    costPlot_->yAxis->setRange(0, std::max(1.0, counts.isEmpty() ? 1.0 : *std::max_element(counts.begin(), counts.end())) * 1.12);
    const bool any = costed > 0;
    expectedLine_->setVisible(any);
    expectedText_->setVisible(any);
    if (any) {
        const double mean = sum / static_cast<double>(costed);
        expectedLine_->point1->setCoords(mean, 0);
        expectedLine_->point2->setCoords(mean, 1);
        expectedText_->position->setCoords(0.98, 0.02);
        expectedText_->setText(tr("%1 %2 %3 per input").arg(adaptive() ? tr("expected") : tr("every input")).arg(mean, 0, 'f', 2).arg(unit));
    }
    if (costPlot_->width() > 1 && costPlot_->height() > 1) costPlot_->replot(QCustomPlot::rpQueuedReplot);
}

void PerInputView::setClassFilter(int label) { classFilter_->setCurrentIndex(std::max(0, classFilter_->findData(label))); }
void PerInputView::setAnswerFilter(Answer a) { answerFilter_->setCurrentIndex(answerFilter_->findData(static_cast<int>(a))); }
void PerInputView::setStageFilter(int stage) { stageFilter_->setCurrentIndex(std::max(0, stageFilter_->findData(stage))); }

void PerInputView::applyFilters()
{
    const int cls = classFilter_->currentData().toInt();
    const auto answer = static_cast<Answer>(answerFilter_->currentData().toInt());
    const int stage = adaptive() ? stageFilter_->currentData().toInt() : -1;
    matching_.clear();
    for (size_t i = 0; i < shown_.size(); ++i) {
        const Shown& s = shown_[i];
        if (cls >= 0 && s.label != cls) continue;
        if (answer == Answer::Correct && !s.correct) continue;
        if (answer == Answer::Wrong && s.correct) continue;
        if (stage >= 0 && s.stage != stage) continue;
        matching_.push_back(static_cast<int>(i));
    }
}

int PerInputView::thumbnailCount() const { return grid_->count(); }

QPixmap PerInputView::thumbnail(int64_t index)
{
    if (auto it = icons_.constFind(index); it != icons_.constEnd()) return *it;
    const data::LabeledImages* d = data_.images.get();
    QPixmap pix;
    const int rank = d ? d->images.rank() : 0;
    if (d && d->isImageData() && (rank == 3 || rank == 4) && index >= 0 && index < d->size()) {
        const int h = static_cast<int>(d->images.dim(1)), w = static_cast<int>(d->images.dim(2));
        const int ch = rank == 4 ? static_cast<int>(d->images.dim(3)) : 1;
        const QImage::Format format = ch == 1 ? QImage::Format_Grayscale8 : ch == 3 ? QImage::Format_RGB888 : QImage::Format_RGBA8888;
        if (ch == 1 || ch == 3 || ch == 4) {
            const auto* bytes = d->images.data<uint8_t>() + static_cast<size_t>(index) * static_cast<size_t>(h) * static_cast<size_t>(w) * static_cast<size_t>(ch);
            const QImage image(bytes, w, h, w * ch, format);
            const bool up = std::max(w, h) <= kIcon;
            pix = QPixmap::fromImage(image.scaled(kIcon, kIcon, Qt::KeepAspectRatio, up ? Qt::FastTransformation : Qt::SmoothTransformation));
        }
    }
    icons_.insert(index, pix);
    return pix;
}

// The first MaxThumbnails matching inputs that have an image; wrong answers framed in red.
void PerInputView::rebuildGrid()
{
    gridTimer_->stop();
    grid_->setUpdatesEnabled(false);
    grid_->clear();
    int without = 0;
    for (int i : matching_) {
        if (grid_->count() >= MaxThumbnails) break;
        const eval::InputRecord& r = data_.records[static_cast<size_t>(i)];
        QPixmap pix = thumbnail(r.index);
        if (pix.isNull()) {
            ++without;
            continue;
        }
        const Shown& s = shown_[static_cast<size_t>(i)];
        if (!s.correct) {
            QPainter p(&pix);
            p.setPen(QPen(kWrong, 4));
            p.drawRect(QRectF(pix.rect()).adjusted(2, 2, -2, -2));
        }
        auto* item = new QListWidgetItem(QIcon(pix), className(s.prediction));
        QString tip = tr("input %1\nlabel: %2\nprediction: %3%4\nconfidence: %5")
                          .arg(r.index)
                          .arg(className(s.label), className(s.prediction), s.correct ? QString() : tr(" (wrong)"))
                          .arg(s.top1, 0, 'f', 3);
        if (adaptive()) tip += tr("\nanswered by: %1").arg(stageName(s.stage));
        item->setToolTip(tip);
        item->setData(Qt::UserRole, static_cast<qlonglong>(r.index));
        grid_->addItem(item);
    }
    grid_->setUpdatesEnabled(true);
    QString text = tr("showing %1 of %2 inputs").arg(grid_->count()).arg(matching_.size());
    if (without > 0 || (!matching_.empty() && grid_->count() == 0)) text += tr(" (no image for some inputs)");
    gridLabel_->setText(text);
}

} // namespace joule::ui
