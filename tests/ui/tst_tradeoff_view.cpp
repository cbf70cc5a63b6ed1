// The trade-off view on real runs: `joule sweep` of the DS-CNN sweep recipe (calibration minmax/mse
// by weights per-channel/per-tensor, on 64 calibration and 1,000 test images) into a fresh store,
// opened as a project. The points are the stored candidates having both metrics, the drawn front is
// the one `joule pareto --json` prints (same candidates, same order) over several axis pairs, a click
// on a point's pixel selects it, a budget greys exactly the candidates beyond it (read from the store
// itself), the plot exports as PNG, SVG and PDF (checked with pdfinfo), the CSV reads back with the
// store's values.
//
//   QT_QPA_PLATFORM=offscreen JOULE_SOURCE_DIR=. JOULE_BUILD_DIR=build build/tests/tst_tradeoff_view
//   (the screenshots are kept at $TMPDIR/tradeoff_view.png and tradeoff_view_energy.png)
#include "views/tradeoff_view.h"

#include "plots/plot_export.h"
#include "store/store.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSet>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QToolTip>
#include <QXmlStreamReader>
#include <QtTest>

#include <cmath>
#include <map>

using namespace joule;
using joule::ui::Budget;
using joule::ui::TradeoffView;

namespace {

QString sourceDir()
{
    const QString root = qEnvironmentVariable("JOULE_SOURCE_DIR");
    if (root.isEmpty()) throw std::runtime_error("JOULE_SOURCE_DIR is not set (ctest sets it)");
    return root;
}

QString jouleBinary()
{
    const QString build = qEnvironmentVariable("JOULE_BUILD_DIR");
    if (build.isEmpty()) throw std::runtime_error("JOULE_BUILD_DIR is not set (ctest sets it)");
    return build + "/bin/joule";
}

// Runs joule; fails the test (returns empty) unless it exits 0.
QByteArray runJoule(const QStringList& args)
{
    QProcess p;
    p.start(jouleBinary(), args);
    if (!p.waitForFinished(300000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        qWarning().noquote() << "joule" << args.join(' ') << "failed:" << p.readAllStandardError();
        return {};
    }
    return p.readAllStandardOutput();
}

// The plotted unit per stored unit, as the axis labels say.
double scaleOf(const QString& metric)
{
    if (metric == "accuracy") return 100.0;
    if (metric == "macs") return 1e-6;
    if (metric.endsWith("_bytes")) return 1.0 / 1024;
    return 1.0;
}

QCPGraph* graphNamed(QCustomPlot* plot, const QString& objectName)
{
    for (int i = 0; i < plot->graphCount(); ++i)
        if (plot->graph(i)->objectName() == objectName) return plot->graph(i);
    return nullptr;
}

int itemsNamed(QCustomPlot* plot, const QString& objectName)
{
    int n = 0;
    for (int i = 0; i < plot->itemCount(); ++i) n += plot->item(i)->objectName() == objectName;
    return n;
}

} // namespace

class TestTradeoffView : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString db_;
    std::optional<ui::Project> project_;
    std::vector<store::StoredCandidate> stored_;   // read from the store, not through the project
    std::map<int64_t, QString> keyOf_;             // store id -> project key

    // `joule pareto --json` with `extra` flags: the front's candidates as project keys, and the count compared.
    std::vector<QString> paretoFront(const QString& x, const QString& y, const QStringList& extra = {}, int* compared = nullptr)
    {
        const QByteArray out = runJoule(QStringList{"pareto", "--store", db_, "--x", x, "--y", y, "--json"} + extra);
        const QJsonObject doc = QJsonDocument::fromJson(out).object();
        if (compared) *compared = doc.value("candidates").toInt(-1);
        std::vector<QString> keys;
        for (const QJsonValue& c : doc.value("front").toArray()) keys.push_back(keyOf_.at(c.toObject().value("id").toInteger()));
        return keys;
    }

