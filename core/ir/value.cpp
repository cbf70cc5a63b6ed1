#include "ir/value.h"

namespace joule {

const char* valueKindName(ValueKind kind)
{
    switch (kind) {
    case ValueKind::Tensor: return "tensor";
    case ValueKind::Sequence: return "sequence";
    case ValueKind::Optional: return "optional";
    }
    return "unknown";
}

std::string Value::describe() const
{
    switch (kind) {
    case ValueKind::Tensor:
        return std::string(dataTypeName(tensor.dtype())) + " " + shapeToString(tensor.shape());
    case ValueKind::Sequence:
        return "sequence(" + std::to_string(elements.size()) + (elements.empty() ? std::string(" elements") : " x " + elements.front().describe()) + ")";
    case ValueKind::Optional:
        return "optional(" + (elements.empty() ? std::string("none") : elements.front().describe()) + ")";
    }
    return "unknown";
}

Value Value::clone() const
{
    Value v;
    v.kind = kind;
    if (kind == ValueKind::Tensor && !tensor.empty()) v.tensor = tensor.clone();
    v.elements.reserve(elements.size());
    for (const Value& e : elements) v.elements.push_back(e.clone());
    return v;
}

bool Value::sameContents(const Value& other) const
{
    if (kind != other.kind || elements.size() != other.elements.size()) return false;
    if (kind == ValueKind::Tensor) return tensor.sameContents(other.tensor);
    for (size_t i = 0; i < elements.size(); ++i)
        if (!elements[i].sameContents(other.elements[i])) return false;
    return true;
}

} // namespace joule
