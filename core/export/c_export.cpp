#include "export/c_export.h"

#include "runtime/kernels/quant_activation.h"
#include "runtime/memory_planner.h"
#include "runtime/qdq_lower.h"
#include "runtime/quant_math.h"
#include "runtime/session.h"

#include <QFile>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace joule::exporter {
namespace {

// The C kernels, as Qt resources (core/export/c_kernels, see CMakeLists.txt).
std::string kernelText(const std::string& file)
{
    QFile f(QString(":/joule/c_kernels/%1").arg(QString::fromStdString(file)));
    if (!f.open(QIODevice::ReadOnly)) throw std::logic_error("C kernel '" + file + "' is not built into the library");
    return f.readAll().toStdString();
}

void replaceAll(std::string& s, const std::string& from, const std::string& to)
{
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

std::string floatLiteral(float v)
{
    if (!std::isfinite(v)) throw ExportError("a constant is not finite (" + std::to_string(v) + ")");
    if (v == 0.0f) return std::signbit(v) ? "-0.0f" : "0.0f";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%af", static_cast<double>(v));
    return buf;
}

const char* ctype(DataType t)
{
    switch (t) {
    case DataType::UInt8: return "uint8_t";
    case DataType::Int8: return "int8_t";
    case DataType::Float32: return "float";
    case DataType::Int32: return "int32_t";
    default: return nullptr;
    }
}

const char* suffix(DataType t)
{
    switch (t) {
    case DataType::UInt8: return "u8";
    case DataType::Int8: return "i8";
    case DataType::Float32: return "f32";
    case DataType::Int32: return "i32";
    default: return "x";
    }
}
bool isCode(DataType t) { return t == DataType::UInt8 || t == DataType::Int8; }
int32_t typeMin(DataType t) { return t == DataType::UInt8 ? 0 : -128; }
int32_t typeMax(DataType t) { return t == DataType::UInt8 ? 255 : 127; }

// Where a value of the generated program lives.
struct CValue {
    enum class Kind { Arena, Const, ModelInput } kind = Kind::Arena;
    DataType dtype = DataType::Undefined;
    Shape shape;
    size_t buffer = 0;   // Arena: index of its BufferRequest
    std::string symbol;  // Const: the array's name
    int64_t numel() const { return elementCount(shape); }
};

class Generator {
public:
    Generator(const std::vector<Graph>& stages, const adaptive::Policy* policy, const COptions& options)
        : stages_(stages), policy_(policy), options_(options), name_(options.name) {}

    CModel run();

private:
    struct Stage {
        std::unique_ptr<rt::Session> session;
        std::string logits;           // value key of the stage's answer
    };

    // ---- values -------------------------------------------------------------------------------
    std::string key(const std::string& value) const { return std::to_string(stage_) + ":" + value; }
    const CValue& value(const Node& node, size_t input)
    {
        const std::string& name = node.inputs.at(input);
        auto it = values_.find(key(name));
        if (it == values_.end()) {
            // A constant the session knows (initializer or folded): emitted on first use.
            const Tensor* t = session().constantValue(name);
            if (!t) throw ExportError(where(node) + ": input '" + name + "' is neither computed nor constant");
            CValue v{.kind = CValue::Kind::Const, .dtype = t->dtype(), .shape = t->shape(), .buffer = 0, .symbol = {}};
            v.symbol = constArray(*t, node, name);
            it = values_.emplace(key(name), v).first;
        }
        CValue& v = it->second;
        if (v.kind == CValue::Kind::Arena) requests_[v.buffer].lastStep = step_;
        return v;
    }
    const Tensor& constant(const Node& node, size_t input, const char* what)
    {
        if (!node.hasInput(input)) throw ExportError(where(node) + ": " + what + " is missing");
        const Tensor* t = session().constantValue(node.inputs[input]);
        if (!t) throw ExportError(where(node) + ": " + what + " '" + node.inputs[input] + "' must be a constant");
        return *t;
    }
    float scalarScale(const Node& node, size_t input, const char* what)
    {
        const Tensor& t = constant(node, input, what);
        if (t.numel() != 1 || t.dtype() != DataType::Float32) throw ExportError(where(node) + ": " + what + " must be one float32 value (per tensor)");
        return t.data<float>()[0];
    }
    int32_t zeroPoint(const Node& node, size_t input)
    {
        if (!node.hasInput(input)) return 0;
        const Tensor& t = constant(node, input, "zero point");
        if (t.numel() != 1) throw ExportError(where(node) + ": zero point '" + node.inputs[input] + "' must be one value (per tensor)");
        return static_cast<int32_t>(t.asInt64(0));
    }
    std::vector<float> scales(const Node& node, size_t input, int64_t rows, const char* what)
    {
        const Tensor& t = constant(node, input, what);
        if (t.dtype() != DataType::Float32 || (t.numel() != 1 && t.numel() != rows))
            throw ExportError(where(node) + ": " + what + " must be float32, per tensor or one per output channel");
        return {t.data<float>(), t.data<float>() + t.numel()};
    }
    std::vector<int32_t> zeroPoints(const Node& node, size_t input, int64_t rows)
    {
        if (!node.hasInput(input)) return {};
        const Tensor& t = constant(node, input, "zero point");
        if (t.numel() != 1 && t.numel() != rows) throw ExportError(where(node) + ": zero point must be per tensor or one per output channel");
        std::vector<int32_t> z;
        for (int64_t i = 0; i < t.numel(); ++i) z.push_back(static_cast<int32_t>(t.asInt64(i)));
        return z;
    }

    // A computed value: a new buffer of the arena, written at this step.
    const CValue& output(const Node& node, size_t index)
    {
        const std::string& name = node.outputs.at(index);
        const rt::TensorInfo* info = session().valueInfo(name);
        if (!info) throw ExportError(where(node) + ": no type for output '" + name + "'");
        if (!ctype(info->dtype)) throw ExportError(where(node) + ": output '" + name + "' is " + dataTypeName(info->dtype) + ", which the C export has no kernels for");
        CValue v{.kind = CValue::Kind::Arena, .dtype = info->dtype, .shape = info->shape, .buffer = 0, .symbol = {}};
        v.buffer = requests_.size();
        requests_.push_back({.bytes = std::max<size_t>(storageBytes(info->dtype, v.numel()), 1), .firstStep = step_, .lastStep = step_});
        return values_[key(name)] = v;
    }

    // C expression of a value's data, typed.
    std::string ptr(const CValue& v) const
    {
        switch (v.kind) {
        case CValue::Kind::Const: return v.symbol;
        case CValue::Kind::ModelInput: return "xf";
        case CValue::Kind::Arena: break;
        }
        return std::string("((") + ctype(v.dtype) + " *)(" + name_ + "_arena.bytes + @B" + std::to_string(v.buffer) + "@))";
    }

    // ---- constants ------------------------------------------------------------------------------
    std::string newSymbol(const std::string& what)
    {
        std::string s = "k";
        s += std::to_string(symbols_++);
        s += "_";
        s += what;
        return s;
    }

    template <typename T> std::string array(const std::string& what, const char* type, const std::vector<T>& values, bool weight = false)
    {
        const std::string sym = newSymbol(what);
        std::ostringstream os;
        os << "static const " << type << " " << sym << "[" << std::max<size_t>(values.size(), 1) << "] = {";
        size_t col = 1000;
        for (size_t i = 0; i < values.size(); ++i) {
            std::string item;
            if constexpr (std::is_same_v<T, float>) item = floatLiteral(values[i]);
            else if constexpr (std::is_same_v<T, int32_t>) item = values[i] == INT32_MIN ? "-2147483647 - 1" : std::to_string(values[i]);
            else item = std::to_string(static_cast<int64_t>(values[i]));
            if (col + item.size() > 100) { os << "\n    "; col = 4; }
            os << item << (i + 1 < values.size() ? "," : "");
            col += item.size() + 1;
        }
        if (values.empty()) os << "0";
        os << "\n};\n";
        consts_ << os.str();
        const int64_t bytes = static_cast<int64_t>(values.size() * sizeof(T));
        constBytes_ += bytes;
        if (weight) weightBytes_ += bytes;
        return sym;
    }

    std::string constArray(const Tensor& t, const Node& node, const std::string& name)
    {
        switch (t.dtype()) {
        case DataType::Int8: return array("w", "int8_t", std::vector<int8_t>(t.data<int8_t>(), t.data<int8_t>() + t.numel()), true);
        case DataType::UInt8: return array("w", "uint8_t", std::vector<uint8_t>(t.data<uint8_t>(), t.data<uint8_t>() + t.numel()), true);
        case DataType::Int32: return array("b", "int32_t", std::vector<int32_t>(t.data<int32_t>(), t.data<int32_t>() + t.numel()), true);
        case DataType::Float32: return array("f", "float", std::vector<float>(t.data<float>(), t.data<float>() + t.numel()), true);
        default: throw ExportError(where(node) + ": constant '" + name + "' is " + dataTypeName(t.dtype()) + ", which the C export cannot store");
        }
    }

    // Requantizers as two arrays (Q31 multipliers, shifts); returns "mult, shift" symbols.
    std::pair<std::string, std::string> requantizers(const std::vector<double>& reals, const Node& node)
    {
        std::vector<int32_t> m;
        std::vector<int8_t> s;
        for (double r : reals) {
            const rt::Requantizer q = requantizer(r, node);
            m.push_back(q.multiplier);
            s.push_back(static_cast<int8_t>(q.shift));
        }
        return {array("mult", "int32_t", m), array("shift", "int8_t", s)};
    }

    rt::Requantizer requantizer(double real, const Node& node)
    {
        try {
            return rt::Requantizer::fromReal(real);
        } catch (const std::invalid_argument& e) {
            throw ExportError(where(node) + ": " + e.what());
        }
    }

    // ---- kernels --------------------------------------------------------------------------------
    // Asks for kernel `file` instantiated for the given types; returns its function names' suffix.
    // The kernels are written out once each, in kKernelOrder (each after what it uses).
    std::string kernel(const std::string& file, DataType x, std::optional<DataType> y = std::nullopt)
    {
        const std::string xv = suffix(x);
        const std::string variant = y ? xv + suffix(*y) : xv;
        needed_.insert({file, variant, xv, ctype(x), y ? ctype(*y) : ""});
        return variant;
    }
    void plainKernel(const std::string& file) { needed_.insert({file, "", "", "", ""}); }
    void requantKernels()
    {
        plainKernel("common");
        plainKernel("shift");
        plainKernel("requant");
    }
    // QuantizeLinear into `y` codes (the kernel and what it uses); returns the variant.
    std::string quantizer(DataType y)
    {
        plainKernel("rne");
        plainKernel("common");
        needed_.insert({"quantize", suffix(y), suffix(y), "", ctype(y)});
        return suffix(y);
    }

    std::string kernelsText()
    {
        static const char* const kKernelOrder[] = {"rne", "common", "shift", "requant", "score", "conv_types", "gemm_types", "pool_types", "quantize",
                                                   "dequantize", "conv", "gemm", "gemm_q", "gemm_f", "add", "global_average_pool",
                                                   "average_pool", "max_pool", "lookup", "concat", "relu_f32"};
        std::ostringstream os;
        kernelNames_.clear();
        for (const char* file : kKernelOrder)
            for (const Need& n : needed_) {
                if (n.file != file) continue;
                std::string text = kernelText(n.file + ".c");
                if (!n.variant.empty()) {
                    replaceAll(text, "XTYPE", n.xtype);
                    if (!n.ytype.empty()) replaceAll(text, "YTYPE", n.ytype);
                    replaceAll(text, "XVARIANT", n.xvariant);
                    replaceAll(text, "VARIANT", n.variant);
                }
                os << text << "\n";
                kernelNames_.push_back(n.variant.empty() ? n.file : n.file + "_" + n.variant);
            }
        return os.str();
    }

    // ---- nodes ----------------------------------------------------------------------------------
    std::string where(const Node& node) const { return "node '" + node.name + "' (" + node.opType + ")"; }
    rt::Session& session() { return *stageData_[stage_].session; }
    void line(const std::string& code) { body_ << "    " << code << "\n"; }

    void emitNode(const Node& node);
    void emitQuantize(const Node& node);
    void emitDequantize(const Node& node);
    void emitConv(const Node& node);
    void emitGemm(const Node& node, bool matmul);
    void emitAdd(const Node& node);
    void emitGlobalAveragePool(const Node& node);
    void emitMaxPool(const Node& node);
    void emitAveragePool(const Node& node);
    void emitCopy(const Node& node);
    void emitTable(const Node& node);
    void emitConcat(const Node& node, bool qlinear);
    void emitClipF32(const Node& node);

    // Pads {top, left, bottom, right} of a 2-D window op, from `pads` or `auto_pad` and the planned shapes.
    std::array<int64_t, 4> pads4(const Node& node, const Shape& in, const Shape& out, const std::vector<int64_t>& k,
                                 const std::vector<int64_t>& strides, const std::vector<int64_t>& dil)
    {
        const std::string autoPad = node.attrString("auto_pad", "NOTSET");
        if (autoPad == "NOTSET") {
            const std::vector<int64_t> pads = node.attrInts("pads", {0, 0, 0, 0});
            if (pads.size() != 4) throw ExportError(where(node) + ": pads must have 4 values");
            return {pads[0], pads[1], pads[2], pads[3]};
        }
        if (autoPad == "VALID") return {0, 0, 0, 0};
        std::array<int64_t, 4> p{};
        for (int d = 0; d < 2; ++d) {
            const int64_t total = std::max<int64_t>(0, (out[2 + d] - 1) * strides[d] + (k[d] - 1) * dil[d] + 1 - in[2 + d]);
            p[d] = autoPad == "SAME_LOWER" ? (total + 1) / 2 : total / 2;
            p[2 + d] = total - p[d];
        }
        return p;
    }
    std::pair<int64_t, int64_t> pads2d(const Node& node, const Shape& in, const Shape& out, const std::vector<int64_t>& k,
                                       const std::vector<int64_t>& strides, const std::vector<int64_t>& dil)
    {
        const auto p = pads4(node, in, out, k, strides, dil);
        return {p[0], p[1]};
    }

    const std::vector<Graph>& stages_;
    const adaptive::Policy* policy_;
    COptions options_;
    std::string name_;
    std::vector<Stage> stageData_;
    size_t stage_ = 0;
    int step_ = 0;
    std::map<std::string, CValue> values_;
    std::vector<rt::BufferRequest> requests_;
    std::ostringstream consts_, body_;
    struct Need {
        std::string file, variant, xvariant, xtype, ytype;
        bool operator<(const Need& o) const { return std::tie(file, variant) < std::tie(o.file, o.variant); }
    };
    std::set<Need> needed_;
    std::vector<std::string> kernelNames_;
    int symbols_ = 0;
    int64_t constBytes_ = 0, weightBytes_ = 0;
    // The model input's interface quantization (NAME_run's codes), from the first QuantizeLinear of it.
    std::optional<std::pair<float, int32_t>> inputQuant_;
    std::string modelInput_;
};

void Generator::emitNode(const Node& node)
{
    const std::string& op = node.opType;
    const std::string& d = node.domain;
    const bool onnx = d.empty() || d == "ai.onnx";
    if (op == "QuantizeLinear" && onnx) emitQuantize(node);
    else if (op == "DequantizeLinear" && onnx) emitDequantize(node);
    else if (op == "QLinearConv" && (onnx || d == "ai.joule")) emitConv(node);
    else if (op == "QGemm" && (d == "com.microsoft" || d == "ai.joule")) emitGemm(node, false);
    else if (op == "QLinearMatMul" && onnx) emitGemm(node, true);
    else if (op == "QLinearAdd" && (d == "com.microsoft" || d == "ai.joule")) emitAdd(node);
    else if (op == "QLinearGlobalAveragePool" && d == "com.microsoft") emitGlobalAveragePool(node);
    else if (op == "MaxPool" && onnx) emitMaxPool(node);
    else if (op == "QLinearAveragePool" && (d == "com.microsoft" || d == "ai.joule")) emitAveragePool(node);
    else if ((op == "Flatten" || op == "Reshape" || op == "Squeeze" || op == "Unsqueeze" || op == "Identity" || op == "Dropout") && onnx) emitCopy(node);
    else if ((op == "QClamp" || op == "QLookup") && d == "ai.joule") emitTable(node);
    else if ((op == "QLinearLeakyRelu" || op == "QLinearSigmoid") && d == "com.microsoft") emitTable(node);
    else if (op == "QLinearConcat" && (d == "com.microsoft" || d == "ai.joule")) emitConcat(node, true);
    else if (op == "Concat" && onnx) emitConcat(node, false);
    else if ((op == "Relu" || op == "Clip") && onnx) emitClipF32(node);
    else
        throw ExportError(where(node) + ": the C export has no kernel for " + (d.empty() ? "" : d + ".") + op +
                          " (it exports int8 QLinearConv, QGemm, QLinearMatMul, QLinearAdd, QLinearGlobalAveragePool, QLinearAveragePool, "
                          "QLinearConcat, MaxPool, the lookup-table activations, Quantize/DequantizeLinear, Flatten/Reshape and float Relu/Clip)");
}

void Generator::emitQuantize(const Node& node)
{
    const CValue x = value(node, 0);
    const float scale = scalarScale(node, 1, "y_scale");
    const int32_t zp = zeroPoint(node, 2);
    const CValue& y = output(node, 0);
    if (x.dtype != DataType::Float32 || !isCode(y.dtype)) throw ExportError(where(node) + ": only float32 to uint8/int8 is exported");
    const std::string fn = "jk_quantize_" + quantizer(y.dtype);
    const std::string n = std::to_string(y.numel());
    const std::string args = ", " + n + ", " + floatLiteral(scale) + ", " + std::to_string(zp) + ", " +
                             std::to_string(typeMin(y.dtype)) + ", " + std::to_string(typeMax(y.dtype)) + ");";
    if (x.kind != CValue::Kind::ModelInput) {
        line(fn + "(" + ptr(x) + ", " + ptr(y) + args);
        return;
    }
    // The model input: from floats (NAME_run_f32), or from NAME_run's int8 codes.
    if (!inputQuant_) inputQuant_ = {scale, y.dtype == DataType::UInt8 ? zp - 128 : zp};
    line("if (xf) {");
    line("    " + fn + "(xf, " + ptr(y) + args);
    line("} else {");
    line("    int32_t i;");
    const int32_t shift = y.dtype == DataType::UInt8 ? 128 : 0;
    if (inputQuant_->first == scale && inputQuant_->second == zp - shift) {
        line("    for (i = 0; i < " + n + "; ++i) " + ptr(y) + "[i] = (" + ctype(y.dtype) + ")((int32_t)xq[i] + " + std::to_string(shift) + ");");
    } else {
        // This stage quantizes the input with other parameters than the first: from the codes' values.
        line("    for (i = 0; i < " + n + "; ++i) {");
        line("        const float v = (float)((int32_t)xq[i] - " + name_ + "_INPUT_ZERO_POINT) * " + name_ + "_INPUT_SCALE;");
        line("        " + fn + "(&v, " + ptr(y) + " + i, 1, " + floatLiteral(scale) + ", " + std::to_string(zp) + ", " +
             std::to_string(typeMin(y.dtype)) + ", " + std::to_string(typeMax(y.dtype)) + ");");
        line("    }");
    }
    line("}");
}

void Generator::emitDequantize(const Node& node)
{
    const CValue x = value(node, 0);
    const float scale = scalarScale(node, 1, "x_scale");
    const int32_t zp = zeroPoint(node, 2);
    const CValue& y = output(node, 0);
    if (!isCode(x.dtype) || x.kind == CValue::Kind::ModelInput) throw ExportError(where(node) + ": only computed uint8/int8 codes are dequantized");
    const std::string v = kernel("dequantize", x.dtype);
    line("jk_dequantize_" + v + "(" + ptr(x) + ", " + ptr(y) + ", " + std::to_string(y.numel()) + ", " + floatLiteral(scale) + ", " +
         std::to_string(zp) + ");");
}

void Generator::emitConv(const Node& node)
{
    const CValue x = value(node, 0);
    const float sx = scalarScale(node, 1, "x_scale");
    const int32_t zx = zeroPoint(node, 2);
    const Tensor& w = constant(node, 3, "w");
    if (w.dtype() != DataType::Int8) throw ExportError(where(node) + ": weights must be int8");
    if (w.rank() != 4 || x.shape.size() != 4 || x.shape[0] != 1) throw ExportError(where(node) + ": only 2-D convolution of one image (NCHW, N = 1) is exported");
    const int64_t cout = w.dim(0);
    const std::vector<float> sw = scales(node, 4, cout, "w_scale");
    const std::vector<int32_t> zw = zeroPoints(node, 5, cout);
    const float sy = scalarScale(node, 6, "y_scale");
    const int32_t zy = zeroPoint(node, 7);
    std::string bias = "NULL";
    if (node.hasInput(8)) {
        const Tensor& b = constant(node, 8, "B");
        if (b.dtype() != DataType::Int32 || b.numel() != cout) throw ExportError(where(node) + ": B must be int32 with one value per output channel");
        bias = value(node, 8).symbol;
    }
    const CValue wv = value(node, 3);
    const CValue& y = output(node, 0);
    const std::vector<int64_t> k = node.attrInts("kernel_shape", {w.dim(2), w.dim(3)});
    const std::vector<int64_t> strides = node.attrInts("strides", {1, 1}), dil = node.attrInts("dilations", {1, 1});
    if (k.size() != 2 || strides.size() != 2 || dil.size() != 2) throw ExportError(where(node) + ": only 2-D kernels are exported");
    const auto [padTop, padLeft] = pads2d(node, x.shape, y.shape, k, strides, dil);
    std::vector<double> reals;
    for (float s : sw) reals.push_back(static_cast<double>(sx) * static_cast<double>(s) / static_cast<double>(sy));
    const auto [mult, shift] = requantizers(reals, node);
    std::string wzp = "NULL";
    if (std::any_of(zw.begin(), zw.end(), [](int32_t z) { return z != 0; })) {
        std::vector<int32_t> full(static_cast<size_t>(cout));
        for (int64_t m = 0; m < cout; ++m) full[static_cast<size_t>(m)] = zw.size() == 1 ? zw[0] : zw[static_cast<size_t>(m)];
        wzp = array("wzp", "int32_t", full);
    }
    // The clamp exactly as the studio's kernel reads it.
    const rt::QuantClamp clamp = rt::quantClampOf(node, y.dtype);
    const int32_t lo = clamp.lo, hi = clamp.hi;
    const std::string p = newSymbol("conv");
    std::ostringstream s;
    s << "static const jk_conv " << p << " = {" << x.shape[1] << ", " << x.shape[2] << ", " << x.shape[3] << ", " << y.shape[1] << ", "
      << y.shape[2] << ", " << y.shape[3] << ", " << node.attrInt("group", 1) << ",\n    " << k[0] << ", " << k[1] << ", " << strides[0]
      << ", " << strides[1] << ", " << padTop << ", " << padLeft << ", " << dil[0] << ", " << dil[1] << ",\n    " << zx << ", " << zy
      << ", " << lo << ", " << hi << ", " << (sw.size() > 1 ? 1 : 0) << ",\n    " << wv.symbol << ", " << wzp << ", " << bias << ", "
      << mult << ", " << shift << "};\n";
    consts_ << s.str();
    if (!isCode(x.dtype) || !isCode(y.dtype)) throw ExportError(where(node) + ": x and y must be uint8 or int8");
    requantKernels();
    plainKernel("conv_types");
    const std::string v = kernel("conv", x.dtype, y.dtype);
    line("jk_qconv_" + v + "(&" + p + ", " + ptr(x) + ", " + ptr(y) + ");");
}

void Generator::emitGemm(const Node& node, bool matmul)
{
    const CValue a = value(node, 0);
    if (!isCode(a.dtype) || a.shape.size() != 2) throw ExportError(where(node) + ": A must be a 2-D uint8/int8 tensor");
    const float sa = scalarScale(node, 1, "a_scale");
    const int32_t za = zeroPoint(node, 2);
    const Tensor& b = constant(node, 3, "B");
    if (b.dtype() != DataType::Int8 || b.rank() != 2) throw ExportError(where(node) + ": B must be a constant 2-D int8 tensor");
    const bool transA = !matmul && node.attrInt("transA", 0) != 0, transB = !matmul && node.attrInt("transB", 0) != 0;
    const int64_t M = transA ? a.shape[1] : a.shape[0], K = transA ? a.shape[0] : a.shape[1];
    const int64_t N = transB ? b.dim(0) : b.dim(1);
    const std::vector<float> sb = scales(node, 4, N, "b_scale");
    const std::vector<int32_t> zb = zeroPoints(node, 5, N);
    const double alpha = matmul ? 1.0 : static_cast<double>(node.attrFloat("alpha", 1.0f));
    std::string bias = "NULL";
    int biasMode = 0;
    const size_t yScaleInput = matmul ? 6 : 7;
    if (!matmul && node.hasInput(6)) {
        const Tensor& c = constant(node, 6, "C");
        if (c.dtype() != DataType::Int32) throw ExportError(where(node) + ": C must be int32");
        biasMode = c.numel() == 1 ? 1 : c.numel() == N ? 2 : c.numel() == M * N ? 3 : -1;
        if (biasMode < 0) throw ExportError(where(node) + ": C does not broadcast to [M, N]");
        bias = value(node, 6).symbol;
    }
    const bool quantized = node.hasInput(yScaleInput);
    const CValue bv = value(node, 3);
    const CValue& y = output(node, 0);
    std::string mult = "NULL", shift = "NULL", fscale = "NULL";
    int32_t zy = 0, lo = 0, hi = 0;
    if (quantized) {
        const float sy = scalarScale(node, yScaleInput, "y_scale");
        zy = zeroPoint(node, yScaleInput + 1);
        std::vector<double> reals;
        for (float s : sb) reals.push_back(matmul ? static_cast<double>(sa) * static_cast<double>(s) / static_cast<double>(sy)
                                                  : alpha * sa * static_cast<double>(s) / static_cast<double>(sy));
        std::tie(mult, shift) = requantizers(reals, node);
        const rt::QuantClamp clamp = rt::quantClampOf(node, y.dtype);
        lo = clamp.lo;
        hi = clamp.hi;
    } else {
        if (matmul) throw ExportError(where(node) + ": y_scale is required");
        std::vector<float> fs;
        for (float s : sb) fs.push_back(static_cast<float>(alpha * sa * static_cast<double>(s)));
        fscale = array("fscale", "float", fs);
    }
    std::string bzp = "NULL";
    if (std::any_of(zb.begin(), zb.end(), [](int32_t z) { return z != 0; })) {
        std::vector<int32_t> full(static_cast<size_t>(N));
        for (int64_t n = 0; n < N; ++n) full[static_cast<size_t>(n)] = zb.size() == 1 ? zb[0] : zb[static_cast<size_t>(n)];
        bzp = array("bzp", "int32_t", full);
    }
    const std::string p = newSymbol("gemm");
    std::ostringstream s;
    s << "static const jk_gemm " << p << " = {" << M << ", " << K << ", " << N << ", " << transA << ", " << transB << ", "
      << (sb.size() > 1 ? 1 : 0) << ",\n    " << za << ", " << zy << ", " << lo << ", " << hi << ", " << biasMode << ",\n    "
      << bv.symbol << ", " << bzp << ", " << bias << ", " << mult << ", " << shift << ", " << fscale << "};\n";
    consts_ << s.str();
    if (quantized) requantKernels();
    else plainKernel("common");
    plainKernel("gemm_types");
    kernel("gemm", a.dtype);
    if (quantized) {
        if (!isCode(y.dtype)) throw ExportError(where(node) + ": y must be uint8 or int8");
        const std::string v = kernel("gemm_q", a.dtype, y.dtype);
        line("jk_qgemm_" + v + "(&" + p + ", " + ptr(a) + ", " + ptr(y) + ");");
    } else {
        const std::string v = kernel("gemm_f", a.dtype);
        line("jk_qgemm_f32_" + v + "(&" + p + ", " + ptr(a) + ", " + ptr(y) + ");");
    }
}

void Generator::emitAdd(const Node& node)
{
    const CValue a = value(node, 0), b = value(node, 3);
    const double sa = scalarScale(node, 1, "A_scale"), sb = scalarScale(node, 4, "B_scale"), sc = scalarScale(node, 6, "C_scale");
    const int32_t za = zeroPoint(node, 2), zb = zeroPoint(node, 5), zc = zeroPoint(node, 7);
    const CValue& y = output(node, 0);
    if (!isCode(a.dtype) || a.dtype != b.dtype) throw ExportError(where(node) + ": A and B must both be uint8 or both int8");
    if (a.shape != b.shape) throw ExportError(where(node) + ": only same-shape inputs are exported (A " + shapeToString(a.shape) + ", B " + shapeToString(b.shape) + ")");
    // The kernel's constants, by the kernel's own computation.
    rt::AddRescaler rescale;
    try {
        rescale = rt::AddRescaler::fromScales(sa, sb, sc);
    } catch (const std::invalid_argument& e) {
        throw ExportError(where(node) + ": " + e.what());
    }
    const int shift = rescale.shift;
    const int64_t mulA = rescale.mulA, mulB = rescale.mulB;
    const rt::QuantClamp clamp = rt::quantClampOf(node, y.dtype);
    const int32_t lo = clamp.lo, hi = clamp.hi;
    plainKernel("common");
    plainKernel("shift");
    const std::string v = kernel("add", a.dtype);
    line("jk_qadd_" + v + "(" + ptr(a) + ", " + ptr(b) + ", " + ptr(y) + ", " + std::to_string(y.numel()) + ", " + std::to_string(za) +
         ", " + std::to_string(zb) + ", " + std::to_string(mulA) + ", " + std::to_string(mulB) + ", " + std::to_string(shift) + ", " +
         std::to_string(zc) + ", " + std::to_string(lo) + ", " + std::to_string(hi) + ");");
}

void Generator::emitGlobalAveragePool(const Node& node)
{
    const CValue x = value(node, 0);
    if (node.attrInt("channels_last", 0) != 0) throw ExportError(where(node) + ": channels_last = 1 is not exported");
    if (!isCode(x.dtype) || x.shape.size() < 3 || x.shape[0] != 1) throw ExportError(where(node) + ": x must be uint8/int8 [1, C, ...]");
    const float sx = scalarScale(node, 1, "x_scale"), sy = scalarScale(node, 3, "y_scale");
    const int32_t zx = zeroPoint(node, 2), zy = zeroPoint(node, 4);
    const CValue& y = output(node, 0);
    int64_t spatial = 1;
    for (size_t d = 2; d < x.shape.size(); ++d) spatial *= x.shape[d];
    const rt::Requantizer q = requantizer(static_cast<double>(sx) / (static_cast<double>(sy) * static_cast<double>(spatial)), node);
    requantKernels();
    const std::string v = kernel("global_average_pool", x.dtype);
    line("jk_qgap_" + v + "(" + ptr(x) + ", " + ptr(y) + ", " + std::to_string(x.shape[1]) + ", " + std::to_string(spatial) + ", " +
         std::to_string(zx) + ", " + std::to_string(zy) + ", " + std::to_string(q.multiplier) + ", " + std::to_string(q.shift) + ", " +
         std::to_string(typeMin(y.dtype)) + ", " + std::to_string(typeMax(y.dtype)) + ");");
}

void Generator::emitMaxPool(const Node& node)
{
    const CValue x = value(node, 0);
    if (node.outputs.size() > 1 && !node.outputs[1].empty()) throw ExportError(where(node) + ": the Indices output is not exported");
    const CValue& y = output(node, 0);
    if (!isCode(x.dtype)) throw ExportError(where(node) + ": only MaxPool on uint8/int8 codes is exported (this one is " + dataTypeName(x.dtype) + ")");
    if (x.shape.size() != 4 || x.shape[0] != 1) throw ExportError(where(node) + ": only 2-D pooling of one image (NCHW, N = 1) is exported");
    const std::vector<int64_t> k = node.attrInts("kernel_shape");
    const std::vector<int64_t> strides = node.attrInts("strides", {1, 1}), dil = node.attrInts("dilations", {1, 1});
    if (k.size() != 2 || strides.size() != 2 || dil.size() != 2) throw ExportError(where(node) + ": only 2-D kernels are exported");
    const auto [padTop, padLeft] = pads2d(node, x.shape, y.shape, k, strides, dil);
    const std::string p = newSymbol("pool");
    std::ostringstream s;
    s << "static const jk_pool " << p << " = {" << x.shape[1] << ", " << x.shape[2] << ", " << x.shape[3] << ", " << y.shape[2] << ", "
      << y.shape[3] << ", " << k[0] << ", " << k[1] << ", " << strides[0] << ", " << strides[1] << ", " << padTop << ", " << padLeft
      << ", " << dil[0] << ", " << dil[1] << "};\n";
    consts_ << s.str();
    plainKernel("pool_types");
    const std::string v = kernel("max_pool", x.dtype);
    line("jk_maxpool_" + v + "(&" + p + ", " + ptr(x) + ", " + ptr(y) + ");");
}

void Generator::emitAveragePool(const Node& node)
{
    const CValue x = value(node, 0);
    if (node.attrInt("channels_last", 0) != 0) throw ExportError(where(node) + ": channels_last = 1 is not exported");
    if (!isCode(x.dtype) || x.shape.size() != 4 || x.shape[0] != 1) throw ExportError(where(node) + ": x must be uint8/int8 [1, C, H, W]");
    const double sx = scalarScale(node, 1, "x_scale"), sy = scalarScale(node, 3, "y_scale");
    const int32_t zx = zeroPoint(node, 2), zy = zeroPoint(node, 4);
    const CValue& y = output(node, 0);
    const std::vector<int64_t> k = node.attrInts("kernel_shape");
    const std::vector<int64_t> strides = node.attrInts("strides", {1, 1}), dil = node.attrInts("dilations", {1, 1});
    if (k.size() != 2 || strides.size() != 2 || dil.size() != 2) throw ExportError(where(node) + ": only 2-D kernels are exported");
    const auto pads = pads4(node, x.shape, y.shape, k, strides, dil);
    const bool includePad = node.attrInt("count_include_pad", 0) != 0;
    // The taps the studio divides by, per output position: inside the input, or (count_include_pad)
    // inside the input and its explicit padding, per dimension, multiplied.
    const auto counted = [&](int d, int64_t o) {
        int64_t n = 0;
        for (int64_t t = 0; t < k[d]; ++t) {
            const int64_t pos = o * strides[d] - pads[d] + t * dil[d];
            n += includePad ? (pos >= -pads[d] && pos < x.shape[2 + d] + pads[2 + d]) : (pos >= 0 && pos < x.shape[2 + d]);
        }
        return n;
    };
    std::vector<double> reals;
    for (int64_t oy = 0; oy < y.shape[2]; ++oy)
        for (int64_t ox = 0; ox < y.shape[3]; ++ox) {
            const int64_t n = counted(0, oy) * counted(1, ox);
            reals.push_back(n > 0 ? sx / (sy * static_cast<double>(n)) : 0.0);
        }
    const auto [mult, shift] = requantizers(reals, node);
    const rt::QuantClamp clamp = rt::quantClampOf(node, y.dtype);
    const int32_t lo = clamp.lo, hi = clamp.hi;
    const std::string p = newSymbol("pool");
    std::ostringstream s;
    s << "static const jk_pool " << p << " = {" << x.shape[1] << ", " << x.shape[2] << ", " << x.shape[3] << ", " << y.shape[2] << ", "
      << y.shape[3] << ", " << k[0] << ", " << k[1] << ", " << strides[0] << ", " << strides[1] << ", " << pads[0] << ", " << pads[1]
      << ", " << dil[0] << ", " << dil[1] << "};\n";
    consts_ << s.str();
    requantKernels();
    plainKernel("pool_types");
    const std::string v = kernel("average_pool", x.dtype);
    line("jk_avgpool_" + v + "(&" + p + ", " + ptr(x) + ", " + ptr(y) + ", " + std::to_string(zx) + ", " + std::to_string(zy) + ", " + mult +
         ", " + shift + ", " + std::to_string(lo) + ", " + std::to_string(hi) + ");");
}

void Generator::emitCopy(const Node& node)
{
    const CValue x = value(node, 0);
    for (size_t i = 1; i < node.inputs.size(); ++i)
        if (node.hasInput(i) && !session().constantValue(node.inputs[i])) throw ExportError(where(node) + ": input " + std::to_string(i) + " must be a constant");
    const CValue& y = output(node, 0);
    if (x.kind == CValue::Kind::ModelInput) throw ExportError(where(node) + ": reads the model input directly (only QuantizeLinear may)");
    line("memcpy(" + ptr(y) + ", " + ptr(x) + ", " + std::to_string(storageBytes(y.dtype, y.numel())) + ");");
}

void Generator::emitTable(const Node& node)
{
    const CValue x = value(node, 0);
    if (!isCode(x.dtype)) throw ExportError(where(node) + ": X must be uint8 or int8");
    // The table is the studio's own: the same kernel run on all 256 codes.
    Graph g;
    g.opsetImports = session().graph().opsetImports;
    ValueInfo codesInfo;
    codesInfo.name = "codes";
    codesInfo.dtype = x.dtype;
    codesInfo.shape = {256};
    g.addInput(codesInfo);
    Node n = node;
    n.inputs[0] = "codes";
    n.outputs = {"table"};
    for (size_t i = 1; i < n.inputs.size(); ++i)
        if (n.hasInput(i)) g.setInitializer(n.inputs[i], constant(node, i, "parameter").clone());
    g.addNode(n);
    ValueInfo tableInfo = codesInfo;
    tableInfo.name = "table";
    g.addOutput(tableInfo);
    Tensor codes(x.dtype, {256});
    for (int i = 0; i < 256; ++i) {
        if (x.dtype == DataType::UInt8) codes.data<uint8_t>()[i] = static_cast<uint8_t>(i);
        else codes.data<int8_t>()[i] = static_cast<int8_t>(i - 128);
    }
    rt::Session s(g);
    const Tensor table = s.run({{"codes", codes}}).at("table");
    const std::string sym = x.dtype == DataType::UInt8
        ? array("table", "uint8_t", std::vector<uint8_t>(table.data<uint8_t>(), table.data<uint8_t>() + 256))
        : array("table", "int8_t", std::vector<int8_t>(table.data<int8_t>(), table.data<int8_t>() + 256));
    const CValue& y = output(node, 0);
    const std::string v = kernel("lookup", x.dtype);
    line("jk_lookup_" + v + "(" + ptr(x) + ", " + ptr(y) + ", " + std::to_string(y.numel()) + ", " + sym + ", " +
         (x.dtype == DataType::Int8 ? "128" : "0") + ");");
}

void Generator::emitConcat(const Node& node, bool qlinear)
{
    // QLinearConcat: Y_scale, Y_zero_point, then (X_i, X_i_scale, X_i_zero_point) triples.
    std::vector<CValue> xs;
    std::vector<std::string> tables;
    float sy = 1;
    int32_t zy = 0;
    if (qlinear) {
        sy = scalarScale(node, 0, "Y_scale");
        zy = zeroPoint(node, 1);
        if ((node.inputs.size() - 2) % 3 != 0 || node.inputs.size() < 5) throw ExportError(where(node) + ": inputs must be Y_scale, Y_zero_point, then triples");
        for (size_t i = 2; i < node.inputs.size(); i += 3) xs.push_back(value(node, i));
    } else {
        for (size_t i = 0; i < node.inputs.size(); ++i) xs.push_back(value(node, i));
    }
    const CValue& y = output(node, 0);
    if (!isCode(y.dtype)) throw ExportError(where(node) + ": only Concat of uint8/int8 codes is exported");
    const int64_t rank = static_cast<int64_t>(y.shape.size());
    int64_t axis = node.attrInt("axis", 1);
    if (axis < 0) axis += rank;
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= y.shape[static_cast<size_t>(d)];
    const bool fused = node.domain == "ai.joule";
    const rt::QuantClamp clamp = rt::quantClampOf(node, y.dtype);
    const int32_t lo = clamp.lo, hi = clamp.hi;
    std::vector<std::string> inputPtrs, tablePtrs;
    std::vector<int32_t> inner;
    for (size_t i = 0; i < xs.size(); ++i) {
        if (xs[i].dtype != y.dtype) throw ExportError(where(node) + ": every input must have the output's type");
        inputPtrs.push_back(ptr(xs[i]));
        inner.push_back(static_cast<int32_t>(xs[i].numel() / std::max<int64_t>(outer, 1)));
        if (!qlinear) {
            tablePtrs.push_back("NULL");
            continue;
        }
        const float sx = scalarScale(node, 3 + 3 * i, "X_scale");
        const int32_t zx = zeroPoint(node, 4 + 3 * i);
        if (!fused && sx == sy && zx == zy) {
            tablePtrs.push_back("NULL");
            continue;
        }
        const rt::Requantizer q = requantizer(static_cast<double>(sx) / static_cast<double>(sy), node);
        std::vector<int32_t> t(256);
        for (int c = 0; c < 256; ++c) {
            const int32_t code = y.dtype == DataType::UInt8 ? c : c - 128;
            const int64_t r = q.apply(code - zx) + zy;
            t[static_cast<size_t>(c)] = std::clamp<int32_t>(static_cast<int32_t>(std::clamp<int64_t>(r, typeMin(y.dtype), typeMax(y.dtype))), lo, hi);
        }
        tablePtrs.push_back(y.dtype == DataType::UInt8 ? array("table", "uint8_t", std::vector<uint8_t>(t.begin(), t.end()))
                                                       : array("table", "int8_t", std::vector<int8_t>(t.begin(), t.end())));
    }
    const std::string ct = ctype(y.dtype);
    const std::string ins = newSymbol("inputs"), tabs = newSymbol("tables");
    line("{");
    std::string list;
    for (size_t i = 0; i < inputPtrs.size(); ++i) list += (i ? ", " : "") + inputPtrs[i];
    line("    const " + ct + " *const " + ins + "[" + std::to_string(xs.size()) + "] = {" + list + "};");
    list.clear();
    for (size_t i = 0; i < tablePtrs.size(); ++i) list += (i ? ", " : "") + tablePtrs[i];
    line("    const " + ct + " *const " + tabs + "[" + std::to_string(xs.size()) + "] = {" + list + "};");
    const std::string innerSym = array("inner", "int32_t", inner);
    const std::string v = kernel("concat", y.dtype);
    line("    jk_concat_" + v + "(" + ins + ", " + tabs + ", " + innerSym + ", " + std::to_string(xs.size()) + ", " + std::to_string(outer) +
         ", " + (y.dtype == DataType::Int8 ? "128" : "0") + ", " + ptr(y) + ");");
    line("}");
}

void Generator::emitClipF32(const Node& node)
{
    const CValue x = value(node, 0);
    if (x.dtype != DataType::Float32 || x.kind == CValue::Kind::ModelInput) throw ExportError(where(node) + ": only float Relu/Clip of a computed value is exported");
    float lo = 0.0f, hi = std::numeric_limits<float>::max();
    if (node.opType == "Clip") {
        lo = node.hasInput(1) ? constant(node, 1, "min").data<float>()[0] : node.attrFloat("min", -std::numeric_limits<float>::max());
        hi = node.hasInput(2) ? constant(node, 2, "max").data<float>()[0] : node.attrFloat("max", std::numeric_limits<float>::max());
    }
    const CValue& y = output(node, 0);
    plainKernel("relu_f32");
    line("jk_clip_f32(" + ptr(x) + ", " + ptr(y) + ", " + std::to_string(y.numel()) + ", " + floatLiteral(lo) + ", " + floatLiteral(hi) + ");");
}

CModel Generator::run()
{
    if (!isCIdentifier(name_)) throw ExportError("'" + name_ + "' is not a C identifier (letters, digits and '_', not starting with a digit)");
    if (stages_.empty()) throw ExportError("nothing to export: no graph");
    if (stages_.size() > 1 && !policy_) throw ExportError("several graphs need a policy (cascade or early exit)");
    if (policy_ && policy_->stages.size() != stages_.size())
        throw ExportError("the policy has " + std::to_string(policy_->stages.size()) + " stages for " + std::to_string(stages_.size()) + " graphs");
    const bool earlyExit = policy_ && policy_->kind == adaptive::PolicyKind::EarlyExit;
    int64_t inputSize = 0, outputSize = 0;
    DataType outputType = DataType::Undefined;
    Shape carryShape;
    DataType carryType = DataType::Undefined;
    std::vector<std::string> stageLogits;
    for (stage_ = 0; stage_ < stages_.size(); ++stage_) {
        const Graph& g = stages_[stage_];
        Graph lowered = rt::hasQdq(g) ? rt::lowerQdq(g) : g;
        const std::vector<ValueInfo> ins = lowered.requiredInputs();
        if (ins.size() != 1) throw ExportError("stage " + std::to_string(stage_) + " has " + std::to_string(ins.size()) + " inputs; the C export takes models with one");
        if (lowered.outputs().empty()) throw ExportError("stage " + std::to_string(stage_) + " has no output");
        const ValueInfo& in = ins.front();
        Shape shape = in.shape;
        for (int64_t& d : shape) if (d <= 0) d = 1;
        DataType inType = in.dtype;
        const bool fromCarry = earlyExit && stage_ > 0;
        if (fromCarry) {
            shape = carryShape;
            inType = carryType;
        } else if (in.dtype != DataType::Float32) {
            throw ExportError("input '" + in.name + "' is " + dataTypeName(in.dtype) + "; the C export takes a float32 model input");
        }
        try {
            stageData_.push_back({std::make_unique<rt::Session>(std::move(lowered)), {}});
            session().prepare({{in.name, Tensor(inType, shape)}});
        } catch (const ExportError&) {
            throw;
        } catch (const std::exception& e) {
            throw ExportError("stage " + std::to_string(stage_) + ": " + e.what());
        }
        if (fromCarry) {
            // The segment reads the previous segment's carry (its second output).
            const std::string prev = std::to_string(stage_ - 1) + ":" + stages_[stage_ - 1].outputs().at(1).name;
            values_[key(in.name)] = values_.at(prev);
        } else {
            values_[key(in.name)] = CValue{.kind = CValue::Kind::ModelInput, .dtype = DataType::Float32, .shape = shape, .buffer = 0, .symbol = {}};
            if (inputSize && inputSize != elementCount(shape)) throw ExportError("the stages take inputs of different sizes");
            inputSize = elementCount(shape);
            modelInput_ = in.name;
        }
        body_ << "    /* stage " << stage_ << (policy_ ? " (" + policy_->stages[stage_].name + ")" : std::string()) << " */\n";
        for (const rt::PlannedStep& st : session().steps()) {
            emitNode(session().graph().nodes()[static_cast<size_t>(st.node)]);
            ++step_;
        }
        const Graph& sg = session().graph();
        const std::string logits = sg.outputs().front().name;
        auto it = values_.find(key(logits));
        if (it == values_.end() || it->second.kind != CValue::Kind::Arena) throw ExportError("stage " + std::to_string(stage_) + ": output '" + logits + "' is not computed");
        CValue& out = it->second;
        requests_[out.buffer].lastStep = step_;   // read by the stopping rule / the copy to the caller
        if (outputSize && (outputSize != out.numel() || outputType != out.dtype)) throw ExportError("the stages' outputs differ in size or type");
        outputSize = out.numel();
        outputType = out.dtype;
        if (out.dtype != DataType::Float32)
            throw ExportError("output '" + logits + "' is " + dataTypeName(out.dtype) + "; the C export takes models whose output is float32 (logits or scores)");
        stageLogits.push_back(key(logits));
        if (earlyExit && stage_ + 1 < stages_.size()) {
            if (sg.outputs().size() < 2) throw ExportError("early-exit segment " + std::to_string(stage_) + " has no carry output");
            const CValue& carry = values_.at(key(sg.outputs()[1].name));
            carryShape = carry.shape;
            carryType = carry.dtype;
        }
        // The stopping rule, or the answer.
        body_ << "    @ANSWER" << stage_ << "@\n";
        ++step_;
    }
    if (!inputQuant_) inputQuant_ = {1.0f, 0};   // a float model input read without quantization: never reached (refused above)
    const float outScale = options_.outputScale;
    const int32_t outZp = options_.outputZeroPoint;
    if (!(outScale > 0.0f) || !std::isfinite(outScale) || outZp < -128 || outZp > 127) {
        throw ExportError("the output quantization (scale " + std::to_string(outScale) + ", zero point " + std::to_string(outZp) + ") is invalid");
    }

    // Answers: copy the stage's output to the caller, or test the rule first.
    std::string bodyText = body_.str();
    const std::string N = std::to_string(outputSize);
    for (size_t s = 0; s < stages_.size(); ++s) {
        const CValue& out = values_.at(stageLogits[s]);
        std::ostringstream a;
        const std::string p = ptr(out);
        const std::string answer = "if (yf) memcpy(yf, " + p + ", " + std::to_string(outputSize * 4) + "); else jk_quantize_i8(" + p + ", yq, " + N +
                                   ", " + name_ + "_OUTPUT_SCALE, " + name_ + "_OUTPUT_ZERO_POINT, -128, 127); return " + std::to_string(s) + ";";
        if (policy_ && s + 1 < stages_.size()) {
            const std::vector<double>& t = policy_->thresholds.at(s);
            std::string test;
            switch (policy_->rule) {
            case adaptive::StopRule::MaxProb: test = "sc.top1 >= " + floatLiteral(static_cast<float>(t.at(0))); break;
            case adaptive::StopRule::Margin: test = "sc.margin >= " + floatLiteral(static_cast<float>(t.at(0))); break;
            case adaptive::StopRule::Entropy: test = "sc.entropy <= " + floatLiteral(static_cast<float>(t.at(0))); break;
            case adaptive::StopRule::ClassMaxProb: {
                if (static_cast<int64_t>(t.size()) != outputSize) throw ExportError("class_max_prob needs one threshold per class");
                std::vector<float> tf;
                for (double v : t) tf.push_back(static_cast<float>(v));
                test = "sc.top1 >= " + array("thresholds", "float", tf) + "[sc.prediction]";
                break;
            }
            }
            a << "{\n        float prob[" << N << "];\n        const jk_score sc = jk_score_row(" << p << ", " << N << ", prob);\n"
              << "        if (" << test << ") { " << answer << " }\n    }";
        } else {
            a << answer;
        }
        replaceAll(bodyText, "@ANSWER" + std::to_string(s) + "@", a.str());
    }
    quantizer(DataType::Int8);   // NAME_quantize_input, and NAME_run's output when it is float
    if (policy_) plainKernel("score");

    // The arena, placed by the studio's planner.
    const rt::MemoryPlan plan = rt::planMemory(requests_, 8);
    for (size_t b = 0; b < requests_.size(); ++b) replaceAll(bodyText, "@B" + std::to_string(b) + "@", std::to_string(plan.offsets[b]));

    CModel m;
    m.arenaBytes = static_cast<int64_t>(std::max<size_t>(plan.arenaBytes, 8));
    m.constBytes = constBytes_;
    m.weightBytes = weightBytes_;
    m.inputSize = inputSize;
    m.outputSize = outputSize;
    m.inputScale = inputQuant_->first;
    m.inputZeroPoint = inputQuant_->second;
    m.outputScale = outScale;
    m.outputZeroPoint = outZp;
    const std::string kernelCode = kernelsText();
    m.kernels = kernelNames_;

    const std::string guard = [&] { std::string g = name_; std::transform(g.begin(), g.end(), g.begin(), ::toupper); return g + "_H"; }();
    std::ostringstream h;
    h << "/* " << name_ << ".h: generated by Joule Studio's C export. Standalone C99: include it, compile " << name_ << ".c.\n"
      << " * Bit-exact with the studio's integer engine when compiled without fused multiply-adds\n"
      << " * (-std=c99, or -ffp-contract=off): IEEE float, no excess precision. */\n"
      << "#ifndef " << guard << "\n#define " << guard << "\n\n#include <stdint.h>\n\n"
      << "#define " << name_ << "_INPUT_SIZE " << inputSize << "    /* elements */\n"
      << "#define " << name_ << "_OUTPUT_SIZE " << outputSize << "\n"
      << "#define " << name_ << "_ARENA_BYTES " << m.arenaBytes << "    /* the one static arena */\n"
      << "#define " << name_ << "_STAGES " << stages_.size() << "\n"
      << "/* int8 codes of " << name_ << "_run: real = (code - ZERO_POINT) * SCALE */\n"
      << "#define " << name_ << "_INPUT_SCALE " << floatLiteral(m.inputScale) << "\n"
      << "#define " << name_ << "_INPUT_ZERO_POINT " << m.inputZeroPoint << "\n"
      << "#define " << name_ << "_OUTPUT_SCALE " << floatLiteral(m.outputScale) << "\n"
      << "#define " << name_ << "_OUTPUT_ZERO_POINT " << m.outputZeroPoint << "\n\n"
      << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
      << "/* Runs the model on " << name_ << "_INPUT_SIZE int8 codes; writes " << name_ << "_OUTPUT_SIZE int8 codes. Returns the\n"
      << " * stage (or exit) that answered, 0 for a plain model. Not reentrant: one static arena. */\n"
      << "int " << name_ << "_run(const int8_t *input, int8_t *output);\n"
      << "/* The same from floats: quantizes the input as the studio does, writes the model's float output. */\n"
      << "int " << name_ << "_run_f32(const float *input, float *output);\n"
      << "/* The int8 codes " << name_ << "_run expects for these floats. */\n"
      << "void " << name_ << "_quantize_input(const float *input, int8_t *codes);\n\n"
      << "#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
    m.header = h.str();

    std::ostringstream c;
    c << "/* " << name_ << ".c: generated by Joule Studio's C export (see " << name_ << ".h). */\n"
      << "#include <stdint.h>\n#include <string.h>\n\n#include \"" << name_ << ".h\"\n\n"
      << "#ifndef NULL\n#define NULL ((void *)0)\n#endif\n\n"
      << "/* ---- kernels ---- */\n" << kernelCode
      << "/* ---- constants ---- */\n" << consts_.str() << "\n"
      << "/* ---- activations: one arena, offsets from the studio's memory planner ---- */\n"
      << "static union { uint8_t bytes[" << m.arenaBytes << "]; int64_t align; } " << name_ << "_arena;\n\n"
      << "static int " << name_ << "_forward(const float *xf, const int8_t *xq, float *yf, int8_t *yq)\n{\n"
      << bodyText << "}\n\n"
      << "int " << name_ << "_run(const int8_t *input, int8_t *output)\n{\n    return " << name_ << "_forward(NULL, input, NULL, output);\n}\n\n"
      << "int " << name_ << "_run_f32(const float *input, float *output)\n{\n    return " << name_ << "_forward(input, NULL, output, NULL);\n}\n\n"
      << "void " << name_ << "_quantize_input(const float *input, int8_t *codes)\n{\n";
    // The interface codes: the first stage's quantization of the input, as int8.
    c << "    jk_quantize_i8(input, codes, " << inputSize << ", " << name_ << "_INPUT_SCALE, " << name_ << "_INPUT_ZERO_POINT, -128, 127);\n}\n";
    m.source = c.str();
    return m;
}

} // namespace

bool isCIdentifier(const std::string& name)
{
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

CModel generateC(const std::vector<Graph>& stages, const adaptive::Policy* policy, const COptions& options)
{
    return Generator(stages, policy, options).run();
}

} // namespace joule::exporter
