#include "main_window.h"

#include "export/bundle.h"

#include "graph/graph_view.h"
#include "views/candidates_tree.h"
#include "views/compare_view.h"
#include "views/layer_table.h"
#include "views/node_inspector.h"
#include "views/optimize_panel.h"
#include "views/per_input_view.h"
#include "views/plugin_folders_dialog.h"
#include "views/per_layer_view.h"
#include "views/tradeoff_view.h"
#include "report/report.h"
#include "plots/plot_export.h"

#include <qcustomplot.h>

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QKeySequence>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QProgressDialog>
#include <QPushButton>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QThread>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace joule::ui {

namespace {

constexpr int kMaxRecent = 8;
constexpr const char* kDefaultTarget = "stm32l4r5";
constexpr const char* kDefaultPlugin = "quantize";

// The studio's settings; the plugin manager reads its plugin folders from the same file.
QSettings settings() { return QSettings(plugin::PluginManager::kSettingsOrganization, plugin::PluginManager::kSettingsApplication); }

// One core stays with the GUI thread; evaluation gets the rest.
int evalWorkers() { return std::max(1, QThread::idealThreadCount() - 1); }

} // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent)
{
    setObjectName("mainWindow");
    plugins_ = std::make_unique<plugin::PluginManager>();
    jobs_ = new Jobs(this);
    setAcceptDrops(true);

    tabs_ = new QTabWidget;
    tabs_->setDocumentMode(true);
    // Graph tab: the view with its search field and zoom buttons above it.
    auto* graphPage = new QWidget;
    graph_ = new GraphView;
    search_ = new QLineEdit;
    search_->setObjectName("graphSearch");
    search_->setPlaceholderText(tr("Find a node by name or op (Enter: next)"));
    search_->setClearButtonEnabled(true);
    auto* fit = new QPushButton(tr("Fit"));
    auto* zoomIn = new QPushButton(tr("+"));
    auto* zoomOut = new QPushButton(tr("−"));
    for (QPushButton* b : {zoomIn, zoomOut}) b->setFixedWidth(32);
    auto* bar = new QHBoxLayout;
    bar->addWidget(search_, 1);
    bar->addWidget(zoomOut);
    bar->addWidget(zoomIn);
    bar->addWidget(fit);
    auto* graphLayout = new QVBoxLayout(graphPage);
    graphLayout->setContentsMargins(4, 4, 4, 4);
    graphLayout->addLayout(bar);
    graphLayout->addWidget(graph_, 1);
    connect(fit, &QPushButton::clicked, graph_, &GraphView::fitAll);
    connect(zoomIn, &QPushButton::clicked, graph_, &GraphView::zoomIn);
    connect(zoomOut, &QPushButton::clicked, graph_, &GraphView::zoomOut);
    connect(search_, &QLineEdit::returnPressed, this, [this] {
        if (!search_->text().isEmpty() && graph_->find(search_->text()) == 0)
            statusBar()->showMessage(tr("No node matches '%1'").arg(search_->text()), 4000);
    });

    layers_ = new LayerTable;
    compare_ = new CompareView;
    tradeoff_ = new TradeoffView;
    perLayer_ = new PerLayerView;
    perInput_ = new PerInputView;
    // Each page's object name is its screenshot's name.
    const std::pair<QWidget*, QString> pages[] = {{graphPage, "graph"}, {layers_, "layers"}, {tradeoff_, "tradeoffs"},
                                                  {perLayer_, "per-layer"}, {perInput_, "per-input"}, {compare_, "compare"}};
    const QStringList titles{tr("Graph"), tr("Layers"), tr("Trade-offs"), tr("Per layer"), tr("Per input"), tr("Compare")};
    for (size_t i = 0; i < std::size(pages); ++i) {
        pages[i].first->setObjectName(pages[i].second);
        tabs_->addTab(pages[i].first, titles[static_cast<int>(i)]);
    }
    setCentralWidget(tabs_);
    for (QCustomPlot* plot : findChildren<QCustomPlot*>()) addPlotExportMenu(plot);   // every plot can be saved
    connect(tabs_, &QTabWidget::currentChanged, this, [this] { refreshShownView(); });
    connect(tradeoff_, &TradeoffView::candidateSelected, this, &MainWindow::selectCandidate);
    // The per-input view's live what-if moves a marker on the trade-off plot, when it plots accuracy
    // against expected energy or latency.
    connect(perInput_, &PerInputView::operatingPointChanged, this, [this](double accuracy, double energy, double latency) {
        const QString x = tradeoff_->xMetric();
        const double value = x == "energy_uj" ? energy : x == "latency_ms" ? latency : std::nan("");
        if (tradeoff_->yMetric() == "accuracy" && std::isfinite(value))
            tradeoff_->setLivePoint(QPointF(value, accuracy), tr("%1 (what-if)").arg(current_));
        else
            tradeoff_->setLivePoint(std::nullopt, QString());
    });
    connect(perLayer_, &PerLayerView::layerSelected, this, [this](const QString& name) {
        for (const NodeCost& r : rows_)
            if (r.name == name) {
                graph_->selectNode(r.node);
                layers_->selectNode(r.node);
                showNode(r.node);
                return;
            }
    });

    connect(graph_, &GraphView::nodeSelected, this, [this](int node) {
        if (syncing_) return;
        layers_->selectNode(node);
        showNode(node);
    });
    connect(layers_, &LayerTable::nodeSelected, this, [this](int node) {
        if (syncing_) return;
        graph_->selectNode(node);
        showNode(node);
    });
    connect(compare_, &CompareView::failed, this, [this](const QString& m) { showError(tr("Compare"), m); });

    buildDocks();
    buildActions();

    connect(jobs_, &Jobs::started, this, [this](const QString& title) {
        jobLabel_->setText(title);
        jobProgress_->setValue(0);
        runAction_->setEnabled(false);
        cancelAction_->setEnabled(true);
        logJob(tr("started: %1").arg(title));
    });
    connect(jobs_, &Jobs::progressed, this, [this](double f, const QString& m) {
        jobProgress_->setValue(static_cast<int>(f * 1000));
        jobLabel_->setText(jobs_->title() + " — " + m);
        if (optimizing_) optimize_->showProgress(f, m);
    });
    connect(jobs_, &Jobs::finished, this, [this](const QString& title) {
        logJob(tr("done: %1").arg(title));
        if (optimizing_) optimize_->showProgress(1.0, tr("Done: %1").arg(title));
    });
    connect(jobs_, &Jobs::cancelled, this, [this](const QString& title) {
        logJob(tr("cancelled: %1 (nothing was changed)").arg(title));
        if (optimizing_) optimize_->showProgress(0.0, tr("Cancelled; the project is as it was."));
    });
    connect(jobs_, &Jobs::failed, this, [this](const QString& title, const QString& message) {
        logJob(tr("failed: %1: %2").arg(title, message));
        if (optimizing_) optimize_->showProgress(0.0, tr("Failed: %1").arg(message));
        showError(title, message);
    });
    connect(jobs_, &Jobs::idle, this, [this] {
        optimizing_ = false;
        jobProgress_->setValue(0);
        jobLabel_->setText(tr("No job running"));
        cancelAction_->setEnabled(false);
        runAction_->setEnabled(project_ && !project_->modelPath().isEmpty());
        optimize_->setRunning(false);
    });

    QSettings s = settings();
    if (s.contains("geometry")) restoreGeometry(s.value("geometry").toByteArray());
    else resize(1440, 900);
    if (s.contains("state")) restoreState(s.value("state").toByteArray());
    // The last target the user chose, else the reference board of the docs and recipes.
    const QString savedTarget = s.value("target").toString();
    for (const QString& id : {savedTarget, QString(kDefaultTarget)})
        if (!id.isEmpty() && target_->findData(id) >= 0) {
            const QSignalBlocker block(target_);
            target_->setCurrentIndex(target_->findData(id));
            break;
        }
    updateRecentMenu();
    updateTitle();
    inspector_->showNothing();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildDocks()
{
    auto dock = [this](const QString& title, const QString& name, QWidget* w, Qt::DockWidgetArea area) {
        auto* d = new QDockWidget(title, this);
        d->setObjectName(name);
        d->setWidget(w);
        addDockWidget(area, d);
        return d;
    };
    tree_ = new CandidatesTree;
    dock(tr("Project"), "projectDock", tree_, Qt::LeftDockWidgetArea);
    connect(tree_, &CandidatesTree::candidateSelected, this, &MainWindow::selectCandidate);

    inspector_ = new NodeInspector;
    QDockWidget* inspectorDock = dock(tr("Inspector"), "inspectorDock", inspector_, Qt::RightDockWidgetArea);
    optimize_ = new OptimizePanel(plugins_.get());
    QDockWidget* optimizeDock = dock(tr("Optimize"), "optimizeDock", optimize_, Qt::RightDockWidgetArea);
    splitDockWidget(inspectorDock, optimizeDock, Qt::Vertical);
    connect(optimize_, &OptimizePanel::runRequested, this, &MainWindow::runOptimization);
    connect(optimize_, &OptimizePanel::cancelRequested, this, &MainWindow::cancelJob);

    auto* jobs = new QWidget;
    jobLabel_ = new QLabel(tr("No job running"));
    jobProgress_ = new QProgressBar;
    jobProgress_->setRange(0, 1000);
    jobProgress_->setMaximumHeight(14);
    jobProgress_->setTextVisible(false);
    jobLog_ = new QListWidget;
    jobLog_->setWordWrap(true);
    auto* jl = new QVBoxLayout(jobs);
    jl->setContentsMargins(4, 2, 4, 2);
    auto* top = new QHBoxLayout;
    top->addWidget(jobLabel_, 1);
    top->addWidget(jobProgress_, 1);
    jl->addLayout(top);
    jl->addWidget(jobLog_, 1);
    QDockWidget* jobsDock = dock(tr("Jobs"), "jobsDock", jobs, Qt::BottomDockWidgetArea);
    jobsDock->setMaximumHeight(130);
    resizeDocks({inspectorDock, optimizeDock}, {300, 600}, Qt::Vertical);
    resizeDocks({findChild<QDockWidget*>("projectDock"), inspectorDock}, {480, 420}, Qt::Horizontal);
    optimize_->selectPlugin(kDefaultPlugin);
}

void MainWindow::buildActions()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open = file->addAction(tr("&Open…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open a model, recipe or project store"), QString(),
                                                          tr("Joule files (*.onnx *.json *.db);;ONNX models (*.onnx);;Recipes (*.json);;Project stores (*.db);;All files (*)"));
        if (!path.isEmpty()) openFile(path);
    });
    open->setShortcut(QKeySequence::Open);
    recentMenu_ = file->addMenu(tr("Open &Recent"));
    file->addSeparator();
    exportAction_ = file->addAction(tr("&Export Candidate…"), this, &MainWindow::exportDialog);
    exportAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    exportAction_->setToolTip(tr("Export the selected stored candidate as C for a board, ONNX, or a bundle of both (Ctrl+E)"));
    file->addAction(tr("Write &Report…"), this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder for the report (index.html)"));
        if (!dir.isEmpty()) writeReportTo(dir);
    });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    const QStringList names{tr("&Graph"), tr("&Layers"), tr("&Trade-offs"), tr("Per &layer"), tr("Per &input"), tr("&Compare")};
    for (int i = 0; i < names.size(); ++i)
        view->addAction(names[i], QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)), this, [this, i] { tabs_->setCurrentIndex(i); });
    view->addSeparator();
    view->addAction(tr("&Fit graph"), QKeySequence(Qt::CTRL | Qt::Key_0), graph_, &GraphView::fitAll);
    view->addAction(tr("F&ind node"), QKeySequence::Find, this, [this] {
        tabs_->setCurrentIndex(0);
        search_->setFocus();
        search_->selectAll();
    });

    QToolBar* tools = addToolBar(tr("Main"));
    tools->setObjectName("mainToolbar");
    tools->setMovable(false);
    tools->addAction(open);
    tools->addSeparator();
    tools->addWidget(new QLabel(tr(" Target ")));
    target_ = new QComboBox;
    target_->setObjectName("target");
    for (const auto& [id, name] : availableTargets()) target_->addItem(id, id), target_->setItemData(target_->count() - 1, name, Qt::ToolTipRole);
    tools->addWidget(target_);
    tools->addWidget(new QLabel(tr("  Colour by ")));
    colourBy_ = new QComboBox;
    colourBy_->setObjectName("colourBy");
    for (Metric m : {Metric::Energy, Metric::Latency, Metric::Macs, Metric::Arena}) colourBy_->addItem(metricName(m), static_cast<int>(m));
    tools->addWidget(colourBy_);
    tools->addSeparator();
    runAction_ = tools->addAction(tr("Run ▶"), this, &MainWindow::runOptimization);
    runAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    runAction_->setToolTip(tr("Run the optimize panel's plugin (Ctrl+R)"));
    runAction_->setEnabled(false);
    cancelAction_ = tools->addAction(tr("Cancel ■"), this, &MainWindow::cancelJob);
    cancelAction_->setShortcut(QKeySequence(Qt::Key_Escape));
    cancelAction_->setEnabled(false);
    tools->addSeparator();
    exportAction_->setText(tr("Export ⇩"));
    tools->addAction(exportAction_);
    QMenu* run = menuBar()->addMenu(tr("&Run"));
    run->addAction(runAction_);
    run->addAction(cancelAction_);
    QMenu* settingsMenu = menuBar()->addMenu(tr("&Settings"));
    settingsMenu->addAction(tr("&Plugin Folders…"), this, [this] {
        PluginFoldersDialog dialog(plugin::PluginManager::settingsDirs(), this);
        if (dialog.exec() == QDialog::Accepted) setPluginFolders(dialog.folders());
    });

    connect(target_, &QComboBox::currentIndexChanged, this, [this] {
        QSettings s = settings();
        s.setValue("target", target());   // the user chose it
        refreshCosts();
    });
    connect(colourBy_, &QComboBox::currentIndexChanged, this, [this] {
        metric_ = static_cast<Metric>(colourBy_->currentData().toInt());
        if (!rows_.empty()) graph_->setNodeValues(metricValues(rows_, metric_), metricName(metric_), metricUnit(metric_));
    });
}