    const store::StoredCandidate& storedOf(const QString& key) const
    {
        for (const auto& [id, k] : keyOf_)
            if (k == key)
                for (const store::StoredCandidate& s : stored_)
                    if (s.id == id) return s;
        throw std::runtime_error("no stored candidate " + key.toStdString());
    }

private slots:
    void initTestCase()
    {
        QVERIFY(tmp_.isValid());
        // The sweep recipe with small data limits, its model by absolute path.
        QFile in(sourceDir() + "/resources/recipes/fmnist_dscnn_sweep.json");
        QVERIFY(in.open(QIODevice::ReadOnly));
        QJsonObject recipe = QJsonDocument::fromJson(in.readAll()).object();
        recipe["model"] = sourceDir() + "/resources/models/fmnist_dscnn.onnx";
        QJsonObject datasets = recipe["datasets"].toObject();
        QJsonObject calibration = datasets["calibration"].toObject();
        calibration["limit"] = 64;
        datasets["calibration"] = calibration;
        datasets["test"] = QJsonObject{{"spec", datasets["test"].toString()}, {"limit", 1000}};
        recipe["datasets"] = datasets;
        QJsonArray steps = recipe["steps"].toArray();
        QJsonObject step = steps[0].toObject(), params = step["params"].toObject();
        params["calibration_samples"] = 64;
        step["params"] = params;
        steps[0] = step;
        recipe["steps"] = steps;
        const QString recipePath = tmp_.filePath("sweep.json");
        QFile out(recipePath);
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(QJsonDocument(recipe).toJson());
        out.close();

        db_ = tmp_.filePath("joule.db");
        QProcess sweep;
        sweep.start(jouleBinary(), {"sweep", recipePath, "--grid", "quantize.calibration=minmax,mse", "--grid",
                              "quantize.weights=per_channel,per_tensor", "--store", db_});
        QVERIFY(sweep.waitForFinished(600000));
        QVERIFY2(sweep.exitStatus() == QProcess::NormalExit && sweep.exitCode() == 0, sweep.readAllStandardError().constData());

        project_ = ui::Project::open(db_);
        for (const ui::CandidateInfo& c : project_->candidates())
            if (c.storeId > 0) keyOf_[c.storeId] = c.key;
        stored_ = store::Store(db_).candidates();
        QCOMPARE(stored_.size(), size_t(8));   // 4 points, each a baseline and a quantized candidate
        QCOMPARE(keyOf_.size(), stored_.size());
    }

    void pointsAndFrontsAreJoulePareto()
    {
        TradeoffView view;
        view.setProject(&*project_);
        QCOMPARE(view.xMetric(), QString("energy_uj"));
        QCOMPARE(view.yMetric(), QString("accuracy"));
        const struct {
            QString x, y;
            QStringList flags;   // the defaults told explicitly: the same front
            size_t frontSize;
        } pairs[] = {
            {"energy_uj", "accuracy", {}, 2},
            {"flash_bytes", "accuracy", {}, 0},
            {"weight_bytes", "accuracy", {"--minimize", "weight_bytes", "--maximize", "accuracy"}, 3},
            {"accuracy", "energy_uj", {"--maximize", "accuracy"}, 2},
            {"arena_bytes", "latency_ms", {}, 0},
        };
        for (const auto& p : pairs) {
            view.setAxes(p.x, p.y);
            int compared = -1;
            const std::vector<QString> want = paretoFront(p.x, p.y, p.flags, &compared);
            QVERIFY(!want.empty());
            if (p.frontSize) QCOMPARE(want.size(), p.frontSize);   // a front with more than one point, so order matters
            QCOMPARE(view.pointCount(), compared);
            int withBoth = 0;
            for (const store::StoredCandidate& s : stored_) withBoth += s.metric(p.x) && s.metric(p.y);
            QCOMPARE(view.pointCount(), withBoth);
            QCOMPARE(view.frontKeys(), want);
            // The step line goes through exactly the front's points.
            QCPGraph* front = graphNamed(view.plot(), "front");
            QVERIFY(front);
            QCOMPARE(front->dataCount(), static_cast<int>(want.size()));
            for (const QString& key : want) {
                const store::StoredCandidate& s = storedOf(key);
                const double x = *s.metric(p.x) * scaleOf(p.x);
                bool found = false;
                for (auto it = front->data()->constBegin(); it != front->data()->constEnd(); ++it)
                    found = found || (it->key == x && it->value == *s.metric(p.y) * scaleOf(p.y));
                QVERIFY2(found, qPrintable(key));
            }
        }
        // The axis combos switch the metrics too.
        auto* xBox = view.findChild<QComboBox*>("tradeoffX");
        auto* yBox = view.findChild<QComboBox*>("tradeoffY");
        QVERIFY(xBox && yBox);
        xBox->setCurrentIndex(xBox->findData("weight_bytes"));
        yBox->setCurrentIndex(yBox->findData("accuracy"));
        QCOMPARE(view.xMetric(), QString("weight_bytes"));
        QCOMPARE(view.frontKeys(), paretoFront("weight_bytes", "accuracy"));
        QVERIFY(view.plot()->xAxis->label().contains("KiB"));
        QVERIFY(view.plot()->yAxis->label().contains("%"));
    }

