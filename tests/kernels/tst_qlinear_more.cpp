// The remaining quantized ops of the QDQ lowering: QLinearConcat, QLinearAveragePool
// (com.microsoft and their "ai.joule" fused-activation variants), QClamp, QLookup, QLinearLeakyRelu
// and QLinearSigmoid. Expected codes come from a direct long-double evaluation of each op's formula
// (docs/integer-runtime.md), rounded half to even. The kernels must match exactly; the only
// exception allowed is a real value within 1e-4 of a .5 tie for the float-formula tables (Sigmoid,
// Tanh, HardSwish), where float32 evaluation may round either way, and those are counted.
#include "kernels/quant_op_test.h"
#include "runtime/session.h"

#include <QtTest>

#include <cmath>
#include <functional>

using namespace joule;

namespace {

using namespace quanttest;

// Every code of T in order, repeated cyclically to `count` values.
template <typename T> std::vector<T> allCodes(int count = 256)
{
    std::vector<T> v;
    for (int i = 0; i < count; ++i) v.push_back(static_cast<T>(std::numeric_limits<T>::min() + i % 256));
    return v;
}

} // namespace

class TestQLinearMore : public QObject {
    Q_OBJECT

    // --- QLinearConcat ---------------------------------------------------------------------------
    template <typename T> void concatCase(int64_t axis, const std::string& domain, int lo, int hi)
    {
        // Three inputs [2, c_i, 5, 13] along axis 1 (or -3): the first keeps Y's scale and zero
        // point (a copy when no clamp bites), the others are requantized. Blocks of 65, 195 and 130
        // codes take the 64-byte vector loop and its tail where the CPU has AVX-512 VBMI.
        Lcg rng(4711);
        const std::vector<int64_t> channels{2, 3, 1};
        const std::vector<float> scales{0.04f, 0.013f, 0.11f};
        const bool s8 = std::is_signed_v<T>;
        const std::vector<int> zps = s8 ? std::vector<int>{-3, 20, -100} : std::vector<int>{125, 60, 200};
        const float sy = 0.04f;
        const int zy = zps[0];
        std::vector<In> inputs{{"sy", f32({}, {sy}), true}, {"zy", scalarQ<T>(zy), true}};
        std::vector<Tensor> xs;
        for (size_t i = 0; i < channels.size(); ++i) {
            const Shape shape{2, channels[i], 5, 13};
            xs.push_back(q<T>(shape, rng.codes<T>(elementCount(shape))));
            const std::string k = std::to_string(i);
            inputs.push_back({"x" + k, xs.back()});
            inputs.push_back({"s" + k, f32({}, {scales[i]}), true});
            inputs.push_back({"z" + k, scalarQ<T>(zps[i]), true});
        }
        std::map<std::string, Attribute> attrs{{"axis", intAttr(axis)}};
        if (domain == "ai.joule") {
            attrs["activation_min"] = intAttr(lo);
            attrs["activation_max"] = intAttr(hi);
        }
        const Tensor y = runNode("QLinearConcat", domain, inputs, attrs);
        QCOMPARE(shapeToString(y.shape()), shapeToString({2, 6, 5, 13}));
        std::vector<int> expected;
        for (int64_t n = 0; n < 2; ++n)
            for (size_t i = 0; i < xs.size(); ++i)
                for (int64_t k = 0; k < channels[i] * 65; ++k) {
                    const int c = xs[i].data<T>()[n * channels[i] * 65 + k];
                    const long double real = static_cast<long double>(c - zps[i]) * scales[i] / sy;
                    expected.push_back(expectedCode<T>(real, zy, lo, hi));
                }
        expectCodes<T>(y, expected);
    }

private slots:
    void qlinearConcatRequantizesEachInputUint8() { concatCase<uint8_t>(1, "com.microsoft", 0, 255); }
    void qlinearConcatInt8NegativeAxis() { concatCase<int8_t>(-3, "com.microsoft", -128, 127); }
    void qlinearConcatFusedReluClampsEveryInput() { concatCase<uint8_t>(1, "ai.joule", 125, 255); }

