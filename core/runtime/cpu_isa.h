#pragma once
// Which instruction sets the kernels may use: what the CPU has, capped by an environment override.
//
//   if (rt::isaAllowed(rt::Isa::Avx512, "JOULE_INT_ISA") && rt::cpuHas(rt::CpuFeature::Avx512Vnni)) ...
//
// Two variables cap the choice, each read once per process: JOULE_INT_ISA for the integer kernels,
// JOULE_GEMM_ISA for the fp32 GEMM micro-kernels. Their values are "portable", "avx2", "avx512" or
// "amx" (the highest ISA a kernel may use; "avx512" keeps the int8 kernels off AMX); unset or empty
// means no cap. Any other value is an error that
// names the variable and the values it takes, thrown by the first kernel that asks.

namespace joule::rt {

enum class Isa { Portable = 0, Avx2 = 1, Avx512 = 2, Amx = 3 };

enum class CpuFeature { Avx2Fma, Avx512F, Avx512Bw, Avx512Vnni, Avx512Vbmi, AmxInt8 };

// The CPU this process runs on has the feature (false on other architectures). AmxInt8 also needs
// the kernel to let this process use the tile registers: the first call asks it once (Linux
// arch_prctl ARCH_REQ_XCOMP_PERM), and a refusal makes it false.
bool cpuHas(CpuFeature feature);

// The highest ISA `variable` allows: Isa::Avx512 when unset. Throws std::invalid_argument for a
// value other than portable / avx2 / avx512.
Isa isaCap(const char* variable);

// `isa` is within the cap that `variable` sets.
inline bool isaAllowed(Isa isa, const char* variable) { return static_cast<int>(isa) <= static_cast<int>(isaCap(variable)); }

// "portable", "avx2", "avx512", "amx".
const char* isaName(Isa isa);

} // namespace joule::rt
