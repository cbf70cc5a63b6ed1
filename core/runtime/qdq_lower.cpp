// QDQ -> integer ops (see qdq_lower.h), and the min-max QDQ quantizer used by the benchmarks.
#include "runtime/qdq_lower.h"

#include "runtime/quant_math.h"
#include "runtime/session.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

namespace joule::rt {

namespace {

// ---------------------------------------------------------------------------------------------
// Lowering

// One DequantizeLinear / QuantizeLinear's quantized side: the quantized value and its parameters.
struct QTensor {
    std::string value;       // quantized tensor (DQ input, Q output)
    std::string scale, zeroPoint;   // zeroPoint "" when omitted (uint8 0)
    DataType type = DataType::UInt8;
    std::vector<float> scales;
    std::vector<int32_t> zeroPoints;
    int64_t axis = 1;
    bool perTensor() const { return scales.size() == 1; }
};

class Lowering {
public:
    explicit Lowering(const Graph& g) : g_(g)
    {
        for (size_t i = 0; i < g_.nodes().size(); ++i) {
            const Node& n = g_.nodes()[i];
            for (const auto& o : n.outputs)
                if (!o.empty()) producer_[o] = static_cast<int>(i);
            for (const auto& in : n.inputs)
                if (!in.empty()) consumers_[in].push_back(static_cast<int>(i));
        }
        for (const auto& o : g_.outputs()) graphOutputs_.insert(o.name);
    }

    Graph run()
    {
        Graph out = g_;
        replaced_.assign(g_.nodes().size(), std::nullopt);
        removed_.assign(g_.nodes().size(), false);
        for (size_t i = 0; i < g_.nodes().size(); ++i) {
            if (removed_[i] || replaced_[i]) continue;
            const Node& n = g_.nodes()[i];
            if (!n.domain.empty()) continue;
            if (n.opType == "Conv") lowerConv(static_cast<int>(i));
            else if (n.opType == "Gemm") lowerGemm(static_cast<int>(i));
            else if (n.opType == "MatMul") lowerMatMul(static_cast<int>(i));
            else if (n.opType == "Add") lowerAdd(static_cast<int>(i));
            else if (n.opType == "GlobalAveragePool") lowerGlobalAveragePool(static_cast<int>(i));
            else if (n.opType == "MaxPool" || n.opType == "Flatten" || n.opType == "Reshape") lowerPassThrough(static_cast<int>(i));
            else if (n.opType == "Concat") lowerConcat(static_cast<int>(i));
            else if (n.opType == "AveragePool") lowerAveragePool(static_cast<int>(i));
            else if (isLookupActivation(n.opType)) lowerActivation(static_cast<int>(i));
        }
        std::vector<Node> nodes;
        for (size_t i = 0; i < g_.nodes().size(); ++i) {
            if (removed_[i]) continue;
            nodes.push_back(replaced_[i] ? *replaced_[i] : g_.nodes()[i]);
        }
        out.nodes() = std::move(nodes);
        for (auto& [name, t] : newInitializers_) out.setInitializer(name, t);
        for (const auto& d : usedDomains_) out.opsetImports[d] = 1;
        removeDeadCode(out);
        out.validate();
        return out;
    }

private:
    const Tensor* constant(const std::string& name) const
    {
        if (name.empty()) return nullptr;
        if (const Tensor* t = g_.initializer(name)) return g_.isGraphInput(name) ? nullptr : t;
        auto it = producer_.find(name);
        if (it == producer_.end()) return nullptr;
        const Node& n = g_.nodes()[static_cast<size_t>(it->second)];
        // Exporters share equal initializers through Identity nodes (PyTorch: one zero bias for many convs).
        if (n.opType == "Identity" && n.domain.empty() && n.hasInput(0)) return constant(n.inputs[0]);
        if (n.opType != "Constant" || !n.domain.empty()) return nullptr;
        const Attribute* a = n.attribute("value");
        return a && a->kind == Attribute::Kind::Tensor ? &a->t : nullptr;
    }

