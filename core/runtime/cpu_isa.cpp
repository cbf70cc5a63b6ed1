#include "runtime/cpu_isa.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace joule::rt {

namespace {

// AMX-TILE and AMX-INT8 (CPUID leaf 7, EDX bits 24 and 25), and the kernel's permission to use
// the tile data state, requested once for the whole process.
bool amxInt8Usable()
{
#if defined(__x86_64__) && defined(__linux__)
    static const bool ok = [] {
        unsigned a = 0, b = 0, c = 0, d = 0;
        if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)) || !(d & (1u << 25))) return false;
        constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
        return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
    }();
    return ok;
#else
    return false;
#endif
}

} // namespace

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
    case CpuFeature::AmxInt8: return cpuHas(CpuFeature::Avx512Vnni) && amxInt8Usable();
    }
#endif
    (void)feature;
    return false;
}

Isa isaCap(const char* variable)
{
    const char* value = std::getenv(variable);
    if (!value || !*value) return Isa::Amx;
    const std::string v = value;
    for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512, Isa::Amx})
        if (v == isaName(isa)) return isa;
    throw std::invalid_argument(std::string(variable) + "='" + v + "': expected portable, avx2, avx512 or amx");
}

const char* isaName(Isa isa)
{
    switch (isa) {
    case Isa::Portable: return "portable";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Amx: return "amx";
    }
    return "portable";
}

} // namespace joule::rt
