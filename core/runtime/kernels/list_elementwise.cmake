# Elementwise kernels (see CMakeLists.txt in this folder). Shared helpers: elementwise.h and
# ../broadcast.h.
joule_kernel(relu)
joule_kernel(binary_arith)
joule_kernel(pow)
joule_kernel(comparison)
joule_kernel(logical)
joule_kernel(where)
joule_kernel(variadic)
joule_kernel(unary_math)
joule_kernel(activation)
joule_kernel(prelu)
joule_kernel(clip)
joule_kernel(cast)
joule_kernel(identity)
joule_kernel(dropout)
joule_kernel(expand)
joule_kernel(mod)
joule_kernel(bit_shift)
joule_kernel(is_special)

# Vectorised float32 exp / sigmoid / tanh / erf / sqrt (not a kernel; see vector_math.h). Its AVX2
# paths use function target attributes and are chosen at run time.
target_sources(joule-core PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/vector_math.cpp)
