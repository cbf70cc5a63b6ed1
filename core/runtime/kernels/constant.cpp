// Constant: outputs the tensor given by exactly one attribute: value (a tensor), value_float /
// value_int (scalars, float32 / int64) or value_floats / value_ints (1-D). No inputs.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class Constant final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const Node& node = ctx.node();
        int given = 0;
        for (const auto& [key, attr] : node.attributes) {
            (void)attr;
            if (key == "value" || key.rfind("value_", 0) == 0 || key == "sparse_value") ++given;
        }
        if (given != 1)
            throw KernelError("exactly one of value, value_float(s), value_int(s), value_string(s), sparse_value "
                              "must be set, found " + std::to_string(given));
        if (const Attribute* a = node.attribute("value")) {
            if (a->kind != Attribute::Kind::Tensor) throw KernelError("attribute 'value' is not a tensor");
            value_ = a->t;
            if (value_.empty()) throw KernelError("attribute 'value' holds a tensor without a data type");
        } else if (const Attribute* a = node.attribute("value_float")) {
            value_ = Tensor::fromVector<float>(DataType::Float32, {}, {a->f});
        } else if (const Attribute* a = node.attribute("value_floats")) {
            value_ = Tensor::fromVector<float>(DataType::Float32, {static_cast<int64_t>(a->floats.size())}, a->floats);
        } else if (const Attribute* a = node.attribute("value_int")) {
            value_ = Tensor::fromVector<int64_t>(DataType::Int64, {}, {a->i});
        } else if (const Attribute* a = node.attribute("value_ints")) {
            value_ = Tensor::fromVector<int64_t>(DataType::Int64, {static_cast<int64_t>(a->ints.size())}, a->ints);
        } else {
            throw UnsupportedError("string and sparse constants are not supported");
        }
        ctx.setOutput(0, value_.dtype(), value_.shape());
    }

    void eval(EvalContext& ctx) override
    {
        if (value_.bytes()) std::memcpy(ctx.output(0).raw(), value_.raw(), value_.bytes());
    }

private:
    Tensor value_;
};

} // namespace

void register_constant(KernelRegistry& r)
{
    r.add("Constant", "", {DataType::Undefined}, make<Constant>, -1);
}

} // namespace joule::rt