    // Reads the scale / zero point inputs (1, 2) of a Q or DQ node.
    std::optional<QTensor> params(const Node& n, const std::string& quantized, DataType quantizedType) const
    {
        QTensor q;
        q.value = quantized;
        q.scale = n.inputs.size() > 1 ? n.inputs[1] : "";
        q.zeroPoint = n.hasInput(2) ? n.inputs[2] : "";
        const Tensor* s = constant(q.scale);
        if (!s || s->dtype() != DataType::Float32 || s->numel() < 1) return std::nullopt;
        for (int64_t i = 0; i < s->numel(); ++i) q.scales.push_back(s->data<float>()[i]);
        q.type = quantizedType;
        if (!q.zeroPoint.empty()) {
            const Tensor* z = constant(q.zeroPoint);
            if (!z || z->numel() != s->numel()) return std::nullopt;
            q.type = z->dtype();
            for (int64_t i = 0; i < z->numel(); ++i) q.zeroPoints.push_back(static_cast<int32_t>(z->asInt64(i)));
        } else {
            q.zeroPoints.assign(q.scales.size(), 0);
        }
        q.axis = n.attrInt("axis", 1);
        return q;
    }

    // `value` is the output of a DequantizeLinear: its quantized input and parameters.
    std::optional<QTensor> dequantized(const std::string& value) const
    {
        auto it = producer_.find(value);
        if (it == producer_.end()) return std::nullopt;
        const Node& dq = g_.nodes()[static_cast<size_t>(it->second)];
        if (dq.opType != "DequantizeLinear" || !dq.domain.empty() || !dq.hasInput(0)) return std::nullopt;
        DataType t = DataType::UInt8;
        if (const Tensor* c = constant(dq.inputs[0])) t = c->dtype();
        else if (const ValueInfo* vi = g_.valueInfo(dq.inputs[0]); vi && vi->dtype != DataType::Undefined) t = vi->dtype;
        auto q = params(dq, dq.inputs[0], t);
        if (q && dq.hasInput(2)) {
            // The zero point's type is the quantized type; check it against what we know of x.
            if (const Tensor* c = constant(dq.inputs[0]); c && c->dtype() != q->type) return std::nullopt;
        }
        return q;
    }

    // An activation input: per tensor, 8-bit.
    std::optional<QTensor> activation(const std::string& value) const
    {
        auto q = dequantized(value);
        if (!q || !q->perTensor() || !isQ8(q->type)) return std::nullopt;
        return q;
    }

    static bool isQ8(DataType t) { return t == DataType::UInt8 || t == DataType::Int8; }

    int soleConsumer(const std::string& value) const
    {
        if (graphOutputs_.count(value)) return -1;
        auto it = consumers_.find(value);
        if (it == consumers_.end() || it->second.size() != 1) return -1;
        const int c = it->second.front();
        return removed_[static_cast<size_t>(c)] || replaced_[static_cast<size_t>(c)] ? -1 : c;
    }

    // The QuantizeLinear that is the only reader of `value` (per tensor, 8-bit), or -1.
    int quantizer(const std::string& value, QTensor* out) const
    {
        const int c = soleConsumer(value);
        if (c < 0) return -1;
        const Node& q = g_.nodes()[static_cast<size_t>(c)];
        if (q.opType != "QuantizeLinear" || !q.domain.empty() || q.outputs.empty() || q.outputs[0].empty()) return -1;
        auto p = params(q, q.outputs[0], DataType::UInt8);
        if (!p || !p->perTensor() || !isQ8(p->type)) return -1;
        *out = *p;
        return c;
    }

    struct Tail {
        int activation = -1;   // Relu / Clip node, or -1
        int quantize = -1;     // QuantizeLinear node
        QTensor y;
        int32_t lo = 0, hi = 0;   // output clamp (type range without activation)
    };

