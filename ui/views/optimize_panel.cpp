#include "views/optimize_panel.h"

#include "views/param_form.h"

#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>

namespace joule::ui {

namespace {

QSpinBox* countBox(int minimum, const QString& specialAll)
{
    auto* box = new QSpinBox;
    box->setRange(minimum, 100'000'000);
    if (!specialAll.isEmpty()) box->setSpecialValueText(specialAll);   // shown at the minimum
    return box;
}

} // namespace

OptimizePanel::OptimizePanel(plugin::PluginManager* plugins, QWidget* parent) : QWidget(parent), plugins_(plugins)
{
    plugin_ = new QComboBox;
    plugin_->setObjectName("plugin");
    fillPlugins();
    summary_ = new QLabel;
    summary_->setWordWrap(true);
    summary_->setStyleSheet("color:#555");
    form_ = new ParamForm;

    calibrationSpec_ = new QLineEdit;
    validationSpec_ = new QLineEdit;
    testSpec_ = new QLineEdit;
    calibrationLimit_ = countBox(0, tr("all"));
    validationOffset_ = countBox(0, QString());
    validationLimit_ = countBox(0, tr("all"));
    testLimit_ = countBox(0, tr("all"));
    calibrationLimit_->setObjectName("calibrationLimit");
    testLimit_->setObjectName("testLimit");
    // Data: one row per split, its dataset spec over the first input and the count.
    auto* data = new QGroupBox(tr("Data"));
    auto* grid = new QGridLayout(data);
    grid->setColumnStretch(1, 1);
    auto* first = new QLabel(tr("first"));
    auto* count = new QLabel(tr("count"));
    for (QLabel* l : {first, count}) l->setStyleSheet("color:#555");
    grid->addWidget(first, 0, 2);
    grid->addWidget(count, 0, 3);
    const auto addRow = [&](int row, const QString& name, QLineEdit* spec, QSpinBox* offset, QSpinBox* limit) {
        grid->addWidget(new QLabel(name), row, 0);
        grid->addWidget(spec, row, 1);
        if (offset) grid->addWidget(offset, row, 2);
        grid->addWidget(limit, row, 3);
        spec->setMinimumWidth(130);
    };
    addRow(1, tr("calibration"), calibrationSpec_, nullptr, calibrationLimit_);
    addRow(2, tr("validation"), validationSpec_, validationOffset_, validationLimit_);
    addRow(3, tr("test"), testSpec_, nullptr, testLimit_);
    calibrationSpec_->setToolTip(tr("Dataset spec, e.g. fashion-mnist:train, idx:IMAGES,LABELS, npy:X.npy,Y.npy, folder:DIR; then how many inputs"));
    validationSpec_->setToolTip(tr("Dataset spec; then the first input and how many (thresholds and searches are tuned on it)"));
    testSpec_->setToolTip(tr("Dataset spec; then how many inputs every candidate is evaluated on"));

    run_ = new QPushButton(tr("Run"));
    run_->setObjectName("run");
    cancel_ = new QPushButton(tr("Cancel"));
    cancel_->setObjectName("cancel");
    cancel_->setEnabled(false);
    progress_ = new QProgressBar;
    progress_->setRange(0, 1000);
    progress_->setValue(0);
    progress_->setTextVisible(false);
    status_ = new QLabel;
    status_->setWordWrap(true);
    status_->setStyleSheet("color:#555");

    auto* params = new QGroupBox(tr("Parameters"));
    auto* paramsLayout = new QVBoxLayout(params);
    paramsLayout->addWidget(form_);
    auto* scroll = new QScrollArea;
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidget(params);

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(run_);
    buttons->addWidget(cancel_);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(plugin_);
    layout->addWidget(summary_);
    layout->addWidget(scroll, 1);
    layout->addWidget(data);
    layout->addLayout(buttons);
    layout->addWidget(progress_);
    layout->addWidget(status_);

    connect(plugin_, &QComboBox::currentIndexChanged, this, &OptimizePanel::pluginChanged);
    connect(run_, &QPushButton::clicked, this, &OptimizePanel::runRequested);
    connect(cancel_, &QPushButton::clicked, this, &OptimizePanel::cancelRequested);
    pluginChanged();
    setProject(nullptr);
}

void OptimizePanel::fillPlugins()
{
    for (const plugin::PluginInfo& p : plugins_->plugins())
        if (p.ok) plugin_->addItem(p.name + " " + p.version, p.name);
}

void OptimizePanel::setPlugins(plugin::PluginManager* plugins)
{
    const QString chosen = currentPlugin();
    {
        const QSignalBlocker block(plugin_);
        plugins_ = plugins;
        plugin_->clear();
        fillPlugins();
        if (plugin_->findData(chosen) >= 0) plugin_->setCurrentIndex(plugin_->findData(chosen));
    }
    pluginChanged();
}

int OptimizePanel::pluginCount() const { return plugin_->count(); }

void OptimizePanel::pluginChanged()
{
    const plugin::PluginInfo* info = plugins_->find(currentPlugin());
    form_->setSpecs(info ? info->params : std::vector<plugin::ParamSpec>{});
    summary_->setText(info ? info->summary : tr("No plugins found (see joule plugins)."));
}

bool OptimizePanel::selectPlugin(const QString& name)
{
    const int i = plugin_->findData(name);
    if (i < 0) return false;
    plugin_->setCurrentIndex(i);
    return true;
}

QString OptimizePanel::currentPlugin() const { return plugin_->currentData().toString(); }

void OptimizePanel::setProject(const Project* project)
{
    // The project's recipe says which data its model goes with; else Fashion-MNIST, the reference data.
    plugin::DatasetRef calibration{"fashion-mnist:train", 0, 1000}, validation{"fashion-mnist:train", 50000, 2000},
        test{"fashion-mnist:test", 0, -1};
    if (project && project->recipe()) {
        const plugin::Recipe& r = *project->recipe();
        if (r.calibration) calibration = *r.calibration;
        if (r.validation) validation = *r.validation;
        test = r.test;
    }
    calibrationSpec_->setText(calibration.spec);
    calibrationLimit_->setValue(calibration.limit < 0 ? 0 : static_cast<int>(calibration.limit));
    validationSpec_->setText(validation.spec);
    validationOffset_->setValue(static_cast<int>(validation.offset));
    validationLimit_->setValue(validation.limit < 0 ? 0 : static_cast<int>(validation.limit));
    testSpec_->setText(test.spec);
    testLimit_->setValue(test.limit < 0 ? 0 : static_cast<int>(test.limit));
    const bool canRun = project && !project->modelPath().isEmpty() && plugin_->count() > 0;
    run_->setEnabled(canRun);
    status_->setText(!project ? tr("Open a model or a recipe to optimize it.")
                     : canRun ? tr("Runs on %1; results are recorded in %2.").arg(QFileInfo(project->modelPath()).fileName(),
                                                                                QDir::toNativeSeparators(project->storePath()))
                              : tr("This store's recipe or model is gone: open a model or a recipe to run."));
}

plugin::Recipe OptimizePanel::recipe(const Project& project, const QString& target) const
{
    if (project.modelPath().isEmpty()) throw ProjectError(project.path() + ": no model to run on (open a model or a recipe)");
    plugin::Recipe r;
    const QString name = QFileInfo(project.modelPath()).completeBaseName() + "_" + currentPlugin();
    // A recipe made here lives beside the store: that is where its relative paths point from.
    r.file = QFileInfo(project.storePath()).absoluteDir().filePath(name + ".studio.json");
    r.name = name;
    r.model = project.modelPath();
    if (project.recipe()) r.models = project.recipe()->models;
    auto ref = [](const QLineEdit* spec, int offset, int limit) {
        return plugin::DatasetRef{spec->text().trimmed(), offset, limit == 0 ? -1 : limit};
    };
    if (!calibrationSpec_->text().trimmed().isEmpty()) r.calibration = ref(calibrationSpec_, 0, calibrationLimit_->value());
    if (!validationSpec_->text().trimmed().isEmpty())
        r.validation = ref(validationSpec_, validationOffset_->value(), validationLimit_->value());
    if (testSpec_->text().trimmed().isEmpty()) throw plugin::RecipeError(tr("optimize panel: field 'test': give a dataset spec (every candidate is evaluated on it)"));
    r.test = ref(testSpec_, 0, testLimit_->value());
    r.target = target;
    r.steps.push_back({currentPlugin(), form_->values()});
    plugin::resolveStepParams(r, *plugins_);   // a bad value is reported before anything runs
    r.source = plugin::recipeToJson(r);
    return r;
}

void OptimizePanel::setRunning(bool running)
{
    run_->setEnabled(!running);
    cancel_->setEnabled(running);
    plugin_->setEnabled(!running);
    form_->setEnabled(!running);
    if (running) {
        progress_->setValue(0);
        status_->setText(tr("Starting…"));
    }
}

void OptimizePanel::showProgress(double fraction, const QString& message)
{
    progress_->setValue(static_cast<int>(fraction * 1000.0));
    status_->setText(message);
}

} // namespace joule::ui
