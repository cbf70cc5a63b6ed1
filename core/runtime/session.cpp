#include "runtime/session.h"
#include "runtime/channels_last.h"

#include <algorithm>
#include <optional>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>

namespace joule::rt {

namespace {

std::byte* allocateArena(size_t bytes)
{
    const size_t size = (std::max<size_t>(bytes, 64) + 63) / 64 * 64;
    return static_cast<std::byte*>(std::aligned_alloc(64, size));
}
void freeArena(std::byte* p) { std::free(p); }

// [lo, hi] of a Relu, or of a Clip whose bounds are constants, on float32; false for anything else.
bool activationBounds(const Node& node, int64_t opset, const std::map<std::string, Tensor>& constants, float* lo, float* hi)
{
    if (!node.domain.empty() || node.outputs.size() != 1 || node.inputs.empty()) return false;
    *lo = -std::numeric_limits<float>::infinity();
    *hi = std::numeric_limits<float>::infinity();
    if (node.opType == "Relu") {
        *lo = 0.0f;
        return true;
    }
    if (node.opType != "Clip") return false;
    if (opset < 11) {
        *lo = node.attrFloat("min", *lo);
        *hi = node.attrFloat("max", *hi);
        return true;
    }
    for (size_t i = 1; i < 3; ++i) {
        if (!node.hasInput(i)) continue;
        auto c = constants.find(node.inputs[i]);
        if (c == constants.end() || c->second.dtype() != DataType::Float32 || c->second.numel() != 1) return false;
        (i == 1 ? *lo : *hi) = c->second.data<float>()[0];
    }
    return *lo <= *hi;
}

} // namespace

class Session::Prep final : public PrepareContext {
public:
    Prep(const Node& node, int64_t opset, int threads, size_t memoryLimit, const std::vector<TensorInfo>& infos,
         const std::vector<const Tensor*>& values, const std::vector<bool>& fromFeed)
        : node_(node), opset_(opset), threads_(threads), memoryLimit_(memoryLimit), infos_(infos), values_(values),
          fromFeed_(fromFeed), outputs_(node.outputs.size()), set_(node.outputs.size(), false) {}

    const Node& node() const override { return node_; }
    int64_t opset() const override { return opset_; }
    int threads() const override { return threads_; }
    const TensorInfo& input(size_t i) const override
    {
        if (!hasInput(i)) throw KernelError("input " + std::to_string(i) + " is required but omitted");
        return infos_[i];
    }
    const Tensor* constantInput(size_t i) override
    {
        if (!hasInput(i)) return nullptr;
        if (values_[i] && fromFeed_[i]) usedFeeds.insert(node_.inputs[i]);
        return values_[i];
    }
    void setOutput(size_t i, DataType type, Shape shape) override
    {
        if (i >= outputs_.size()) throw KernelError("output " + std::to_string(i) + " does not exist");
        for (int64_t d : shape)
            if (d < 0) throw KernelError("output " + std::to_string(i) + " has negative dimension in " + shapeToString(shape));
        const std::optional<int64_t> bytes = checkedStorageBytes(type, shape);
        if (!bytes || static_cast<uint64_t>(*bytes) > memoryLimit_)
            throw KernelError("output '" + node_.outputs[i] + "' would be " + shapeToString(shape) + " " + dataTypeName(type) +
                              (bytes ? " (" + std::to_string(*bytes) + " bytes)" : std::string(" (more bytes than fit in 64 bits)")) +
                              ", over the session's memory limit of " + std::to_string(memoryLimit_) + " bytes");
        outputs_[i] = {type, std::move(shape)};
        set_[i] = true;
    }
    void requestScratch(size_t bytes) override
    {
        if (bytes > memoryLimit_)
            throw KernelError("needs " + std::to_string(bytes) + " bytes of scratch memory, over the session's memory limit of " +
                              std::to_string(memoryLimit_) + " bytes");
        scratchBytes = std::max(scratchBytes, bytes);
    }

    const std::vector<TensorInfo>& outputs() const { return outputs_; }
    bool isSet(size_t i) const { return set_[i]; }

