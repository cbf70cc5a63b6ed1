// Lays a Graph out with Graphviz `dot` through its C API (libgvc + libcgraph) and converts the result
// to Qt scene coordinates: one fixed-size box per node, an ellipse per graph input (without an
// initializer) and output, a spline per tensor use.
//
//   joule::ui::GraphLayout l = joule::ui::layoutGraph(joule::onnx::loadModel("model.onnx"));
//   l.nodes[i].rect;                          // the box of Graph::nodes()[i]
//   for (const auto& e : l.edges) e.path;     // from the producer (or input terminal) to the consumer
//
// Graphviz's C API keeps global state, so calls are serialized by a mutex and each one uses its own
// context. Node ids are indices ("n3", "i0", "o1"): node names may be empty or repeated.
#include "graph/graph_layout.h"

#include <graphviz/gvc.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace joule::ui {

namespace {

// Box sizes in points, sized for the view's two-line label: the op type in bold over the node name,
// which the view elides to the box (names count up to kNameChars characters here).
constexpr double kNodeHeight = 44.0;
constexpr double kNodeMinWidth = 84.0;
constexpr double kNodeMaxWidth = 220.0;
constexpr double kTitleCharWidth = 8.0;      // 13 px bold sans-serif, average
constexpr double kNameCharWidth = 6.4;       // 11 px sans-serif, average
constexpr int kNameChars = 28;
constexpr double kTerminalHeight = 26.0;
constexpr double kTerminalMinWidth = 64.0;
constexpr double kPadding = 20.0;
constexpr double kPointsPerInch = 72.0;

double nodeWidth(const Node& node)
{
    const double title = static_cast<double>(node.opType.size()) * kTitleCharWidth;
    const double name = static_cast<double>(std::min<size_t>(node.name.size(), kNameChars)) * kNameCharWidth;
    return std::clamp(std::max(title, name) + kPadding, kNodeMinWidth, kNodeMaxWidth);
}

double terminalWidth(const std::string& name)
{
    const double text = static_cast<double>(std::min<size_t>(name.size(), kNameChars)) * kNameCharWidth;
    return std::clamp(text + 2 * kPadding, kTerminalMinWidth, kNodeMaxWidth);
}

// The last error Graphviz reported during this call (the mutex makes the static safe).
std::string& lastGraphvizError()
{
    static std::string message;
    return message;
}

int recordGraphvizError(char* message)
{
    std::string& m = lastGraphvizError();
    m = message;
    m.erase(m.find_last_not_of(" \n") + 1);
    return 0;
}

// Graphviz object names: a kind letter and an index ("n3" is Graph::nodes()[3]).
std::string id(char kind, size_t index)
{
    std::string s(1, kind);
    s += std::to_string(index);
    return s;
}

// cgraph takes mutable strings for names and attribute values.
char* str(std::string& s) { return s.data(); }

struct GvcDeleter {
    void operator()(GVC_t* gvc) const { gvFreeContext(gvc); }
};

// The graph and its layout, freed in the order Graphviz requires.
class Layout {
public:
    explicit Layout(GVC_t* gvc) : gvc_(gvc)
    {
        std::string name = "joule";
        graph_ = agopen(str(name), Agdirected, nullptr);
        if (!graph_)
            throw std::runtime_error("graph layout: Graphviz could not create a graph");
    }
    ~Layout()
    {
        if (laidOut_)
            gvFreeLayout(gvc_, graph_);
        agclose(graph_);
    }
    Layout(const Layout&) = delete;
    Layout& operator=(const Layout&) = delete;

    Agraph_t* graph() const { return graph_; }
    void run()
    {
        std::string engine = "dot";
        if (gvLayout(gvc_, graph_, str(engine)) != 0) {
            const std::string why = lastGraphvizError().empty() ? "no message" : lastGraphvizError();
            throw std::runtime_error("graph layout: Graphviz dot failed (" + why + ")");
        }
        laidOut_ = true;
    }

private:
    GVC_t* gvc_;
    Agraph_t* graph_ = nullptr;
    bool laidOut_ = false;
};

void setAttribute(void* object, const char* key, const std::string& value)
{
    std::string k = key, v = value, empty;
    agsafeset(object, str(k), str(v), str(empty));
}

void declareDefault(Agraph_t* g, int kind, const char* key, const char* value)
{
    std::string k = key, v = value;
    agattr(g, kind, str(k), str(v));
}

Agnode_t* addNode(Agraph_t* g, const std::string& id, double widthPt, double heightPt, const char* shape)
{
    std::string name = id;
    Agnode_t* n = agnode(g, str(name), 1);
    setAttribute(n, "width", std::to_string(widthPt / kPointsPerInch));
    setAttribute(n, "height", std::to_string(heightPt / kPointsPerInch));
    setAttribute(n, "shape", shape);
    return n;
}

} // namespace

