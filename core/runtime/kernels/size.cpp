// Size: the input's element count as an int64 scalar. Depends on the input's shape only.
#include "runtime/registry.h"
#include "runtime/kernels/tensor_layout.h"

namespace joule::rt {
namespace {

class Size final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        count_ = ctx.input(0).numel();
        ctx.setOutput(0, DataType::Int64, {});
    }

    void eval(EvalContext& ctx) override { *ctx.output(0).data<int64_t>() = count_; }

    bool dependsOnlyOnInputShapes() const override { return true; }

private:
    int64_t count_ = 0;
};

} // namespace

void register_size(KernelRegistry& r)
{
    std::vector<DataType> types = layout::byteTypes();
    types.push_back(DataType::Int4);
    types.push_back(DataType::UInt4);
    r.add("Size", "", types, make<Size>);
}

} // namespace joule::rt