    size_t scratchBytes = 0;
    std::set<std::string> usedFeeds;

private:
    const Node& node_;
    int64_t opset_;
    int threads_;
    size_t memoryLimit_;
    const std::vector<TensorInfo>& infos_;
    const std::vector<const Tensor*>& values_;
    const std::vector<bool>& fromFeed_;
    std::vector<TensorInfo> outputs_;
    std::vector<bool> set_;
};

class Session::Eval final : public EvalContext {
public:
    Eval(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, void* scratch, int threads)
        : inputs_(inputs), outputs_(outputs), scratch_(scratch), threads_(threads) {}
    const Tensor& input(size_t i) const override
    {
        static const Tensor omitted;
        return i < inputs_.size() && inputs_[i] ? *inputs_[i] : omitted;
    }
    size_t inputCount() const override { return inputs_.size(); }
    Tensor& output(size_t i) override
    {
        static Tensor omitted;
        return i < outputs_.size() && outputs_[i] ? *outputs_[i] : (omitted = Tensor());
    }
    size_t outputCount() const override { return outputs_.size(); }
    void* scratch() override { return scratch_; }
    int threads() const override { return threads_; }

private:
    const std::vector<const Tensor*>& inputs_;
    const std::vector<Tensor*>& outputs_;
    void* scratch_;
    int threads_;
};

Session::Session(Graph graph, SessionOptions options, const KernelRegistry& registry)
    : graph_(std::move(graph)), options_(options), registry_(registry)
{
    options_.threads = std::max(1, options_.threads);
    graph_.validate();
    if (options_.channelsLast) graph_ = toChannelsLast(graph_, registry_);
    order_ = graph_.topologicalOrder();

    // Sequence and optional values: from the graph inputs, through Identity nodes.
    for (const auto& in : graph_.inputs())
        if (!in.containers.empty()) containerValues_[in.name] = in.containers;
    if (!containerValues_.empty()) {
        std::vector<int> tensorOrder;
        for (int idx : order_) {
            const Node& n = graph_.nodes()[static_cast<size_t>(idx)];
            const std::string* containerInput = nullptr;
            for (const auto& in : n.inputs)
                if (containerValues_.count(in)) containerInput = &in;
            if (!containerInput) {
                tensorOrder.push_back(idx);
                continue;
            }
            if (n.opType != "Identity" || !n.domain.empty() || n.inputs.size() != 1 || n.outputs.size() != 1) {
                const std::string kinds = valueKindName(containerValues_.at(*containerInput).front());
                throw UnsupportedOpsError(n.describe() + ": input '" + *containerInput + "' is a " + kinds +
                                              "; only Identity passes sequences and optionals",
                                          {n.opType});
            }
            containerValues_[n.outputs[0]] = containerValues_.at(n.inputs[0]);
            containerAliases_.emplace_back(n.outputs[0], n.inputs[0]);
        }
        order_ = std::move(tensorOrder);
    }
    std::set<std::string> read;
    for (const Node& n : graph_.nodes()) read.insert(n.inputs.begin(), n.inputs.end());
    for (const Node& n : graph_.nodes())
        for (const auto& in : n.inputs)
            if (!in.empty()) ++readers_[in];
    for (const auto& out : graph_.outputs()) read.insert(out.name);
    for (const auto& in : graph_.inputs())
        if (!read.count(in.name)) unreadInputs_.insert(in.name);

    std::vector<std::string> missing;
    std::string message;
    std::set<std::string> seen;
    for (int idx : order_) {
        const Node& n = graph_.nodes()[static_cast<size_t>(idx)];
        if (registry_.hasOp(n.opType, n.domain)) continue;
        const std::string op = n.domain.empty() ? n.opType : n.domain + "." + n.opType;
        if (!seen.insert(op).second) continue;
        missing.push_back(op);
        message += (message.empty() ? "" : ", ") + op + " (" +
                   (n.name.empty() ? "the node writing '" + (n.outputs.empty() ? std::string() : n.outputs.front()) + "'"
                                   : "node '" + n.name + "'") + ")";
    }
    if (!missing.empty())
        throw UnsupportedOpsError("unsupported op" + std::string(missing.size() > 1 ? "s: " : ": ") + message, missing);
}

Session::~Session() = default;

const TensorInfo* Session::valueInfo(const std::string& name) const
{
    auto it = infos_.find(name);
    return it == infos_.end() ? nullptr : &it->second;
}

namespace {

// Whether `t` fits the declared input: its type, and (when checkShape) its rank and known dimensions.
bool feedFits(const ValueInfo& decl, const Tensor& t, bool checkShape)
{
    if (decl.dtype != DataType::Undefined && t.dtype() != decl.dtype) return false;
    if (!checkShape || !decl.hasShape) return true;
    if (decl.shape.size() != t.shape().size()) return false;
    for (size_t d = 0; d < decl.shape.size(); ++d)
        if (decl.shape[d] >= 0 && decl.shape[d] != t.shape()[d]) return false;
    return true;
}

std::string describeMismatch(const ValueInfo& decl, const Tensor& t)
{
    return "input '" + decl.name + "' expects " + (decl.hasShape ? "shape " + shapeToString(decl.shape) + " " : std::string()) +
           dataTypeName(decl.dtype) + ", got " + shapeToString(t.shape()) + " " + dataTypeName(t.dtype());
}

} // namespace

std::string feedMismatch(const ValueInfo& decl, const Tensor& t)
{
    return feedFits(decl, t, true) ? std::string() : describeMismatch(decl, t);
}

const Tensor* Session::constantValue(const std::string& name) const
{
    auto it = constants_.find(name);
    return it == constants_.end() ? nullptr : &it->second;
}

void Session::checkFeeds(const std::map<std::string, Tensor>& inputs) const
{
    for (const auto& decl : graph_.inputs()) {
        if (!decl.containers.empty()) {
            if (inputs.count(decl.name))
                throw KernelError("input '" + decl.name + "' is a " + valueKindName(decl.containers.front()) +
                                  ", not a tensor");
            continue;   // fed through runValues()
        }
        auto it = inputs.find(decl.name);
        if (it == inputs.end()) {
            if (graph_.initializer(decl.name)) continue;
            throw KernelError("input '" + decl.name + "' is required but was not given");
        }
        // An input no node reads is checked for its type only.
        if (!feedFits(decl, it->second, !unreadInputs_.count(decl.name))) throw KernelError(describeMismatch(decl, it->second));
    }
    for (const auto& [name, t] : inputs)
        if (!graph_.isGraphInput(name)) throw KernelError("'" + name + "' is not an input of the model");
}

bool Session::planMatches(const std::map<std::string, Tensor>& inputs) const
{
    if (!planned_ || inputs.size() != plannedShapes_.size()) return false;
    for (const auto& [name, t] : inputs) {
        auto it = plannedShapes_.find(name);
        if (it == plannedShapes_.end() || it->second != t.shape()) return false;
    }
    for (const auto& [name, t] : plannedValueFeeds_)
        if (!inputs.at(name).sameContents(t)) return false;
    return true;
}

void Session::prepare(const std::map<std::string, Tensor>& inputs)
{
    checkFeeds(inputs);
    if (!planMatches(inputs)) buildPlan(inputs);
}

void Session::buildPlan(const std::map<std::string, Tensor>& inputs)
{
    planned_ = false;
    infos_.clear();
    constants_.clear();
    steps_.clear();
    foldedNodes_.clear();
    kernels_.clear();
    bufferOf_.clear();
    scratchBuffer_.clear();
    plannedValueFeeds_.clear();
    plannedShapes_.clear();
    arenaViews_.clear();
    fusedAliases_.clear();
    std::set<std::string> graphOutputs;
    for (const auto& out : graph_.outputs()) graphOutputs.insert(out.name);

    for (const auto& [name, t] : graph_.initializers())
        if (!inputs.count(name)) {
            constants_[name] = t;
            infos_[name] = {t.dtype(), t.shape()};
        }
    for (const auto& [name, t] : inputs) {
        infos_[name] = {t.dtype(), t.shape()};
        plannedShapes_[name] = t.shape();
    }

    const int64_t opset = graph_.opset("");
    std::set<std::string> valueFeeds;
    std::string residualOut;   // the output of the residual Add the last step with fusedInputs took in
    std::vector<std::vector<std::string>> stepOutputs;

    for (int idx : order_) {
        const Node& node = graph_.nodes()[static_cast<size_t>(idx)];
        const size_t nIn = node.inputs.size();
        std::vector<TensorInfo> inInfos(nIn);
        std::vector<const Tensor*> inValues(nIn, nullptr);
        std::vector<bool> fromFeed(nIn, false);
        bool allConstant = true;
        for (size_t i = 0; i < nIn; ++i) {
            const std::string& name = node.inputs[i];
            if (name.empty()) continue;
            auto info = infos_.find(name);
            if (info == infos_.end())
                throw KernelError(node.describe() + ": input '" + name + "' has no known type and shape");
            inInfos[i] = info->second;
            if (auto c = constants_.find(name); c != constants_.end()) {
                inValues[i] = &c->second;
            } else if (auto f = inputs.find(name); f != inputs.end()) {
                inValues[i] = &f->second;
                fromFeed[i] = true;
                allConstant = false;
            } else {
                allConstant = false;
            }
        }

        // The last step's single output (null when it has none or several), and whether it took in
        // a residual Add (at most one per step).
        const std::string* own = nullptr;
        if (!steps_.empty()) {
            const Node& producer = graph_.nodes()[static_cast<size_t>(steps_.back().node)];
            if (producer.outputs.size() == 1 && !producer.outputs[0].empty()) own = &producer.outputs[0];
        }
        const bool ownTookResidual = own && !steps_.back().fusedInputs.empty();
        // The value the last step wrote: its own output, or the output of a residual Add it took in
        // (not that of an activation it took in: it clamps once).
        const auto lastStepWrote = [&](const std::string& v) { return own && (v == *own || (ownTookResidual && v == residualOut)); };

        // A residual Add right after the kernel producing one of its inputs, its only reader: that
        // kernel may add the other input (computed earlier, same type and shape) to its own output.
        if (options_.fuseActivations && !observer_ && !allConstant && own && !ownTookResidual && node.opType == "Add" &&
            node.domain.empty() && nIn == 2 && node.hasInput(0) && node.hasInput(1) && node.inputs[0] != node.inputs[1] &&
            node.outputs.size() == 1 && !node.outputs[0].empty() && (node.inputs[0] == *own || node.inputs[1] == *own)) {
            const size_t k = node.inputs[0] == *own ? 0 : 1;
            const std::string& r = node.inputs[1 - k];
            const TensorInfo& yi = inInfos[k];
            const TensorInfo& ri = inInfos[1 - k];
            if (readers_[*own] == 1 && !graphOutputs.count(*own) && !constants_.count(r) && yi.dtype == DataType::Float32 &&
                ri.dtype == yi.dtype && ri.shape == yi.shape && kernels_.back()->fuseResidualAdd(ri)) {
                infos_[node.outputs[0]] = yi;
                fusedAliases_.emplace_back(node.outputs[0], *own);
                steps_.back().fusedInputs.push_back(r);
                residualOut = node.outputs[0];
                continue;
            }
        }

        // Relu / Clip right after the kernel producing its input: that kernel may clamp its own output.
        float lo = 0, hi = 0;
        if (options_.fuseActivations && !observer_ && !allConstant && !steps_.empty() && node.hasInput(0) &&
            activationBounds(node, opset, constants_, &lo, &hi)) {
            const std::string& x = node.inputs[0];
            if (lastStepWrote(x) && readers_[x] == 1 && !graphOutputs.count(x) && inInfos[0].dtype == DataType::Float32 &&
                !node.outputs[0].empty() && kernels_.back()->fuseActivation(lo, hi)) {
                infos_[node.outputs[0]] = inInfos[0];
                fusedAliases_.emplace_back(node.outputs[0], *own);
                continue;
            }
        }

        const int ti = registry_.typeInput(node.opType, node.domain);
        const DataType keyType = (ti >= 0 && static_cast<size_t>(ti) < nIn && node.hasInput(static_cast<size_t>(ti)))
                                     ? inInfos[static_cast<size_t>(ti)].dtype : DataType::Undefined;
        const KernelFactory* factory = registry_.find(node.opType, node.domain, keyType);
        if (!factory)
            throw UnsupportedError(node.describe() + ": no kernel for data type " + dataTypeName(keyType));
        std::unique_ptr<Kernel> kernel = (*factory)();

        Prep ctx(node, opset, options_.threads, options_.memoryLimitBytes, inInfos, inValues, fromFeed);
        try {
            kernel->prepare(ctx);
        } catch (const UnsupportedError& e) {
            throw UnsupportedError(node.describe() + ": " + e.what());
        } catch (const std::exception& e) {
            throw KernelError(node.describe() + ": " + e.what());
        }
        for (size_t o = 0; o < node.outputs.size(); ++o) {
            if (node.outputs[o].empty()) continue;
            if (!ctx.isSet(o)) throw KernelError(node.describe() + ": kernel did not set output " + std::to_string(o));
            infos_[node.outputs[o]] = ctx.outputs()[o];
        }
        valueFeeds.insert(ctx.usedFeeds.begin(), ctx.usedFeeds.end());

        if (allConstant || kernel->dependsOnlyOnInputShapes()) {
            // Fold: run now on owned tensors; the outputs become constants of this plan.
            std::vector<const Tensor*> in(inValues.begin(), inValues.end());
            std::vector<Tensor> outStore(node.outputs.size());
            std::vector<Tensor*> out(node.outputs.size(), nullptr);
            for (size_t o = 0; o < node.outputs.size(); ++o) {
                if (node.outputs[o].empty()) continue;
                outStore[o] = Tensor(ctx.outputs()[o].dtype, ctx.outputs()[o].shape);
                out[o] = &outStore[o];
            }
            std::vector<std::byte> scratch(ctx.scratchBytes + 64);
            void* aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(scratch.data()) + 63) & ~uintptr_t(63));
            Eval ev(in, out, aligned, options_.threads);
            try {
                kernel->eval(ev);
            } catch (const std::exception& e) {
                throw KernelError(node.describe() + ": " + e.what());
            }
            for (size_t o = 0; o < node.outputs.size(); ++o)
                if (!node.outputs[o].empty()) constants_[node.outputs[o]] = outStore[o];
            foldedNodes_.push_back(idx);
            continue;
        }