    void clickSelects()
    {
        TradeoffView view;
        view.resize(900, 600);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.setProject(&*project_);
        view.setAxes("weight_bytes", "accuracy");
        QCustomPlot* plot = view.plot();
        plot->replot();
        auto pixelOf = [&](const store::StoredCandidate& s) {
            return QPointF(plot->xAxis->coordToPixel(*s.metric("weight_bytes") / 1024), plot->yAxis->coordToPixel(100 * *s.metric("accuracy")));
        };
        // The candidate farthest from any other on screen (the baselines are identical, on one pixel).
        QString target;
        double clearance = 0;
        for (const store::StoredCandidate& a : stored_) {
            double nearest = 1e9;
            for (const store::StoredCandidate& b : stored_)
                if (b.id != a.id) nearest = std::min(nearest, QLineF(pixelOf(a), pixelOf(b)).length());
            if (nearest > clearance) {
                clearance = nearest;
                target = keyOf_[a.id];
            }
        }
        QVERIFY2(clearance > 8, qPrintable(QString::number(clearance)));
        // Hovering shows its label, plugin, figures and target.
        QTest::mouseMove(plot, pixelOf(storedOf(target)).toPoint());
        QTRY_VERIFY(QToolTip::isVisible());
        const store::StoredCandidate& hovered = storedOf(target);
        for (const QString& part : {hovered.label.toHtmlEscaped(), hovered.plugin.isEmpty() ? QString("baseline") : hovered.plugin,
                                    QString::number(100 * hovered.accuracy, 'f', 2) + " %", hovered.target})
            QVERIFY2(QToolTip::text().contains(part), qPrintable(QToolTip::text() + " lacks " + part));
        QSignalSpy selected(&view, &TradeoffView::candidateSelected);
        QTest::mouseClick(plot, Qt::LeftButton, {}, pixelOf(storedOf(target)).toPoint() + QPoint(1, 0));
        QCOMPARE(selected.count(), 1);
        QCOMPARE(selected.first().at(0).toString(), target);
        QCOMPARE(view.selectedCandidate(), target);
        QCPGraph* ring = graphNamed(plot, "selection");
        QVERIFY(ring && ring->dataCount() == 1);
        QCOMPARE(ring->data()->constBegin()->key, *storedOf(target).metric("weight_bytes") / 1024);
        // Nowhere near a point: nothing.
        const QRect area = plot->axisRect()->rect();
        QTest::mouseClick(plot, Qt::LeftButton, {}, QPoint(area.left() + area.width() / 2, area.top() + 3));
        QCOMPARE(selected.count(), 1);
        // selectCandidate rings without a signal; an unknown key rings none.
        const QString other = keyOf_.begin()->second;
        view.selectCandidate(other);
        QCOMPARE(selected.count(), 1);
        QVERIFY(graphNamed(plot, "selection"));
        view.selectCandidate("no/such");
        QVERIFY(!graphNamed(plot, "selection"));
    }

