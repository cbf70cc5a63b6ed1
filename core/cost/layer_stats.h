#pragma once
// What each layer of a model computes and stores, independent of any target.
//
//   joule::Graph g = joule::onnx::loadModel("m.onnx");
//   joule::cost::ModelStats s = joule::cost::analyzeModel(g);   // free dimensions = 1
//   for (const auto& l : s.layers) std::cout << l.name << " " << l.macs << "\n";
//
// Layers are the nodes the runtime executes, in execution order (nodes folded to constants at
// prepare time, e.g. Shape arithmetic or weight dequantization, are not layers). The counting rules
// are those of docs/cost-model.md section 3:
//   - MACs: one multiply-accumulate per weight use, e.g. Conv = N*Cout*Hout*Wout*(Cin/group)*Kh*Kw;
//   - patch elements: the size of the im2col matrix (MACs / (Cout/group) for Conv, batch*M*K for fc);
//   - pooling work = input elements read (outputs x window for windowed pools);
//   - Reshape/Flatten/Squeeze/... are free, and a BatchNormalization, Relu or Clip that a deployed
//     int8 runtime folds into its producer is marked `fusedInto` that layer (both cost nothing).
// `values` lists every activation buffer with its lifetime in layer steps, for the arena planner.

#include "ir/graph.h"
#include "runtime/session.h"

#include <map>
#include <random>
#include <string>
#include <vector>

namespace joule::cost {

enum class KernelClass { Conv, Depthwise, Pointwise, FullyConnected, Elementwise, Pooling, Free, Other };
// "conv", "depthwise", "pointwise", "fc", "elementwise", "pooling", "free", "other"
const char* kernelClassName(KernelClass k);
bool isMacClass(KernelClass k);   // conv, depthwise, pointwise, fc

struct LayerStats {
    int node = -1;                   // index into Graph::nodes()
    std::string name;                // node name (or its first output when unnamed)
    std::string op;
    KernelClass kernelClass = KernelClass::Other;   // Other = op outside the cost model's table
    DataType computeType = DataType::Float32;  // type of the main input
    std::vector<Shape> outputShapes;
    int64_t macs = 0;
    int64_t outputs = 0;             // elements of the first output
    int64_t patchElements = 0;       // im2col elements (MAC classes)
    int64_t elements = 0;            // element-wise work: output elements, or input reads for pooling
    int64_t params = 0;              // elements of constant inputs (weights, biases)
    int64_t weightBytes = 0;         // bytes of constant inputs in their stored types
    int64_t activationInBytes = 0;   // bytes of non-constant inputs
    int64_t activationOutBytes = 0;

    // MAC layers: the weight operand and what a deployed kernel stores with it.
    bool weightsConstant = false;    // the weight operand is an initializer (or folded constant)
    DataType weightType = DataType::Undefined;   // stored type (int8 behind a DequantizeLinear counts as int8)
    int64_t weightElements = 0;
    int64_t outChannels = 0;         // Cout (conv), N (fc): bias and requantization entries
    bool hasBias = false;            // a bias input, or a BatchNormalization folded into this layer
    // Other layers: constant operands (e.g. the scale of a Mul), kept in flash.
    int64_t constFloatElements = 0;  // floating constants (stored in the precision's element type)
    int64_t constOtherBytes = 0;     // integer constants, as stored

    int fusedInto = -1;              // layer index this one is folded into (kernelClass is Free)
};

// One activation buffer: a graph input or a computed value, alive over [firstStep, lastStep]
// (layer indices; graph inputs start at 0, graph outputs end at layers.size()).
struct ActivationValue {
    std::string name;
    DataType dtype = DataType::Float32;
    int64_t elements = 0;
    int firstStep = 0;
    int lastStep = 0;
    int aliasOf = -1;                // index of the value whose buffer this one shares (free/fused layers)
};

// kernelClassName(), or "fused" for a layer folded into its producer.
const char* layerClassName(const LayerStats& layer);

struct ModelStats {
    std::vector<LayerStats> layers;
    std::vector<ActivationValue> values;
    int64_t macs = 0;
    int64_t params = 0;              // all initializers of the graph
    int64_t weightBytes = 0;         // all initializers, in their stored types
    // Of our runtime on this machine (64-byte alignment, kernel scratch included); the deployed
    // arena of a target comes from cost::planActivations().
    size_t arenaBytes = 0;
    size_t arenaLowerBoundBytes = 0;
};

// Prepares the graph with inputs of the given shapes (unknown dimensions of unlisted inputs = 1)
// and measures every executed layer. Throws what Session throws (unsupported ops, bad shapes).
ModelStats analyzeModel(const Graph& graph, const std::map<std::string, Shape>& inputShapes = {});

// Concrete input tensors (zeros) for the graph's required inputs, unknown dimensions = 1.
std::map<std::string, Tensor> placeholderInputs(const Graph& graph, const std::map<std::string, Shape>& inputShapes = {});

// placeholderInputs() filled from `rng` (seeded by the caller, for repeatable measurements): floats
// standard normal, int8 / uint8 / int32 / int64 in [0, 9] (index-like), other types zeros.
std::map<std::string, Tensor> randomInputs(const Graph& graph, std::mt19937& rng,
                                           const std::map<std::string, Shape>& inputShapes = {});

} // namespace joule::cost