        PlannedStep step;
        step.node = idx;
        step.outputs = ctx.outputs();
        step.scratchBytes = ctx.scratchBytes;
        steps_.push_back(std::move(step));
        kernels_.push_back(std::move(kernel));
        stepOutputs.push_back(node.outputs);
    }

    // Lifetimes: each computed value lives from its producing step to its last reader.
    std::vector<BufferRequest> requests;
    const int stepCount = static_cast<int>(steps_.size());
    std::map<std::string, int> lastRead;   // the last step reading each value (stepCount: a graph output)
    for (int s = 0; s < stepCount; ++s) {
        const Node& node = graph_.nodes()[static_cast<size_t>(steps_[static_cast<size_t>(s)].node)];
        for (const auto& in : node.inputs) lastRead[in] = s;
        for (const auto& in : steps_[static_cast<size_t>(s)].fusedInputs) lastRead[in] = s;
    }
    for (const auto& out : graph_.outputs()) lastRead[out.name] = stepCount;
    for (int s = 0; s < stepCount; ++s) {
        const Node& node = graph_.nodes()[static_cast<size_t>(steps_[static_cast<size_t>(s)].node)];
        const auto readAt = [&](const std::vector<std::string>& names) {
            for (const auto& in : names) {
                auto b = bufferOf_.find(in);
                if (b != bufferOf_.end()) requests[b->second].lastStep = s;
            }
        };
        readAt(node.inputs);
        readAt(steps_[static_cast<size_t>(s)].fusedInputs);
        for (size_t o = 0; o < node.outputs.size(); ++o) {
            if (node.outputs[o].empty()) continue;
            const TensorInfo& info = steps_[static_cast<size_t>(s)].outputs[o];
            if (info.dtype == DataType::String) {
                // std::string objects cannot live in the byte arena: each string value owns its storage.
                arenaViews_[node.outputs[o]] = Tensor(info.dtype, info.shape);
                continue;
            }
            // A fused residual Add's other input that nothing reads later lends its buffer: the
            // kernel then adds into it in place.
            size_t buffer = requests.size();
            const auto& fused = steps_[static_cast<size_t>(s)].fusedInputs;
            if (o == 0 && fused.size() == 1)
                if (auto r = bufferOf_.find(fused[0]); r != bufferOf_.end() &&
                                                       requests[r->second].bytes == storageBytes(info.dtype, info.numel())) {
                    bool readLater = false;
                    for (const auto& [name, b] : bufferOf_)
                        if (b == r->second && lastRead.count(name) && lastRead.at(name) > s) readLater = true;
                    if (!readLater) buffer = r->second;
                }
            bufferOf_[node.outputs[o]] = buffer;
            for (const auto& [alias, source] : fusedAliases_)
                if (source == node.outputs[o]) bufferOf_[alias] = buffer;
            if (buffer == requests.size()) requests.push_back({storageBytes(info.dtype, info.numel()), s, s});
            else requests[buffer].lastStep = std::max(requests[buffer].lastStep, s);
        }
        if (steps_[static_cast<size_t>(s)].scratchBytes) {
            scratchBuffer_.push_back(requests.size());
            requests.push_back({steps_[static_cast<size_t>(s)].scratchBytes, s, s});
        } else {
            scratchBuffer_.push_back(SIZE_MAX);
        }
    }
    for (const auto& out : graph_.outputs()) {
        auto b = bufferOf_.find(out.name);
        if (b != bufferOf_.end()) requests[b->second].lastStep = stepCount;
    }
    MemoryPlan plan = planMemory(requests);
    if (plan.arenaBytes > options_.memoryLimitBytes)
        throw KernelError("the activation arena would take " + std::to_string(plan.arenaBytes) +
                          " bytes, over the session's memory limit of " + std::to_string(options_.memoryLimitBytes) + " bytes");
    arenaPlan_ = std::move(plan);
    if (arenaPlan_.arenaBytes > arenaCapacity_ || !arena_) {
        arena_ = {allocateArena(arenaPlan_.arenaBytes), freeArena};
        arenaCapacity_ = std::max<size_t>(arenaPlan_.arenaBytes, 64);
    }
    for (const auto& [name, b] : bufferOf_) {
        const TensorInfo& info = infos_.at(name);
        arenaViews_[name] = Tensor::view(info.dtype, info.shape, arena_.get() + arenaPlan_.offsets[b]);
    }
    for (const auto& name : valueFeeds) plannedValueFeeds_[name] = inputs.at(name).clone();

    bindings_.assign(steps_.size(), {});
    for (size_t s = 0; s < steps_.size(); ++s) {
        const Node& node = graph_.nodes()[static_cast<size_t>(steps_[s].node)];
        StepBindings& b = bindings_[s];
        std::vector<std::string> names = node.inputs;
        names.insert(names.end(), steps_[s].fusedInputs.begin(), steps_[s].fusedInputs.end());
        b.inputs.assign(names.size(), nullptr);
        b.feedInputs.assign(names.size(), {});
        for (size_t i = 0; i < names.size(); ++i) {
            const std::string& name = names[i];
            if (name.empty()) continue;
            if (auto v = arenaViews_.find(name); v != arenaViews_.end()) b.inputs[i] = &v->second;
            else if (inputs.count(name)) b.feedInputs[i] = name;
            else b.inputs[i] = &constants_.at(name);
        }
        b.outputs.assign(node.outputs.size(), nullptr);
        for (size_t o = 0; o < node.outputs.size(); ++o)
            if (!node.outputs[o].empty()) b.outputs[o] = &arenaViews_.at(node.outputs[o]);
    }
    planned_ = true;
}

