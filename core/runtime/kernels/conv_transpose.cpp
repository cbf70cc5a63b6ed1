// ConvTranspose (fp32): N-d transposed convolution with groups, strides, dilations, pads / auto_pad,
// output_padding and output_shape.
//
// Per image and group, a GEMM computes every tap's contribution, cols[(co, tap), i] = sum_ci W[ci, co,
// tap] * X[ci, i] over the input positions i, and col2im adds each one at output position
// i * stride - pad + tap * dilation (when inside the output) onto the bias.
#include "runtime/kernels/conv_geometry.h"
#include "runtime/kernels/gemm_fp32.h"
#include "runtime/registry.h"

#include <algorithm>

namespace joule::rt {
namespace {

int64_t alignFloats(int64_t n) { return (n + 15) / 16 * 16; }

class ConvTranspose final : public Kernel {
public:
    void prepare(PrepareContext& ctx) override
    {
        const TensorInfo& x = ctx.input(0);
        const TensorInfo& w = ctx.input(1);
        if (x.rank() < 3) throw KernelError("input X must have shape [N, C, spatial...], got " + shapeToString(x.shape));
        if (w.rank() != x.rank())
            throw KernelError("weight W has shape " + shapeToString(w.shape) + " but X has rank " + std::to_string(x.rank()));
        if (w.dtype != DataType::Float32) throw UnsupportedError("weight W must be float32");
        const int rank = x.rank() - 2;
        if (rank > 8) throw UnsupportedError("more than 8 spatial axes");
        groups_ = ctx.attrInt("group", 1);
        batch_ = x.shape[0];
        cin_ = x.shape[1];
        if (groups_ < 1 || cin_ % groups_ != 0)
            throw KernelError("group " + std::to_string(groups_) + " must divide the input channels " + std::to_string(cin_));
        if (w.shape[0] != cin_)
            throw KernelError("weight W has shape " + shapeToString(w.shape) + " but X has " + std::to_string(cin_) + " channels");
        cinG_ = cin_ / groups_;
        coutG_ = w.shape[1];
        cout_ = coutG_ * groups_;
        if (ctx.hasInput(2) && ctx.input(2).numel() != cout_)
            throw KernelError("bias B must have " + std::to_string(cout_) + " values, got shape " +
                              shapeToString(ctx.input(2).shape));

        in_.assign(x.shape.begin() + 2, x.shape.end());
        kernel_ = ctx.hasAttr("kernel_shape") ? ctx.attrInts("kernel_shape") : std::vector<int64_t>(w.shape.begin() + 2, w.shape.end());
        strides_ = ctx.attrInts("strides", std::vector<int64_t>(static_cast<size_t>(rank), 1));
        dilations_ = ctx.attrInts("dilations", std::vector<int64_t>(static_cast<size_t>(rank), 1));
        std::vector<int64_t> outPad = ctx.attrInts("output_padding", std::vector<int64_t>(static_cast<size_t>(rank), 0));
        std::vector<int64_t> pads = ctx.attrInts("pads", std::vector<int64_t>(2 * static_cast<size_t>(rank), 0));
        const auto r = static_cast<size_t>(rank);
        if (kernel_.size() != r || strides_.size() != r || dilations_.size() != r || outPad.size() != r || pads.size() != 2 * r)
            throw KernelError("kernel_shape, strides, dilations, output_padding must have " + std::to_string(rank) +
                              " values and pads " + std::to_string(2 * rank));
        for (size_t d = 0; d < r; ++d) {
            if (kernel_[d] != w.shape[d + 2]) throw KernelError("kernel_shape does not match the weight W's shape " + shapeToString(w.shape));
            if (strides_[d] < 1 || dilations_[d] < 1) throw KernelError("strides and dilations must be positive");
        }
        const std::string autoPad = ctx.attrString("auto_pad", "NOTSET");
        if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
            throw KernelError("auto_pad '" + autoPad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
        std::vector<int64_t> outputShape = ctx.attrInts("output_shape");
        if (outputShape.size() == r + 2) outputShape.erase(outputShape.begin(), outputShape.begin() + 2);
        if (!outputShape.empty() && outputShape.size() != r)
            throw KernelError("output_shape must have " + std::to_string(rank) + " values");

        padBegin_.assign(r, 0);
        out_.assign(r, 0);
        for (size_t d = 0; d < r; ++d) {
            const int64_t full = strides_[d] * (in_[d] - 1) + outPad[d] + (kernel_[d] - 1) * dilations_[d] + 1;
            const bool same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
            if (!outputShape.empty() || same) {
                const int64_t target = !outputShape.empty() ? outputShape[d] : in_[d] * strides_[d];
                const int64_t total = full - target;
                const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);   // floor(total / 2)
                padBegin_[d] = autoPad == "SAME_UPPER" ? half : total - half;
                out_[d] = target;
            } else {
                if (autoPad == "VALID") pads[d] = pads[d + r] = 0;
                padBegin_[d] = pads[d];
                out_[d] = full - pads[d] - pads[d + r];
            }
            if (out_[d] < 0) throw KernelError("the output would have a negative size on spatial axis " + std::to_string(d));
        }
        Shape y = {batch_, cout_};
        y.insert(y.end(), out_.begin(), out_.end());
        ctx.setOutput(0, DataType::Float32, y);

        inSize_ = elementCount(in_);
        outSize_ = elementCount(out_);
        taps_ = elementCount(kernel_);
        rows_ = coutG_ * taps_;
        mk_ = &gemm::bestMicroKernel();
        aStride_ = alignFloats(static_cast<int64_t>(gemm::packedASize(*mk_, rows_, cinG_)));
        packedW_.clear();
        const Tensor* wc = ctx.constantInput(1);
        if (wc) {
            packedW_.assign(static_cast<size_t>(aStride_ * groups_), 0.0f);
            packWeights(wc->data<float>(), packedW_.data());
        }
        const int64_t scratch = (wc ? 0 : aStride_ * groups_) + alignFloats(rows_ * inSize_);
        ctx.requestScratch(static_cast<size_t>(scratch) * sizeof(float));
        threads_ = ctx.threads();
    }