    // value -> [Relu | Clip] -> QuantizeLinear.
    std::optional<Tail> quantizedTail(const std::string& value) const
    {
        Tail t;
        std::string v = value;
        float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
        const int c = soleConsumer(value);
        if (c < 0) return std::nullopt;
        const Node& a = g_.nodes()[static_cast<size_t>(c)];
        if (a.domain.empty() && (a.opType == "Relu" || a.opType == "Clip")) {
            if (a.opType == "Relu") {
                lo = 0.0f;
            } else if (!clipBounds(a, &lo, &hi)) {
                return std::nullopt;
            }
            t.activation = c;
            v = a.outputs[0];
        }
        t.quantize = quantizer(v, &t.y);
        if (t.quantize < 0) return std::nullopt;
        const float s = t.y.scales[0];
        const int32_t zp = t.y.zeroPoints[0];
        const bool u8 = t.y.type == DataType::UInt8;
        t.lo = u8 ? quantMin<uint8_t>() : quantMin<int8_t>();
        t.hi = u8 ? quantMax<uint8_t>() : quantMax<int8_t>();
        if (std::isfinite(lo)) t.lo = u8 ? quantizeValue<uint8_t>(lo, s, zp) : quantizeValue<int8_t>(lo, s, zp);
        if (std::isfinite(hi)) t.hi = u8 ? quantizeValue<uint8_t>(hi, s, zp) : quantizeValue<int8_t>(hi, s, zp);
        return t;
    }

    bool clipBounds(const Node& clip, float* lo, float* hi) const
    {
        if (g_.opset() < 11) {
            *lo = clip.attrFloat("min", -std::numeric_limits<float>::infinity());
            *hi = clip.attrFloat("max", std::numeric_limits<float>::infinity());
            return true;
        }
        for (size_t i : {size_t{1}, size_t{2}}) {
            if (!clip.hasInput(i)) continue;
            const Tensor* b = constant(clip.inputs[i]);
            if (!b || b->numel() != 1 || b->dtype() != DataType::Float32) return false;
            (i == 1 ? *lo : *hi) = b->data<float>()[0];
        }
        return true;
    }

    // Marks the tail's nodes removed and returns the name of the quantized output.
    std::string consume(const Tail& t)
    {
        if (t.activation >= 0) removed_[static_cast<size_t>(t.activation)] = true;
        removed_[static_cast<size_t>(t.quantize)] = true;
        return t.y.value;
    }

    std::string zeroPointOf(const QTensor& q)
    {
        if (!q.zeroPoint.empty()) return q.zeroPoint;
        const std::string name = q.value + "_zero_point_lowered";
        newInitializers_[name] = Tensor(DataType::UInt8, {});
        return name;
    }

    static Attribute intAttr(int64_t v)
    {
        Attribute a;
        a.kind = Attribute::Kind::Int;
        a.i = v;
        return a;
    }

    // Adds the fused-activation attributes and picks the domain.
    void setActivation(Node& n, const Tail& t, const std::string& plainDomain)
    {
        const bool u8 = t.y.type == DataType::UInt8;
        const int32_t typeLo = u8 ? 0 : -128, typeHi = u8 ? 255 : 127;
        if (t.activation >= 0 && (t.lo != typeLo || t.hi != typeHi)) {
            n.domain = "ai.joule";
            n.attributes["activation_min"] = intAttr(t.lo);
            n.attributes["activation_max"] = intAttr(t.hi);
        } else {
            n.domain = plainDomain;
        }
        if (!n.domain.empty()) usedDomains_.insert(n.domain);
    }

    // A constant weight behind a DequantizeLinear, per tensor or per channel along `channelAxis`.
    std::optional<QTensor> weight(const std::string& value, int64_t channelAxis) const
    {
        auto w = dequantized(value);
        if (!w || !isQ8(w->type)) return std::nullopt;
        const Tensor* t = constant(w->value);
        if (!t || t->dtype() != w->type) return std::nullopt;
        if (!w->perTensor()) {
            const int64_t axis = w->axis < 0 ? w->axis + t->rank() : w->axis;
            if (axis != channelAxis || t->rank() <= channelAxis || t->dim(static_cast<int>(axis)) != static_cast<int64_t>(w->scales.size()))
                return std::nullopt;
        }
        return w;
    }

    // An int32 bias behind a DequantizeLinear whose scale is x_scale * w_scale[c] and zero point 0.
    std::optional<QTensor> bias(const std::string& value, const QTensor& x, const QTensor& w) const
    {
        auto b = dequantized(value);
        if (!b) return std::nullopt;
        const Tensor* t = constant(b->value);
        if (!t || t->dtype() != DataType::Int32) return std::nullopt;
        for (int32_t z : b->zeroPoints)
            if (z != 0) return std::nullopt;
        const size_t channels = std::max(b->scales.size(), w.scales.size());
        for (size_t c = 0; c < channels; ++c) {
            const double expected = static_cast<double>(x.scales[0]) * w.scales[w.perTensor() ? 0 : c];
            const double got = b->scales[b->perTensor() ? 0 : c];
            if (std::fabs(got - expected) > 1e-6 * expected) return std::nullopt;
        }
        return b;
    }