    void budgetsGreyWhatIsBeyond()
    {
        TradeoffView view;
        view.setProject(&*project_);
        QVERIFY(view.beyondBudgetKeys().empty());
        QVERIFY(!graphNamed(view.plot(), "points:beyond-budget"));
        // At most 5,000 µJ, at least 92 % accuracy: the fp32 baselines (6,530 µJ) and the per-tensor
        // candidates (about 90.5 %) are beyond.
        view.setBudget(Budget{"energy_uj", 5000}, Budget{"accuracy", 0.92});
        std::vector<QString> want;
        for (const store::StoredCandidate& s : stored_)
            if (*s.energyUj > 5000 || s.accuracy < 0.92) want.push_back(keyOf_[s.id]);
        QVERIFY(!want.empty() && want.size() < stored_.size());
        QCOMPARE(view.beyondBudgetKeys(), want);
        QCPGraph* grey = graphNamed(view.plot(), "points:beyond-budget");
        QVERIFY(grey);
        QCOMPARE(grey->dataCount(), static_cast<int>(want.size()));
        int coloured = 0;
        for (int i = 0; i < view.plot()->graphCount(); ++i)
            if (view.plot()->graph(i)->objectName().startsWith("points:") && view.plot()->graph(i) != grey)
                coloured += view.plot()->graph(i)->dataCount();
        QCOMPARE(coloured + grey->dataCount(), view.pointCount());
        QCOMPARE(itemsNamed(view.plot(), "budget"), 4);   // a dashed line and its label on each axis

        // A budget on a metric no axis shows greys without a line.
        view.setBudget(Budget{"flash_bytes", 100 * 1024}, std::nullopt);
        want.clear();
        for (const store::StoredCandidate& s : stored_)
            if (s.flashBytes > 100 * 1024) want.push_back(keyOf_[s.id]);
        QCOMPARE(want.size(), size_t(4));   // the baselines
        QCOMPARE(view.beyondBudgetKeys(), want);
        QCOMPARE(itemsNamed(view.plot(), "budget"), 0);

        // The controls: the second budget on latency at 100 ms, typed in.
        view.setBudget(std::nullopt, std::nullopt);
        auto* on = view.findChild<QCheckBox*>("tradeoffBudgetOn1");
        auto* metric = view.findChild<QComboBox*>("tradeoffBudgetMetric1");
        auto* value = view.findChild<QDoubleSpinBox*>("tradeoffBudgetValue1");
        QVERIFY(on && metric && value);
        metric->setCurrentIndex(metric->findData("latency_ms"));
        value->setValue(100.0);
        QVERIFY(view.beyondBudgetKeys().empty());   // not on yet
        on->setChecked(true);
        want.clear();
        for (const store::StoredCandidate& s : stored_)
            if (s.latencyMs > 100.0) want.push_back(keyOf_[s.id]);
        QVERIFY(!want.empty());
        QCOMPARE(view.beyondBudgetKeys(), want);
        QCOMPARE(value->prefix(), QString("≤ "));
        on->setChecked(false);
        QVERIFY(view.beyondBudgetKeys().empty());
    }

    void livePoint()
    {
        TradeoffView view;
        view.setProject(&*project_);
        view.setLivePoint(QPointF(4000.0, 0.931), "cascade at 0.9");
        QCPGraph* live = graphNamed(view.plot(), "live");
        QVERIFY(live && live->dataCount() == 1);
        QCOMPARE(live->data()->constBegin()->key, 4000.0);
        QCOMPARE(live->data()->constBegin()->value, 93.1);
        view.setLivePoint(QPointF(3900.0, 0.925), "cascade at 0.85");   // moves, still one marker
        QCOMPARE(graphNamed(view.plot(), "live")->data()->constBegin()->key, 3900.0);
        QCOMPARE(itemsNamed(view.plot(), "live"), 1);
        view.setAxes("flash_bytes", "accuracy");   // not in these axes any more
        QVERIFY(!graphNamed(view.plot(), "live"));
    }