    void eval(EvalContext& ctx) override
    {
        const float* x = ctx.input(0).data<float>();
        float* y = ctx.output(0).data<float>();
        const float* bias = ctx.hasInput(2) ? ctx.input(2).data<float>() : nullptr;
        float* scratch = static_cast<float*>(ctx.scratch());
        const float* w = packedW_.data();
        if (packedW_.empty()) {
            packWeights(ctx.input(1).data<float>(), scratch);
            w = scratch;
            scratch += aStride_ * groups_;
        }
        float* cols = scratch;
        for (int64_t img = 0; img < batch_; ++img) {
            for (int64_t g = 0; g < groups_; ++g) {
                gemm::Problem p;
                p.m = rows_;
                p.n = inSize_;
                p.k = cinG_;
                p.a = w + g * aStride_;
                p.b = x + (img * cin_ + g * cinG_) * inSize_;
                p.ldb = inSize_;
                p.c = cols;
                p.ldc = inSize_;
                gemm::run(*mk_, p, threads_);
                float* yg = y + (img * cout_ + g * coutG_) * outSize_;
                for (int64_t co = 0; co < coutG_; ++co) {
                    const float b = bias ? bias[g * coutG_ + co] : 0.0f;
                    std::fill(yg + co * outSize_, yg + (co + 1) * outSize_, b);
                }
                col2im(cols, yg);
            }
        }
    }

private:
    // Packs A(i = (co, tap), p = ci) = W[g * cinG + ci, co, tap] per group.
    void packWeights(const float* w, float* dst) const
    {
        for (int64_t g = 0; g < groups_; ++g)
            gemm::packA(*mk_, w + g * cinG_ * rows_, 1, rows_, rows_, cinG_, 1.0f, dst + g * aStride_);
    }

    void col2im(const float* cols, float* y) const
    {
        const int rank = static_cast<int>(in_.size());
        int64_t tap[8], pos[8];
        for (int64_t row = 0; row < rows_; ++row) {
            const int64_t co = row / taps_;
            for (int64_t rem = row % taps_, d = rank - 1; d >= 0; --d) {
                tap[d] = rem % kernel_[static_cast<size_t>(d)];
                rem /= kernel_[static_cast<size_t>(d)];
            }
            const float* src = cols + row * inSize_;
            float* dst = y + co * outSize_;
            for (int d = 0; d < rank; ++d) pos[d] = 0;
            for (int64_t i = 0; i < inSize_; ++i) {
                int64_t offset = 0;
                bool inside = true;
                for (int d = 0; d < rank && inside; ++d) {
                    const auto ud = static_cast<size_t>(d);
                    const int64_t o = pos[d] * strides_[ud] - padBegin_[ud] + tap[d] * dilations_[ud];
                    inside = o >= 0 && o < out_[ud];
                    offset = offset * out_[ud] + o;
                }
                if (inside) dst[offset] += src[i];
                for (int d = rank - 1; d >= 0; --d) {
                    if (++pos[d] < in_[static_cast<size_t>(d)]) break;
                    pos[d] = 0;
                }
            }
        }
    }

    int64_t batch_ = 0, cin_ = 0, cout_ = 0, groups_ = 1, cinG_ = 0, coutG_ = 0;
    std::vector<int64_t> in_, kernel_, strides_, dilations_, padBegin_, out_;
    int64_t inSize_ = 0, outSize_ = 0, taps_ = 0, rows_ = 0;
    const gemm::MicroKernel* mk_ = nullptr;
    std::vector<float> packedW_;
    int64_t aStride_ = 0;
    int threads_ = 1;
};

} // namespace

void register_conv_transpose(KernelRegistry& r)
{
    r.add("ConvTranspose", "", {DataType::Float32}, make<ConvTranspose>);
}

} // namespace joule::rt
