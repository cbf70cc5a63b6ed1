#include "cost/layer_stats.h"

#include <algorithm>
#include <set>

namespace joule::cost {

const char* kernelClassName(KernelClass k)
{
    switch (k) {
    case KernelClass::Conv: return "conv";
    case KernelClass::Depthwise: return "depthwise";
    case KernelClass::Pointwise: return "pointwise";
    case KernelClass::FullyConnected: return "fc";
    case KernelClass::Elementwise: return "elementwise";
    case KernelClass::Pooling: return "pooling";
    case KernelClass::Free: return "free";
    case KernelClass::Other: return "other";
    }
    return "other";
}

const char* layerClassName(const LayerStats& layer)
{
    return layer.fusedInto >= 0 ? "fused" : kernelClassName(layer.kernelClass);
}

bool isMacClass(KernelClass k)
{
    return k == KernelClass::Conv || k == KernelClass::Depthwise || k == KernelClass::Pointwise ||
           k == KernelClass::FullyConnected;
}

std::map<std::string, Tensor> placeholderInputs(const Graph& graph, const std::map<std::string, Shape>& inputShapes)
{
    std::map<std::string, Tensor> feeds;
    for (const auto& in : graph.requiredInputs()) {
        Shape shape = in.shape;
        if (auto it = inputShapes.find(in.name); it != inputShapes.end()) shape = it->second;
        for (auto& d : shape) if (d < 0) d = 1;
        feeds[in.name] = Tensor(in.dtype == DataType::Undefined ? DataType::Float32 : in.dtype, shape);
    }
    return feeds;
}

std::map<std::string, Tensor> randomInputs(const Graph& graph, std::mt19937& rng, const std::map<std::string, Shape>& inputShapes)
{
    auto feeds = placeholderInputs(graph, inputShapes);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> small(0, 9);
    for (auto& [name, t] : feeds)
        for (int64_t i = 0; i < t.numel(); ++i) {
            switch (t.dtype()) {
            case DataType::Float32: t.data<float>()[i] = normal(rng); break;
            case DataType::Float64: t.data<double>()[i] = normal(rng); break;
            case DataType::Int64: t.data<int64_t>()[i] = small(rng); break;
            case DataType::Int32: t.data<int32_t>()[i] = small(rng); break;
            case DataType::UInt8: t.data<uint8_t>()[i] = static_cast<uint8_t>(small(rng)); break;
            case DataType::Int8: t.data<int8_t>()[i] = static_cast<int8_t>(small(rng)); break;
            default: break;   // zeros
            }
        }
    return feeds;
}

namespace {

bool isOneOf(const std::string& op, std::initializer_list<const char*> ops)
{
    for (const char* o : ops) if (op == o) return true;
    return false;
}

// Ops that move no data in a deployed runtime: their output is a view of their first input.
bool isAliasingFreeOp(const std::string& op)
{
    return isOneOf(op, {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"});
}

bool isElementwiseOp(const std::string& op)
{
    return isOneOf(op, {// arithmetic and activations
                        "Add", "Sub", "Mul", "Div", "Relu", "Clip", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu",
                        "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Softplus", "Softsign", "Gelu", "Mish",
                        "Softmax", "LogSoftmax", "Exp", "Log", "Sqrt", "Pow", "Neg", "Abs", "Erf", "Reciprocal",
                        "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Max", "Min", "Sum", "Mean", "Where", "Not",
                        "And", "Or", "Xor", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Mod",
                        "BatchNormalization", "InstanceNormalization", "LayerNormalization",
                        "LpNormalization", "Cast", "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
                        // data movement
                        "Concat", "Transpose", "Pad", "Slice", "Resize", "Upsample", "Gather", "GatherElements",
                        "GatherND", "Split", "Expand", "Tile", "DepthToSpace", "SpaceToDepth", "ConstantOfShape",
                        "Range", "ScatterElements", "ScatterND"});
}

// Stored element type of a constant operand: an int8 weight behind a (folded) DequantizeLinear is int8;
// int4 when that DequantizeLinear says "joule.bits" = 4 (int4 values kept in int8 storage, the QDQ
// convention of docs/quantization.md), or when the weight is an ONNX INT4 tensor.
DataType storedType(const Graph& graph, const rt::Session& session, const std::string& value)
{
    const Tensor* c = session.constantValue(value);
    if (!c) return DataType::Undefined;
    const int p = graph.producerOf(value);
    if (p >= 0) {
        const Node& producer = graph.nodes()[static_cast<size_t>(p)];
        if (producer.opType == "DequantizeLinear" && producer.hasInput(0))
            if (const Tensor* q = session.constantValue(producer.inputs[0])) {
                if (producer.attrInt("joule.bits", 8) == 4) {
                    if (q->dtype() == DataType::Int8) return DataType::Int4;
                    if (q->dtype() == DataType::UInt8) return DataType::UInt4;
                }
                return q->dtype();
            }
    }
    return c->dtype();
}

int64_t product(const Shape& s, size_t from)
{
    int64_t p = 1;
    for (size_t i = from; i < s.size(); ++i) p *= s[i];
    return p;
}

void measureConv(const Node& node, const rt::Session& session, size_t wIdx, LayerStats& l)
{
    const rt::TensorInfo* x = node.hasInput(0) ? session.valueInfo(node.inputs[0]) : nullptr;
    const rt::TensorInfo* w = node.hasInput(wIdx) ? session.valueInfo(node.inputs[wIdx]) : nullptr;
    if (!x || !w || w->rank() < 3 || l.outputShapes.empty()) return;
    const int64_t group = node.attrInt("group", 1);
    const int64_t kernel = product(w->shape, 2);
    const int64_t cout = w->shape[0];
    const int64_t cinPerGroup = w->shape[1];
    const int64_t cin = x->shape.size() > 1 ? x->shape[1] : 0;
    l.macs = l.outputs * cinPerGroup * kernel;
    l.outChannels = cout;
    l.patchElements = group > 0 && cout / group > 0 ? l.macs / (cout / group) : 0;
    if (group > 1 && group == cin && cout == cin) l.kernelClass = KernelClass::Depthwise;
    else if (kernel == 1 && group == 1) l.kernelClass = KernelClass::Pointwise;
    else l.kernelClass = KernelClass::Conv;
}

void measureConvTranspose(const Node& node, const rt::Session& session, LayerStats& l)
{
    const rt::TensorInfo* x = node.hasInput(0) ? session.valueInfo(node.inputs[0]) : nullptr;
    const rt::TensorInfo* w = node.hasInput(1) ? session.valueInfo(node.inputs[1]) : nullptr;
    if (!x || !w || w->rank() < 3) return;
    const int64_t coutPerGroup = w->shape[1];   // weight [Cin, Cout/group, k...]
    l.macs = x->numel() * coutPerGroup * product(w->shape, 2);
    l.outChannels = coutPerGroup * node.attrInt("group", 1);
    l.patchElements = coutPerGroup > 0 ? l.macs / coutPerGroup : 0;
    l.kernelClass = KernelClass::Conv;
}

void measureGemm(const Node& node, const rt::Session& session, LayerStats& l)
{
    const rt::TensorInfo* a = node.hasInput(0) ? session.valueInfo(node.inputs[0]) : nullptr;
    const rt::TensorInfo* b = node.hasInput(1) ? session.valueInfo(node.inputs[1]) : nullptr;
    if (!a || !b || a->rank() != 2 || b->rank() != 2) return;
    const int64_t m = node.attrInt("transA", 0) ? a->shape[1] : a->shape[0];
    const int64_t k = node.attrInt("transA", 0) ? a->shape[0] : a->shape[1];
    const int64_t n = node.attrInt("transB", 0) ? b->shape[0] : b->shape[1];
    l.macs = m * n * k;
    l.outChannels = n;
    l.patchElements = m * k;
    l.kernelClass = KernelClass::FullyConnected;
}

void measureMatMul(const Node& node, const rt::Session& session, size_t bIdx, LayerStats& l)
{
    const rt::TensorInfo* a = node.hasInput(0) ? session.valueInfo(node.inputs[0]) : nullptr;
    const rt::TensorInfo* b = node.hasInput(bIdx) ? session.valueInfo(node.inputs[bIdx]) : nullptr;
    if (!a || !b || l.outputShapes.empty() || a->rank() == 0 || b->rank() == 0) return;
    const int64_t k = a->shape.back();
    const int64_t n = b->rank() >= 2 ? b->shape.back() : 1;
    l.macs = l.outputs * k;        // output = batch x M x N (broadcast batch)
    l.outChannels = n;
    l.patchElements = n > 0 ? l.macs / n : 0;
    l.kernelClass = KernelClass::FullyConnected;
}

// A Pad that adds nothing (all pads 0, as PyTorch emits before AveragePool) is a copy a deployed runtime drops.
bool isZeroPad(const Node& node, const rt::Session& session)
{
    if (node.opType != "Pad") return false;
    std::vector<int64_t> pads = node.attrInts("pads");
    if (node.hasInput(1)) {
        const Tensor* t = session.constantValue(node.inputs[1]);
        if (!t) return false;
        pads = t->toInt64Vector();
    }
    return std::all_of(pads.begin(), pads.end(), [](int64_t p) { return p == 0; });
}

// Class, MACs, patch and element counts of one executed node from its input/output shapes.
void measureCompute(const Node& node, const rt::Session& session, LayerStats& l)
{
    const std::string& op = node.opType;
    if (isOneOf(op, {"Conv", "ConvInteger"})) measureConv(node, session, 1, l);
    else if (op == "QLinearConv") measureConv(node, session, 3, l);   // (x, x_scale, x_zp, w, ...)
    else if (op == "ConvTranspose") measureConvTranspose(node, session, l);
    else if (op == "Gemm") measureGemm(node, session, l);
    else if (isOneOf(op, {"MatMul", "MatMulInteger"})) measureMatMul(node, session, 1, l);
    else if (op == "QLinearMatMul") measureMatMul(node, session, 3, l);
    else if (isOneOf(op, {"MaxPool", "AveragePool", "LpPool"})) {
        l.kernelClass = KernelClass::Pooling;
        int64_t window = 1;
        for (int64_t k : node.attrInts("kernel_shape")) window *= k;
        l.elements = l.outputs * window;
    } else if (isOneOf(op, {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "ReduceMean", "ReduceMax",
                            "ReduceMin", "ReduceSum", "ReduceL2", "ReduceProd"})) {
        l.kernelClass = KernelClass::Pooling;
        if (node.hasInput(0))
            if (const auto* x = session.valueInfo(node.inputs[0])) l.elements = x->numel();
    } else if (isAliasingFreeOp(op) || isOneOf(op, {"Shape", "Constant", "Size"}) || isZeroPad(node, session)) {
        l.kernelClass = KernelClass::Free;
    } else if (isElementwiseOp(op)) {
        l.kernelClass = KernelClass::Elementwise;
    }
    if (l.elements == 0 && !isMacClass(l.kernelClass) && l.kernelClass != KernelClass::Free)
        for (const auto& s : l.outputShapes) l.elements += elementCount(s);
}

// Index of the weight operand of a MAC node, or -1.
int weightInput(const Node& node, const rt::Session& session)
{
    const std::string& op = node.opType;
    if (op == "QLinearConv" || op == "QLinearMatMul") return 3;
    if (op == "MatMul" || op == "MatMulInteger") {
        if (node.hasInput(1) && session.constantValue(node.inputs[1])) return 1;
        if (node.hasInput(0) && session.constantValue(node.inputs[0])) return 0;
        return 1;
    }
    return 1;
}

int biasInput(const std::string& op)
{
    if (op == "QLinearConv") return 8;
    if (op == "Conv" || op == "ConvTranspose" || op == "Gemm") return 2;
    return -1;
}

void measureStorage(const Graph& graph, const Node& node, const rt::Session& session, LayerStats& l)
{
    if (isMacClass(l.kernelClass)) {
        const int w = weightInput(node, session);
        const std::string& wName = node.hasInput(static_cast<size_t>(w)) ? node.inputs[static_cast<size_t>(w)] : std::string();
        if (const Tensor* c = wName.empty() ? nullptr : session.constantValue(wName)) {
            l.weightsConstant = true;
            l.weightType = storedType(graph, session, wName);
            l.weightElements = c->numel();
        }
        const int b = biasInput(node.opType);
        l.hasBias = b >= 0 && node.hasInput(static_cast<size_t>(b));
        return;
    }
    if (l.kernelClass == KernelClass::Free) return;   // shape operands are compile-time constants
    for (size_t i = 0; i < node.inputs.size(); ++i) {
        if (!node.hasInput(i)) continue;
        const Tensor* c = session.constantValue(node.inputs[i]);
        if (!c) continue;
        if (isFloating(c->dtype())) l.constFloatElements += c->numel();
        else l.constOtherBytes += static_cast<int64_t>(c->bytes());
    }
}

// Readers of every computed value: how many (layer, input slot) uses, and whether it is a graph output.
struct ValueUse {
    int producer = -1;   // layer index, -1 for graph inputs
    int readers = 0;
    bool graphOutput = false;
};

std::map<std::string, ValueUse> valueUses(const Graph& graph, const std::vector<LayerStats>& layers)
{
    std::map<std::string, ValueUse> uses;
    for (size_t s = 0; s < layers.size(); ++s) {
        const Node& node = graph.nodes()[static_cast<size_t>(layers[s].node)];
        for (const auto& in : node.inputs) if (!in.empty()) ++uses[in].readers;
        for (const auto& out : node.outputs) if (!out.empty()) uses[out].producer = static_cast<int>(s);
    }
    for (const auto& out : graph.outputs()) uses[out.name].graphOutput = true;
    return uses;
}

// Folds BatchNormalization into a preceding Conv/Gemm and Relu/Clip into a preceding MAC layer or Add,
// as deployed int8 runtimes do (docs/cost-model.md section 3.1). Q/DQ pairs become free.
void markFusions(const Graph& graph, const rt::Session& session, std::vector<LayerStats>& layers)
{
    const auto uses = valueUses(graph, layers);
    auto soleReaderOf = [&](const std::string& value) {
        auto it = uses.find(value);
        return it != uses.end() && it->second.producer >= 0 && it->second.readers == 1 && !it->second.graphOutput;
    };
    auto rootOf = [&](int s) {
        while (layers[static_cast<size_t>(s)].fusedInto >= 0) s = layers[static_cast<size_t>(s)].fusedInto;
        return s;
    };
    auto allConstant = [&](const Node& node, size_t from) {
        for (size_t i = from; i < node.inputs.size(); ++i)
            if (node.hasInput(i) && !session.constantValue(node.inputs[i])) return false;
        return true;
    };
    std::set<int> hasActivation;
    for (size_t s = 0; s < layers.size(); ++s) {
        LayerStats& l = layers[s];
        const Node& node = graph.nodes()[static_cast<size_t>(l.node)];
        if (!node.hasInput(0) || !soleReaderOf(node.inputs[0])) continue;
        const int producer = uses.at(node.inputs[0]).producer;
        const int root = rootOf(producer);
        const std::string& rootOp = layers[static_cast<size_t>(root)].op;
        const bool rootIsMac = isMacClass(layers[static_cast<size_t>(root)].kernelClass);
        if (l.op == "BatchNormalization" && allConstant(node, 1) && producer == root && rootIsMac &&
            isOneOf(rootOp, {"Conv", "ConvTranspose", "Gemm", "MatMul"})) {
            l.fusedInto = root;
            layers[static_cast<size_t>(root)].hasBias = true;
        } else if ((l.op == "Relu" || (l.op == "Clip" && allConstant(node, 1))) && !hasActivation.count(root) &&
                   (rootIsMac || rootOp == "Add")) {
            l.fusedInto = root;
            hasActivation.insert(root);
        } else if (l.op == "DequantizeLinear" && layers[static_cast<size_t>(producer)].op == "QuantizeLinear") {
            l.fusedInto = producer;
        }
        if (l.fusedInto >= 0) l.kernelClass = KernelClass::Free;
    }
    // A QuantizeLinear whose every reader is a fused DequantizeLinear is free as well.
    for (size_t s = 0; s < layers.size(); ++s) {
        LayerStats& l = layers[s];
        if (l.op != "QuantizeLinear") continue;
        const std::string& out = graph.nodes()[static_cast<size_t>(l.node)].outputs.front();
        int fusedReaders = 0;
        for (const auto& r : layers)
            if (r.op == "DequantizeLinear" && r.fusedInto == static_cast<int>(s)) ++fusedReaders;
        auto it = uses.find(out);
        if (fusedReaders > 0 && it != uses.end() && it->second.readers == fusedReaders && !it->second.graphOutput)
            l.kernelClass = KernelClass::Free;
    }
}

// Activation buffers and their lifetimes; outputs of free and fused layers alias their first input.
std::vector<ActivationValue> activationValues(const Graph& graph, const rt::Session& session,
                                              const std::vector<LayerStats>& layers)
{
    std::vector<ActivationValue> values;
    std::map<std::string, size_t> index;
    for (const auto& in : graph.requiredInputs()) {
        const rt::TensorInfo* info = session.valueInfo(in.name);
        if (!info) continue;
        index[in.name] = values.size();
        values.push_back({in.name, info->dtype, info->numel(), 0, 0, -1});
    }
    const int stepCount = static_cast<int>(layers.size());
    for (int s = 0; s < stepCount; ++s) {
        const LayerStats& l = layers[static_cast<size_t>(s)];
        const Node& node = graph.nodes()[static_cast<size_t>(l.node)];
        for (const auto& in : node.inputs)
            if (auto it = index.find(in); it != index.end()) values[it->second].lastStep = s;
        const bool aliases = l.fusedInto >= 0 || (l.kernelClass == KernelClass::Free &&
                                                  (isAliasingFreeOp(l.op) || l.op == "Pad" || l.op == "QuantizeLinear"));
        for (size_t o = 0; o < node.outputs.size(); ++o) {
            if (node.outputs[o].empty()) continue;
            const rt::TensorInfo* info = session.valueInfo(node.outputs[o]);
            if (!info) continue;
            ActivationValue v{node.outputs[o], info->dtype, info->numel(), s, s, -1};
            if (aliases && o == 0 && node.hasInput(0))
                if (auto it = index.find(node.inputs[0]); it != index.end()) v.aliasOf = static_cast<int>(it->second);
            index[node.outputs[o]] = values.size();
            values.push_back(std::move(v));
        }
    }
    for (const auto& out : graph.outputs())
        if (auto it = index.find(out.name); it != index.end()) values[it->second].lastStep = stepCount;
    return values;
}

} // namespace

ModelStats analyzeModel(const Graph& graph, const std::map<std::string, Shape>& inputShapes)
{
    rt::Session session(graph);
    session.prepare(placeholderInputs(graph, inputShapes));

    ModelStats stats;
    for (const auto& [name, t] : graph.initializers()) {
        stats.params += t.numel();
        stats.weightBytes += static_cast<int64_t>(t.bytes());
    }
    for (const auto& step : session.steps()) {
        const Node& node = graph.nodes()[static_cast<size_t>(step.node)];
        LayerStats l;
        l.node = step.node;
        l.name = node.name.empty() ? (node.outputs.empty() ? node.opType : node.outputs.front()) : node.name;
        l.op = node.opType;
        for (const auto& o : step.outputs) {
            l.outputShapes.push_back(o.shape);
            l.activationOutBytes += static_cast<int64_t>(storageBytes(o.dtype, o.numel()));
        }
        if (!step.outputs.empty()) l.outputs = step.outputs.front().numel();
        for (size_t i = 0; i < node.inputs.size(); ++i) {
            if (!node.hasInput(i)) continue;
            if (const Tensor* c = session.constantValue(node.inputs[i])) {
                l.params += c->numel();
                l.weightBytes += static_cast<int64_t>(c->bytes());
            } else if (const auto* info = session.valueInfo(node.inputs[i])) {
                l.activationInBytes += static_cast<int64_t>(storageBytes(info->dtype, info->numel()));
                if (i == 0) l.computeType = info->dtype;
            }
        }
        measureCompute(node, session, l);
        measureStorage(graph, node, session, l);
        stats.macs += l.macs;
        stats.layers.push_back(std::move(l));
    }
    markFusions(graph, session, stats.layers);
    stats.values = activationValues(graph, session, stats.layers);
    stats.arenaBytes = session.arenaBytes();
    stats.arenaLowerBoundBytes = session.arenaLowerBoundBytes();
    return stats;
}

} // namespace joule::cost
