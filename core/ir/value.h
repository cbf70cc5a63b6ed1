#pragma once
// Non-tensor values: ONNX sequences and optionals.
//
//   joule::Value seq = joule::Value::sequence({a, b});           // sequence(tensor)
//   joule::Value none = joule::Value::optional(std::nullopt);   // an empty optional
//   joule::Value some = joule::Value::optional(seq);            // optional(sequence(tensor))
//
// Models of the studio's kind compute on tensors; sequences and optionals appear at a model's
// boundary (graph inputs and outputs) and pass through Identity. A ValueInfo describes the type
// of such a value by its `containers` (outermost first) around a tensor element type and shape.

#include "ir/tensor.h"

#include <optional>
#include <string>
#include <vector>

namespace joule {

enum class ValueKind : uint8_t { Tensor, Sequence, Optional };

const char* valueKindName(ValueKind kind);   // "tensor", "sequence", "optional"

struct Value {
    ValueKind kind = ValueKind::Tensor;
    Tensor tensor;                  // kind == Tensor
    std::vector<Value> elements;    // Sequence: its elements; Optional: none or one element

    static Value fromTensor(Tensor t) { Value v; v.tensor = std::move(t); return v; }
    static Value sequence(std::vector<Value> elements)
    {
        Value v;
        v.kind = ValueKind::Sequence;
        v.elements = std::move(elements);
        return v;
    }
    static Value optional(std::optional<Value> element)
    {
        Value v;
        v.kind = ValueKind::Optional;
        if (element) v.elements.push_back(std::move(*element));
        return v;
    }
    bool hasElement() const { return kind == ValueKind::Optional && !elements.empty(); }

    std::string describe() const;   // "optional(sequence(3 x float32 [5]))"
    Value clone() const;            // deep copy of every tensor
    bool sameContents(const Value& other) const;
};

} // namespace joule