    void lowerConv(int i)
    {
        const Node& conv = g_.nodes()[static_cast<size_t>(i)];
        if (conv.inputs.size() < 2) return;
        auto x = activation(conv.inputs[0]);
        auto w = weight(conv.inputs[1], 0);
        if (!x || !w) return;
        std::optional<QTensor> b;
        if (conv.hasInput(2) && !(b = bias(conv.inputs[2], *x, *w))) return;
        auto tail = quantizedTail(conv.outputs[0]);
        if (!tail) return;
        Node q;
        q.name = conv.name;
        q.opType = "QLinearConv";
        q.attributes = conv.attributes;
        q.inputs = {x->value, x->scale, zeroPointOf(*x), w->value, w->scale, zeroPointOfWeight(*w), tail->y.scale, zeroPointOf(tail->y)};
        if (b) q.inputs.push_back(b->value);
        q.outputs = {consume(*tail)};
        setActivation(q, *tail, "");
        replaced_[static_cast<size_t>(i)] = std::move(q);
    }

    std::string zeroPointOfWeight(const QTensor& w)
    {
        if (!w.zeroPoint.empty()) return w.zeroPoint;
        const std::string name = w.value + "_zero_point_lowered";
        newInitializers_[name] = Tensor(w.type, {static_cast<int64_t>(w.scales.size())});
        if (w.perTensor()) newInitializers_[name] = Tensor(w.type, {});
        return name;
    }

    void lowerGemm(int i)
    {
        const Node& gemm = g_.nodes()[static_cast<size_t>(i)];
        if (gemm.inputs.size() < 2 || gemm.attrFloat("alpha", 1.0f) != 1.0f) return;
        if (gemm.hasInput(2) && gemm.attrFloat("beta", 1.0f) != 1.0f) return;
        const bool transB = gemm.attrInt("transB", 0) != 0;
        auto a = activation(gemm.inputs[0]);
        auto w = weight(gemm.inputs[1], transB ? 0 : 1);
        if (!a || !w) return;
        std::optional<QTensor> b;
        if (gemm.hasInput(2) && !(b = bias(gemm.inputs[2], *a, *w))) return;
        Node q;
        q.name = gemm.name;
        q.opType = "QGemm";
        q.attributes["transA"] = intAttr(gemm.attrInt("transA", 0));
        q.attributes["transB"] = intAttr(transB ? 1 : 0);
        q.inputs = {a->value, a->scale, zeroPointOf(*a), w->value, w->scale, zeroPointOfWeight(*w), b ? b->value : ""};
        if (auto tail = quantizedTail(gemm.outputs[0])) {
            q.inputs.push_back(tail->y.scale);
            q.inputs.push_back(zeroPointOf(tail->y));
            q.outputs = {consume(*tail)};
            setActivation(q, *tail, "com.microsoft");
        } else {
            // fp32 output (logits): only when nothing between the Gemm and its readers needs fusing.
            q.outputs = {gemm.outputs[0]};
            q.domain = "com.microsoft";
            usedDomains_.insert(q.domain);
        }
        replaced_[static_cast<size_t>(i)] = std::move(q);
    }

    void lowerMatMul(int i)
    {
        const Node& mm = g_.nodes()[static_cast<size_t>(i)];
        if (mm.inputs.size() < 2) return;
        auto a = activation(mm.inputs[0]);
        auto w = weight(mm.inputs[1], 1);
        if (!a || !w) return;
        if (const Tensor* wt = constant(w->value); !wt || wt->rank() != 2) return;
        auto tail = quantizedTail(mm.outputs[0]);
        if (!tail || tail->activation >= 0) return;
        Node q;
        q.name = mm.name;
        q.opType = "QLinearMatMul";
        q.inputs = {a->value, a->scale, zeroPointOf(*a), w->value, w->scale, zeroPointOfWeight(*w), tail->y.scale, zeroPointOf(tail->y)};
        q.outputs = {consume(*tail)};
        replaced_[static_cast<size_t>(i)] = std::move(q);
    }

