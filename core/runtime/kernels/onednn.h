#pragma once
// What the kernels computed by oneDNN share (built only with JOULE_WITH_ONEDNN; see list_nn.cmake):
// one CPU engine for the process, the thread count of a run, and an execute call that allocates
// nothing (dnnl::primitive::execute takes an unordered_map).
//
//   dnnl::memory src(desc, onednn::engine(), DNNL_MEMORY_NONE);   // prepare(): no buffer of its own
//   src.set_data_handle(ptr);                                      // eval(): the arena's tensor
//   onednn::execute(primitive, stream, {{DNNL_ARG_SRC, src.get()}, {DNNL_ARG_DST, dst.get()}}, threads);
//
// oneDNN (Debian's libdnnl) runs its parallel loops on OpenMP: the session's thread count becomes the
// calling thread's OpenMP thread count just before each call.

#include "runtime/kernel.h"

#include <dnnl.hpp>
#include <omp.h>

#include <initializer_list>
#include <string>

namespace joule::rt::onednn {

// The float32 [N, H, W, C] input the channels-last kernels take; a KernelError names what it got.
inline void requireNhwcFloat(const TensorInfo& x)
{
    if (x.dtype != DataType::Float32 || x.rank() != 4)
        throw KernelError("input X must be a float32 [N, H, W, C] tensor but is " + std::string(dataTypeName(x.dtype)) + " " +
                          shapeToString(x.shape));
}

inline dnnl::engine& engine()
{
    static dnnl::engine e(dnnl::engine::kind::cpu, 0);
    return e;
}

// The OpenMP thread count of the calling thread. Call it before creating a primitive descriptor too:
// oneDNN splits the work for the thread count it sees then.
inline void setThreads(int threads)
{
    if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
}

inline void execute(const dnnl::primitive& p, const dnnl::stream& s, std::initializer_list<dnnl_exec_arg_t> args,
                    int threads)
{
    setThreads(threads);
    const dnnl_status_t st = dnnl_primitive_execute(p.get(), s.get(), static_cast<int>(args.size()), args.begin());
    if (st != dnnl_success) throw KernelError("oneDNN could not run the primitive (status " + std::to_string(int(st)) + ")");
}

// A primitive descriptor with a user-provided scratchpad (the session's scratch buffer), so that
// executing it allocates nothing.
inline dnnl::primitive_attr userScratchpad(dnnl::primitive_attr attr = {})
{
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
}

} // namespace joule::rt::onednn
