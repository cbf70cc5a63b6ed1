// The studio's main window driven like a user drives it, offscreen, on the committed models and the
// real Fashion-MNIST data: opening a model fills the layer table and the graph (one row and one item per
// node); the target selector changes the energy column to that target's estimate; the quantize form run
// with Run adds a candidate recorded in the project's store while the GUI thread keeps answering
// (event-loop gaps measured); Cancel ends a run within a second and leaves the project and its store as
// they were; a corrupt model, a foreign file and a store of a newer version each show a dialog naming the
// problem while the open project stays; selections follow each other between graph and table.
//
//   QT_QPA_PLATFORM=offscreen JOULE_SOURCE_DIR=. build/tests/tst_studio
#include "main_window.h"

#include "cost/estimator.h"
#include "graph/graph_layout.h"
#include "graph/graph_view.h"
#include "onnx/onnx_io.h"
#include "store/store.h"
#include "views/candidates_tree.h"
#include "views/compare_view.h"
#include "views/layer_table.h"
#include "views/optimize_panel.h"
#include "views/param_form.h"
#include "views/per_input_view.h"
#include "views/plugin_folders_dialog.h"
#include "views/tradeoff_view.h"
#include "plots/plot_export.h"
#include "thread_clock.h"

#include <QComboBox>
#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QFile>
#include <QMessageBox>
#include <QMimeData>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QXmlStreamReader>
#include <qcustomplot.h>
#include <QImage>
#include <QProcess>
#include <QProgressBar>
#include <QSet>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QLineEdit>
#include <QListWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTreeWidget>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <sqlite3.h>

using namespace joule;
using joule::ui::MainWindow;

namespace {

QString source(const QString& relative) { return qEnvironmentVariable("JOULE_SOURCE_DIR") + "/" + relative; }

// A model and its card copied into `dir`, so the project's store is made there, not in the repository.
QString copyModel(const QTemporaryDir& dir, const QString& name)
{
    for (const char* suffix : {".onnx", ".card.json"}) {
        const QString to = dir.filePath(name + suffix);
        QFile::remove(to);
        if (!QFile::copy(source("resources/models/" + name + suffix), to)) throw std::runtime_error("cannot copy " + name.toStdString());
    }
    return dir.filePath(name + ".onnx");
}

QByteArray fileHash(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return "missing";
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256).toHex();
}

// The error dialog the window shows (non-modal), or nullptr.
QMessageBox* errorDialog(MainWindow& w)
{
    for (QMessageBox* box : w.findChildren<QMessageBox*>("errorDialog"))
        if (box->isVisible()) return box;
    return nullptr;
}

void closeDialogs(MainWindow& w)
{
    for (QMessageBox* box : w.findChildren<QMessageBox*>("errorDialog")) box->close();
    QCoreApplication::processEvents();
}

// Types `value` into a spin box as a user does: select all, type, Enter.
void typeInto(QAbstractSpinBox* box, const QString& value)
{
    box->setFocus();
    QTest::keyClick(box, Qt::Key_A, Qt::ControlModifier);
    QTest::keyClicks(box, value);
    QTest::keyClick(box, Qt::Key_Return);
}

// Gaps between event-loop turns while it runs, seen by a 5 ms timer that should fire on time.
// Two figures per gap: its wall time, and the CPU time the GUI thread itself spent in it. Work done
// on the GUI thread shows in both; a busy machine (ctest runs two tests at once on two cores) only
// stretches the wall time, and a GUI thread blocked in a wait only shows in the wall time.
class StallMeter : public QObject {
public:
    StallMeter()
    {
        timer_.setInterval(5);
        connect(&timer_, &QTimer::timeout, this, [this] {
            const double cpu = ThreadClock::nowMs();
            if (clock_.isValid()) {
                maxGapMs_ = std::max(maxGapMs_, clock_.nsecsElapsed() / 1e6);
                maxBusyMs_ = std::max(maxBusyMs_, cpu - lastCpuMs_);
            }
            clock_.restart();
            lastCpuMs_ = cpu;
        });
    }
    void start() { clock_.invalidate(); maxGapMs_ = maxBusyMs_ = 0; timer_.start(); }
    void stop() { timer_.stop(); }
    double maxGapMs() const { return maxGapMs_; }     // wall time
    double maxBusyMs() const { return maxBusyMs_; }   // the GUI thread's CPU time within one gap

private:
    QTimer timer_;
    QElapsedTimer clock_;
    double lastCpuMs_ = 0, maxGapMs_ = 0, maxBusyMs_ = 0;
};

} // namespace

