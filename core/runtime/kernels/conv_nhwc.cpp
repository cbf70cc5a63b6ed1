// ConvNhwc ("ai.joule"): a 2-D float32 convolution on channels-last tensors, computed by oneDNN.
// The session's channels-last pass (runtime/channels_last.h) puts it where a Conv was:
//
//   X [N, H, W, C] float32, W [M, C / group, kH, kW] (constant, ONNX's layout), B [M] (optional,
//   constant) -> Y [N, oH, oW, M]; the attributes are Conv's (pads, auto_pad, strides, dilations, group).
//
// prepare() reorders the weights once into the layout oneDNN's kernel for this shape wants (its
// brgemm kernels on AVX-512 and AVX2) and creates the primitive; a fused residual Add (the session
// hands its other input over as one more input) becomes a sum post-op, and a fused Relu / Clip an
// eltwise post-op after it. eval() points the primitive at the arena's tensors and runs it.
#include "runtime/kernels/conv_geometry.h"
#include "runtime/kernels/onednn.h"
#include "runtime/registry.h"

#include <cstring>
#include <optional>

namespace joule::rt {
namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;

class ConvNhwc final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        onednn::requireNhwcFloat(x);
        const Tensor& w = ctx.requireConstantInput(1);
        if (w.dtype() != DataType::Float32 || w.shape().size() != 4)
            throw KernelError("weights W must be a constant float32 [M, C/group, kH, kW] tensor but are " +
                              std::string(dataTypeName(w.dtype())) + " " + shapeToString(w.shape()));
        const int64_t n = x.shape[0], h = x.shape[1], wd = x.shape[2], c = x.shape[3];
        const int64_t m = w.shape()[0];
        const int64_t g = ctx.attrInt("group", 1);
        if (g < 1 || c % g || m % g || w.shape()[1] != c / g)
            throw KernelError("group " + std::to_string(g) + " does not fit " + std::to_string(c) + " input channels and weights " +
                              shapeToString(w.shape()));
        const ConvGeometry geo = ConvGeometry::read(ctx, {n, c, h, wd}, {w.shape()[2], w.shape()[3]});
        const memory::dims strides{geo.strides[0], geo.strides[1]};
        const memory::dims dilates{geo.dilations[0] - 1, geo.dilations[1] - 1};
        const memory::dims padL{geo.padBegin[0], geo.padBegin[1]}, padR{geo.padEnd[0], geo.padEnd[1]};
        // oneDNN's output size is floor((in + padL + padR - extent) / stride) + 1, as ONNX's; ceil-like
        // end padding that no window reaches is trimmed so both agree.
        memory::dims padRight = padR;
        for (int d = 0; d < 2; ++d) {
            const int64_t need = (geo.out[d] - 1) * geo.strides[d] + geo.extent(d) - geo.in[d] - geo.padBegin[d];
            padRight[d] = std::max<int64_t>(0, std::min<int64_t>(padR[d], need));
        }
        dstShape_ = {n, geo.out[0], geo.out[1], m};
        ctx.setOutput(0, DataType::Float32, dstShape_);

        const memory::desc src({n, c, h, wd}, memory::data_type::f32, tag::nhwc);
        const memory::desc dst({n, m, geo.out[0], geo.out[1]}, memory::data_type::f32, tag::nhwc);
        const memory::dims wdims = g == 1 ? memory::dims{m, c, w.shape()[2], w.shape()[3]}
                                          : memory::dims{g, m / g, c / g, w.shape()[2], w.shape()[3]};
        const memory::desc wAny(wdims, memory::data_type::f32, tag::any);
        const memory::desc bias({m}, memory::data_type::f32, tag::x);
        const bool hasBias = ctx.hasInput(2);
        threads_ = ctx.threads();
        desc_.emplace(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, wAny,
                      hasBias ? bias : memory::desc(), dst, strides, dilates, padL, padRight);
        makePrimitive(nullptr);
        scratchBytes_ = pd_.scratchpad_desc().get_size();
        ctx.requestScratch(scratchBytes_);

