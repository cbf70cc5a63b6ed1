#include "runtime/cpu_isa.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace joule::rt {

bool cpuHas(CpuFeature feature)
{
#if defined(__x86_64__) || defined(_M_X64)
    switch (feature) {
    case CpuFeature::Avx2Fma: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CpuFeature::Avx512F: return __builtin_cpu_supports("avx512f");
    case CpuFeature::Avx512Bw: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    case CpuFeature::Avx512Vnni:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
    case CpuFeature::Avx512Vbmi:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi");
    }
#endif
    (void)feature;
    return false;
}

Isa isaCap(const char* variable)
{
    const char* value = std::getenv(variable);
    if (!value || !*value) return Isa::Avx512;
    const std::string v = value;
    for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512})
        if (v == isaName(isa)) return isa;
    throw std::invalid_argument(std::string(variable) + "='" + v + "': expected portable, avx2 or avx512");
}

const char* isaName(Isa isa)
{
    switch (isa) {
    case Isa::Portable: return "portable";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    }
    return "portable";
}

} // namespace joule::rt
