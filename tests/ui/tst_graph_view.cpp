// The graph view on committed models (fmnist_resnet8, fmnist_little): the Graphviz layout has one box per
// node, no overlaps and downward edges, one edge per tensor use; the view draws one item per node,
// colours by value (NaN grey), selects on click, clears on an empty-space click, finds by name or op,
// and its screenshot is a real drawing.
//
//   QT_QPA_PLATFORM=offscreen JOULE_SOURCE_DIR=. build/tests/tst_graph_view
//   JOULE_GRAPH_VIEW_SHOT=/tmp/graph_view_check.png ...   also keeps the screenshot there, to look at
#include "graph/graph_view.h"

#include "onnx/onnx_io.h"

#include <QImage>
#include <QSet>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>

using namespace joule;

namespace {

Graph loadCommitted(const char* file)
{
    const QString root = qEnvironmentVariable("JOULE_SOURCE_DIR");
    if (root.isEmpty())
        throw std::runtime_error("JOULE_SOURCE_DIR is not set (ctest sets it)");
    return onnx::loadModel((root + "/resources/models/" + file).toStdString());
}

// Tensor uses by kind, counted from the graph itself.
struct Uses {
    int nodeToNode = 0, fromInputs = 0, toOutputs = 0;
};

Uses countUses(const Graph& g)
{
    Uses u;
    for (const auto& n : g.nodes())
        for (const auto& v : n.inputs) {
            if (v.empty())
                continue;
            if (g.producerOf(v) >= 0)
                ++u.nodeToNode;
            else if (g.isGraphInput(v) && !g.initializer(v))
                ++u.fromInputs;
        }
    u.toOutputs = static_cast<int>(g.outputs().size());
    return u;
}

std::vector<int> nodesMatching(const Graph& g, const QString& text)
{
    std::vector<int> out;
    for (size_t i = 0; i < g.nodes().size(); ++i)
        if (QString::fromStdString(g.nodes()[i].name).contains(text, Qt::CaseInsensitive) ||
            QString::fromStdString(g.nodes()[i].opType).contains(text, Qt::CaseInsensitive))
            out.push_back(static_cast<int>(i));
    return out;
}

bool isGrey(const QColor& c) { return c.red() == c.green() && c.green() == c.blue(); }

bool near(QRgb a, const QColor& b, int tolerance)
{
    return std::abs(qRed(a) - b.red()) <= tolerance && std::abs(qGreen(a) - b.green()) <= tolerance &&
           std::abs(qBlue(a) - b.blue()) <= tolerance;
}

} // namespace

class TestGraphView : public QObject {
    Q_OBJECT
private:
    Graph graph_;
    ui::GraphLayout layout_;
    QTemporaryDir tmp_;

    // A shown view of graph_ at a desktop size.
    std::unique_ptr<ui::GraphView> shownView()
    {
        auto view = std::make_unique<ui::GraphView>();
        view->resize(1280, 800);
        view->show();
        if (!QTest::qWaitForWindowExposed(view.get()))
            throw std::runtime_error("the graph view was never exposed");
        view->setGraph(graph_);
        return view;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(tmp_.isValid());
        graph_ = loadCommitted("fmnist_resnet8.onnx");
        QVERIFY(graph_.nodes().size() > 10);
        layout_ = ui::layoutGraph(graph_);
    }

    void layoutHasOneBoxPerNode()
    {
        const auto& nodes = graph_.nodes();
        QCOMPARE(layout_.nodes.size(), nodes.size());
        for (size_t i = 0; i < nodes.size(); ++i) {
            const auto& n = layout_.nodes[i];
            QCOMPARE(n.node, static_cast<int>(i));
            QCOMPARE(n.title, QString::fromStdString(nodes[i].opType));
            QCOMPARE(n.subtitle, QString::fromStdString(nodes[i].name));
            QVERIFY2(!n.rect.isEmpty(), qPrintable(n.subtitle));
            QVERIFY2(layout_.bounds.contains(n.rect), qPrintable(n.subtitle));
        }
        for (size_t i = 0; i < nodes.size(); ++i)
            for (size_t j = i + 1; j < nodes.size(); ++j)
                QVERIFY2(!layout_.nodes[i].rect.intersects(layout_.nodes[j].rect),
                         qPrintable(layout_.nodes[i].subtitle + " overlaps " + layout_.nodes[j].subtitle));
        QCOMPARE(layout_.inputs.size(), graph_.requiredInputs().size());
        QCOMPARE(layout_.outputs.size(), graph_.outputs().size());
    }