    void lowerAdd(int i)
    {
        const Node& add = g_.nodes()[static_cast<size_t>(i)];
        if (add.inputs.size() != 2) return;
        auto a = activation(add.inputs[0]);
        auto b = activation(add.inputs[1]);
        if (!a || !b || a->type != b->type) return;
        auto tail = quantizedTail(add.outputs[0]);
        if (!tail || tail->y.type != a->type) return;
        Node q;
        q.name = add.name;
        q.opType = "QLinearAdd";
        q.inputs = {a->value, a->scale, zeroPointOf(*a), b->value, b->scale, zeroPointOf(*b), tail->y.scale, zeroPointOf(tail->y)};
        q.outputs = {consume(*tail)};
        setActivation(q, *tail, "com.microsoft");
        replaced_[static_cast<size_t>(i)] = std::move(q);
    }

    void lowerGlobalAveragePool(int i)
    {
        const Node& gap = g_.nodes()[static_cast<size_t>(i)];
        auto x = gap.inputs.empty() ? std::nullopt : activation(gap.inputs[0]);
        if (!x) return;
        QTensor y;
        const int qi = quantizer(gap.outputs[0], &y);
        if (qi < 0 || y.type != x->type) return;
        Node q;
        q.name = gap.name;
        q.opType = "QLinearGlobalAveragePool";
        q.domain = "com.microsoft";
        q.attributes["channels_last"] = intAttr(0);
        q.inputs = {x->value, x->scale, zeroPointOf(*x), y.scale, zeroPointOf(y)};
        removed_[static_cast<size_t>(qi)] = true;
        q.outputs = {y.value};
        usedDomains_.insert(q.domain);
        replaced_[static_cast<size_t>(i)] = std::move(q);
    }

    // MaxPool / Flatten / Reshape commute with (de)quantization when scale and zero point stay.
    void lowerPassThrough(int i)
    {
        const Node& op = g_.nodes()[static_cast<size_t>(i)];
        if (op.inputs.empty() || op.outputs.empty()) return;
        if (op.opType == "MaxPool" && op.outputs.size() > 1 && !op.outputs[1].empty()) return;
        auto x = activation(op.inputs[0]);
        if (!x) return;
        auto tail = quantizedTail(op.outputs[0]);
        if (!tail) return;
        const QTensor& y = tail->y;
        if (y.type != x->type || y.scales != x->scales || y.zeroPoints != x->zeroPoints) return;
        Node q = op;
        q.inputs[0] = x->value;
        if (clampBites(*tail)) {
            // A fused Relu / Clip (the quantizer gives it the op's parameters): the op on the codes,
            // then QClamp in the activation's place.
            const Node& act = g_.nodes()[static_cast<size_t>(tail->activation)];
            q.outputs = {op.outputs[0] + "_codes"};
            Node c;
            c.name = act.name;
            c.opType = "QClamp";
            c.domain = "ai.joule";
            c.inputs = {q.outputs[0]};
            c.outputs = {y.value};
            c.attributes["activation_min"] = intAttr(tail->lo);
            c.attributes["activation_max"] = intAttr(tail->hi);
            usedDomains_.insert(c.domain);
            removed_[static_cast<size_t>(tail->quantize)] = true;
            replaced_[static_cast<size_t>(tail->activation)] = std::move(c);
        } else {
            q.outputs = {consume(*tail)};
        }
        replaced_[static_cast<size_t>(i)] = std::move(q);
    }

    // Whether the fused activation of `t` changes any code (else the plain op does the same).
    static bool clampBites(const Tail& t)
    {
        const bool u8 = t.y.type == DataType::UInt8;
        return t.activation >= 0 && (t.lo != (u8 ? 0 : -128) || t.hi != (u8 ? 255 : 127));
    }