bool MainWindow::setPluginFolders(const QStringList& folders)
{
    if (jobs_->running()) {
        showError(tr("Plugin Folders"), tr("A job is running; change the plugin folders when it has ended."));
        return false;
    }
    plugin::PluginManager::setSettingsDirs(folders);
    auto fresh = std::make_unique<plugin::PluginManager>();
    optimize_->setPlugins(fresh.get());
    plugins_ = std::move(fresh);   // no job holds the old one
    logJob(tr("Plugins found: %1").arg(optimize_->pluginCount()));
    return true;
}

QString MainWindow::target() const { return target_->currentData().toString(); }

void MainWindow::setTarget(const QString& id)
{
    const int i = target_->findData(id);
    if (i >= 0) target_->setCurrentIndex(i);
}

void MainWindow::setColourMetric(Metric m) { colourBy_->setCurrentIndex(colourBy_->findData(static_cast<int>(m))); }

bool MainWindow::openFile(const QString& path)
{
    if (jobs_->running()) {
        showError(tr("Open"), tr("%1: a job is running; cancel it or wait before opening another file").arg(path));
        return false;
    }
    auto opened = std::make_shared<std::unique_ptr<Project>>();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    return jobs_->start(tr("Opening %1").arg(QFileInfo(path).fileName()),
                        [opened, absolute](JobControl& job) {
                            job.progress(0.1, QObject::tr("reading %1").arg(absolute));
                            *opened = std::make_unique<Project>(Project::open(absolute, job.cancelFlag()));
                        },
                        [this, opened, absolute] {
                            setProject(std::move(*opened));
                            addRecent(absolute);
                        });
}

