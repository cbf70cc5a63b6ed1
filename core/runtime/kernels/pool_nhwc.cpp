// MaxPoolNhwc, AveragePoolNhwc, GlobalAveragePoolNhwc ("ai.joule"): 2-D float32 pooling on
// channels-last tensors [N, H, W, C], computed by oneDNN. The session's channels-last pass
// (runtime/channels_last.h) puts them where MaxPool (one output, no dilations), AveragePool (no
// ceil_mode) and GlobalAveragePool were, between convolutions that run channels-last. Attributes
// are the ONNX op's; ceil_mode's extra window becomes end padding, which max pooling ignores.
// MaxPoolNhwc runs its own AVX-512 loop where the CPU has it and JOULE_GEMM_ISA allows it
// (pool_nhwc_avx512.cpp): 2-3x faster than oneDNN 2.6's on SqueezeNet's and ResNet's pools.
#include "runtime/cpu_isa.h"
#include "runtime/kernels/conv_geometry.h"
#include "runtime/kernels/onednn.h"
#include "runtime/registry.h"

#include <optional>

namespace joule::rt {

#if defined(__x86_64__) || defined(_M_X64)
void maxPoolNhwcAvx512(const float* x, float* y, const int64_t in[4], const int64_t out[2], const int64_t kernel[2],
                       const int64_t stride[2], const int64_t padBegin[2], int threads);
#endif

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;

enum class Mode { Max, Average, GlobalAverage };

template <Mode M>
class PoolNhwc final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        onednn::requireNhwcFloat(x);
        const int64_t n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3];
        memory::dims kernel{h, w}, strides{1, 1}, padL{0, 0}, padR{0, 0};
        int64_t oh = 1, ow = 1;
        dnnl::algorithm alg = dnnl::algorithm::pooling_avg_include_padding;
        if constexpr (M != Mode::GlobalAverage) {
            const bool ceil = ctx.attrInt("ceil_mode", 0) != 0;
            if (M == Mode::Average && ceil) throw UnsupportedError("ceil_mode is not supported channels-last");
            const ConvGeometry geo = ConvGeometry::read(ctx, {n, c, h, w}, {}, ceil, /*allowDilations=*/false);
            kernel = {geo.kernel[0], geo.kernel[1]};
            strides = {geo.strides[0], geo.strides[1]};
            padL = {geo.padBegin[0], geo.padBegin[1]};
            for (int d = 0; d < 2; ++d)   // the end padding the last window reaches (more with ceil_mode, less if unused)
                padR[d] = std::max<int64_t>(0, (geo.out[d] - 1) * geo.strides[d] + geo.kernel[d] - geo.in[d] - geo.padBegin[d]);
            oh = geo.out[0];
            ow = geo.out[1];
            if (M == Mode::Max) {
                alg = dnnl::algorithm::pooling_max;
#if defined(__x86_64__) || defined(_M_X64)
                own_ = isaAllowed(Isa::Avx512, "JOULE_GEMM_ISA") && cpuHas(CpuFeature::Avx512F);
#endif
                in_[0] = n, in_[1] = h, in_[2] = w, in_[3] = c;
                out_[0] = oh, out_[1] = ow;
                for (int d = 0; d < 2; ++d) {
                    kernel_[d] = geo.kernel[d];
                    stride_[d] = geo.strides[d];
                    padBegin_[d] = geo.padBegin[d];
                }
            } else if (ctx.attrInt("count_include_pad", 0) == 0) alg = dnnl::algorithm::pooling_avg_exclude_padding;
        }
        ctx.setOutput(0, DataType::Float32, {n, oh, ow, c});
        if (own_) return;

        auto& eng = onednn::engine();
        const memory::desc src({n, c, h, w}, memory::data_type::f32, tag::nhwc);
        const memory::desc dst({n, c, oh, ow}, memory::data_type::f32, tag::nhwc);
        onednn::setThreads(ctx.threads());
        const dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, alg, src, dst, strides, kernel, padL, padR);
        pd_ = dnnl::pooling_forward::primitive_desc(d, onednn::userScratchpad(), eng);
        primitive_ = dnnl::pooling_forward(pd_);
        ctx.requestScratch(pd_.scratchpad_desc().get_size());
        src_ = memory(src, eng, DNNL_MEMORY_NONE);
        dst_ = memory(dst, eng, DNNL_MEMORY_NONE);
        scratch_ = memory(pd_.scratchpad_desc(), eng, DNNL_MEMORY_NONE);
        stream_ = dnnl::stream(eng);
    }

    void eval(EvalContext& ctx) override
    {
#if defined(__x86_64__) || defined(_M_X64)
        if (own_) {
            maxPoolNhwcAvx512(ctx.input(0).data<float>(), ctx.output(0).data<float>(), in_, out_, kernel_, stride_, padBegin_, ctx.threads());
            return;
        }
#endif
        src_.set_data_handle(const_cast<float*>(ctx.input(0).data<float>()));
        dst_.set_data_handle(ctx.output(0).data<float>());
        scratch_.set_data_handle(ctx.scratch());
        onednn::execute(primitive_, stream_,
                        {{DNNL_ARG_SRC, src_.get()}, {DNNL_ARG_DST, dst_.get()}, {DNNL_ARG_SCRATCHPAD, scratch_.get()}},
                        ctx.threads());
    }

private:
    bool own_ = false;   // MaxPoolNhwc on maxPoolNhwcAvx512
    int64_t in_[4] = {}, out_[2] = {}, kernel_[2] = {}, stride_[2] = {}, padBegin_[2] = {};
    dnnl::pooling_forward::primitive_desc pd_;
    dnnl::primitive primitive_;
    dnnl::stream stream_;
    memory src_, dst_, scratch_;
};

} // namespace

void register_pool_nhwc(KernelRegistry& r)
{
    r.add("MaxPoolNhwc", "ai.joule", {DataType::Float32}, make<PoolNhwc<Mode::Max>>);
    r.add("AveragePoolNhwc", "ai.joule", {DataType::Float32}, make<PoolNhwc<Mode::Average>>);
    r.add("GlobalAveragePoolNhwc", "ai.joule", {DataType::Float32}, make<PoolNhwc<Mode::GlobalAverage>>);
}

} // namespace joule::rt