    void qlinearConcatSameParamsCopiesCodes()
    {
        // Every input has Y's parameters: the codes pass unchanged, along the last axis.
        Lcg rng(4711);
        const Tensor a = q<int8_t>({2, 3}, rng.codes<int8_t>(6)), b = q<int8_t>({2, 5}, rng.codes<int8_t>(10));
        const Tensor y = runNode("QLinearConcat", "com.microsoft",
                                 {{"sy", f32({}, {0.5f}), true}, {"zy", scalarQ<int8_t>(7), true},
                                  {"a", a}, {"sa", f32({}, {0.5f}), true}, {"za", scalarQ<int8_t>(7), true},
                                  {"b", b}, {"sb", f32({}, {0.5f}), true}, {"zb", scalarQ<int8_t>(7), true}},
                                 {{"axis", intAttr(-1)}});
        QCOMPARE(shapeToString(y.shape()), shapeToString({2, 8}));
        for (int64_t r = 0; r < 2; ++r)
            for (int64_t k = 0; k < 8; ++k)
                QCOMPARE(y.data<int8_t>()[r * 8 + k], k < 3 ? a.data<int8_t>()[r * 3 + k] : b.data<int8_t>()[r * 5 + k - 3]);
    }

    void qlinearConcatRoundsTiesToEven()
    {
        // x_scale / y_scale = 0.5: odd codes land on .5 ties; rne(0.5) = 0, rne(1.5) = 2, rne(-2.5) = -2.
        const Tensor a = q<int8_t>({1, 6}, {1, 3, 5, -1, -3, -5});
        const Tensor y = runNode("QLinearConcat", "com.microsoft",
                                 {{"sy", f32({}, {1.0f}), true}, {"zy", scalarQ<int8_t>(0), true},
                                  {"a", a}, {"sa", f32({}, {0.5f}), true}, {"za", scalarQ<int8_t>(0), true}},
                                 {{"axis", intAttr(1)}});
        const std::vector<int8_t> expected{0, 2, 2, 0, -2, -2};
        QCOMPARE(std::vector<int8_t>(y.data<int8_t>(), y.data<int8_t>() + 6), expected);
    }

    void qlinearConcatRejectsMismatchedShapes()
    {
        const Tensor a = q<uint8_t>({2, 3}, std::vector<uint8_t>(6, 1)), b = q<uint8_t>({3, 3}, std::vector<uint8_t>(9, 1));
        QVERIFY_THROWS_EXCEPTION(std::exception,
                                 runNode("QLinearConcat", "com.microsoft",
                                         {{"sy", f32({}, {0.5f}), true}, {"zy", scalarQ<uint8_t>(0), true},
                                          {"a", a}, {"sa", f32({}, {0.5f}), true}, {"za", scalarQ<uint8_t>(0), true},
                                          {"b", b}, {"sb", f32({}, {0.5f}), true}, {"zb", scalarQ<uint8_t>(0), true}},
                                         {{"axis", intAttr(1)}}));
    }

    // --- QLinearAveragePool ----------------------------------------------------------------------
private:
    struct PoolCase {
        int64_t C, H, W, KH, KW, SH, SW;
        int64_t pt, pl, pb, pr;
        bool includePad = false, ceilMode = false;
        std::string autoPad;   // "" or "SAME_UPPER" / "SAME_LOWER" / "VALID"
    };