    void edgesFollowTheDataflow()
    {
        const Uses uses = countUses(graph_);
        int nodeToNode = 0, fromInputs = 0, toOutputs = 0;
        for (const auto& e : layout_.edges) {
            QVERIFY(!e.path.isEmpty());
            if (e.from >= 0 && e.to >= 0) {
                ++nodeToNode;
                const QRectF& from = layout_.nodes[e.from].rect;
                const QRectF& to = layout_.nodes[e.to].rect;
                QVERIFY2(from.center().y() < to.center().y(), qPrintable(e.value + " goes upward"));
                QCOMPARE(graph_.producerOf(e.value.toStdString()), e.from);
                const auto& inputs = graph_.nodes()[e.to].inputs;
                QVERIFY(std::find(inputs.begin(), inputs.end(), e.value.toStdString()) != inputs.end());
            }
            if (e.from < 0 && e.to >= 0)
                ++fromInputs;
            if (e.to < 0)
                ++toOutputs;
            if (e.to >= 0)   // the spline ends on its consumer
                QVERIFY2(layout_.nodes[e.to].rect.adjusted(-2, -2, 2, 2).contains(e.path.currentPosition()), qPrintable(e.value));
        }
        QCOMPARE(nodeToNode, uses.nodeToNode);
        QCOMPARE(fromInputs, uses.fromInputs);
        QCOMPARE(toOutputs, uses.toOutputs);
    }

    void setGraphDrawsAndReplaces()
    {
        auto view = shownView();
        const int n = static_cast<int>(graph_.nodes().size());
        QCOMPARE(view->nodeItemCount(), n);
        std::vector<double> values(graph_.nodes().size());
        std::iota(values.begin(), values.end(), 1.0);
        view->setNodeValues(values, "energy", "µJ");
        view->selectNode(2);

        const Graph little = loadCommitted("fmnist_little.onnx");
        QVERIFY(little.nodes().size() != graph_.nodes().size());
        view->setGraph(little);
        QCOMPARE(view->nodeItemCount(), static_cast<int>(little.nodes().size()));
        QCOMPARE(view->selectedNode(), -1);
        for (int i = 0; i < view->nodeItemCount(); ++i)
            QVERIFY(isGrey(view->nodeColor(i)));
        view->clear();
        QCOMPARE(view->nodeItemCount(), 0);
    }

