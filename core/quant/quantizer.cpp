#include "quant/quantizer.h"

#include "quant/quant_error.h"
#include "runtime/quant_math.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace joule::quant {
namespace {

bool isMacOp(const std::string& op) { return op == "Conv" || op == "Gemm" || op == "MatMul"; }

bool isQuantizableOp(const std::string& op)
{
    static const std::set<std::string> ops{"Conv", "Gemm", "MatMul", "Add", "Concat", "GlobalAveragePool",
                                           "AveragePool", "MaxPool", "Flatten", "Reshape"};
    return ops.count(op) > 0;
}

// Ops whose output codes are their input's codes (same scale and zero point).
bool sharesInputParams(const std::string& op) { return op == "MaxPool" || op == "Flatten" || op == "Reshape"; }

struct Use {
    int node;
    size_t input;
};

class Quantizer {
public:
    Quantizer(const Graph& g, const std::map<std::string, Range>& ranges, const QuantizerOptions& o)
        : src_(g), ranges_(ranges), options_(o)
    {
        for (size_t i = 0; i < g.nodes().size(); ++i)
            for (size_t k = 0; k < g.nodes()[i].inputs.size(); ++k)
                if (!g.nodes()[i].inputs[k].empty()) uses_[g.nodes()[i].inputs[k]].push_back({static_cast<int>(i), k});
        for (const ValueInfo& v : g.outputs()) graphOutputs_.insert(v.name);
        for (size_t i = 0; i < g.nodes().size(); ++i)
            for (const std::string& o : g.nodes()[i].outputs)
                if (!o.empty()) producer_[o] = static_cast<int>(i);
    }

    QuantizedModel run();

private:
    bool isConstant(const std::string& v) const { return src_.initializer(v) != nullptr; }
    int bitsOf(const Node& n) const
    {
        const auto it = options_.weightBits.find(n.name);
        return it == options_.weightBits.end() ? options_.defaultWeightBits : it->second;
    }
    std::vector<size_t> activationInputs(const Node& n) const;
    // A value computed from shapes and integer constants only (Shape -> Gather -> Add -> Slice in
    // exported graphs): never an activation, whatever op reads it.
    bool isShapeValue(const std::string& v);
    std::string fusedOutput(const Node& n) const;
    const QuantParams& paramsOf(const std::string& tensor);
    void emitActivationQdq(const std::string& t, std::vector<Node>& nodes, Graph& out);
    std::string emitWeight(const Node& n, int bits, std::vector<Node>& nodes, Graph& out, QuantParams* wq);
    // Emits the int32 bias of node n behind a DequantizeLinear; returns the stem S of S_quantized and
    // S_dequantized, or "" when the bias stays fp32.
    std::string emitBias(const Node& n, const QuantParams& wq, std::vector<Node>& nodes, Graph& out);
    int weightAxis(const Node& n) const;

