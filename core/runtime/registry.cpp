#include "runtime/registry.h"

#include <mutex>

namespace joule::rt {

void KernelRegistry::add(const std::string& op, const std::string& domain, const std::vector<DataType>& types,
                         KernelFactory factory, int typeInput)
{
    for (DataType t : types) factories_[{domain, op, t}] = factory;
    typeInputs_[{domain, op}] = typeInput;
}

const KernelFactory* KernelRegistry::find(const std::string& op, const std::string& domain, DataType type) const
{
    auto it = factories_.find({domain, op, type});
    if (it == factories_.end()) it = factories_.find({domain, op, DataType::Undefined});
    return it == factories_.end() ? nullptr : &it->second;
}

bool KernelRegistry::hasOp(const std::string& op, const std::string& domain) const
{
    return typeInputs_.count({domain, op}) > 0;
}

int KernelRegistry::typeInput(const std::string& op, const std::string& domain) const
{
    auto it = typeInputs_.find({domain, op});
    return it == typeInputs_.end() ? 0 : it->second;
}

std::vector<DataType> KernelRegistry::types(const std::string& op, const std::string& domain) const
{
    std::vector<DataType> out;
    for (const auto& [key, f] : factories_)
        if (std::get<0>(key) == domain && std::get<1>(key) == op) out.push_back(std::get<2>(key));
    return out;
}

std::vector<std::pair<std::string, std::string>> KernelRegistry::ops() const
{
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [key, t] : typeInputs_) out.push_back(key);
    return out;
}

const KernelRegistry& KernelRegistry::builtin()
{
    static const KernelRegistry registry = [] {
        KernelRegistry r;
        registerBuiltinKernels(r);
        return r;
    }();
    return registry;
}

} // namespace joule::rt