    template <typename T> void poolCase(const PoolCase& p, const std::string& domain = "com.microsoft", int lo = 0, int hi = -1)
    {
        if (hi < lo) { lo = std::numeric_limits<T>::min(); hi = std::numeric_limits<T>::max(); }
        Lcg rng(4711);
        const int64_t N = 2;
        const Tensor x = q<T>({N, p.C, p.H, p.W}, rng.codes<T>(N * p.C * p.H * p.W));
        const float sx = 0.037f, sy = 0.021f;
        const int zx = std::is_signed_v<T> ? 6 : 131, zy = std::is_signed_v<T> ? -9 : 119;
        std::map<std::string, Attribute> attrs{{"kernel_shape", intsAttr({p.KH, p.KW})}, {"strides", intsAttr({p.SH, p.SW})},
                                               {"count_include_pad", intAttr(p.includePad)}, {"ceil_mode", intAttr(p.ceilMode)}};
        // The padding the reference uses: explicit, or what auto_pad computes (odd element at the end
        // for SAME_UPPER, at the beginning for SAME_LOWER).
        int64_t pads[4] = {p.pt, p.pl, p.pb, p.pr};
        int64_t OH = 0, OW = 0;
        if (p.autoPad.empty()) {
            attrs["pads"] = intsAttr({p.pt, p.pl, p.pb, p.pr});
            const auto outSize = [&](int64_t in, int64_t k, int64_t s, int64_t pa, int64_t pe) {
                const int64_t span = in + pa + pe - k;
                int64_t o = (p.ceilMode ? (span + s - 1) / s : span / s) + 1;
                if (p.ceilMode && (o - 1) * s >= in + pa) --o;   // the last window must start inside input or left pad
                return o;
            };
            OH = outSize(p.H, p.KH, p.SH, p.pt, p.pb);
            OW = outSize(p.W, p.KW, p.SW, p.pl, p.pr);
        } else {
            attrs["auto_pad"] = stringAttr(p.autoPad);
            const bool same = p.autoPad != "VALID";
            OH = same ? (p.H + p.SH - 1) / p.SH : (p.H - p.KH) / p.SH + 1;
            OW = same ? (p.W + p.SW - 1) / p.SW : (p.W - p.KW) / p.SW + 1;
            const int64_t th = same ? std::max<int64_t>((OH - 1) * p.SH + p.KH - p.H, 0) : 0;
            const int64_t tw = same ? std::max<int64_t>((OW - 1) * p.SW + p.KW - p.W, 0) : 0;
            const bool upper = p.autoPad == "SAME_UPPER";
            pads[0] = upper ? th / 2 : th - th / 2;
            pads[2] = th - pads[0];
            pads[1] = upper ? tw / 2 : tw - tw / 2;
            pads[3] = tw - pads[1];
        }
        if (domain == "ai.joule") {
            attrs["activation_min"] = intAttr(lo);
            attrs["activation_max"] = intAttr(hi);
        }
        const Tensor y = runNode("QLinearAveragePool", domain,
                                 {{"x", x}, {"sx", f32({}, {sx}), true}, {"zx", scalarQ<T>(zx), true},
                                  {"sy", f32({}, {sy}), true}, {"zy", scalarQ<T>(zy), true}},
                                 attrs);
        QCOMPARE(shapeToString(y.shape()), shapeToString({N, p.C, OH, OW}));
        std::vector<int> expected;
        for (int64_t plane = 0; plane < N * p.C; ++plane)
            for (int64_t oh = 0; oh < OH; ++oh)
                for (int64_t ow = 0; ow < OW; ++ow) {
                    long double sum = 0;
                    int64_t inside = 0, padded = 0;
                    for (int64_t kh = 0; kh < p.KH; ++kh)
                        for (int64_t kw = 0; kw < p.KW; ++kw) {
                            const int64_t ih = oh * p.SH - pads[0] + kh, iw = ow * p.SW - pads[1] + kw;
                            if (ih < p.H + pads[2] && iw < p.W + pads[3]) ++padded;
                            if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W) continue;
                            ++inside;
                            sum += x.data<T>()[(plane * p.H + ih) * p.W + iw] - zx;
                        }
                    const int64_t n = p.includePad ? padded : inside;
                    expected.push_back(expectedCode<T>(n > 0 ? sum * sx / (static_cast<long double>(sy) * n) : 0.0L, zy, lo, hi));
                }
        expectCodes<T>(y, expected);
    }