std::map<std::string, Tensor> Session::run(const std::map<std::string, Tensor>& inputs)
{
    prepare(inputs);
    auto& views = arenaViews_;

    if (observer_)
        for (int idx : foldedNodes_) {
            const Node& node = graph_.nodes()[static_cast<size_t>(idx)];
            for (size_t o = 0; o < node.outputs.size(); ++o)
                if (!node.outputs[o].empty()) observer_(node, o, constants_.at(node.outputs[o]));
        }
    std::vector<const Tensor*> in;
    std::vector<Tensor*> out;
    for (size_t s = 0; s < steps_.size(); ++s) {
        const Node& node = graph_.nodes()[static_cast<size_t>(steps_[s].node)];
        const StepBindings& b = bindings_[s];
        in.assign(b.inputs.begin(), b.inputs.end());
        for (size_t i = 0; i < in.size(); ++i)
            if (!b.feedInputs[i].empty()) in[i] = &inputs.at(b.feedInputs[i]);
        out.assign(b.outputs.begin(), b.outputs.end());
        void* scratch = scratchBuffer_[s] == SIZE_MAX ? nullptr : arena_.get() + arenaPlan_.offsets[scratchBuffer_[s]];
        Eval ev(in, out, scratch, options_.threads);
        try {
            kernels_[s]->eval(ev);
        } catch (const UnsupportedError& e) {
            throw UnsupportedError(node.describe() + ": " + e.what());
        } catch (const std::exception& e) {
            throw KernelError(node.describe() + ": " + e.what());
        }
        if (observer_)
            for (size_t o = 0; o < out.size(); ++o)
                if (out[o]) observer_(node, o, *out[o]);
    }

    std::map<std::string, Tensor> results;
    for (const auto& decl : graph_.outputs()) {
        if (containerValues_.count(decl.name)) continue;   // returned by runValues()
        if (auto v = views.find(decl.name); v != views.end()) results[decl.name] = v->second.clone();
        else if (auto f = inputs.find(decl.name); f != inputs.end()) results[decl.name] = f->second.clone();
        else if (auto c = constants_.find(decl.name); c != constants_.end()) results[decl.name] = c->second.clone();
        else throw KernelError("graph output '" + decl.name + "' was not computed");
    }
    return results;
}

