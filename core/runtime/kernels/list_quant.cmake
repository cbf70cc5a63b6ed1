# Quant family: int8/uint8 quantization and integer linear algebra (see runtime/quant_math.h).
joule_kernel(quantize_linear)
joule_kernel(dequantize_linear)
joule_kernel(dynamic_quantize_linear)
joule_kernel(matmul_integer)
joule_kernel(qlinear_matmul)
joule_kernel(conv_integer)
joule_kernel(qlinear_conv)

# The integer GEMM under MatMulInteger / QLinearMatMul / ConvInteger / QLinearConv (not a kernel;
# see int_gemm.h). The AVX2 micro-kernels are compiled for AVX2 and chosen at run time.
target_sources(joule-core PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/int_gemm.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/int_gemm_avx2.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/int_conv_vnni.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/int_gemv_vnni.cpp)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/int_gemm_avx2.cpp TARGET_DIRECTORY joule-core
    PROPERTIES COMPILE_OPTIONS "-mavx2")
  # QLinearConv's direct convolution (int_conv_direct.h), chosen at run time on AVX-512 VNNI CPUs.
  # GCC 12's AVX-512 intrinsics warn about their own undefined-vector placeholders (GCC bug 105593),
  # hundreds of times in this file; those two warnings are off here only.
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/int_conv_vnni.cpp TARGET_DIRECTORY joule-core
    PROPERTIES COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512vl;-mavx512vnni;-mavx2;-Wno-uninitialized;-Wno-maybe-uninitialized")
  # QGemm with few rows (int_gemv_vnni.h), chosen at run time on AVX-512 VNNI CPUs.
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/int_gemv_vnni.cpp TARGET_DIRECTORY joule-core
    PROPERTIES COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512vl;-mavx512vnni;-mavx2;-Wno-uninitialized;-Wno-maybe-uninitialized")
  # QLinearAdd's element loop, chosen at run time on AVX-512 BW CPUs (the same GCC warnings off).
  target_sources(joule-core PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/qlinear_add_avx512.cpp)
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/qlinear_add_avx512.cpp TARGET_DIRECTORY joule-core
    PROPERTIES COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512vl;-mavx2;-Wno-uninitialized;-Wno-maybe-uninitialized")
endif()

# Quantized ops the QDQ lowering (runtime/qdq_lower.h) emits: com.microsoft specs, and "ai.joule"
# variants with a fused activation clamp (quant_activation.h).
joule_kernel(qgemm)
joule_kernel(qlinear_add)
joule_kernel(qlinear_global_average_pool)
joule_kernel(qlinear_concat)
joule_kernel(qlinear_average_pool)
# Standalone activations between DQ and Q: a clamp on codes, or a 256-entry table (quant_lookup.h).
joule_kernel(qclamp)
joule_kernel(qlookup)
# The byte-table loop of the lookup ops and QLinearConcat; its AVX-512 VBMI version is chosen at run time.
target_sources(joule-core PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/quant_lookup.cpp)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  target_sources(joule-core PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/quant_lookup_avx512.cpp)
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/quant_lookup_avx512.cpp TARGET_DIRECTORY joule-core
    PROPERTIES COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512vbmi;-mbmi2")
endif()