private slots:
    void qlinearAveragePool3x3PadExcludedUint8() { poolCase<uint8_t>({4, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1}); }
    void qlinearAveragePool3x3PadIncludedInt8() { poolCase<int8_t>({3, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, true}); }
    void qlinearAveragePool2x2Stride2() { poolCase<uint8_t>({5, 8, 10, 2, 2, 2, 2, 0, 0, 0, 0}); }
    void qlinearAveragePoolCeilModeUnevenPads() { poolCase<int8_t>({2, 9, 11, 3, 2, 2, 3, 1, 0, 0, 1, true, true}); }
    void qlinearAveragePoolCeilModeExcludePad() { poolCase<uint8_t>({2, 10, 7, 3, 3, 2, 2, 0, 1, 1, 0, false, true}); }
    void qlinearAveragePoolSameUpper() { poolCase<uint8_t>({3, 7, 8, 3, 2, 2, 1, 0, 0, 0, 0, false, false, "SAME_UPPER"}); }
    void qlinearAveragePoolSameLowerCountsPads() { poolCase<int8_t>({3, 7, 8, 2, 3, 1, 2, 0, 0, 0, 0, true, false, "SAME_LOWER"}); }
    void qlinearAveragePoolFusedClip() { poolCase<uint8_t>({4, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1}, "ai.joule", 110, 128); }

    void qlinearAveragePoolRejectsOtherRanks()
    {
        const Tensor x = q<uint8_t>({1, 2, 8}, std::vector<uint8_t>(16, 3));
        QVERIFY_THROWS_EXCEPTION(std::exception,
                                 runNode("QLinearAveragePool", "com.microsoft",
                                         {{"x", x}, {"sx", f32({}, {0.1f}), true}, {"zx", scalarQ<uint8_t>(0), true},
                                          {"sy", f32({}, {0.1f}), true}, {"zy", scalarQ<uint8_t>(0), true}},
                                         {{"kernel_shape", intsAttr({2})}}));
    }

    // --- QClamp ----------------------------------------------------------------------------------
    void qclampClampsCodes()
    {
        const Tensor x = q<int8_t>({256}, allCodes<int8_t>());
        const Tensor y = runNode("QClamp", "ai.joule", {{"x", x}}, {{"activation_min", intAttr(-20)}, {"activation_max", intAttr(90)}});
        std::vector<int> expected;
        for (int c = -128; c <= 127; ++c) expected.push_back(std::clamp(c, -20, 90));
        expectCodes<int8_t>(y, expected);
    }

    // --- Lookup-table activations ----------------------------------------------------------------
private:
    // Runs `op` on every code and compares with rne(f(sx (c - zx)) / sy) + zy in long double.
    template <typename T>
    void lookupCase(const std::string& op, const std::string& domain, const std::map<std::string, Attribute>& attrs,
                    const std::function<long double(long double)>& f, float sx, int zx, float sy, int zy)
    {
        const Tensor x = q<T>({7, 43}, allCodes<T>(301));   // 4 vector blocks of 64 and a tail of 45
        const Tensor y = runNode(op, domain,
                                 {{"x", x}, {"sx", f32({}, {sx}), true}, {"zx", scalarQ<T>(zx), true},
                                  {"sy", f32({}, {sy}), true}, {"zy", scalarQ<T>(zy), true}},
                                 attrs);
        QCOMPARE(y.dtype(), dataTypeOf<T>());
        QCOMPARE(shapeToString(y.shape()), shapeToString({7, 43}));
        int nearTies = 0, distinct = 0;
        for (int64_t i = 0; i < 301; ++i) {
            const int c = x.data<T>()[i];
            const long double real = f(static_cast<long double>(c - zx) * sx) / sy;
            const int want = expectedCode<T>(real, zy);
            const int got = y.data<T>()[i];
            distinct += i > 0 && y.data<T>()[i] != y.data<T>()[i - 1];
            const long double frac = real - std::floor(real);
            if (std::fabs(frac - 0.5L) < 1e-4L) {
                ++nearTies;
                if (std::abs(got - want) <= 1) continue;
            }
            if (got != want) QFAIL(qPrintable(QString("%1: code %2 -> %3, expected %4").arg(op.c_str()).arg(c).arg(got).arg(want)));
        }
        QVERIFY(distinct > 20);
        QVERIFY(nearTies <= 6);   // each code appears at most twice
    }

    // DQ -> f -> Q in the float runtime against the integer op, on every code: bit-exact.
    template <typename T>
    void matchesFakeQuant(const std::string& floatOp, const std::map<std::string, Attribute>& floatAttrs, const std::string& op,
                          const std::string& domain, const std::map<std::string, Attribute>& attrs, float sx, int zx, float sy, int zy)
    {
        const Tensor x = q<T>({256}, allCodes<T>());
        Graph g;
        g.opsetImports[""] = 17;
        g.addInput({"x", dataTypeOf<T>(), {256}});
        g.setInitializer("sx", f32({}, {sx}));
        g.setInitializer("zx", scalarQ<T>(zx));
        g.setInitializer("sy", f32({}, {sy}));
        g.setInitializer("zy", scalarQ<T>(zy));
        g.addNode({.name = "dq", .opType = "DequantizeLinear", .inputs = {"x", "sx", "zx"}, .outputs = {"xf"}});
        g.addNode({.name = "f", .opType = floatOp, .inputs = {"xf"}, .outputs = {"yf"}, .attributes = floatAttrs});
        g.addNode({.name = "q", .opType = "QuantizeLinear", .inputs = {"yf", "sy", "zy"}, .outputs = {"y"}});
        g.addOutput({"y", DataType::Undefined, {}, {}, false});
        rt::Session fake(g);
        const Tensor yf = fake.run({{"x", x}}).at("y");
        const Tensor yl = runNode(op, domain,
                                  {{"x", x}, {"sx", f32({}, {sx}), true}, {"zx", scalarQ<T>(zx), true},
                                   {"sy", f32({}, {sy}), true}, {"zy", scalarQ<T>(zy), true}},
                                  attrs);
        QVERIFY(yf.sameContents(yl));
    }