        // Weights (and bias) into the primitive's own layout, once.
        auto& eng = onednn::engine();
        dnnl::stream s(eng);
        memory user({wdims, memory::data_type::f32, g == 1 ? tag::oihw : tag::goihw}, eng,
                    const_cast<float*>(w.data<float>()));
        weights_ = memory(pd_.weights_desc(), eng);
        dnnl::reorder(user, weights_).execute(s, user, weights_);
        s.wait();
        if (hasBias) {
            const Tensor& b = ctx.requireConstantInput(2);
            if (b.dtype() != DataType::Float32 || b.numel() != m)
                throw KernelError("bias B must be a constant float32 tensor of " + std::to_string(m) + " values but is " +
                                  std::string(dataTypeName(b.dtype())) + " " + shapeToString(b.shape()));
            bias_ = memory(bias, eng);
            std::memcpy(bias_.get_data_handle(), b.data<float>(), static_cast<size_t>(m) * sizeof(float));
        }
        src_ = memory(src, eng, DNNL_MEMORY_NONE);
        dst_ = memory(dst, eng, DNNL_MEMORY_NONE);
        scratch_ = memory(pd_.scratchpad_desc(), eng, DNNL_MEMORY_NONE);
        stream_ = dnnl::stream(eng);
    }

    bool fuseActivation(float lo, float hi) override
    {
        dnnl::post_ops ops = ops_;
        ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, lo, hi);
        return tryPostOps(ops);
    }

    // Y = conv(X) + B + R in the convolution's epilogue: R is in Y before the primitive runs (the
    // session gives Y R's buffer when R is read nowhere later; else eval() copies it) and a sum
    // post-op adds the convolution to it. (A binary post-op reading R would make oneDNN 2.6 leave
    // its brgconv kernels for slower ones.)
    bool fuseResidualAdd(const TensorInfo& residual) override
    {
        if (residual.dtype != DataType::Float32 || residual.shape != dstShape_ || ops_.len() != 0) return false;
        dnnl::post_ops ops;
        ops.append_sum(1.f);
        if (!tryPostOps(ops)) return false;
        residual_ = true;
        return true;
    }

    void eval(EvalContext& ctx) override
    {
        src_.set_data_handle(const_cast<float*>(ctx.input(0).data<float>()));
        dst_.set_data_handle(ctx.output(0).data<float>());
        scratch_.set_data_handle(ctx.scratch());
        if (residual_) {
            const Tensor& r = ctx.input(ctx.inputCount() - 1);
            Tensor& y = ctx.output(0);
            if (r.data<float>() != y.data<float>())
                std::memcpy(y.data<float>(), r.data<float>(), static_cast<size_t>(y.numel()) * sizeof(float));
        }
        if (bias_)
            onednn::execute(primitive_, stream_,
                            {{DNNL_ARG_SRC, src_.get()}, {DNNL_ARG_WEIGHTS, weights_.get()}, {DNNL_ARG_BIAS, bias_.get()},
                             {DNNL_ARG_DST, dst_.get()}, {DNNL_ARG_SCRATCHPAD, scratch_.get()}},
                            ctx.threads());
        else
            onednn::execute(primitive_, stream_,
                            {{DNNL_ARG_SRC, src_.get()}, {DNNL_ARG_WEIGHTS, weights_.get()}, {DNNL_ARG_DST, dst_.get()},
                             {DNNL_ARG_SCRATCHPAD, scratch_.get()}},
                            ctx.threads());
    }

private:
    // The primitive with these post-ops, if it keeps the scratch size and weight layout prepare()
    // chose (the weights were reordered, and the scratch requested, for those); else unchanged.
    bool tryPostOps(const dnnl::post_ops& ops)
    {
        const dnnl::convolution_forward::primitive_desc before = pd_;
        const dnnl::primitive beforePrimitive = primitive_;
        makePrimitive(&ops);
        if (pd_.scratchpad_desc().get_size() > scratchBytes_ || pd_.weights_desc() != before.weights_desc()) {
            pd_ = before;
            primitive_ = beforePrimitive;
            return false;
        }
        ops_ = ops;
        return true;
    }

    void makePrimitive(const dnnl::post_ops* ops)
    {
        dnnl::primitive_attr attr = onednn::userScratchpad();
        if (ops) attr.set_post_ops(*ops);
        onednn::setThreads(threads_);
        pd_ = dnnl::convolution_forward::primitive_desc(*desc_, attr, onednn::engine());
        primitive_ = dnnl::convolution_forward(pd_);
    }

    std::optional<dnnl::convolution_forward::desc> desc_;
    dnnl::convolution_forward::primitive_desc pd_;
    dnnl::primitive primitive_;
    dnnl::stream stream_;
    memory weights_, bias_, src_, dst_, scratch_;
    bool residual_ = false;   // a fused residual Add: Y holds R when the primitive runs
    dnnl::post_ops ops_;   // the post-ops the primitive runs: a residual add, then a clamp
    Shape dstShape_;
    size_t scratchBytes_ = 0;
    int threads_ = 1;
};

} // namespace

void register_conv_nhwc(KernelRegistry& r) { r.add("ConvNhwc", "ai.joule", {DataType::Float32}, make<ConvNhwc>); }

} // namespace joule::rt