void MainWindow::setProject(std::unique_ptr<Project> project)
{
    project_ = std::move(project);
    shownPerLayer_.clear();
    shownPerInput_.clear();
    shownGraph_ = nullptr;
    rows_.clear();
    current_.clear();
    tree_->setProject(project_.get());
    tradeoff_->setProject(project_.get());
    optimize_->setProject(project_.get());
    // Compare starts with the first two candidates (a store's baseline and what its first run made).
    const auto& all = project_ ? project_->candidates() : std::vector<CandidateInfo>{};
    compare_->setProject(project_.get(), target(), all.empty() ? QString() : all[0].key,
                         all.size() > 1 ? all[1].key : all.empty() ? QString() : all[0].key);
    runAction_->setEnabled(project_ && !project_->modelPath().isEmpty());
    updateTitle();
    if (!all.empty()) selectCandidate(all.front().key);
    emit projectChanged();
}

void MainWindow::selectCandidate(const QString& key)
{
    if (!project_ || !project_->find(key)) return;
    current_ = key;
    tree_->selectCandidate(key);
    tradeoff_->selectCandidate(key);
    tradeoff_->setLivePoint(std::nullopt, QString());
    refreshCandidate();
}

void MainWindow::refreshCandidate()
{
    const CandidateInfo* c = project_ ? project_->find(current_) : nullptr;
    if (!c) {
        graph_->clear();
        layers_->clear();
        inspector_->showNothing();
        return;
    }
    try {
        const LoadedGraph& g = project_->graph(*c);
        if (shownGraph_ != g.graph.get()) {
            graph_->setLayout(*g.layout);
            shownGraph_ = g.graph.get();
        }
        const cost::ModelEstimate& e = project_->estimate(*c, target());
        rows_ = nodeCosts(*g.graph, *g.stats, e);
        layers_->setRows(rows_, target());
        graph_->setNodeValues(metricValues(rows_, metric_), metricName(metric_), metricUnit(metric_));
        const int selected = graph_->selectedNode();
        if (selected >= 0) showNode(selected);
        else inspector_->showCandidate(*c, &e, target());
        refreshShownView();
    } catch (const std::exception& e) {
        rows_.clear();
        layers_->clear();
        inspector_->showCandidate(*c, nullptr, target());
        showError(tr("Candidate %1").arg(c->key), QString::fromUtf8(e.what()));
    }
}

