#pragma once
// ONNX import and export.
//
//   joule::Graph g = joule::onnx::loadModel("model.onnx");   // checked, shapes inferred
//   joule::onnx::saveModel(g, "copy.onnx");                   // atomic write
//
// Import accepts opsets 7..18 of the default domain, runs onnx::checker and onnx shape inference,
// and reads initializers in every storage form (typed fields, raw_data, external data files, which
// must lie inside the model's own directory). Errors are ModelError with a one-line message naming
// the file and the node / field at fault.

#include "ir/graph.h"

#include <stdexcept>
#include <string>

namespace joule::onnx {

class ModelError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A valid model that uses something Joule does not support (a data type, a sequence input, ...).
class UnsupportedFeature : public ModelError {
public:
    using ModelError::ModelError;
};

struct LoadOptions {
    bool runChecker = true;
    bool inferShapes = true;
};

Graph loadModel(const std::string& path, const LoadOptions& options = {});
// Parses serialized ModelProto bytes; `origin` names the source in messages and is the directory
// external data is resolved against (empty: external data is rejected).
Graph loadModelFromBytes(const std::string& bytes, const std::string& origin, const LoadOptions& options = {});

// Serializes the graph as a ModelProto (all initializers inline as raw_data).
std::string serializeModel(const Graph& graph);
// Writes atomically (temporary file, then rename).
void saveModel(const Graph& graph, const std::string& path);

// A serialized onnx.TensorProto (the backend test suite's input_N.pb / output_N.pb) as a Tensor;
// `name` receives the proto's name.
Tensor loadTensorProto(const std::string& path, std::string* name = nullptr);

// A serialized onnx.TensorProto, SequenceProto or OptionalProto, as `type` (a graph input or output
// of the model) says: a tensor when type.containers is empty, else the sequence / optional. Throws
// ModelError naming the file when the file does not hold that kind of value.
Value loadValueProto(const std::string& path, const ValueInfo& type, std::string* name = nullptr);

} // namespace joule::onnx
