#pragma once
// The kernel interface: one op implementation.
//
// A kernel is created per node when a Session is prepared. prepare() runs once per input-shape
// plan: it validates attributes and input types, computes output types and shapes, precomputes
// anything eval() needs (strides, quantization multipliers, packed weights) and may request scratch
// memory. eval() does the work on tensors that live in the session's arena; it must not allocate.
//
//   class Relu final : public Kernel {
//       void prepare(PrepareContext& ctx) override {
//           ctx.setOutput(0, ctx.input(0).dtype, ctx.input(0).shape);
//       }
//       void eval(EvalContext& ctx) override {
//           const float* x = ctx.input(0).data<float>();
//           float* y = ctx.output(0).data<float>();
//           for (int64_t i = 0, n = ctx.output(0).numel(); i < n; ++i) y[i] = x[i] > 0 ? x[i] : 0;
//       }
//   };
//   void register_relu(KernelRegistry& r) { r.add("Relu", "", {DataType::Float32}, make<Relu>); }
//
// Errors: throw UnsupportedError for a valid model using something this kernel does not implement
// (an attribute value, a data type), KernelError for an invalid model (bad shapes, bad attribute).
// The session prefixes both with the node at fault.

#include "ir/graph.h"

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace joule::rt {

class KernelError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class UnsupportedError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct TensorInfo {
    DataType dtype = DataType::Undefined;
    Shape shape;
    int rank() const { return static_cast<int>(shape.size()); }
    int64_t numel() const { return elementCount(shape); }
};

class PrepareContext {
public:
    virtual ~PrepareContext() = default;
    virtual const Node& node() const = 0;
    // Version of the default-domain opset the model imports (attribute semantics change with it).
    virtual int64_t opset() const = 0;
    virtual int threads() const = 0;

    size_t inputCount() const { return node().inputs.size(); }
    bool hasInput(size_t i) const { return node().hasInput(i); }
    // Type and shape of input i; throws KernelError if the input is omitted.
    virtual const TensorInfo& input(size_t i) const = 0;
    // The value of input i when it is known while preparing (an initializer, a constant-folded value,
    // or a graph input fed to this run), else nullptr. Shape-like inputs (Reshape's shape, Slice's
    // starts, ...) are read here; the session re-prepares when such a value changes.
    virtual const Tensor* constantInput(size_t i) = 0;
    // As constantInput, but throws UnsupportedError when the value is only known at run time.
    const Tensor& requireConstantInput(size_t i);

    size_t outputCount() const { return node().outputs.size(); }
    bool hasOutput(size_t i) const { return i < node().outputs.size() && !node().outputs[i].empty(); }
    virtual void setOutput(size_t i, DataType type, Shape shape) = 0;
    // Scratch memory available to eval() through EvalContext::scratch(); 64-byte aligned.
    virtual void requestScratch(size_t bytes) = 0;

    // Attribute shortcuts.
    int64_t attrInt(const std::string& k, int64_t d) const { return node().attrInt(k, d); }
    float attrFloat(const std::string& k, float d) const { return node().attrFloat(k, d); }
    std::string attrString(const std::string& k, const std::string& d) const { return node().attrString(k, d); }
    std::vector<int64_t> attrInts(const std::string& k, std::vector<int64_t> d = {}) const { return node().attrInts(k, std::move(d)); }
    std::vector<float> attrFloats(const std::string& k, std::vector<float> d = {}) const { return node().attrFloats(k, std::move(d)); }
    bool hasAttr(const std::string& k) const { return node().attribute(k) != nullptr; }
};

class EvalContext {
public:
    virtual ~EvalContext() = default;
    // Input i; an empty Tensor (dtype Undefined) when the input is omitted.
    virtual const Tensor& input(size_t i) const = 0;
    bool hasInput(size_t i) const { return !input(i).empty(); }
    virtual size_t inputCount() const = 0;
    // Output i, already allocated with the type and shape set in prepare(). Empty when omitted.
    virtual Tensor& output(size_t i) = 0;
    virtual size_t outputCount() const = 0;
    virtual void* scratch() = 0;
    virtual int threads() const = 0;
};

class Kernel {
public:
    virtual ~Kernel() = default;
    virtual void prepare(PrepareContext& ctx) = 0;
    virtual void eval(EvalContext& ctx) = 0;
    // Asked after prepare() when the node's only output feeds nothing but a Relu or a Clip with
    // constant bounds: return true to clamp the output to [lo, hi] yourself (the session then skips
    // the activation node and the two values share one buffer). The default declines.
    virtual bool fuseActivation(float lo, float hi) { (void)lo; (void)hi; return false; }
    // Asked after prepare() when the node's only output feeds nothing but an Add (a residual
    // connection) whose other input, `residual`, is computed earlier and has the output's type and
    // shape: return true to add it to the output yourself. eval() then finds it as one more input,
    // after the node's own (index inputCount() - 1 there), and the session skips the Add; a Relu or
    // Clip after the Add is then offered to fuseActivation(). When nothing reads the residual later,
    // the output gets the residual's buffer (the two tensors then share their data). The default
    // declines.
    virtual bool fuseResidualAdd(const TensorInfo& residual) { (void)residual; return false; }
    // True when the outputs depend only on the input shapes (Shape, Size): the session folds such
    // a node at prepare time even when its input values are computed at run time.
    virtual bool dependsOnlyOnInputShapes() const { return false; }
};

template <typename K> std::unique_ptr<Kernel> make() { return std::make_unique<K>(); }

// Runs fn(begin, end) over [0, n) split across the session's threads (inline when threads == 1
// or the work is small). fn must not allocate.
void parallelFor(int threads, int64_t n, int64_t minChunk, const std::function<void(int64_t, int64_t)>& fn);

} // namespace joule::rt
