#pragma once
// Executes a Graph.
//
//   joule::Graph g = joule::onnx::loadModel("resnet8.onnx");
//   joule::rt::Session session(g, {.threads = 2});
//   auto outputs = session.run({{"input", image}});      // name -> Tensor (owning copies)
//   size_t arena = session.arenaBytes();
//
// The session keeps its own copy of the graph. A run with the same input shapes (and the same
// values of inputs that kernels read while preparing) reuses the plan: kernels are prepared once,
// activations live in one arena whose layout the memory planner chose ahead of time, and eval()
// allocates nothing. Nodes whose inputs are all constant are folded while preparing.
// Observers see every computed tensor (calibration, per-layer error).

#include "runtime/kernel.h"
#include "runtime/memory_planner.h"
#include "runtime/registry.h"

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace joule::rt {

// A model uses ops (or op/type pairs) that no kernel implements. what() lists every one with a node
// that uses it, e.g. "unsupported ops: NonZero (node 'nz1'), Loop (node 'loop')".
class UnsupportedOpsError : public UnsupportedError {
public:
    UnsupportedOpsError(const std::string& message, std::vector<std::string> ops)
        : UnsupportedError(message), ops_(std::move(ops)) {}
    const std::vector<std::string>& ops() const { return ops_; }
private:
    std::vector<std::string> ops_;
};

// Empty when `value` may be fed for the declared input `decl`, else why not, e.g.
// "input 'x' expects shape [1,3,224,224] float32, got [1,224,224] float32".
std::string feedMismatch(const ValueInfo& decl, const Tensor& value);

struct SessionOptions {
    int threads = 1;
    // Fold a Relu / Clip (constant bounds) into the kernel that produces its input when that kernel
    // can clamp its own output (Conv). Off while an observer is set, so every tensor stays observable;
    // off by default, because steps() then lists fewer nodes than the graph has.
    bool fuseActivations = false;
    // Run 2-D float32 convolutions and the ops between them on [N, H, W, C] tensors through oneDNN
    // (runtime/channels_last.h), in a build with oneDNN; no effect otherwise. The session's graph()
    // is then the rewritten one, whose intermediate values are partly channels-last copies: off by
    // default, and not for observers that read intermediate tensors by name.
    bool channelsLast = false;
    // The most one tensor, one kernel's scratch or the whole activation arena may take. A model whose
    // output sizes come from data (ConstantOfShape, Expand, Tile, Resize, Range, Pad) and ask for more
    // is refused while preparing, with a KernelError naming the node, before anything is allocated.
    size_t memoryLimitBytes = kDefaultMemoryLimitBytes;
    static constexpr size_t kDefaultMemoryLimitBytes = size_t(4) << 30;   // 4 GiB
};

// Called after a node ran, once per output: (node, output index, value).
using Observer = std::function<void(const Node& node, size_t output, const Tensor& value)>;

// One executed step of the current plan.
struct PlannedStep {
    int node = -1;                     // index into graph().nodes()
    std::vector<TensorInfo> outputs;   // types and shapes chosen in prepare()
    size_t scratchBytes = 0;
    std::vector<std::string> fusedInputs;   // read after the node's own: a fused residual Add's other input
};

class Session {
public:
    // Throws UnsupportedOpsError listing every op no kernel implements.
    explicit Session(Graph graph, SessionOptions options = {},
                     const KernelRegistry& registry = KernelRegistry::builtin());
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    const Graph& graph() const { return graph_; }

    // Runs the graph. Every required graph input must be fed with the declared type and a shape
    // compatible with the declared one (KernelError otherwise, naming the input). An input that no
    // node reads is checked for its type only. Returns the tensor outputs.
    std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& inputs);

    // Like run(), for graphs whose inputs or outputs include sequences or optionals (ValueInfo::
    // containers). Such values pass through Identity nodes; any other node reading one is rejected
    // by the constructor (UnsupportedOpsError).
    std::map<std::string, Value> runValues(const std::map<std::string, Value>& inputs);

    // Prepares (or reuses) the plan for these inputs without running it.
    void prepare(const std::map<std::string, Tensor>& inputs);

    // Setting or clearing an observer makes the next run plan anew (fusion depends on it).
    void setObserver(Observer observer)
    {
        observer_ = std::move(observer);
        planned_ = false;
    }

    // Of the current plan (valid after prepare() or run()).
    size_t arenaBytes() const { return arenaPlan_.arenaBytes; }
    size_t arenaLowerBoundBytes() const { return arenaPlan_.lowerBoundBytes; }
    const std::vector<PlannedStep>& steps() const { return steps_; }
    const MemoryPlan& memoryPlan() const { return arenaPlan_; }
    // Type and shape of any value of the current plan (inputs, folded constants, intermediates).
    const TensorInfo* valueInfo(const std::string& name) const;
    // Value of an initializer or of a value folded while preparing (nullptr for computed values).
    const Tensor* constantValue(const std::string& name) const;
    int threads() const { return options_.threads; }

private:
    class Prep;
    class Eval;
    void buildPlan(const std::map<std::string, Tensor>& inputs);
    bool planMatches(const std::map<std::string, Tensor>& inputs) const;
    void checkFeeds(const std::map<std::string, Tensor>& inputs) const;

    Graph graph_;
    SessionOptions options_;
    const KernelRegistry& registry_;
    std::vector<int> order_;                            // nodes computing tensors, in order
    std::map<std::string, std::vector<ValueKind>> containerValues_;   // sequence/optional values
    std::vector<std::pair<std::string, std::string>> containerAliases_;   // Identity: (output, input)
    std::set<std::string> unreadInputs_;                 // graph inputs no node reads
    std::map<std::string, int> readers_;                 // value -> how many node inputs read it
    // Current plan: activations folded into their producer, as (activation output, producer output):
    // both names share one buffer.
    std::vector<std::pair<std::string, std::string>> fusedAliases_;
    Observer observer_;

    // Current plan.
    bool planned_ = false;
    std::map<std::string, Shape> plannedShapes_;
    std::map<std::string, Tensor> plannedValueFeeds_;   // feeds whose values the plan depends on
    std::map<std::string, TensorInfo> infos_;
    std::map<std::string, Tensor> constants_;           // initializers and folded values
    std::vector<int> foldedNodes_;                      // nodes evaluated while preparing, in order
    std::vector<PlannedStep> steps_;
    std::vector<std::unique_ptr<Kernel>> kernels_;       // parallel to steps_
    std::map<std::string, Tensor> arenaViews_;          // computed values, as views into the arena
    std::map<std::string, size_t> bufferOf_;            // value -> buffer index in arenaPlan_
    std::vector<size_t> scratchBuffer_;                 // per step, buffer index or SIZE_MAX
    // Per step, resolved once per plan: each input's tensor (an arena view or a constant), or the name
    // of the feed it reads (nullptr then); each output's arena view.
    struct StepBindings {
        std::vector<const Tensor*> inputs;
        std::vector<std::string> feedInputs;
        std::vector<Tensor*> outputs;
    };
    std::vector<StepBindings> bindings_;
    MemoryPlan arenaPlan_;
    std::unique_ptr<std::byte[], void (*)(std::byte*)> arena_{nullptr, nullptr};
    size_t arenaCapacity_ = 0;
};

} // namespace joule::rt