void MainWindow::refreshShownView()
{
    const CandidateInfo* c = project_ ? project_->find(current_) : nullptr;
    QWidget* page = tabs_->currentWidget();
    const QString shown = current_ + "@" + target();
    try {
        if (page == perLayer_ && shownPerLayer_ != shown) {
            shownPerLayer_ = shown;
            if (!c) return perLayer_->clear();
            std::optional<LayerSide> parent;
            if (const CandidateInfo* p = project_->find(c->parentKey)) parent = layerSide(*project_, *p, target());
            perLayer_->setCandidate(layerSide(*project_, *c, target()), parent, target());
        } else if (page == perInput_ && shownPerInput_ != current_) {
            shownPerInput_ = current_;
            if (!c || c->storeId <= 0) {
                perInput_->clear();
                if (c) statusBar()->showMessage(tr("%1 has no per-input records yet: run a plugin on it to evaluate it").arg(c->label), 8000);
                return;
            }
            const std::shared_ptr<const InputsOf> in = project_->inputs(*c);
            if (!in->imagesError.isEmpty()) statusBar()->showMessage(tr("No thumbnails: %1").arg(in->imagesError), 8000);
            perInput_->setData(perInputData(c->label, *in));
        }
    } catch (const std::exception& e) {
        showError(tr("Candidate %1").arg(current_), QString::fromUtf8(e.what()));
    }
}