    // DQ(x_1..x_n) -> Concat -> [Relu | Clip] -> Q  =>  Concat of the codes when every x_i has y's
    // scale and zero point and no clamp bites; QLinearConcat otherwise.
    void lowerConcat(int i)
    {
        const Node& cat = g_.nodes()[static_cast<size_t>(i)];
        if (cat.inputs.empty() || cat.outputs.empty()) return;
        std::vector<QTensor> xs;
        for (const auto& in : cat.inputs) {
            auto x = in.empty() ? std::nullopt : activation(in);
            if (!x || x->type != (xs.empty() ? x->type : xs.front().type)) return;
            xs.push_back(*x);
        }
        auto tail = quantizedTail(cat.outputs[0]);
        if (!tail || tail->y.type != xs.front().type) return;
        const bool sameParams = std::all_of(xs.begin(), xs.end(), [&](const QTensor& x) {
            return x.scales == tail->y.scales && x.zeroPoints == tail->y.zeroPoints;
        });
        Node q;
        q.name = cat.name;
        q.attributes["axis"] = intAttr(cat.attrInt("axis", 1));
        if (sameParams && !clampBites(*tail)) {
            q.opType = "Concat";
            for (const QTensor& x : xs) q.inputs.push_back(x.value);
        } else {
            q.opType = "QLinearConcat";
            q.inputs = {tail->y.scale, zeroPointOf(tail->y)};
            for (const QTensor& x : xs) {
                q.inputs.push_back(x.value);
                q.inputs.push_back(x.scale);
                q.inputs.push_back(zeroPointOf(x));
            }
        }
        q.outputs = {consume(*tail)};
        if (q.opType == "QLinearConcat") setActivation(q, *tail, "com.microsoft");
        replaced_[static_cast<size_t>(i)] = std::move(q);
    }