class TestStudio : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY2(!qEnvironmentVariable("JOULE_SOURCE_DIR").isEmpty(), "JOULE_SOURCE_DIR is not set (ctest sets it)");
        QVERIFY(settingsDir_.isValid());
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, settingsDir_.path());
        QVERIFY(dir_.isValid());
        model_ = copyModel(dir_, "fmnist_resnet8");
        graph_ = onnx::loadModel(model_.toStdString());
    }

    void openingAModelFillsTableAndGraph()
    {
        MainWindow w;
        w.show();
        QVERIFY(w.openFile(model_));
        w.jobs()->waitForIdle();
        QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
        const int nodes = static_cast<int>(graph_.nodes().size());
        QVERIFY(nodes > 10);
        QCOMPARE(w.layerTable()->rowCount(), nodes);
        QCOMPARE(w.graphView()->nodeItemCount(), nodes);
        QVERIFY(w.windowTitle().contains("fmnist_resnet8.onnx"));
        QVERIFY(w.windowTitle().contains("joule.db (new)"));
        QCOMPARE(QSettings("Joule", "Joule Studio").value("recent").toStringList().value(0), QFileInfo(model_).absoluteFilePath());
        // The table's names are the graph's nodes, in order, until the user sorts.
        for (int i = 0; i < nodes; ++i)
            QCOMPARE(w.layerTable()->model()->rows()[static_cast<size_t>(i)].name.toStdString(), graph_.nodes()[static_cast<size_t>(i)].name);
        // Filtering by op keeps only that op's rows.
        QTest::keyClicks(w.layerTable()->filter(), "Gemm");
        QCOMPARE(w.layerTable()->rowCount(), 1);
        w.layerTable()->filter()->clear();
        QCOMPARE(w.layerTable()->rowCount(), nodes);

        // Dropping a file on the window opens it.
        const QString little = copyModel(dir_, "fmnist_little");
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(little)});
        QDragEnterEvent enter(QPoint(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&w, &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(50, 50), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&w, &drop);
        w.jobs()->waitForIdle();
        QVERIFY(w.windowTitle().contains("fmnist_little.onnx"));
        QCOMPARE(w.layerTable()->rowCount(), static_cast<int>(onnx::loadModel(little.toStdString()).nodes().size()));
    }

    void targetSelectorChangesTheEnergyColumn()
    {
        MainWindow w;
        w.show();
        w.setTarget("stm32l4r5");
        QVERIFY(w.openFile(model_));
        w.jobs()->waitForIdle();
        auto energies = [&] {
            std::vector<double> e;
            for (const auto& r : w.layerTable()->model()->rows()) e.push_back(r.energyUj.value_or(-1));
            return e;
        };
        const std::vector<double> before = energies();
        // The user picks the next target with the keyboard.
        QComboBox* box = w.targetBox();
        box->setFocus();
        const QString old = w.target();
        QTest::keyClick(box, Qt::Key_Down);
        QVERIFY(w.target() != old);
        const std::vector<double> after = energies();
        QCOMPARE(after.size(), before.size());
        QVERIFY(after != before);
        // The figures are the cost model's for the new target, node by node.
        const cost::ModelEstimate e = cost::estimateModel(cost::analyzeModel(graph_), cost::loadTarget(w.target()));
        const cost::ModelStats stats = cost::analyzeModel(graph_);
        int compared = 0;
        for (const auto& l : e.layers) {
            const int node = stats.layers[l.layer].node;
            QCOMPARE(after[static_cast<size_t>(node)], l.energyUj.value_or(-1));
            ++compared;
        }
        QVERIFY(compared > 10);
        // The chosen target is remembered for the next window.
        MainWindow next;
        QCOMPARE(next.target(), w.target());
        w.setTarget("stm32l4r5");
    }

    void quantizeFromItsFormAddsACandidateWithoutStallingTheGui()
    {
        QTemporaryDir dir;
        const QString model = copyModel(dir, "fmnist_resnet8");
        MainWindow w;
        w.show();
        QVERIFY(w.openFile(model));
        w.jobs()->waitForIdle();
        const int before = w.candidatesTree()->candidateCount();
        QCOMPARE(before, 1);

        ui::OptimizePanel* panel = w.optimizePanel();
        QVERIFY(panel->selectPlugin("quantize"));
        auto* samples = qobject_cast<QSpinBox*>(panel->form()->editor("calibration_samples"));
        QVERIFY(samples);
        typeInto(samples, "64");
        QCOMPARE(panel->form()->values().value("calibration_samples").toInt(), 64);
        auto* calibration = qobject_cast<QComboBox*>(panel->form()->editor("calibration"));
        calibration->setFocus();
        calibration->setCurrentText("minmax");
        typeInto(panel->calibrationLimit(), "64");
        typeInto(panel->testLimit(), "500");

        StallMeter meter;
        QSignalSpy finished(w.jobs(), &ui::Jobs::finished);
        meter.start();
        QTest::mouseClick(panel->runButton(), Qt::LeftButton);
        QVERIFY(w.jobs()->running());
        QVERIFY(panel->cancelButton()->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(!w.jobs()->running(), 120000);
        meter.stop();
        QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
        QCOMPARE(finished.count(), 1);
        qInfo("during the quantize run, the GUI thread's longest gap: %.1f ms, of which it was busy %.1f ms",
              meter.maxGapMs(), meter.maxBusyMs());
        // The quantization's seconds of work never run on the GUI thread; what the GUI does with
        // the result (the new candidate's graph scene, table and plots) stays well under 100 ms of
        // its own time. A wait on the job would show as a gap of its length, which a loaded machine
        // alone does not produce.
        QVERIFY2(meter.maxBusyMs() < 100.0, qPrintable(QString("the GUI thread worked %1 ms without returning to its event loop").arg(meter.maxBusyMs())));
        QVERIFY2(meter.maxGapMs() < 1000.0, qPrintable(QString("the GUI thread did not run its event loop for %1 ms").arg(meter.maxGapMs())));

        // baseline + the int8 candidate, under the run, its provenance shown.
        QCOMPARE(w.candidatesTree()->candidateCount(), before + 2);
        const ui::CandidateInfo* made = nullptr;
        for (const auto& c : w.project()->candidates())
            if (c.plugin == "quantize") made = &c;
        QVERIFY(made);
        QCOMPARE(made->params.value("calibration").toString(), QString("minmax"));
        QCOMPARE(made->params.value("calibration_samples").toInt(), 64);
        QCOMPARE(made->samples, 500);
        QVERIFY(made->accuracy && *made->accuracy > 0.85);
        QTreeWidgetItem* item = w.candidatesTree()->itemFor(made->key);
        QVERIFY(item && item->parent());
        QCOMPARE(item->parent()->data(0, ui::CandidatesTree::KeyRole).toString(), made->parentKey);
        QCOMPARE(w.currentCandidate(), made->key);
        // The int8 graph is what the views now show, with its own costs (int8 layers).
        bool int8 = false;
        for (const auto& r : w.layerTable()->model()->rows()) int8 = int8 || r.precision == "int8";
        QVERIFY(int8);
        // The run is in the project's store, as `joule runs list` would read it.
        store::Store db(dir.filePath("joule.db"));
        QCOMPARE(db.runs().size(), size_t(1));
        QCOMPARE(db.candidates().size(), size_t(2));
        const QJsonObject recipe = QJsonDocument::fromJson(db.runs().front().recipeJson).object();
        QCOMPARE(recipe.value("steps").toArray().at(0).toObject().value("plugin").toString(), QString("quantize"));
        // Compare shows the opened model against the new candidate, with a saving in the total row.
        ui::CompareView* compare = w.compareView();
        QCOMPARE(compare->left(), QString("model"));
        QCOMPARE(compare->right(), made->key);
        w.tabs()->setCurrentWidget(compare);   // a hidden compare view is brought up to date when shown
        QVERIFY(compare->isVisible());
        QVERIFY(compare->table()->rowCount() > static_cast<int>(graph_.nodes().size()));
        QVERIFY(compare->table()->item(0, ui::CompareView::EnergyDelta)->text().startsWith("-"));
        // Selecting a node in one graph selects the node of that name in the other.
        const int conv = 0;
        compare->graphA()->selectNode(conv);
        emit compare->graphA()->nodeSelected(conv);
        QVERIFY(compare->graphB()->selectedNode() >= 0);
    }

    void cancelStopsWithinASecondAndChangesNothing()
    {
        QTemporaryDir dir;
        const QString model = copyModel(dir, "fmnist_resnet8");
        MainWindow w;
        w.show();
        QVERIFY(w.openFile(model));
        w.jobs()->waitForIdle();
        ui::OptimizePanel* panel = w.optimizePanel();
        QVERIFY(panel->selectPlugin("quantize"));
        typeInto(panel->testLimit(), "0");   // all 10,000 test images: a run of many seconds
        const QString storePath = dir.filePath("joule.db");
        const QByteArray storeBefore = fileHash(storePath);
        const size_t candidatesBefore = w.project()->candidates().size();

        QSignalSpy cancelled(w.jobs(), &ui::Jobs::cancelled);
        QTest::mouseClick(panel->runButton(), Qt::LeftButton);
        QVERIFY(w.jobs()->running());
        // Let it get properly under way (calibrating, or evaluating).
        QTRY_VERIFY_WITH_TIMEOUT(panel->progressBar()->value() > 20, 60000);
        QVERIFY(w.jobs()->running());
        QElapsedTimer clock;
        clock.start();
        QTest::mouseClick(panel->cancelButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(!w.jobs()->running(), 5000);
        const qint64 ms = clock.elapsed();
        qInfo("cancel took %lld ms", static_cast<long long>(ms));
        QVERIFY2(ms < 1000, qPrintable(QString("cancel took %1 ms").arg(ms)));
        QCOMPARE(cancelled.count(), 1);
        QVERIFY(w.lastError().isEmpty());
        QCOMPARE(w.project()->candidates().size(), candidatesBefore);
        QCOMPARE(w.candidatesTree()->candidateCount(), static_cast<int>(candidatesBefore));
        QCOMPARE(fileHash(storePath), storeBefore);
        QVERIFY(!QFile::exists(storePath));   // the first run would have made it
        QVERIFY(panel->runButton()->isEnabled());
    }

    void badFilesShowADialogAndKeepTheProject_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        QTest::newRow("corrupt model") << "broken.onnx" << QByteArray("\x08\x07\x12\x04junk\xff\xff\xff", 13) << "broken.onnx";
        QTest::newRow("foreign file") << "notes.db" << QByteArray("these are my notes, not a store\n") << "not a Joule store";
        QTest::newRow("newer store") << "newer.db" << QByteArray() << "newer";
        QTest::newRow("bad recipe") << "recipe.json" << QByteArray("{\"model\": \"missing.onnx\"}") << "recipe.json";
    }

    void badFilesShowADialogAndKeepTheProject()
    {
        QFETCH(QString, file);
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QString path = dir.filePath(file);
        if (file == "newer.db") {
            { store::Store make(path); }
            sqlite3* db = nullptr;
            QCOMPARE(sqlite3_open(path.toUtf8().constData(), &db), SQLITE_OK);
            QCOMPARE(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
            sqlite3_close(db);
        } else {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(bytes);
        }
        const QByteArray hashBefore = fileHash(path);

        MainWindow w;
        w.show();
        QVERIFY(w.openFile(model_));
        w.jobs()->waitForIdle();
        const QString title = w.windowTitle();
        const int rows = w.layerTable()->rowCount();

        QVERIFY(w.openFile(path));
        w.jobs()->waitForIdle();
        QMessageBox* box = errorDialog(w);
        QVERIFY2(box, "no error dialog");
        QVERIFY2(box->text().contains(expected), qPrintable(box->text()));
        QVERIFY2(box->text().contains(file), qPrintable(box->text()));   // names the file
        qInfo("dialog: %s", qPrintable(box->text()));
        QCOMPARE(w.windowTitle(), title);                 // the open project stays
        QCOMPARE(w.layerTable()->rowCount(), rows);
        QCOMPARE(w.project()->path(), QFileInfo(model_).absoluteFilePath());
        QCOMPARE(fileHash(path), hashBefore);             // the bad file is left as it was
        closeDialogs(w);
        // The studio keeps working: the next open succeeds.
        QVERIFY(w.openFile(model_));
        w.jobs()->waitForIdle();
        QVERIFY(!errorDialog(w));
    }

    void selectionFollowsBetweenGraphAndTable()
    {
        MainWindow w;
        w.resize(1400, 900);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(w.openFile(model_));
        w.jobs()->waitForIdle();
        ui::GraphView* view = w.graphView();
        // A click on a node's box in the graph selects its row.
        const ui::GraphLayout layout = ui::layoutGraph(graph_);
        const int node = 3;
        view->selectNode(node);   // scrolls it into view
        const QPoint at = view->mapFromScene(layout.nodes[node].rect.center());
        QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, at);
        QCOMPARE(view->selectedNode(), node);
        QTableView* table = w.layerTable()->view();
        QCOMPARE(table->currentIndex().data(ui::LayerTableModel::NodeRole).toInt(), node);
        // A click on a row selects its node in the graph.
        w.tabs()->setCurrentIndex(1);
        QTest::qWait(50);
        const int row = 7;
        const QModelIndex index = table->model()->index(row, 0);
        QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, table->visualRect(index).center());
        QCOMPARE(view->selectedNode(), index.data(ui::LayerTableModel::NodeRole).toInt());
    }

    // A project with a quantize run and a big/little cascade: a click on the trade-off plot selects the
    // candidate everywhere; the per-input view counts what the store recorded; every plot of every
    // view saves as a valid PNG, SVG and PDF.
    void aStoredProjectsViewsFollowTheTradeoffPlotAndExport()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath("joule.db");
        const QString resnet8 = source("resources/models/fmnist_resnet8.onnx"), little = source("resources/models/fmnist_little.onnx");
        const QJsonObject test{{"spec", "fashion-mnist:test"}, {"limit", 300}};
        const QJsonObject recipes[] = {
            {{"model", resnet8},
             {"datasets", QJsonObject{{"calibration", QJsonObject{{"spec", "fashion-mnist:train"}, {"limit", 64}}}, {"test", test}}},
             {"target", "stm32l4r5"},
             {"steps", QJsonArray{QJsonObject{{"plugin", "quantize"}, {"params", QJsonObject{{"calibration_samples", 64}, {"sqnr_samples", 8}}}}}}},
            {{"model", resnet8},
             {"models", QJsonObject{{"little", little}, {"big", resnet8}}},
             {"datasets", QJsonObject{{"validation", QJsonObject{{"spec", "fashion-mnist:train"}, {"offset", 50000}, {"limit", 500}}}, {"test", test}}},
             {"target", "stm32l4r5"},
             {"steps", QJsonArray{QJsonObject{{"plugin", "cascade"}, {"params", QJsonObject{{"stages", "little,big"}}}}}}}};
        for (int i = 0; i < 2; ++i) {
            const QString path = dir.filePath(QString("r%1.json").arg(i));
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QJsonDocument(recipes[i]).toJson());
            f.close();
            QProcess p;
            p.start(qEnvironmentVariable("JOULE_BUILD_DIR") + "/bin/joule", {"optimize", path, "--store", db});
            QVERIFY(p.waitForFinished(300000));
            QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        }
        MainWindow w;
        w.resize(1500, 950);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(w.openFile(db));
        w.jobs()->waitForIdle();
        QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
        QCOMPARE(w.project()->candidates().size(), size_t(4));

        ui::TradeoffView* tradeoff = w.tradeoffView();
        w.tabs()->setCurrentWidget(tradeoff);
        QCOMPARE(tradeoff->pointCount(), 4);
        // The axis choosers say what is plotted.
        QCOMPARE(tradeoff->findChild<QComboBox*>("tradeoffX")->currentData().toString(), tradeoff->xMetric());
        QCOMPARE(tradeoff->findChild<QComboBox*>("tradeoffY")->currentData().toString(), tradeoff->yMetric());
        QCOMPARE(tradeoff->xMetric(), QString("energy_uj"));
        const ui::CandidateInfo* cascade = nullptr;
        for (const auto& c : w.project()->candidates())
            if (c.plugin == "cascade") cascade = &c;
        QVERIFY(cascade && w.currentCandidate() != cascade->key);
        QCustomPlot* plot = tradeoff->plot();
        plot->replot();
        const QPoint at(static_cast<int>(plot->xAxis->coordToPixel(cascade->metrics.at("energy_uj"))),
                        static_cast<int>(plot->yAxis->coordToPixel(100.0 * cascade->metrics.at("accuracy"))));
        QTest::mouseClick(plot, Qt::LeftButton, {}, at);
        QCOMPARE(w.currentCandidate(), cascade->key);
        QCOMPARE(w.candidatesTree()->currentItem()->data(0, ui::CandidatesTree::KeyRole).toString(), cascade->key);
        // The per-input view shows that candidate's records, as stored, with a live what-if.
        w.tabs()->setCurrentWidget(w.perInputView());
        const auto records = store::Store(db).records(cascade->storeId);
        QCOMPARE(records.size(), size_t(300));
        int64_t correct = 0;
        for (const auto& r : records) correct += r.correct;
        QCOMPARE(w.perInputView()->correctCount(), correct);
        QCOMPARE(w.perInputView()->wrongCount(), static_cast<int64_t>(records.size()) - correct);
        QVERIFY(w.perInputView()->thresholdSlider());
        QTRY_VERIFY(w.perInputView()->thumbnailCount() > 0);   // the grid fills on the next event-loop pass

        // Every plot, once each view has drawn it (for the cascade, then for the int8 candidate, whose
        // per-layer view adds its SQNR), saves in the three formats as valid files.
        QSet<QCustomPlot*> saved;
        int plots = 0;
        QString int8;
        for (const auto& c : w.project()->candidates())
            if (c.plugin == "quantize") int8 = c.key;
        QVERIFY(!int8.isEmpty());
        for (const QString& key : {cascade->key, int8}) {
            w.selectCandidate(key);
            QCOMPARE(w.currentCandidate(), key);
            for (int t = 0; t < w.tabs()->count(); ++t) {
                w.tabs()->setCurrentIndex(t);
                QCoreApplication::processEvents();
                for (QCustomPlot* p : w.tabs()->currentWidget()->findChildren<QCustomPlot*>()) {
                    if (!p->isVisible() || saved.contains(p)) continue;
                    saved.insert(p);
                    const QString base = dir.filePath(QString("plot%1").arg(++plots));
                    ui::savePlot(p, base + ".png");
                    ui::savePlot(p, base + ".svg");
                    ui::savePlot(p, base + ".pdf");
                    QVERIFY(!QImage(base + ".png").isNull());
                    QFile svg(base + ".svg");
                    QVERIFY(svg.open(QIODevice::ReadOnly));
                    QXmlStreamReader xml(&svg);
                    QVERIFY(xml.readNextStartElement());
                    QCOMPARE(xml.name().toString(), QString("svg"));
                    QProcess info;
                    info.start("pdfinfo", {base + ".pdf"});
                    QVERIFY(info.waitForFinished(30000));
                    QCOMPARE(info.exitCode(), 0);
                    QVERIFY(QString::fromUtf8(info.readAllStandardOutput()).contains(QRegularExpression("Pages:\\s+1")));
                }
            }
        }
        qInfo("%d plots saved as PNG, SVG and PDF", plots);
        QVERIFY(plots >= 6);   // trade-off, per-layer bars, confidence, confusion, cost per input, ...

        // File > Export: the int8 candidate as a bundle, in a job, as joule export --store writes it.
        const QString out = dir.filePath("export");
        QVERIFY(w.exportCandidateTo(int8, "bundle", out, false));
        w.jobs()->waitForIdle();
        QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
        QFile mf(out + "/manifest.json");
        QVERIFY(mf.open(QIODevice::ReadOnly));
        const QByteArray manifestBytes = mf.readAll();
        const QJsonObject m = QJsonDocument::fromJson(manifestBytes).object();
        QCOMPARE(m["candidate"]["id"].toString(), QString::number(w.project()->find(int8)->storeId));
        QVERIFY2(m["cortex_m4"]["built"].toBool(), qPrintable(m["cortex_m4"]["error"].toString()));
        QVERIFY(QFileInfo(out + "/c/model.c").size() > 100000);
        // The same folder again, not replaced: the job fails naming it, and it stays as it was.
        QVERIFY(w.exportCandidateTo(int8, "c", out, false));
        w.jobs()->waitForIdle();
        QVERIFY2(w.lastError().contains(out) && w.lastError().contains("already holds"), qPrintable(w.lastError()));
        QFile again(out + "/manifest.json");
        QVERIFY(again.open(QIODevice::ReadOnly));
        QCOMPARE(again.readAll(), manifestBytes);
        // The fp32 cascade runs float convolutions: refused, naming the node and the op, nothing written.
        QVERIFY(w.exportCandidateTo(cascade->key, "c", dir.filePath("fp32"), false));
        w.jobs()->waitForIdle();
        QVERIFY2(w.lastError().contains("(Conv): the C export has no kernel for Conv"), qPrintable(w.lastError()));
        QVERIFY(!QFileInfo::exists(dir.filePath("fp32")));
    }

    // joule-studio --screenshot: every view of a real model as a real picture; a bad file is exit 1
    // with the dialog's one-line reason.
    void pluginFoldersFromTheSettingsReachTheOptimizePanelAndTheCli()
    {
        const QString fixtures = QStringLiteral(JOULE_PLUGIN_FIXTURE_DIR);
        MainWindow w;
        QComboBox* box = w.optimizePanel()->findChild<QComboBox*>("plugin");
        QVERIFY(box);
        QCOMPARE(box->findData("fixture-prune"), -1);
        QVERIFY(w.optimizePanel()->selectPlugin("quantize"));
        // Settings → Plugin Folders: the dialog lists the folder with what it holds.
        joule::ui::PluginFoldersDialog dialog({}, &w);
        dialog.addFolder(fixtures + "/");
        dialog.addFolder(fixtures);   // once only
        QCOMPARE(dialog.folders(), QStringList{QDir::cleanPath(fixtures)});
        const QString row = dialog.list()->item(0)->text();
        QVERIFY2(row.contains(" plugins, ") && row.contains(" broken)"), qPrintable(row));
        QVERIFY(w.setPluginFolders(dialog.folders()));
        QVERIFY(box->findData("fixture-prune") >= 0);
        QCOMPARE(w.optimizePanel()->currentPlugin(), QString("quantize"));   // the choice survives a rescan
        QVERIFY(w.optimizePanel()->selectPlugin("fixture-prune"));
        QCOMPARE(w.optimizePanel()->form()->findChildren<QWidget*>().isEmpty(), false);
        // The same settings reach every new manager (the CLI's, the next window's).
        QVERIFY(joule::plugin::PluginManager().find("fixture-prune"));
        QVERIFY(MainWindow().optimizePanel()->selectPlugin("fixture-prune"));
        QVERIFY(w.setPluginFolders({}));
        QCOMPARE(box->findData("fixture-prune"), -1);
        QVERIFY(!joule::plugin::PluginManager().find("fixture-prune"));
    }

    void screenshotModeRendersEveryView()
    {
        const QString studio = qEnvironmentVariable("JOULE_BUILD_DIR") + "/bin/joule-studio";
        QVERIFY2(QFileInfo::exists(studio), qPrintable(studio));
        QTemporaryDir out;
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("XDG_CONFIG_HOME", out.filePath("config"));   // its recent-files list stays out of the user's
        p.setProcessEnvironment(env);
        p.start(studio, {"--screenshot", out.path(), model_});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 0);
        const QStringList files = QString::fromUtf8(p.readAllStandardOutput()).split('\n', Qt::SkipEmptyParts);
        QStringList names;
        for (const QString& f : files) {
            names << QFileInfo(f).completeBaseName();
            const QImage image(f);
            QVERIFY2(!image.isNull(), qPrintable(f));
            QVERIFY(image.width() > 200 && image.height() > 200);
            QSet<QRgb> colours;
            for (int y = 0; y < image.height(); y += 7)
                for (int x = 0; x < image.width(); x += 7) colours.insert(image.pixel(x, y));
            QVERIFY2(colours.size() > 8, qPrintable(f + " is nearly uniform"));
        }
        names.sort();
        QCOMPARE(names, QStringList({"candidates", "compare", "graph", "inspector", "layers", "optimize", "per-input", "per-layer", "tradeoffs", "window"}));

        QFile broken(out.filePath("broken.onnx"));
        QVERIFY(broken.open(QIODevice::WriteOnly));
        broken.write("not a model");
        broken.close();
        p.start(studio, {"--screenshot", out.filePath("shots"), broken.fileName()});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 1);
        QVERIFY(QString::fromUtf8(p.readAllStandardError()).contains("broken.onnx"));
        QVERIFY(!QFileInfo::exists(out.filePath("shots/graph.png")));
    }

private:
    QTemporaryDir settingsDir_, dir_;
    QString model_;
    Graph graph_;
};

QTEST_MAIN(TestStudio)
#include "tst_studio.moc"