void MainWindow::refreshCosts()
{
    refreshCandidate();
    compare_->setTarget(target());
}

void MainWindow::showNode(int node)
{
    const CandidateInfo* c = project_ ? project_->find(current_) : nullptr;
    if (!c) return;
    if (node < 0 || node >= static_cast<int>(rows_.size())) {
        inspector_->showCandidate(*c, rows_.empty() ? nullptr : &project_->estimate(*c, target()), target());
        return;
    }
    inspector_->showNode(*project_->graph(*c).graph, rows_[static_cast<size_t>(node)], target());
}

bool MainWindow::runOptimization()
{
    if (!project_) {
        showError(tr("Run"), tr("Open a model or a recipe first."));
        return false;
    }
    if (jobs_->running()) {
        showError(tr("Run"), tr("A job is running; wait for it or cancel it."));
        return false;
    }
    plugin::Recipe recipe;
    try {
        recipe = optimize_->recipe(*project_, target());
    } catch (const std::exception& e) {
        showError(tr("Run"), QString::fromUtf8(e.what()));
        return false;
    }
    auto recorded = std::make_shared<Project::RecordedRun>();
    const QString storePath = project_->storePath();
    plugin::PluginManager* plugins = plugins_.get();
    const int workers = evalWorkers();
    optimize_->setRunning(true);
    optimizing_ = true;
    const bool started = jobs_->start(
        tr("%1 on %2").arg(recipe.steps.front().plugin, QFileInfo(recipe.model).completeBaseName()),
        [recipe, recorded, storePath, plugins, workers](JobControl& job) {
            plugin::OptimizeOptions options;
            options.cancel = job.cancelFlag();
            options.evalWorkers = workers;
            options.progress = [&job](double f, const QString& m) { job.progress(0.98 * f, m); };
            const plugin::OptimizeResult result = plugin::runRecipe(recipe, *plugins, options);
            // The last point where a cancel still leaves the project untouched.
            if (job.cancelled()) throw plugin::Cancelled();
            job.progress(0.99, QObject::tr("recording the run in %1").arg(storePath));
            *recorded = Project::recordRun(storePath, result);
        },
        [this, recorded] {
            QString newest;
            for (const CandidateInfo& c : recorded->candidates)
                if (!c.plugin.isEmpty()) newest = c.key;
            project_->append(std::move(*recorded));
            tree_->setProject(project_.get());
            tradeoff_->setProject(project_.get());
            compare_->setProject(project_.get(), target(), project_->candidates().front().key, newest);
            updateTitle();
            if (!newest.isEmpty()) selectCandidate(newest);
            emit projectChanged();
        });
    if (!started) {
        optimize_->setRunning(false);
        optimizing_ = false;
    }
    return started;
}

