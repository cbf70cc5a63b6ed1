// Identity: y = x, any tensor type (a copy; the arena gives the output its own buffer).
#include "runtime/registry.h"

#include <cstring>

namespace joule::rt {
namespace {

class Identity final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override { ctx.setOutput(0, ctx.input(0).dtype, ctx.input(0).shape); }

    void eval(EvalContext& ctx) override
    {
        const Tensor& x = ctx.input(0);
        if (x.bytes()) std::memcpy(ctx.output(0).raw(), x.raw(), x.bytes());
    }
};

} // namespace

void register_identity(KernelRegistry& r)
{
    r.add("Identity", "",
          {DataType::Float32, DataType::Float64, DataType::Float16, DataType::Int4, DataType::UInt4, DataType::Int8,
           DataType::UInt8, DataType::Int16, DataType::UInt16, DataType::Int32, DataType::UInt32, DataType::Int64,
           DataType::UInt64, DataType::Bool},
          make<Identity>);
}

} // namespace joule::rt