    void exports()
    {
        TradeoffView view;
        view.resize(900, 600);
        view.setProject(&*project_);
        view.setAxes("weight_bytes", "accuracy");
        view.setBudget(Budget{"weight_bytes", 100 * 1024}, std::nullopt);
        view.selectCandidate(view.frontKeys().front());
        view.setLivePoint(QPointF(75000, 0.92), "cascade at 0.9");
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));

        const QString png = tmp_.filePath("front.png"), svg = tmp_.filePath("front.svg"), pdf = tmp_.filePath("front.pdf");
        view.exportPlot(png);
        const QImage image(png);
        QVERIFY(!image.isNull());
        QSet<QRgb> colours;
        for (int y = 0; y < image.height(); y += 3)
            for (int x = 0; x < image.width(); x += 3) colours.insert(image.pixel(x, y));
        QVERIFY2(colours.size() > 20, qPrintable(QString::number(colours.size())));

        view.exportPlot(svg);
        QFile svgFile(svg);
        QVERIFY(svgFile.open(QIODevice::ReadOnly));
        QXmlStreamReader xml(&svgFile);
        bool root = false;
        int elements = 0;
        while (!xml.atEnd())
            if (xml.readNext() == QXmlStreamReader::StartElement) {
                if (elements == 0) root = xml.name() == u"svg";
                ++elements;
            }
        QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
        QVERIFY(root);
        QVERIFY2(elements > 20, qPrintable(QString::number(elements)));

        view.exportPlot(pdf);
        QProcess info;
        info.start("pdfinfo", {pdf});
        QVERIFY(info.waitForFinished(30000));
        QCOMPARE(info.exitCode(), 0);
        const QString text = QString::fromUtf8(info.readAllStandardOutput());
        QVERIFY2(QRegularExpression("Pages:\\s+1\\n").match(text).hasMatch(), qPrintable(text));

        QVERIFY_THROWS_EXCEPTION(ui::ProjectError, view.exportPlot(tmp_.filePath("front.bmp")));

        // The CSV: every stored candidate with the store's figures.
        const QString csv = tmp_.filePath("points.csv");
        view.exportCsv(csv);
        const std::vector<QStringList> rows = ui::readCsv(csv);
        QStringList header{"key", "label", "plugin"};
        for (const QString& m : store::metricNames()) header << m;
        header << "on_front" << "fits_budget";
        QCOMPARE(rows.front(), header);
        QCOMPARE(rows.size(), stored_.size() + 1);
        const std::vector<QString> front = view.frontKeys();
        QCOMPARE(front.size(), size_t(3));
        int onFront = 0, fitting = 0;
        for (size_t r = 1; r < rows.size(); ++r) {
            const QStringList& row = rows[r];
            QCOMPARE(row.size(), header.size());
            const store::StoredCandidate& s = storedOf(row[0]);
            QCOMPARE(row[1], s.label);
            QCOMPARE(row[2], s.plugin);
            for (int m = 0; m < static_cast<int>(store::metricNames().size()); ++m) {
                bool ok = false;
                QCOMPARE(row[3 + m].toDouble(&ok), *s.metric(store::metricNames()[static_cast<size_t>(m)]));
                QVERIFY(ok);
            }
            const bool isFront = std::find(front.begin(), front.end(), row[0]) != front.end();
            QCOMPARE(row[header.size() - 2], QString(isFront ? "true" : "false"));
            QCOMPARE(row[header.size() - 1], QString(s.weightBytes <= 100 * 1024 ? "true" : "false"));
            onFront += isFront;
            fitting += s.weightBytes <= 100 * 1024;
        }
        QCOMPARE(onFront, 3);
        QCOMPARE(fitting, 4);

        // What the studio shows, kept for a look.
        view.selectCandidate(front[1]);
        const QString shot = QDir(QDir::tempPath()).filePath("tradeoff_view.png");
        QVERIFY(view.grab().save(shot));
        // And as the studio opens it: energy against accuracy, no budget.
        view.setBudget(std::nullopt, std::nullopt);
        view.setAxes("energy_uj", "accuracy");
        const QString energyShot = QDir(QDir::tempPath()).filePath("tradeoff_view_energy.png");
        QVERIFY(view.grab().save(energyShot));
        qInfo().noquote() << "screenshots:" << shot << energyShot;
    }

    void emptyProject()
    {
        TradeoffView view;
        view.setProject(nullptr);
        QCOMPARE(view.pointCount(), 0);
        QVERIFY(view.frontKeys().empty());
        const ui::Project model = ui::Project::open(sourceDir() + "/resources/models/fmnist_dscnn.onnx");
        view.setProject(&model);   // the opened model is not stored: no point
        QCOMPARE(view.pointCount(), 0);
        QVERIFY_THROWS_EXCEPTION(store::StoreError, view.setAxes("speed", "accuracy"));
    }
};

QTEST_MAIN(TestTradeoffView)
#include "tst_tradeoff_view.moc"