void MainWindow::exportDialog()
{
    const CandidateInfo* c = project_ ? project_->find(current_) : nullptr;
    if (!c || c->storeId <= 0) {
        showError(tr("Export"), tr("Select a candidate of a run first: the export takes a stored candidate (the opened model itself has no run)."));
        return;
    }
    bool ok = false;
    const QStringList formats{tr("bundle (C, ONNX, Cortex-M4 build, manifest, report)"), tr("c (NAME.h, NAME.c)"), tr("onnx")};
    const QString choice = QInputDialog::getItem(this, tr("Export %1").arg(c->label), tr("Format:"), formats, 0, false, &ok);
    if (!ok) return;
    const QString format = choice.section(' ', 0, 0);
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder to export into (new or empty)"));
    if (dir.isEmpty()) return;
    bool force = false;
    if (!QDir(dir).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden).isEmpty()) {
        if (QMessageBox::question(this, tr("Export"), tr("%1 already holds files. Replace the whole folder with the export?").arg(dir)) != QMessageBox::Yes)
            return;
        force = true;
    }
    exportCandidateTo(c->key, format, dir, force);
}

bool MainWindow::exportCandidateTo(const QString& key, const QString& format, const QString& dir, bool force)
{
    const CandidateInfo* c = project_ ? project_->find(key) : nullptr;
    if (!c || c->storeId <= 0) {
        showError(tr("Export"), tr("'%1' is not a stored candidate.").arg(key));
        return false;
    }
    const auto f = exporter::formatFromName(format);
    if (!f) {
        showError(tr("Export"), tr("Unknown format '%1' (c, onnx or bundle).").arg(format));
        return false;
    }
    if (jobs_->running()) {
        showError(tr("Export"), tr("A job is running; wait for it or cancel it."));
        return false;
    }
    const QString storePath = project_->storePath();
    const int64_t id = c->storeId;
    const QString label = c->label;
    return jobs_->start(tr("Exporting %1").arg(label), [storePath, id, f, dir, force](JobControl& job) {
        job.progress(0.05, QObject::tr("reading the candidate"));
        const exporter::ExportCandidate candidate = exporter::candidateFromStore(storePath, id);
        double step = 0.1;
        exporter::ExportOptions options;
        options.force = force;
        options.studioVersion = QCoreApplication::applicationVersion();
        options.log = [&job, &step](const QString& line) { job.progress(step = std::min(0.95, step + 0.15), line); };
        exporter::exportCandidate(candidate, *f, dir, options);
    }, [this, dir] { statusBar()->showMessage(tr("Exported to %1").arg(dir), 10000); logJob(tr("exported to %1").arg(dir)); });
}

