#pragma once
// Conversions between onnx::TensorProto and joule::Tensor (internal to core/onnx).

#include "ir/tensor.h"

#include <onnx/onnx_pb.h>

#include <string>

namespace joule::onnx {

// `baseDir`: directory external data is resolved against; empty rejects external data.
// `where`: context for messages, e.g. "model.onnx: initializer 'w'".
Tensor tensorFromProto(const ::onnx::TensorProto& proto, const std::string& baseDir, const std::string& where);
void tensorToProto(const Tensor& tensor, const std::string& name, ::onnx::TensorProto* proto);

// ONNX element type <-> DataType; Undefined when Joule has no such type.
DataType dataTypeFromOnnx(int32_t elemType);
int32_t dataTypeToOnnx(DataType type);

} // namespace joule::onnx
