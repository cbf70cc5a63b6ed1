#pragma once
// The studio's main window: a project (model, recipe or store) with its candidates on the left, the
// views in tabs (Graph, Layers, Compare), the inspector and the optimize panel on the right, jobs at
// the bottom; a toolbar with Open, the target and the heat-map metric, Run and Cancel.
//
//   MainWindow w;
//   w.show();
//   w.openFile("resources/models/fmnist_resnet8.onnx");   // a job; the views fill when it finishes
//   w.jobs()->waitForIdle();
//   w.layerTable()->rowCount();                            // one row per node
//
// Long work (opening, running a plugin) runs in jobs off the GUI thread. An error appears in a dialog
// that names the file and field (lastError() holds its text) and changes nothing the user had.

#include "plugin/plugin_manager.h"
#include "project/jobs.h"
#include "project/project.h"
#include "views/node_costs.h"

#include <QMainWindow>

#include <memory>

class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QMenu;
class QProgressBar;
class QTabWidget;

namespace joule::ui {

class CandidatesTree;
class CompareView;
class GraphView;
class LayerTable;
class NodeInspector;
class OptimizePanel;
class PerInputView;
class PerLayerView;
class TradeoffView;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // Starts opening `path` (model, recipe or store) in a job; false when a job is already running.
    bool openFile(const QString& path);
    // Starts the optimize panel's plugin on the project's model; false when it cannot start (the
    // reason is shown in a dialog).
    bool runOptimization();
    void cancelJob();
    // The project as a self-contained HTML report in DIR (index.html), estimated on the toolbar's
    // target; returns the file, or empty after a dialog naming the problem (or a cancel).
    QString writeReportTo(const QString& dir);
    // Starts exporting the stored candidate `key` as `format` ("c", "onnx", "bundle") into DIR, as
    // `joule export --store` does, in a job; false (after a dialog) when it cannot start. With
    // `force` false an occupied DIR fails the job and is left as it was.
    bool exportCandidateTo(const QString& key, const QString& format, const QString& dir, bool force);

    // Stores the folders of Settings → Plugin Folders and finds the plugins again (the optimize panel
    // follows); false, after a dialog, while a job runs.
    bool setPluginFolders(const QStringList& folders);
    const plugin::PluginManager* plugins() const { return plugins_.get(); }

    const Project* project() const { return project_.get(); }
    Jobs* jobs() const { return jobs_; }
    QString currentCandidate() const { return current_; }
    void selectCandidate(const QString& key);
    QString target() const;
    void setTarget(const QString& id);
    void setColourMetric(Metric m);
    QString lastError() const { return lastError_; }

    QTabWidget* tabs() const { return tabs_; }
    LayerTable* layerTable() const { return layers_; }
    GraphView* graphView() const { return graph_; }
    CandidatesTree* candidatesTree() const { return tree_; }
    CompareView* compareView() const { return compare_; }
    PerLayerView* perLayerView() const { return perLayer_; }
    TradeoffView* tradeoffView() const { return tradeoff_; }
    PerInputView* perInputView() const { return perInput_; }
    OptimizePanel* optimizePanel() const { return optimize_; }
    NodeInspector* inspector() const { return inspector_; }
    QComboBox* targetBox() const { return target_; }

    // Every view rendered into DIR/VIEW.png (graph, layers, tradeoffs, per-layer, per-input, compare, window,
    // candidates, inspector, optimize); returns the files written. Throws ProjectError when DIR cannot be written.
    QStringList saveScreenshots(const QString& dir);

signals:
    void projectChanged();
    void errorShown(const QString& message);

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void buildActions();
    void buildDocks();
    void setProject(std::unique_ptr<Project> project);
    void refreshCandidate();     // graph, table, inspector of the current candidate on the target
    void refreshCosts();         // after a target change
    void refreshShownView();     // the per-layer or per-input page, when shown and out of date
    void showNode(int node);
    void showError(const QString& title, const QString& message);
    void addRecent(const QString& path);
    void updateRecentMenu();
    void updateTitle();
    void logJob(const QString& line);
    void exportDialog();         // asks format and folder for the current candidate

    std::unique_ptr<plugin::PluginManager> plugins_;
    std::unique_ptr<Project> project_;
    Jobs* jobs_;
    QString current_;                    // the selected candidate's key
    const Graph* shownGraph_ = nullptr;  // the graph the graph view holds
    std::vector<NodeCost> rows_;         // of the current candidate on the target
    Metric metric_ = Metric::Energy;
    QString lastError_;
    bool syncing_ = false;
    bool optimizing_ = false;            // the running job is an optimize run (the panel shows its progress)

    QTabWidget* tabs_;
    GraphView* graph_;
    QLineEdit* search_;
    LayerTable* layers_;
    CompareView* compare_;
    TradeoffView* tradeoff_;
    PerLayerView* perLayer_;
    PerInputView* perInput_;
    QString shownPerLayer_, shownPerInput_;   // what those pages show ("KEY@target", "KEY")
    CandidatesTree* tree_;
    NodeInspector* inspector_;
    OptimizePanel* optimize_;
    QComboBox* target_;
    QComboBox* colourBy_;
    QListWidget* jobLog_;
    QProgressBar* jobProgress_;
    QLabel* jobLabel_;
    QMenu* recentMenu_;
    QAction *runAction_, *cancelAction_, *exportAction_;
};

} // namespace joule::ui
