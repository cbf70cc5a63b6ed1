#pragma once
// Kernel registry keyed by (op type, domain, data type).
//
// The built-in kernels are listed in runtime/kernels/CMakeLists.txt (one line per op file); CMake
// generates the function that registers them, in that order. Nothing registers itself statically.
//
//   const KernelRegistry& reg = KernelRegistry::builtin();
//   if (auto* factory = reg.find("Conv", "", DataType::Float32)) kernel = (*factory)();

#include "runtime/kernel.h"

#include <map>
#include <tuple>

namespace joule::rt {

using KernelFactory = std::unique_ptr<Kernel> (*)();

class KernelRegistry {
public:
    // Registers `factory` for each type in `types`. The node's type is the type of its input
    // `typeInput` (default 0; use -1 for ops keyed by their "to"/"dtype" attribute or with no
    // inputs, which register DataType::Undefined and dispatch themselves).
    void add(const std::string& op, const std::string& domain, const std::vector<DataType>& types,
             KernelFactory factory, int typeInput = 0);

    // The factory for this op and type, or nullptr.
    const KernelFactory* find(const std::string& op, const std::string& domain, DataType type) const;
    bool hasOp(const std::string& op, const std::string& domain) const;
    // Which input selects the type (see add()); 0 if the op is unknown.
    int typeInput(const std::string& op, const std::string& domain) const;
    std::vector<DataType> types(const std::string& op, const std::string& domain) const;
    std::vector<std::pair<std::string, std::string>> ops() const;   // (domain, op), sorted

    static const KernelRegistry& builtin();

private:
    std::map<std::tuple<std::string, std::string, DataType>, KernelFactory> factories_;
    std::map<std::pair<std::string, std::string>, int> typeInputs_;
};

// Defined in the generated builtin_kernels.cpp.
void registerBuiltinKernels(KernelRegistry& registry);

} // namespace joule::rt