QString MainWindow::writeReportTo(const QString& dir)
{
    if (!project_) {
        showError(tr("Report"), tr("Open a project first."));
        return {};
    }
    // The report draws with widgets, so it runs here, on the GUI thread, under a progress dialog
    // that keeps the window painted and can cancel it.
    QProgressDialog progress(tr("Writing the report…"), tr("Cancel"), 0, 1000, this);
    progress.setWindowModality(Qt::WindowModal);
    progress.setMinimumDuration(300);
    std::atomic<bool> cancel{false};
    ReportOptions options;
    options.target = target();
    options.cancel = &cancel;
    options.progress = [&](double f, const QString& what) {
        progress.setLabelText(tr("Writing the report: %1").arg(what));
        progress.setValue(static_cast<int>(f * 1000));
        if (progress.wasCanceled()) cancel = true;
    };
    try {
        const QString file = writeReport(*project_, dir, options);
        logJob(tr("report written: %1").arg(file));
        statusBar()->showMessage(tr("Report written to %1").arg(file), 10000);
        return file;
    } catch (const plugin::Cancelled&) {
        logJob(tr("report cancelled"));
    } catch (const std::exception& e) {
        showError(tr("Report"), QString::fromUtf8(e.what()));
    }
    return {};
}

void MainWindow::cancelJob()
{
    if (jobs_->running()) {
        jobs_->cancel();
        logJob(tr("cancelling: %1").arg(jobs_->title()));
    }
}

void MainWindow::showError(const QString& title, const QString& message)
{
    lastError_ = message;
    statusBar()->showMessage(message, 10000);
    // Not modal-blocking: the studio (and a test driving it) keeps running while it is shown.
    auto* box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
    box->setObjectName("errorDialog");
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setTextInteractionFlags(Qt::TextSelectableByMouse);
    box->open();
    emit errorShown(message);
}