private slots:
    void qlinearLeakyReluMatchesFormula()
    {
        lookupCase<int8_t>("QLinearLeakyRelu", "com.microsoft", {{"alpha", floatAttr(0.1f)}},
                           [](long double v) { return v < 0 ? static_cast<long double>(0.1f) * v : v; }, 0.05f, -10, 0.037f, -40);
    }
    void qlinearLeakyReluIsBitExactWithFakeQuant()
    {
        matchesFakeQuant<uint8_t>("LeakyRelu", {{"alpha", floatAttr(0.2f)}}, "QLinearLeakyRelu", "com.microsoft",
                                  {{"alpha", floatAttr(0.2f)}}, 0.031f, 140, 0.027f, 60);
    }
    void qlinearSigmoidMatchesFormula()
    {
        lookupCase<uint8_t>("QLinearSigmoid", "com.microsoft", {},
                            [](long double v) { return 1.0L / (1.0L + std::exp(-v)); }, 0.045f, 128, 1.0f / 256, 0);
    }
    void qlookupReluWithNewScale()
    {
        lookupCase<uint8_t>("QLookup", "ai.joule", {{"function", stringAttr("Relu")}},
                            [](long double v) { return std::max(0.0L, v); }, 0.05f, 100, 0.031f, 0);
    }
    void qlookupClipIsBitExactWithFakeQuant()
    {
        // Clip bounds as attributes of QLookup; the float Clip reads them as inputs from opset 11, so
        // the fake-quant side uses a Relu and the comparison uses Clip(0, +inf) == Relu.
        matchesFakeQuant<int8_t>("Relu", {}, "QLookup", "ai.joule", {{"function", stringAttr("Clip")}, {"min", floatAttr(0.0f)}},
                                 0.043f, 3, 0.019f, -128);
    }
    void qlookupClipMatchesFormula()
    {
        lookupCase<int8_t>("QLookup", "ai.joule", {{"function", stringAttr("Clip")}, {"min", floatAttr(-1.0f)}, {"max", floatAttr(2.5f)}},
                           [](long double v) { return std::clamp(v, -1.0L, 2.5L); }, 0.04f, 0, 0.0175f, -14);
    }
    void qlookupTanhMatchesFormula()
    {
        lookupCase<int8_t>("QLookup", "ai.joule", {{"function", stringAttr("Tanh")}},
                           [](long double v) { return std::tanh(v); }, 0.03f, 5, 1.0f / 128, 0);
    }
    void qlookupHardSwishMatchesFormula()
    {
        lookupCase<uint8_t>("QLookup", "ai.joule", {{"function", stringAttr("HardSwish")}},
                            [](long double v) { return v * std::clamp(v / 6 + 0.5L, 0.0L, 1.0L); }, 0.06f, 120, 0.029f, 20);
    }
    void qlookupRejectsUnknownFunction()
    {
        const Tensor x = q<uint8_t>({2}, {1, 2});
        QVERIFY_THROWS_EXCEPTION(std::exception,
                                 runNode("QLookup", "ai.joule",
                                         {{"x", x}, {"sx", f32({}, {0.1f}), true}, {"zx", scalarQ<uint8_t>(0), true},
                                          {"sy", f32({}, {0.1f}), true}, {"zy", scalarQ<uint8_t>(0), true}},
                                         {{"function", stringAttr("Softplus")}}));
    }
};

QTEST_GUILESS_MAIN(TestQLinearMore)
#include "tst_qlinear_more.moc"
