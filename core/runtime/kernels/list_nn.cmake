# Neural-network kernels: convolution, GEMM, pooling, normalization.
# Shared helpers (header-only): conv_geometry.h (window sizes and padding), pooling.h (pool loops).
joule_kernel(conv)
joule_kernel(conv_transpose)
joule_kernel(gemm)
joule_kernel(matmul)
joule_kernel(batch_normalization)
joule_kernel(max_pool)
joule_kernel(average_pool)
joule_kernel(global_average_pool)
joule_kernel(global_max_pool)
joule_kernel(layer_normalization)
joule_kernel(instance_normalization)
joule_kernel(lrn)
# Channels-last float32 convolution and pooling through oneDNN (runtime/channels_last.h puts them in).
if(JOULE_WITH_ONEDNN)
  joule_kernel(conv_nhwc)
  joule_kernel(pool_nhwc)
  # MaxPoolNhwc's own AVX-512 loop, chosen at run time (pool_nhwc.cpp says why).
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
    target_sources(joule-core PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/pool_nhwc_avx512.cpp)
    set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/pool_nhwc_avx512.cpp TARGET_DIRECTORY joule-core
      PROPERTIES COMPILE_OPTIONS "-mavx512f;-Wno-uninitialized;-Wno-maybe-uninitialized")
  endif()
  # libgomp for omp_set_num_threads only: no -fopenmp, which would also parallelize Eigen.
  target_link_libraries(joule-core PRIVATE DNNL::dnnl ${OpenMP_CXX_LIBRARIES})
endif()

# The packed fp32 GEMM under Conv/ConvTranspose/Gemm/MatMul (not a kernel; see gemm_fp32.h). Its
# micro-kernels are compiled for their instruction set and chosen at run time, so the library still
# runs on any x86-64.
target_sources(joule-core PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/gemm_fp32.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/gemm_fp32_avx2.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/gemm_fp32_avx512.cpp)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/gemm_fp32_avx2.cpp TARGET_DIRECTORY joule-core
    PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma")
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/gemm_fp32_avx512.cpp TARGET_DIRECTORY joule-core
    PROPERTIES COMPILE_OPTIONS "-mavx512f;-mavx2;-mfma")
endif()