    // DQ(x) -> AveragePool (2-D, no dilations) -> [Relu | Clip] -> Q  =>  QLinearAveragePool.
    void lowerAveragePool(int i)
    {
        const Node& pool = g_.nodes()[static_cast<size_t>(i)];
        if (pool.inputs.empty() || pool.outputs.empty()) return;
        if (pool.attrInts("kernel_shape").size() != 2) return;
        for (int64_t d : pool.attrInts("dilations"))
            if (d != 1) return;
        auto x = activation(pool.inputs[0]);
        if (!x) return;
        auto tail = quantizedTail(pool.outputs[0]);
        if (!tail || tail->y.type != x->type) return;
        Node q;
        q.name = pool.name;
        q.opType = "QLinearAveragePool";
        for (const char* a : {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"})
            if (const Attribute* v = pool.attribute(a)) q.attributes[a] = *v;
        q.inputs = {x->value, x->scale, zeroPointOf(*x), tail->y.scale, zeroPointOf(tail->y)};
        q.outputs = {consume(*tail)};
        setActivation(q, *tail, "com.microsoft");
        replaced_[static_cast<size_t>(i)] = std::move(q);
    }

    static bool isLookupActivation(const std::string& op)
    {
        return op == "Relu" || op == "Clip" || op == "LeakyRelu" || op == "Sigmoid" || op == "Tanh" || op == "HardSigmoid" ||
               op == "HardSwish";
    }

    static Attribute floatAttr(float v)
    {
        Attribute a;
        a.kind = Attribute::Kind::Float;
        a.f = v;
        return a;
    }

    // A standalone activation DQ(x) -> f -> Q. Relu / Clip keeping scale and zero point => QClamp
    // ("ai.joule", a clamp on codes); LeakyRelu => QLinearLeakyRelu, Sigmoid => QLinearSigmoid
    // (com.microsoft); the rest => QLookup ("ai.joule"). The last three run as a 256-entry table.
    void lowerActivation(int i)
    {
        const Node& act = g_.nodes()[static_cast<size_t>(i)];
        if (act.inputs.empty() || act.outputs.empty()) return;
        auto x = activation(act.inputs[0]);
        if (!x) return;
        QTensor y;
        const int qi = quantizer(act.outputs[0], &y);
        if (qi < 0 || y.type != x->type) return;
        float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
        if (act.opType == "Relu") lo = 0.0f;
        if (act.opType == "Clip" && !clipBounds(act, &lo, &hi)) return;
        Node q;
        q.name = act.name;
        const bool clampOnly = act.opType == "Relu" || act.opType == "Clip";
        if (clampOnly && y.scales == x->scales && y.zeroPoints == x->zeroPoints) {
            q.opType = "QClamp";
            q.domain = "ai.joule";
            q.inputs = {x->value};
            const bool u8 = y.type == DataType::UInt8;
            const float s = y.scales[0];
            const int32_t zp = y.zeroPoints[0];
            if (std::isfinite(lo)) q.attributes["activation_min"] = intAttr(u8 ? quantizeValue<uint8_t>(lo, s, zp) : quantizeValue<int8_t>(lo, s, zp));
            if (std::isfinite(hi)) q.attributes["activation_max"] = intAttr(u8 ? quantizeValue<uint8_t>(hi, s, zp) : quantizeValue<int8_t>(hi, s, zp));
        } else {
            q.inputs = {x->value, x->scale, zeroPointOf(*x), y.scale, zeroPointOf(y)};
            if (act.opType == "LeakyRelu") {
                q.opType = "QLinearLeakyRelu";
                q.domain = "com.microsoft";
                q.attributes["alpha"] = floatAttr(act.attrFloat("alpha", 0.01f));
            } else if (act.opType == "Sigmoid") {
                q.opType = "QLinearSigmoid";
                q.domain = "com.microsoft";
            } else {
                q.opType = "QLookup";
                q.domain = "ai.joule";
                Attribute f;
                f.kind = Attribute::Kind::String;
                f.s = act.opType;
                q.attributes["function"] = f;
                if (std::isfinite(lo) && act.opType == "Clip") q.attributes["min"] = floatAttr(lo);
                if (std::isfinite(hi)) q.attributes["max"] = floatAttr(hi);
                if (act.opType == "HardSigmoid") {
                    q.attributes["alpha"] = floatAttr(act.attrFloat("alpha", 0.2f));
                    q.attributes["beta"] = floatAttr(act.attrFloat("beta", 0.5f));
                }
            }
        }
        removed_[static_cast<size_t>(qi)] = true;
        q.outputs = {y.value};
        usedDomains_.insert(q.domain);
        replaced_[static_cast<size_t>(i)] = std::move(q);
    }

    // Drops nodes none of whose outputs are read (iteratively) and initializers nobody reads.
    static void removeDeadCode(Graph& g)
    {
        std::set<std::string> outputs;
        for (const auto& o : g.outputs()) outputs.insert(o.name);
        for (bool changed = true; changed;) {
            changed = false;
            std::set<std::string> read = outputs;
            for (const Node& n : g.nodes())
                for (const auto& in : n.inputs) read.insert(in);
            auto& nodes = g.nodes();
            const auto dead = [&](const Node& n) {
                return std::none_of(n.outputs.begin(), n.outputs.end(), [&](const std::string& o) { return !o.empty() && read.count(o); });
            };
            const auto end = std::remove_if(nodes.begin(), nodes.end(), dead);
            if (end != nodes.end()) {
                nodes.erase(end, nodes.end());
                changed = true;
            }
        }
        std::set<std::string> read = outputs;
        for (const Node& n : g.nodes())
            for (const auto& in : n.inputs) read.insert(in);
        std::vector<std::string> unused;
        for (const auto& [name, t] : g.initializers())
            if (!read.count(name) && !g.isGraphInput(name)) unused.push_back(name);
        for (const auto& name : unused) g.removeInitializer(name);
    }

    const Graph& g_;
    std::map<std::string, int> producer_;
    std::map<std::string, std::vector<int>> consumers_;
    std::set<std::string> graphOutputs_;
    std::vector<std::optional<Node>> replaced_;
    std::vector<bool> removed_;
    std::map<std::string, Tensor> newInitializers_;
    std::set<std::string> usedDomains_;
};

} // namespace

Graph lowerQdq(const Graph& qdq)
{
    return Lowering(qdq).run();
}

std::map<std::string, int> loweredOpCounts(const Graph& lowered)
{
    std::map<std::string, int> counts;
    for (const Node& n : lowered.nodes()) ++counts[n.opType];
    return counts;
}

bool hasQdq(const Graph& graph)
{
    for (const Node& n : graph.nodes())
        if (n.domain.empty() && (n.opType == "QuantizeLinear" || n.opType == "DequantizeLinear")) return true;
    return false;
}

} // namespace joule::rt