    const Graph& src_;
    const std::map<std::string, Range>& ranges_;
    const QuantizerOptions& options_;
    std::map<std::string, std::vector<Use>> uses_;
    std::set<std::string> graphOutputs_;
    std::set<std::string> needed_;                        // activations to quantize
    std::map<std::string, std::string> inherits_;         // tensor -> tensor whose params it shares
    std::map<std::string, std::string> neededBy_;         // tensor -> node description (messages)
    std::map<std::string, QuantParams> params_;
    std::map<std::string, std::string> weightDone_;       // weight initializer -> dequantized name
    std::map<std::string, int> producer_;                 // value -> node index
    std::map<std::string, bool> shapeValue_;              // memo of isShapeValue()
};

bool Quantizer::isShapeValue(const std::string& v)
{
    if (auto it = shapeValue_.find(v); it != shapeValue_.end()) return it->second;
    shapeValue_[v] = false;   // cycles cannot occur in a valid graph; this also ends any recursion
    bool result = false;
    if (const Tensor* t = src_.initializer(v)) {
        result = t->dtype() != DataType::Float32 && !src_.isGraphInput(v);
    } else if (auto p = producer_.find(v); p != producer_.end()) {
        const Node& n = src_.nodes()[static_cast<size_t>(p->second)];
        if (n.opType == "Shape" || n.opType == "Size") {
            result = true;
        } else if (n.opType == "Constant") {
            const Attribute* a = n.attribute("value");
            result = a && a->kind == Attribute::Kind::Tensor ? a->t.dtype() != DataType::Float32 : n.attribute("value_int") ||
                                                                                                    n.attribute("value_ints");
        } else {
            result = !n.inputs.empty();
            for (const std::string& in : n.inputs)
                if (!in.empty() && !isShapeValue(in)) result = false;
        }
    }
    return shapeValue_[v] = result;
}

std::vector<size_t> Quantizer::activationInputs(const Node& n) const
{
    std::vector<size_t> idx;
    if (n.opType == "Conv" || n.opType == "Gemm" || n.opType == "GlobalAveragePool" || n.opType == "AveragePool" ||
        n.opType == "MaxPool" || n.opType == "Flatten" || n.opType == "Reshape") {
        if (n.hasInput(0) && !isConstant(n.inputs[0])) idx.push_back(0);
    } else {   // MatMul, Add, Concat: every non-constant input
        for (size_t k = 0; k < n.inputs.size(); ++k)
            if (n.hasInput(k) && !isConstant(n.inputs[k])) idx.push_back(k);
    }
    return idx;
}

std::string Quantizer::fusedOutput(const Node& n) const
{
    const std::string& out = n.outputs.empty() ? std::string() : n.outputs[0];
    if (out.empty() || graphOutputs_.count(out)) return out;
    const auto it = uses_.find(out);
    if (it == uses_.end() || it->second.size() != 1) return out;
    const Node& consumer = src_.nodes()[static_cast<size_t>(it->second.front().node)];
    if ((consumer.opType == "Relu" || consumer.opType == "Clip") && it->second.front().input == 0 &&
        !consumer.outputs.empty())
        return consumer.outputs[0];
    return out;
}

QuantParams activationParamsImpl(Range r, ActivationType type)
{
    const double lo = std::min(0.0f, r.lo), hi = std::max(0.0f, r.hi);
    const int32_t qmin = type == ActivationType::UInt8 ? 0 : -128;
    const int32_t qmax = type == ActivationType::UInt8 ? 255 : 127;
    float scale = static_cast<float>((hi - lo) / (qmax - qmin));
    if (!(scale > 0) || !std::isfinite(scale)) scale = 1.0f;
    const double z = qmin - std::nearbyint(lo / scale);
    QuantParams q;
    q.scale = {scale};
    q.zeroPoint = {static_cast<int32_t>(std::clamp<double>(z, qmin, qmax))};
    return q;
}

const QuantParams& Quantizer::paramsOf(const std::string& t)
{
    if (auto it = params_.find(t); it != params_.end()) return it->second;
    if (auto inh = inherits_.find(t); inh != inherits_.end()) return params_[t] = paramsOf(inh->second);
    const auto r = ranges_.find(t);
    if (r == ranges_.end())
        throw QuantError("no calibration range for tensor '" + t + "' (" + neededBy_[t] +
                         "); calibrate the same graph that is quantized");
    return params_[t] = activationParamsImpl(r->second, options_.activations);
}

Tensor scalarOrVector(DataType type, const std::vector<float>& v)
{
    Tensor t(type, v.size() == 1 ? Shape{} : Shape{static_cast<int64_t>(v.size())});
    for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = v[i];
    return t;
}

void Quantizer::emitActivationQdq(const std::string& t, std::vector<Node>& nodes, Graph& out)
{
    const QuantParams& q = paramsOf(t);
    const DataType codeType = options_.activations == ActivationType::UInt8 ? DataType::UInt8 : DataType::Int8;
    Tensor scale(DataType::Float32, {});
    scale.data<float>()[0] = q.scale[0];
    Tensor zero(codeType, {});
    if (codeType == DataType::UInt8) zero.data<uint8_t>()[0] = static_cast<uint8_t>(q.zeroPoint[0]);
    else zero.data<int8_t>()[0] = static_cast<int8_t>(q.zeroPoint[0]);
    out.setInitializer(t + "_scale", scale);
    out.setInitializer(t + "_zero_point", zero);
    nodes.push_back({.name = t + "_QuantizeLinear", .opType = "QuantizeLinear",
                     .inputs = {t, t + "_scale", t + "_zero_point"}, .outputs = {t + "_quantized"}});
    nodes.push_back({.name = t + "_DequantizeLinear", .opType = "DequantizeLinear",
                     .inputs = {t + "_quantized", t + "_scale", t + "_zero_point"}, .outputs = {t + "_dequantized"}});
    ValueInfo codes{.name = t + "_quantized", .dtype = codeType};
    ValueInfo deq{.name = t + "_dequantized", .dtype = DataType::Float32};
    const ValueInfo* known = src_.valueInfo(t);
    for (const ValueInfo& in : src_.inputs())
        if (in.name == t) known = &in;
    if (known) {
        codes.shape = deq.shape = known->shape;
        codes.dimNames = deq.dimNames = known->dimNames;
        codes.hasShape = deq.hasShape = known->hasShape;
    } else {
        codes.hasShape = deq.hasShape = false;
    }
    codes.quant = q;
    out.setValueInfo(codes);
    out.setValueInfo(deq);
}

int Quantizer::weightAxis(const Node& n) const
{
    if (n.opType == "Conv") return 0;
    if (n.opType == "Gemm") return n.attrInt("transB", 0) ? 0 : 1;
    return 1;   // MatMul [K, N]
}

std::string Quantizer::emitWeight(const Node& n, int bits, std::vector<Node>& nodes, Graph& out, QuantParams* wq)
{
    const std::string& name = n.inputs[1];
    const Tensor& w = *src_.initializer(name);
    if (w.dtype() != DataType::Float32) throw QuantError(n.describe() + ": weight '" + name + "' is not float32");
    if (w.rank() < 1) throw QuantError(n.describe() + ": weight '" + name + "' is a scalar");
    const bool perChannel = options_.weights == WeightGranularity::PerChannel;
    const int axis = weightAxis(n);
    if (axis >= w.rank()) throw QuantError(n.describe() + ": weight '" + name + "' has no axis " + std::to_string(axis));
    const int64_t channels = perChannel ? w.dim(axis) : 1;
    int64_t inner = 1;
    for (int d = axis + 1; d < w.rank(); ++d) inner *= w.dim(d);
    const float qmax = bits == 4 ? 7.0f : 127.0f;
    auto channelOf = [&](int64_t i) { return perChannel ? (i / inner) % w.dim(axis) : 0; };

    std::vector<float> maxAbs(static_cast<size_t>(channels), 0.0f);
    const float* wv = w.data<float>();
    for (int64_t i = 0; i < w.numel(); ++i) {
        float& m = maxAbs[static_cast<size_t>(channelOf(i))];
        m = std::max(m, std::fabs(wv[i]));
    }
    wq->scale.resize(static_cast<size_t>(channels));
    wq->zeroPoint.assign(static_cast<size_t>(channels), 0);
    wq->axis = perChannel ? axis : 0;
    for (int64_t c = 0; c < channels; ++c) {
        const float s = maxAbs[static_cast<size_t>(c)] / qmax;
        wq->scale[static_cast<size_t>(c)] = s > 0 && std::isfinite(s) ? s : 1.0f;
    }
    if (auto it = weightDone_.find(name); it != weightDone_.end()) return it->second;

    Tensor codes(DataType::Int8, w.shape());
    for (int64_t i = 0; i < w.numel(); ++i) {
        const int8_t q = rt::quantizeValue<int8_t>(wv[i], wq->scale[static_cast<size_t>(channelOf(i))], 0);
        codes.data<int8_t>()[i] = static_cast<int8_t>(std::clamp<int>(q, bits == 4 ? -8 : -128, bits == 4 ? 7 : 127));
    }
    codes.setQuant(*wq);
    Tensor zero(DataType::Int8, channels == 1 ? Shape{} : Shape{channels});
    out.setInitializer(name + "_quantized", codes);
    out.setInitializer(name + "_scale", scalarOrVector(DataType::Float32, wq->scale));
    out.setInitializer(name + "_zero_point", zero);
    Node dq{.name = name + "_DequantizeLinear", .opType = "DequantizeLinear",
            .inputs = {name + "_quantized", name + "_scale", name + "_zero_point"}, .outputs = {name + "_dequantized"}};
    if (perChannel) dq.attributes["axis"] = Attribute{.kind = Attribute::Kind::Int, .i = axis};
    if (bits == 4) dq.attributes["joule.bits"] = Attribute{.kind = Attribute::Kind::Int, .i = 4};
    nodes.push_back(std::move(dq));
    return weightDone_[name] = name + "_dequantized";
}

std::string Quantizer::emitBias(const Node& n, const QuantParams& wq, std::vector<Node>& nodes, Graph& out)
{
    const std::string& name = n.inputs[2];
    const Tensor* b = src_.initializer(name);
    // Exporters share equal initializers through Identity nodes (PyTorch: one zero bias for many convs).
    bool viaIdentity = false;
    if (auto p = producer_.find(name); !b && p != producer_.end()) {
        const Node& id = src_.nodes()[static_cast<size_t>(p->second)];
        if (id.opType == "Identity" && id.domain.empty() && id.hasInput(0)) {
            b = src_.initializer(id.inputs[0]);
            viaIdentity = b != nullptr;
        }
    }
    if (!b || b->dtype() != DataType::Float32 || b->rank() != 1) return {};
    const int64_t channels = b->numel();
    if (wq.scale.size() != 1 && static_cast<int64_t>(wq.scale.size()) != channels) return {};
    if (n.opType == "Gemm" && (n.attrFloat("alpha", 1.0f) != 1.0f || n.attrFloat("beta", 1.0f) != 1.0f)) return {};
    // A bias that other nodes read too gets a quantized copy of its own for this node (its scale is
    // this node's input scale times its weight scale); the float one stays for the other readers.
    const bool shared = viaIdentity || uses_.at(name).size() != 1;
    const std::string stem = shared ? n.name + "_bias" : name;
    const float sx = paramsOf(n.inputs[0]).scale[0];
    std::vector<float> scale(wq.scale.size());
    for (size_t c = 0; c < scale.size(); ++c) scale[c] = sx * wq.scale[c];
    Tensor codes(DataType::Int32, b->shape());
    for (int64_t c = 0; c < channels; ++c) {
        const float s = scale[scale.size() == 1 ? 0 : static_cast<size_t>(c)];
        const double q = std::nearbyint(static_cast<double>(b->data<float>()[c]) / s);
        codes.data<int32_t>()[c] = static_cast<int32_t>(std::clamp<double>(q, INT32_MIN, INT32_MAX));
    }
    QuantParams bq{.scale = scale, .zeroPoint = std::vector<int32_t>(scale.size(), 0), .axis = 0};
    codes.setQuant(bq);
    Tensor zero(DataType::Int32, scale.size() == 1 ? Shape{} : Shape{static_cast<int64_t>(scale.size())});
    out.setInitializer(stem + "_quantized", codes);
    out.setInitializer(stem + "_scale", scalarOrVector(DataType::Float32, scale));
    out.setInitializer(stem + "_zero_point", zero);
    Node dq{.name = stem + "_DequantizeLinear", .opType = "DequantizeLinear",
            .inputs = {stem + "_quantized", stem + "_scale", stem + "_zero_point"}, .outputs = {stem + "_dequantized"}};
    if (scale.size() > 1) dq.attributes["axis"] = Attribute{.kind = Attribute::Kind::Int, .i = 0};
    nodes.push_back(std::move(dq));
    if (!shared) out.removeInitializer(name);   // used by this node only
    return stem;
}

QuantizedModel Quantizer::run()
{
    if (options_.defaultWeightBits != 8 && options_.defaultWeightBits != 4)
        throw QuantError("default weight bits must be 8 or 4, got " + std::to_string(options_.defaultWeightBits));
    for (const auto& [node, bits] : options_.weightBits)
        if (bits != 0 && bits != 4 && bits != 8)
            throw QuantError("weight bits of node '" + node + "' must be 0, 4 or 8, got " + std::to_string(bits));
    if (src_.opset() < 13 && options_.weights == WeightGranularity::PerChannel)
        throw QuantError("graph '" + src_.name + "' uses opset " + std::to_string(src_.opset()) +
                         "; per-channel DequantizeLinear needs opset 13 or newer (use per-tensor weights)");
    if (src_.opset() < 10) throw QuantError("graph '" + src_.name + "' uses opset < 10, which has no QuantizeLinear");
    const std::vector<int> order = src_.topologicalOrder();

    // 1. Which nodes are quantized, which activations get Q/DQ.
    std::set<int> quantized;
    for (int i : order) {
        const Node& n = src_.nodes()[static_cast<size_t>(i)];
        if (!isQuantizableOp(n.opType)) continue;
        if (isMacOp(n.opType)) {
            if (bitsOf(n) == 0) continue;
            if (n.opType == "Gemm" && n.attrInt("transA", 0) != 0) continue;
            if (!n.hasInput(0) || isConstant(n.inputs[0]) || !n.hasInput(1) || !isConstant(n.inputs[1])) continue;
        }
        const std::vector<size_t> act = activationInputs(n);
        if (act.empty()) continue;
        if (std::any_of(act.begin(), act.end(), [&](size_t k) { return isShapeValue(n.inputs[k]); })) continue;
        quantized.insert(i);
        for (size_t k : act) {
            needed_.insert(n.inputs[k]);
            neededBy_.emplace(n.inputs[k], "input of " + n.describe());
        }
        const std::string fused = fusedOutput(n);
        if (!fused.empty() && uses_.count(fused)) {
            needed_.insert(fused);
            neededBy_.emplace(fused, "output of " + n.describe());
            if (sharesInputParams(n.opType)) inherits_[fused] = n.inputs[0];
        }
    }
    for (const std::string& t : needed_) paramsOf(t);   // fail early on a missing range

    // 2. The new node list, in execution order.
    QuantizedModel result;
    Graph& out = result.graph;
    out = src_;
    std::vector<Node> nodes;
    std::map<std::string, std::string> rename;   // activation -> its dequantized copy
    for (const ValueInfo& in : src_.inputs())
        if (needed_.count(in.name)) {
            emitActivationQdq(in.name, nodes, out);
            rename[in.name] = in.name + "_dequantized";
        }
    std::map<std::string, std::string> fusedOf;   // rawOutput -> fused
    for (int i : order) {
        Node n = src_.nodes()[static_cast<size_t>(i)];
        for (std::string& in : n.inputs)
            if (auto it = rename.find(in); it != rename.end()) in = it->second;
        if (quantized.count(i)) {
            const Node& orig = src_.nodes()[static_cast<size_t>(i)];
            QuantizedLayer layer{.node = orig.name, .op = orig.opType, .rawOutput = orig.outputs[0]};
            layer.output = fusedOutput(orig);
            layer.dequantized = needed_.count(layer.output) ? layer.output + "_dequantized" : layer.output;
            if (isMacOp(orig.opType)) {
                QuantParams wq;
                layer.weightBits = bitsOf(orig);
                layer.weightCount = src_.initializer(orig.inputs[1])->numel();
                n.inputs[1] = emitWeight(orig, layer.weightBits, nodes, out, &wq);
                if (orig.opType != "MatMul" && orig.hasInput(2)) {
                    const std::string bias = emitBias(orig, wq, nodes, out);
                    if (!bias.empty()) {
                        n.inputs[2] = bias + "_dequantized";
                        layer.bias = bias + "_quantized";
                    }
                }
            }
            result.layers.push_back(layer);
        }
        nodes.push_back(n);
        for (const std::string& o : src_.nodes()[static_cast<size_t>(i)].outputs)
            if (!o.empty() && needed_.count(o)) {
                emitActivationQdq(o, nodes, out);
                rename[o] = o + "_dequantized";
            }
    }
    out.nodes() = std::move(nodes);
    std::set<std::string> referenced;
    for (const Node& n : out.nodes()) referenced.insert(n.inputs.begin(), n.inputs.end());
    for (const auto& [name, w] : src_.initializers())
        if (weightDone_.count(name) && !referenced.count(name)) out.removeInitializer(name);
    std::string int4;
    for (const QuantizedLayer& l : result.layers)
        if (l.weightBits == 4) int4 += (int4.empty() ? "" : ",") + src_.nodes()[static_cast<size_t>(src_.producerOf(l.rawOutput))].inputs[1] + "_quantized";
    if (!int4.empty()) out.metadata["joule.int4_weights"] = int4;
    // Graph outputs keep their fp32 names: a needed tensor that is also an output stays produced as is.
    out.validate();
    return result;
}

} // namespace

QuantParams activationParams(Range range, ActivationType type) { return activationParamsImpl(range, type); }

QuantizedModel quantizeGraph(const Graph& fp32, const std::map<std::string, Range>& ranges, const QuantizerOptions& options)
{
    return Quantizer(fp32, ranges, options).run();
}

double weightMemoryBytes(const QuantizedModel& model)
{
    double bytes = 0;
    for (const QuantizedLayer& l : model.layers) bytes += static_cast<double>(l.weightCount) * l.weightBits / 8.0;
    return bytes;
}

} // namespace joule::quant