    void heatMapColours()
    {
        auto view = shownView();
        const int n = static_cast<int>(graph_.nodes().size());
        std::vector<double> values(n);
        std::iota(values.begin(), values.end(), 1.0);   // node i has i + 1
        const int missing = n / 2;
        values[missing] = std::numeric_limits<double>::quiet_NaN();
        view->setNodeValues(values, "energy", "µJ");

        QVERIFY(view->nodeColor(0) != view->nodeColor(n - 1));
        QVERIFY(isGrey(view->nodeColor(missing)));
        QVERIFY(!isGrey(view->nodeColor(0)));
        QVERIFY(!isGrey(view->nodeColor(n - 1)));
        // A sequential ramp: larger values are never lighter.
        for (int i = 1; i < n; ++i) {
            const int prev = i - 1 == missing ? i - 2 : i - 1;
            if (i == missing)
                continue;
            QVERIFY2(view->nodeColor(i).lightness() <= view->nodeColor(prev).lightness(), qPrintable(QString::number(i)));
        }

        // Four decades: the log scale still separates the small values.
        for (int i = 0; i < n; ++i)
            values[i] = std::pow(10.0, 4.0 * i / (n - 1));
        view->setNodeValues(values, "latency", "ms");
        QVERIFY(view->nodeColor(0) != view->nodeColor(1));
        QVERIFY(view->nodeColor(n - 2) != view->nodeColor(n - 1));

        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, view->setNodeValues(std::vector<double>(n + 1, 1.0), "energy", "µJ"));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, view->setNodeValues({}, "energy", "µJ"));
    }

    void clicksSelectNodesAndEmptySpaceClears()
    {
        auto view = shownView();
        QSignalSpy spy(view.get(), &ui::GraphView::nodeSelected);
        const int target = static_cast<int>(graph_.nodes().size()) - 3;
        const QPointF centre = layout_.nodes[target].rect.center();
        view->centerOn(centre);
        QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, view->mapFromScene(centre));
        QCOMPARE(spy.count(), 1);
        QCOMPARE(spy.at(0).at(0).toInt(), target);
        QCOMPARE(view->selectedNode(), target);

        view->fitAll();
        const QPoint corner(3, 3);
        const QPointF inScene = view->mapToScene(corner);
        for (const auto& n : layout_.nodes)
            QVERIFY2(!n.rect.contains(inScene), "the viewport corner should be empty space");
        QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, corner);
        QCOMPARE(spy.count(), 2);
        QCOMPARE(spy.at(1).at(0).toInt(), -1);
        QCOMPARE(view->selectedNode(), -1);

        // From elsewhere: highlighted and scrolled into view, no signal.
        view->setTransform(QTransform::fromScale(2, 2));
        view->selectNode(target);
        QCOMPARE(spy.count(), 2);
        QCOMPARE(view->selectedNode(), target);
        QVERIFY(view->viewport()->rect().contains(view->mapFromScene(centre)));
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, view->selectNode(view->nodeItemCount()));
    }

    void findSelectsTheNextMatch()
    {
        auto view = shownView();
        QSignalSpy spy(view.get(), &ui::GraphView::nodeSelected);
        const std::vector<int> gemm = nodesMatching(graph_, "Gemm");
        QCOMPARE(gemm.size(), size_t(1));   // the model's classifier
        QCOMPARE(view->find("Gemm"), 1);
        QCOMPARE(view->selectedNode(), gemm[0]);
        QCOMPARE(spy.count(), 1);
        QCOMPARE(spy.at(0).at(0).toInt(), gemm[0]);

        QCOMPARE(view->find("no such node or op"), 0);
        QCOMPARE(view->selectedNode(), gemm[0]);
        QCOMPARE(spy.count(), 1);

        // Successive finds walk the matches in order from the selection, wrapping around.
        const std::vector<int> conv = nodesMatching(graph_, "conv");
        QVERIFY(conv.size() > 2);
        view->selectNode(conv[0]);
        QCOMPARE(view->find("CONV"), static_cast<int>(conv.size()));
        QCOMPARE(view->selectedNode(), conv[1]);
        view->selectNode(conv.back());
        view->find("conv");
        QCOMPARE(view->selectedNode(), conv[0]);
    }

    void screenshotShowsColouredBoxes()
    {
        auto view = shownView();
        const int n = static_cast<int>(graph_.nodes().size());
        std::vector<double> values(n);
        for (int i = 0; i < n; ++i)
            values[i] = static_cast<double>((i * 7) % n) + 1.0;   // colours spread over the picture
        values[1] = std::numeric_limits<double>::quiet_NaN();
        view->setNodeValues(values, "energy", "µJ");
        view->selectNode(2);

        const QString path = tmp_.filePath("graph_view.png");
        QVERIFY(view->grab().save(path));
        if (const QString keep = qEnvironmentVariable("JOULE_GRAPH_VIEW_SHOT"); !keep.isEmpty())
            QVERIFY(view->grab().save(keep));
        const QImage image(path);
        QCOMPARE(image.size(), view->size());

        QSet<QRgb> colours;
        for (int y = 0; y < image.height(); y += 2)
            for (int x = 0; x < image.width(); x += 2)
                colours.insert(image.pixel(x, y) & 0xffffff);
        QVERIFY2(colours.size() > 20, qPrintable(QString::number(colours.size()) + " distinct colours"));

        // The fill of every node on screen is drawn where the box is (inside its left margin, clear of text).
        int checked = 0;
        const QPoint offset = view->viewport()->mapTo(view.get(), QPoint(0, 0));
        for (int i = 0; i < n; ++i) {
            const QRectF& r = layout_.nodes[i].rect;
            const QPoint p = view->mapFromScene(QPointF(r.left() + 4, r.center().y())) + offset;
            if (!view->viewport()->rect().contains(p - offset) || i == 2)
                continue;
            QVERIFY2(near(image.pixel(p), view->nodeColor(i), 12), qPrintable(layout_.nodes[i].subtitle));
            ++checked;
        }
        QVERIFY(checked >= 3);
    }
};

QTEST_MAIN(TestGraphView)   // a QApplication: the test links Qt Widgets

#include "tst_graph_view.moc"