namespace {

// Whether `v` has the shape of containers[level...] around a tensor.
bool matchesContainers(const Value& v, const std::vector<ValueKind>& containers, size_t level)
{
    if (level == containers.size()) return v.kind == ValueKind::Tensor;
    if (v.kind != containers[level]) return false;
    for (const Value& e : v.elements)
        if (!matchesContainers(e, containers, level + 1)) return false;
    return true;
}

} // namespace

std::map<std::string, Value> Session::runValues(const std::map<std::string, Value>& inputs)
{
    std::map<std::string, Tensor> tensors;
    std::map<std::string, Value> containers;
    for (const auto& [name, v] : inputs) {
        auto decl = containerValues_.find(name);
        if (decl == containerValues_.end()) {
            if (v.kind != ValueKind::Tensor)
                throw KernelError("input '" + name + "' expects a tensor, got " + v.describe());
            tensors[name] = v.tensor;
            continue;
        }
        if (!matchesContainers(v, decl->second, 0))
            throw KernelError("input '" + name + "' expects a " + valueKindName(decl->second.front()) + " of the declared kind, got " +
                              v.describe());
        containers[name] = v;
    }
    for (const auto& decl : graph_.inputs())
        if (!decl.containers.empty() && !containers.count(decl.name))
            throw KernelError("input '" + decl.name + "' is required but was not given");

    std::map<std::string, Value> results;
    const bool needTensors = !order_.empty() ||
                             std::any_of(graph_.outputs().begin(), graph_.outputs().end(),
                                         [&](const ValueInfo& o) { return !containerValues_.count(o.name); });
    if (needTensors)
        for (auto& [name, t] : run(tensors)) results[name] = Value::fromTensor(std::move(t));
    for (const auto& [out, in] : containerAliases_) containers[out] = containers.at(in);
    for (const auto& decl : graph_.outputs())
        if (auto c = containers.find(decl.name); c != containers.end()) results[decl.name] = c->second.clone();
    return results;
}

} // namespace joule::rt