void MainWindow::addRecent(const QString& path)
{
    QSettings s = settings();
    QStringList recent = s.value("recent").toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > kMaxRecent) recent.removeLast();
    s.setValue("recent", recent);
    updateRecentMenu();
}

void MainWindow::updateRecentMenu()
{
    recentMenu_->clear();
    const QStringList recent = settings().value("recent").toStringList();
    for (const QString& path : recent) recentMenu_->addAction(QDir::toNativeSeparators(path), this, [this, path] { openFile(path); });
    recentMenu_->setEnabled(!recent.isEmpty());
}

void MainWindow::updateTitle()
{
    setWindowTitle(project_ ? project_->title() + " — Joule Studio" : QString("Joule Studio"));
}

void MainWindow::logJob(const QString& line)
{
    jobLog_->addItem(QTime::currentTime().toString("HH:mm:ss") + "  " + line);
    jobLog_->scrollToBottom();
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    jobs_->cancel();
    QSettings s = settings();
    s.setValue("geometry", saveGeometry());
    s.setValue("state", saveState());
    event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    if (event->mimeData()->hasUrls() && !event->mimeData()->urls().isEmpty() && event->mimeData()->urls().front().isLocalFile())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event)
{
    const QList<QUrl> urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.front().isLocalFile()) {
        openFile(urls.front().toLocalFile());
        event->acceptProposedAction();
    }
}

QStringList MainWindow::saveScreenshots(const QString& dir)
{
    if (!QDir().mkpath(dir)) throw ProjectError(dir + ": cannot create the folder");
    QStringList written;
    auto save = [&](QWidget* w, const QString& name) {
        QApplication::processEvents();
        const QString file = QDir(dir).filePath(name + ".png");
        if (!w->grab().save(file)) throw ProjectError(file + ": cannot write the screenshot");
        written << file;
    };
    const int tab = tabs_->currentIndex();
    const QString selected = current_;
    // The per-layer and per-input views show the first candidate they say most about: one made by
    // a plugin from a parent (per layer), an adaptive one (per input), else the one selected.
    auto firstWith = [&](auto&& pred) {
        if (project_)
            for (const CandidateInfo& c : project_->candidates())
                if (pred(c)) return c.key;
        return selected;
    };
    const QString derived = firstWith([](const CandidateInfo& c) { return !c.parentKey.isEmpty() && c.policyKind == "plain"; });
    const QString adaptive = firstWith([](const CandidateInfo& c) { return c.policyKind != "plain"; });
    for (int i = 0; i < tabs_->count(); ++i) {
        QWidget* page = tabs_->widget(i);
        const QString wanted = page == perLayer_ ? derived : page == perInput_ ? adaptive : selected;
        if (wanted != current_ && !wanted.isEmpty()) selectCandidate(wanted);
        tabs_->setCurrentIndex(i);
        if (page->objectName() == "graph") graph_->fitAll();
        save(this, page->objectName());
    }
    if (!selected.isEmpty() && selected != current_) selectCandidate(selected);
    tabs_->setCurrentIndex(tab);
    save(this, "window");
    save(tree_, "candidates");
    // The inspector shows a node: the selected one, else the costliest by the heat map's metric.
    if (graph_->selectedNode() < 0 && !rows_.empty()) {
        const std::vector<double> values = metricValues(rows_, metric_);
        int best = -1;
        for (size_t i = 0; i < values.size(); ++i)
            if (!std::isnan(values[i]) && (best < 0 || values[i] > values[static_cast<size_t>(best)])) best = static_cast<int>(i);
        if (best >= 0) {
            graph_->selectNode(best);
            layers_->selectNode(best);
            showNode(best);
        }
    }
    save(inspector_, "inspector");
    save(optimize_, "optimize");
    return written;
}

} // namespace joule::ui