GraphLayout layoutGraph(const Graph& graph)
{
    static std::mutex graphvizMutex;
    const std::lock_guard<std::mutex> lock(graphvizMutex);
    lastGraphvizError().clear();
    agseterrf(recordGraphvizError);
    agseterr(AGERR);   // warnings are not failures; errors are recorded for the message

    GraphLayout out;
    const auto& nodes = graph.nodes();

    // Terminals: graph inputs that carry data (an input with an initializer is a weight) and outputs.
    std::vector<std::string> inputNames, outputNames;
    for (const auto& v : graph.inputs())
        if (!graph.initializer(v.name))
            inputNames.push_back(v.name);
    for (const auto& v : graph.outputs())
        outputNames.push_back(v.name);
    if (nodes.empty() && inputNames.empty() && outputNames.empty())
        return out;

    std::unordered_map<std::string, int> producer, inputTerminal;
    for (size_t i = 0; i < nodes.size(); ++i)
        for (const auto& v : nodes[i].outputs)
            if (!v.empty())
                producer.emplace(v, static_cast<int>(i));
    for (size_t i = 0; i < inputNames.size(); ++i)
        inputTerminal.emplace(inputNames[i], static_cast<int>(i));

    std::unique_ptr<GVC_t, GvcDeleter> gvc(gvContext());
    if (!gvc)
        throw std::runtime_error("graph layout: Graphviz could not create a context");
    Layout layout(gvc.get());
    Agraph_t* g = layout.graph();
    setAttribute(g, "rankdir", "TB");
    setAttribute(g, "nodesep", "0.3");
    setAttribute(g, "ranksep", "0.35");
    declareDefault(g, AGNODE, "shape", "box");
    declareDefault(g, AGNODE, "fixedsize", "true");
    declareDefault(g, AGNODE, "label", "");

    std::vector<Agnode_t*> gvNodes, gvInputs, gvOutputs;
    for (size_t i = 0; i < nodes.size(); ++i)
        gvNodes.push_back(addNode(g, id('n', i), nodeWidth(nodes[i]), kNodeHeight, "box"));
    for (size_t i = 0; i < inputNames.size(); ++i)
        gvInputs.push_back(addNode(g, id('i', i), terminalWidth(inputNames[i]), kTerminalHeight, "ellipse"));
    for (size_t i = 0; i < outputNames.size(); ++i)
        gvOutputs.push_back(addNode(g, id('o', i), terminalWidth(outputNames[i]), kTerminalHeight, "ellipse"));

    // One edge per tensor use; gvEdges[k] is the Graphviz edge of out.edges[k].
    std::vector<Agedge_t*> gvEdges;
    auto addEdge = [&](Agnode_t* tail, Agnode_t* head, int from, int to, const std::string& value) {
        std::string name = id('e', gvEdges.size());
        gvEdges.push_back(agedge(g, tail, head, str(name), 1));
        out.edges.push_back({from, to, QString::fromStdString(value), {}});
    };
    for (size_t i = 0; i < nodes.size(); ++i) {
        for (const auto& v : nodes[i].inputs) {
            if (v.empty())
                continue;
            if (auto p = producer.find(v); p != producer.end())
                addEdge(gvNodes[p->second], gvNodes[i], p->second, static_cast<int>(i), v);
            else if (auto t = inputTerminal.find(v); t != inputTerminal.end())
                addEdge(gvInputs[t->second], gvNodes[i], -1, static_cast<int>(i), v);
        }
    }
    for (size_t i = 0; i < outputNames.size(); ++i) {
        const std::string& v = outputNames[i];
        if (auto p = producer.find(v); p != producer.end())
            addEdge(gvNodes[p->second], gvOutputs[i], p->second, -1, v);
        else if (auto t = inputTerminal.find(v); t != inputTerminal.end())
            addEdge(gvInputs[t->second], gvOutputs[i], -1, -1, v);
    }

    layout.run();

    // Graphviz: points, origin bottom-left, y up. Qt scene: origin at the bounding box's top-left, y down.
    const boxf bb = GD_bb(g);
    auto toScene = [&](pointf p) { return QPointF(p.x - bb.LL.x, bb.UR.y - p.y); };
    auto boxOf = [&](Agnode_t* n) {
        const QPointF c = toScene(ND_coord(n));
        const double w = ND_width(n) * kPointsPerInch, h = ND_height(n) * kPointsPerInch;
        return QRectF(c.x() - w / 2, c.y() - h / 2, w, h);
    };

    out.nodes.reserve(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i)
        out.nodes.push_back({static_cast<int>(i), boxOf(gvNodes[i]), QString::fromStdString(nodes[i].opType),
                             QString::fromStdString(nodes[i].name)});
    for (size_t i = 0; i < inputNames.size(); ++i)
        out.inputs.push_back({QString::fromStdString(inputNames[i]), boxOf(gvInputs[i])});
    for (size_t i = 0; i < outputNames.size(); ++i)
        out.outputs.push_back({QString::fromStdString(outputNames[i]), boxOf(gvOutputs[i])});

    // Each spline: a start point then cubic segments; with an arrowhead the spline stops short of the
    // head node and `ep` is the arrow's tip on its border, which the path is extended to.
    for (size_t k = 0; k < gvEdges.size(); ++k) {
        const splines* spl = ED_spl(gvEdges[k]);
        if (!spl)
            continue;
        QPainterPath& path = out.edges[k].path;
        for (int b = 0; b < spl->size; ++b) {
            const bezier& bz = spl->list[b];
            if (bz.size == 0)
                continue;
            if (bz.sflag) {
                path.moveTo(toScene(bz.sp));
                path.lineTo(toScene(bz.list[0]));
            } else {
                path.moveTo(toScene(bz.list[0]));
            }
            for (int j = 1; j + 2 < bz.size; j += 3)
                path.cubicTo(toScene(bz.list[j]), toScene(bz.list[j + 1]), toScene(bz.list[j + 2]));
            if (bz.eflag)
                path.lineTo(toScene(bz.ep));
        }
    }

    out.bounds = QRectF(0, 0, bb.UR.x - bb.LL.x, bb.UR.y - bb.LL.y);
    return out;
}

} // namespace joule::ui
