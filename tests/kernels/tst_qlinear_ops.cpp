// The quantized ops the QDQ lowering emits: QLinearAdd, QLinearGlobalAveragePool, QGemm
// (com.microsoft) and the "ai.joule" fused-activation variants, including QLinearConv's clamp.
// Expected values come from a direct long-double evaluation of each spec's formula, rounded half
// to even; the integer kernels must match it exactly (their only approximation, the 31-bit
// multipliers, is far below a rounding step for these cases), or within the documented tie rule.
#include "runtime/cpu_isa.h"
#include "runtime/kernels/int_conv_direct.h"
#include "runtime/kernels/int_gemm.h"
#include "runtime/kernels/quant_activation.h"
#include "kernels/quant_op_test.h"
#include "runtime/session.h"

#include <QtTest>

#include <cmath>

using namespace joule;

namespace {

using namespace quanttest;

} // namespace

class TestQLinearOps : public QObject {
    Q_OBJECT

private slots:
    // --- QLinearAdd -----------------------------------------------------------------------------
private:
    template <typename T> void addCase(const Shape& sa, const Shape& sb, const std::string& domain, int lo, int hi)
    {
        Lcg rng(2024);
        const Tensor a = q<T>(sa, rng.codes<T>(elementCount(sa)));
        const Tensor b = q<T>(sb, rng.codes<T>(elementCount(sb)));
        const float sA = 0.031f, sB = 0.0123f, sC = 0.047f;
        const int zA = std::is_signed_v<T> ? -7 : 121, zB = std::is_signed_v<T> ? 11 : 140, zC = std::is_signed_v<T> ? 3 : 128;
        std::map<std::string, Attribute> attrs;
        if (domain == "ai.joule") attrs = {{"activation_min", intAttr(lo)}, {"activation_max", intAttr(hi)}};
        const Tensor y = runNode("QLinearAdd", domain,
                                 {{"a", a}, {"sa", f32({}, {sA}), true}, {"za", scalarQ<T>(zA), true},
                                  {"b", b}, {"sb", f32({}, {sB}), true}, {"zb", scalarQ<T>(zB), true},
                                  {"sc", f32({}, {sC}), true}, {"zc", scalarQ<T>(zC), true}},
                                 attrs);
        // numpy broadcasting of [N, C, H, W] with b of [C, 1, 1] or the same shape.
        QCOMPARE(shapeToString(y.shape()), shapeToString(sa));
        std::vector<int> expected;
        const int64_t C = sa[1], HW = sa[2] * sa[3];
        for (int64_t i = 0; i < a.numel(); ++i) {
            const int64_t bi = b.numel() == a.numel() ? i : (i / HW) % C;
            const long double real = (static_cast<long double>(sA) * (a.data<T>()[i] - zA) +
                                      static_cast<long double>(sB) * (b.data<T>()[bi] - zB)) / sC;
            expected.push_back(expectedCode<T>(real, zC, lo, hi));
        }
        expectCodes<T>(y, expected);
    }

private slots:
    void qlinearAddMatchesSpecFormulaUint8() { addCase<uint8_t>({1, 4, 5, 6}, {1, 4, 5, 6}, "com.microsoft", 0, 255); }
    void qlinearAddMatchesSpecFormulaInt8Broadcast() { addCase<int8_t>({2, 3, 4, 5}, {3, 1, 1}, "com.microsoft", -128, 127); }
    void qlinearAddFusedReluClampsAtZeroPoint() { addCase<uint8_t>({1, 4, 5, 6}, {1, 4, 5, 6}, "ai.joule", 128, 255); }
    void qlinearAddFusedClipClampsBothEnds() { addCase<int8_t>({1, 4, 5, 6}, {1, 4, 5, 6}, "ai.joule", 3, 90); }

private:
    // Every (A, B) code pair, four times over (262,144 elements: the session splits them over two
    // threads), against the documented integer formula evaluated here in int64 (quant_math.h).
    // The vector loop must give the same code for every pair.
    template <typename T> void addEveryPair(float sA, float sB, float sC, int zA, int zB, int zC, int lo, int hi)
    {
        const int64_t n = 4 * 256 * 256;
        std::vector<T> codesA(n), codesB(n);
        for (int64_t i = 0; i < n; ++i) {
            codesA[i] = static_cast<T>(static_cast<int>(i & 255) + rt::quantMin<T>());
            codesB[i] = static_cast<T>(static_cast<int>((i >> 8) & 255) + rt::quantMin<T>());
        }
        const Shape shape{1, 4, 256, 256};
        const Tensor a = q<T>(shape, codesA), b = q<T>(shape, codesB);
        std::map<std::string, Attribute> attrs{{"activation_min", intAttr(lo)}, {"activation_max", intAttr(hi)}};
        for (int threads : {1, 2}) {
            const Tensor y = runNode("QLinearAdd", "ai.joule",
                                     {{"a", a}, {"sa", f32({}, {sA}), true}, {"za", scalarQ<T>(zA), true},
                                      {"b", b}, {"sb", f32({}, {sB}), true}, {"zb", scalarQ<T>(zB), true},
                                      {"sc", f32({}, {sC}), true}, {"zc", scalarQ<T>(zC), true}},
                                     attrs, threads);
            const rt::AddRescaler r = rt::AddRescaler::fromScales(sA, sB, sC);
            int64_t wrong = 0, first = -1;
            for (int64_t i = 0; i < n; ++i) {
                const int64_t acc = (int64_t{codesA[i]} - zA) * r.mulA + (int64_t{codesB[i]} - zB) * r.mulB;
                const int64_t want = std::clamp<int64_t>(rt::roundingShiftRightHalfEven(acc, r.shift) + zC, lo, hi);
                if (y.data<T>()[i] != want && wrong++ == 0) first = i;
            }
            if (wrong)
                QFAIL(qPrintable(QString("%1 threads: %2 of %3 codes differ from the integer formula; first at A=%4 B=%5")
                                     .arg(threads).arg(wrong).arg(n).arg(int(codesA[first])).arg(int(codesB[first]))));
        }
    }

private slots:
    void qlinearAddEveryCodePairMatchesIntegerFormula()
    {
        addEveryPair<uint8_t>(0.031f, 0.0123f, 0.047f, 121, 140, 128, 0, 255);     // ResNet-like ratios below 1
        addEveryPair<int8_t>(0.031f, 0.0123f, 0.047f, -7, 11, 3, -128, 127);
        addEveryPair<uint8_t>(0.5f, 0.25f, 1.0f, 0, 255, 3, 0, 255);               // ties at every other code
        addEveryPair<uint8_t>(3.0e-6f, 0.02f, 0.0011f, 77, 128, 128, 128, 255);    // a tiny and a large ratio, relu
        addEveryPair<int8_t>(0.9f, 1.0e4f, 2.0e-2f, 0, -128, 127, -40, 100);       // ratio 5e5: shift 12, clip
        addEveryPair<uint8_t>(1.0e-3f, 2.0e-3f, 9.0f, 255, 0, 0, 0, 255);          // ratios near 2^-12: shift 43
    }

    void qlinearAddRoundsTiesToEven()
    {
        // sA / sC = 0.5 exactly: (a - zA) * 0.5 hits every .5 tie; rne(0.5) = 0, rne(1.5) = 2, rne(-0.5) = 0.
        const Tensor a = q<int8_t>({6}, {1, 3, 5, -1, -3, -5});
        const Tensor b = q<int8_t>({6}, {0, 0, 0, 0, 0, 0});
        const Tensor y = runNode("QLinearAdd", "com.microsoft",
                                 {{"a", a}, {"sa", f32({}, {0.5f}), true}, {"za", scalarQ<int8_t>(0), true},
                                  {"b", b}, {"sb", f32({}, {0.25f}), true}, {"zb", scalarQ<int8_t>(0), true},
                                  {"sc", f32({}, {1.0f}), true}, {"zc", scalarQ<int8_t>(0), true}});
        const std::vector<int8_t> expected{0, 2, 2, 0, -2, -2};
        QCOMPARE(std::vector<int8_t>(y.data<int8_t>(), y.data<int8_t>() + 6), expected);
    }

    // --- QLinearGlobalAveragePool -------------------------------------------------------------------
private:
    template <typename T> void gapCase(bool channelsLast)
    {
        Lcg rng(2024);
        const int64_t N = 2, C = 5, H = 7, W = 6;
        const Shape shape = channelsLast ? Shape{N, H, W, C} : Shape{N, C, H, W};
        const Tensor x = q<T>(shape, rng.codes<T>(N * C * H * W));
        const float sx = 0.05f, sy = 0.0071f;
        const int zx = std::is_signed_v<T> ? 4 : 130, zy = std::is_signed_v<T> ? -2 : 126;
        const Tensor y = runNode("QLinearGlobalAveragePool", "com.microsoft",
                                 {{"x", x}, {"sx", f32({}, {sx}), true}, {"zx", scalarQ<T>(zx), true},
                                  {"sy", f32({}, {sy}), true}, {"zy", scalarQ<T>(zy), true}},
                                 {{"channels_last", intAttr(channelsLast ? 1 : 0)}});
        QCOMPARE(shapeToString(y.shape()), shapeToString(channelsLast ? Shape{N, 1, 1, C} : Shape{N, C, 1, 1}));
        std::vector<int> expected;
        for (int64_t n = 0; n < N; ++n)
            for (int64_t c = 0; c < C; ++c) {
                long double sum = 0;
                for (int64_t p = 0; p < H * W; ++p)
                    sum += x.data<T>()[channelsLast ? (n * H * W + p) * C + c : (n * C + c) * H * W + p] - zx;
                expected.push_back(expectedCode<T>(sum / (H * W) * sx / sy, zy));
            }
        expectCodes<T>(y, expected);
    }

private slots:
    void qlinearGlobalAveragePoolMatchesSpecFormulaUint8() { gapCase<uint8_t>(false); }
    void qlinearGlobalAveragePoolMatchesSpecFormulaInt8ChannelsLast() { gapCase<int8_t>(true); }

    // --- QGemm ---------------------------------------------------------------------------------
private:
    template <typename T>
    void gemmCase(bool transA, bool transB, bool quantizedOutput, const std::string& domain, int lo, int hi, int64_t M = 3,
                  int64_t K = 37, int64_t N = 6)
    {
        Lcg rng(2024);
        const Tensor a = q<T>(transA ? Shape{K, M} : Shape{M, K}, rng.codes<T>(M * K));
        const Tensor b = q<int8_t>(transB ? Shape{N, K} : Shape{K, N}, rng.codes<int8_t>(N * K));
        std::vector<float> sb;
        std::vector<int32_t> bias;
        for (int64_t n = 0; n < N; ++n) {
            sb.push_back(0.001f * static_cast<float>(1 + rng.next() % 20));
            bias.push_back(static_cast<int32_t>(rng.next() % 4001) - 2000);
        }
        const float sa = 0.02f, sy = 0.9f, alpha = 0.75f;
        const int za = std::is_signed_v<T> ? 5 : 118, zy = std::is_signed_v<T> ? -4 : 120;
        std::vector<In> inputs{{"a", a}, {"sa", f32({}, {sa}), true}, {"za", scalarQ<T>(za), true},
                               {"b", b, true}, {"sb", f32({N}, sb), true}, {"zb", q<int8_t>({N}, std::vector<int8_t>(N, 0)), true},
                               {"c", i32({N}, bias), true}};
        if (quantizedOutput) {
            inputs.push_back({"sy", f32({}, {sy}), true});
            inputs.push_back({"zy", scalarQ<T>(zy), true});
        }
        std::map<std::string, Attribute> attrs{{"transA", intAttr(transA)}, {"transB", intAttr(transB)}, {"alpha", floatAttr(alpha)}};
        if (domain == "ai.joule") {
            attrs["activation_min"] = intAttr(lo);
            attrs["activation_max"] = intAttr(hi);
        }
        const Tensor y = runNode("QGemm", domain, inputs, attrs);
        QCOMPARE(shapeToString(y.shape()), shapeToString({M, N}));
        std::vector<int> expected;
        for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < N; ++n) {
                int64_t acc = bias[static_cast<size_t>(n)];
                for (int64_t k = 0; k < K; ++k) {
                    const int64_t av = a.data<T>()[transA ? k * M + m : m * K + k] - za;
                    const int64_t bv = b.data<int8_t>()[transB ? n * K + k : k * N + n];
                    acc += av * bv;
                }
                const long double real = static_cast<long double>(acc) * alpha * sa * sb[static_cast<size_t>(n)];
                if (quantizedOutput) {
                    expected.push_back(expectedCode<T>(real / sy, zy, lo, hi));
                } else {
                    const float got = y.data<float>()[m * N + n];
                    QVERIFY2(std::fabs(got - static_cast<float>(real)) <= 1e-5f * std::fabs(static_cast<float>(real)) + 1e-6f,
                             qPrintable(QString("y[%1][%2] = %3, expected %4").arg(m).arg(n).arg(got).arg(static_cast<double>(real))));
                }
            }
        if (quantizedOutput) expectCodes<T>(y, expected);
        else QCOMPARE(y.dtype(), DataType::Float32);
    }

private slots:
    // ctest runs this suite four times: with the CPU's best kernels (AMX or AVX-512 VNNI where
    // present), with JOULE_INT_ISA=avx512, avx2 and portable. Each run must really take the paths
    // its cap and the CPU allow, so every case below is checked on each of them.
    void theIntegerKernelsFollowTheCpuAndTheIsaCap()
    {
        const rt::Isa cap = rt::isaCap("JOULE_INT_ISA");
        qInfo("JOULE_INT_ISA cap %s; CPU: avx2 %d, avx512-vnni %d, amx-int8 %d; int GEMM '%s', direct VNNI conv %d, AMX %d",
              rt::isaName(cap), rt::cpuHas(rt::CpuFeature::Avx2Fma), rt::cpuHas(rt::CpuFeature::Avx512Vnni),
              rt::cpuHas(rt::CpuFeature::AmxInt8), rt::intgemm::intKernels().name, rt::intconv::DirectConv::cpuSupported(),
              rt::intconv::DirectConv::amxSupported());
        QCOMPARE(rt::intconv::DirectConv::cpuSupported(), cap >= rt::Isa::Avx512 && rt::cpuHas(rt::CpuFeature::Avx512Vnni));
        QCOMPARE(rt::intconv::DirectConv::amxSupported(), cap == rt::Isa::Amx && rt::intconv::DirectConv::cpuSupported() &&
                                                              rt::cpuHas(rt::CpuFeature::AmxInt8));
        const bool avx2 = cap != rt::Isa::Portable && rt::cpuHas(rt::CpuFeature::Avx2Fma);
        QCOMPARE(QString(rt::intgemm::intKernels().name), QString(avx2 ? "avx2" : "portable"));
    }

    void anUnknownIsaCapIsAnErrorNamingTheVariable()
    {
        qputenv("JOULE_TEST_ISA_CAP", "sse9");
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, rt::isaCap("JOULE_TEST_ISA_CAP"));
        try {
            rt::isaCap("JOULE_TEST_ISA_CAP");
        } catch (const std::invalid_argument& e) {
            QVERIFY2(QString(e.what()).contains("JOULE_TEST_ISA_CAP='sse9'"), e.what());
        }
        qputenv("JOULE_TEST_ISA_CAP", "avx2");
        QCOMPARE(rt::isaCap("JOULE_TEST_ISA_CAP"), rt::Isa::Avx2);
        qputenv("JOULE_TEST_ISA_CAP", "avx512");
        QCOMPARE(rt::isaCap("JOULE_TEST_ISA_CAP"), rt::Isa::Avx512);
        qunsetenv("JOULE_TEST_ISA_CAP");
        QCOMPARE(rt::isaCap("JOULE_TEST_ISA_CAP"), rt::Isa::Amx);
    }

    void qgemmQuantizedOutputMatchesSpecFormula() { gemmCase<uint8_t>(false, true, true, "com.microsoft", 0, 255); }
    void qgemmInt8TransposedA() { gemmCase<int8_t>(true, false, true, "com.microsoft", -128, 127); }
    void qgemmFloatOutputMatchesSpecFormula() { gemmCase<uint8_t>(false, true, false, "com.microsoft", 0, 255); }
    void qgemmFusedReluClamps() { gemmCase<uint8_t>(false, true, true, "ai.joule", 120, 255); }
    // A classifier's shape: on AVX-512 VNNI, vpdpbusd on four blocks of 16 columns at a time, then
    // one block, then a partial one; split over threads when the session has them.
    void qgemmClassifierShape() { gemmCase<uint8_t>(false, true, true, "com.microsoft", 0, 255, 2, 301, 90); }
    void qgemmClassifierShapeInt8() { gemmCase<int8_t>(false, false, true, "com.microsoft", -128, 127, 1, 1280, 1000); }

    // --- QLinearConv fused activation ------------------------------------------------------------
    void qlinearConvFusedClipMatchesClampedSpecFormula()
    {
        Lcg rng(2024);
        const int64_t C = 3, H = 6, W = 5, M = 4;
        const Tensor x = q<uint8_t>({1, C, H, W}, rng.codes<uint8_t>(C * H * W));
        const Tensor w = q<int8_t>({M, C, 3, 3}, rng.codes<int8_t>(M * C * 9));
        const float sx = 0.01f, sw = 0.004f, sy = 0.02f;
        const int zx = 128, zy = 100, lo = 100, hi = 200;
        const Tensor y = runNode("QLinearConv", "ai.joule",
                                 {{"x", x}, {"sx", f32({}, {sx}), true}, {"zx", scalarQ<uint8_t>(zx), true},
                                  {"w", w, true}, {"sw", f32({}, {sw}), true}, {"zw", scalarQ<int8_t>(0), true},
                                  {"sy", f32({}, {sy}), true}, {"zy", scalarQ<uint8_t>(zy), true}},
                                 {{"pads", intsAttr({1, 1, 1, 1})}, {"activation_min", intAttr(lo)}, {"activation_max", intAttr(hi)}});
        std::vector<int> expected;
        int clamped = 0;
        for (int64_t m = 0; m < M; ++m)
            for (int64_t oh = 0; oh < H; ++oh)
                for (int64_t ow = 0; ow < W; ++ow) {
                    int64_t acc = 0;
                    for (int64_t c = 0; c < C; ++c)
                        for (int64_t kh = 0; kh < 3; ++kh)
                            for (int64_t kw = 0; kw < 3; ++kw) {
                                const int64_t ih = oh - 1 + kh, iw = ow - 1 + kw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                acc += (x.data<uint8_t>()[(c * H + ih) * W + iw] - zx) * int64_t{w.data<int8_t>()[((m * C + c) * 3 + kh) * 3 + kw]};
                            }
                    const int e = expectedCode<uint8_t>(static_cast<long double>(acc) * sx * sw / sy, zy, lo, hi);
                    clamped += e == lo || e == hi;
                    expected.push_back(e);
                }
        expectCodes<uint8_t>(y, expected);
        QVERIFY(clamped > 5);   // both the clamp and the unclamped range are exercised
    }

    void qlinearConvMatchesSpecFormulaOnEveryPath_data()
    {
        // Geometries the AVX-512 VNNI direct convolution takes (group 1, dilation 1) with strides 1-3,
        // channel counts on and off multiples of 4 and 8, widths over 16 and asymmetric padding; the
        // same cases run on the int16 GEMM path when JOULE_INT_ISA=avx2 (second ctest entry).
        QTest::addColumn<QList<int>>("p");   // signed x, C, H, W, M, KH, KW, sh, sw, pt, pl, pb, pr, per-channel, group
        QTest::newRow("resnet 3x3 s1 u8") << QList<int>{0, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
        QTest::newRow("3x3 s2 s8") << QList<int>{1, 16, 14, 14, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1};
        QTest::newRow("1x1 s2 shortcut") << QList<int>{0, 8, 15, 15, 12, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1};
        QTest::newRow("odd channels, wide rows") << QList<int>{1, 5, 7, 37, 9, 3, 2, 1, 1, 2, 0, 1, 1, 0, 1};
        QTest::newRow("rows over 64 positions, C 6") << QList<int>{0, 6, 5, 70, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
        QTest::newRow("stride 3, uneven pads") << QList<int>{0, 3, 11, 13, 4, 3, 3, 3, 2, 0, 2, 1, 0, 1, 1};
        QTest::newRow("stem C=1") << QList<int>{0, 1, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
        QTest::newRow("tiny plane") << QList<int>{1, 64, 4, 4, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
        // 16 channel quads or more: on AMX CPUs the tile path (a tap's last chunk of quads overlapping
        // the one before when C / 4 is not a multiple of 16; channel blocks of 32 cut short).
        QTest::newRow("AMX chunks: C 72, 3x3, M 40") << QList<int>{0, 72, 9, 20, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
        QTest::newRow("AMX chunks: C 130, 1x1 s2, M 33") << QList<int>{1, 130, 13, 13, 33, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1};
        QTest::newRow("1x1, C 40, M 48 (pointwise)") << QList<int>{0, 40, 11, 13, 48, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1};
        QTest::newRow("1x1, C 96, M 24, 48 x 48 (pointwise, split)") << QList<int>{1, 96, 48, 48, 24, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1};
        QTest::newRow("AMX: C 64, 3x3 s2, wide, M 64") << QList<int>{0, 64, 7, 40, 64, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1};
        QTest::newRow("depthwise 3x3 s1") << QList<int>{0, 32, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 32};
        QTest::newRow("depthwise 3x3 s2 s8, wide") << QList<int>{1, 12, 9, 40, 12, 3, 3, 2, 2, 1, 1, 1, 1, 1, 12};
        QTest::newRow("depthwise 5x3 uneven") << QList<int>{0, 7, 7, 7, 7, 5, 3, 1, 2, 2, 0, 2, 1, 0, 7};
        // Planes of about 10 KB: the direct kernel stages and convolves them two channels at a time.
        QTest::newRow("depthwise 3x3, large planes") << QList<int>{1, 7, 100, 98, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 7};
        // On VBMI CPUs depthwise layers read 64-byte windows of x (int_conv_direct.h) when KW <= 8
        // and 15 * stride + KW rounded up to 4 <= 64: rows of several windows, a 7 x 7 output and
        // rows of 8 (two rows per vector), two dwords of taps per kernel row, stride 3; stride 4
        // with KW 5 and KW 9 take the staged path.
        QTest::newRow("depthwise 3x3 s1, rows of 5 windows") << QList<int>{0, 5, 9, 70, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 5};
        QTest::newRow("depthwise 3x3 s2 to 7x7") << QList<int>{1, 24, 14, 14, 24, 3, 3, 2, 2, 0, 0, 1, 1, 1, 24};
        QTest::newRow("depthwise 3x5 s2, two tap dwords") << QList<int>{0, 6, 11, 45, 6, 3, 5, 2, 2, 1, 2, 1, 2, 1, 6};
        QTest::newRow("depthwise 2x7 s3, pads past the window") << QList<int>{1, 4, 8, 50, 4, 2, 7, 1, 3, 0, 3, 1, 3, 0, 4};
        QTest::newRow("depthwise 3x5, rows of 8, two per vector") << QList<int>{1, 5, 8, 8, 5, 3, 5, 1, 1, 1, 2, 1, 2, 1, 5};
        QTest::newRow("depthwise 3x5 s4 (staged)") << QList<int>{0, 3, 9, 40, 3, 3, 5, 2, 4, 1, 2, 1, 2, 1, 3};
        QTest::newRow("depthwise 1x9 (staged)") << QList<int>{1, 3, 4, 30, 3, 1, 9, 1, 1, 0, 4, 0, 4, 1, 3};
    }

    void qlinearConvMatchesSpecFormulaOnEveryPath()
    {
        QFETCH(QList<int>, p);
        const bool sx8 = p[0] != 0;
        const int64_t C = p[1], H = p[2], W = p[3], M = p[4], KH = p[5], KW = p[6], sh = p[7], sw = p[8];
        const int64_t pt = p[9], pl = p[10], pb = p[11], pr = p[12];
        const bool perChannel = p[13] != 0;
        const int64_t G = p[14], Cg = C / G, Mg = M / G;
        Lcg rng(2024);
        std::vector<uint8_t> xu = rng.codes<uint8_t>(C * H * W);
        std::vector<int8_t> xs = rng.codes<int8_t>(C * H * W);
        std::vector<int8_t> w = rng.codes<int8_t>(M * Cg * KH * KW);
        std::vector<int32_t> bias;
        std::vector<float> swc;
        for (int64_t m = 0; m < M; ++m) {
            bias.push_back(static_cast<int32_t>(rng.next() % 20001) - 10000);
            swc.push_back(perChannel ? 0.0004f * static_cast<float>(1 + rng.next() % 30) : 0.003f);
        }
        const float sx = 0.02f, sy = 0.5f * static_cast<float>(std::sqrt(static_cast<double>(Cg * KH * KW)));
        const int zx = sx8 ? -9 : 131, zy = sx8 ? 4 : 120;
        const Tensor x = sx8 ? q<int8_t>({1, C, H, W}, xs) : q<uint8_t>({1, C, H, W}, xu);
        const Tensor zxT = sx8 ? scalarQ<int8_t>(zx) : scalarQ<uint8_t>(zx);
        const Tensor zyT = sx8 ? scalarQ<int8_t>(zy) : scalarQ<uint8_t>(zy);
        // Each case on one thread and on two (the kernels split channels, positions or stages).
        auto conv = [&](int threads) {
            return runNode("QLinearConv", "",
                           {{"x", x}, {"sx", f32({}, {sx}), true}, {"zx", zxT, true},
                            {"w", q<int8_t>({M, Cg, KH, KW}, w), true},
                            {"sw", perChannel ? f32({M}, swc) : f32({}, {swc[0]}), true},
                            {"zw", perChannel ? q<int8_t>({M}, std::vector<int8_t>(static_cast<size_t>(M), 0)) : scalarQ<int8_t>(0), true},
                            {"sy", f32({}, {sy}), true}, {"zy", zyT, true}, {"b", i32({M}, bias), true}},
                           {{"strides", intsAttr({sh, sw})}, {"pads", intsAttr({pt, pl, pb, pr})}, {"kernel_shape", intsAttr({KH, KW})},
                            {"group", intAttr(G)}}, threads);
        };
        const Tensor y = conv(1), y2 = conv(2);
        const int64_t OH = (H + pt + pb - KH) / sh + 1, OW = (W + pl + pr - KW) / sw + 1;
        QCOMPARE(shapeToString(y.shape()), shapeToString({1, M, OH, OW}));
        std::vector<int> expected;
        for (int64_t m = 0; m < M; ++m)
            for (int64_t oh = 0; oh < OH; ++oh)
                for (int64_t ow = 0; ow < OW; ++ow) {
                    int64_t acc = bias[static_cast<size_t>(m)];
                    for (int64_t cg = 0; cg < Cg; ++cg)
                        for (int64_t kh = 0; kh < KH; ++kh)
                            for (int64_t kw = 0; kw < KW; ++kw) {
                                const int64_t ih = oh * sh - pt + kh, iw = ow * sw - pl + kw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                const int64_t c = (m / Mg) * Cg + cg;
                                const size_t xi = static_cast<size_t>((c * H + ih) * W + iw);
                                const int64_t xv = (sx8 ? int64_t{xs[xi]} : int64_t{xu[xi]}) - zx;
                                acc += xv * w[static_cast<size_t>(((m * Cg + cg) * KH + kh) * KW + kw)];
                            }
                    const long double real = static_cast<long double>(acc) * sx * swc[perChannel ? static_cast<size_t>(m) : 0] / sy;
                    expected.push_back(sx8 ? expectedCode<int8_t>(real, zy) : expectedCode<uint8_t>(real, zy));
                }
        for (const Tensor* t : {&y, &y2}) {
            if (sx8) expectCodes<int8_t>(*t, expected);
            else expectCodes<uint8_t>(*t, expected);
        }
    }

    void qlinearConvRequantizesExactlyOnBothSidesOfTheShortcutBound_data()
    {
        // The direct convolution requantizes in double, with no range check, when its weights and
        // bias bound every accumulator below 2^22 (int_conv_direct.h, FastRequant), else in 64-bit
        // integers. A 1x1 convolution of 520 channels with weights alternating +-w: the bound is
        // 255 * 260 * w + |bias|, under 2^22 for w = 63 and over it for w = 64.
        QTest::addColumn<int>("weight");
        QTest::addColumn<bool>("underBound");
        QTest::newRow("w 63: double shortcut") << 63 << true;
        QTest::newRow("w 64: 64-bit path") << 64 << false;
    }

    void qlinearConvRequantizesExactlyOnBothSidesOfTheShortcutBound()
    {
        QFETCH(int, weight);
        QFETCH(bool, underBound);
        const int64_t C = 520, H = 16, W = 16, M = 8, zx = 128;
        const std::vector<int32_t> bias{64, -64, 192, -192, 0, 1, 320, -320};
        const int64_t bound = 255 * (C / 2) * weight + 320;
        QCOMPARE(bound < (int64_t{1} << 22), underBound);
        // x within one of its zero point, so that the outputs stay in range: acc = w * k + bias.
        Lcg rng(7);
        std::vector<uint8_t> x(static_cast<size_t>(C * H * W));
        for (auto& v : x) v = static_cast<uint8_t>(zx - 1 + static_cast<int64_t>(rng.next() % 3));
        std::vector<int8_t> w(static_cast<size_t>(M * C));
        for (int64_t m = 0; m < M; ++m)
            for (int64_t c = 0; c < C; ++c)
                w[static_cast<size_t>(m * C + c)] = static_cast<int8_t>((c + m) % 2 ? -weight : std::min(weight, 127));
        // x_scale * w_scale / y_scale = 2^-7 exactly: every acc = 64 (mod 128) is a tie.
        const float sx = 0.5f, sw = 1.0f / 64.0f, sy = 1.0f;
        const int zy = 120;
        const Tensor y = runNode("QLinearConv", "",
                                 {{"x", q<uint8_t>({1, C, H, W}, x)}, {"sx", f32({}, {sx}), true}, {"zx", scalarQ<uint8_t>(zx), true},
                                  {"w", q<int8_t>({M, C, 1, 1}, w), true}, {"sw", f32({}, {sw}), true}, {"zw", scalarQ<int8_t>(0), true},
                                  {"sy", f32({}, {sy}), true}, {"zy", scalarQ<uint8_t>(zy), true}, {"b", i32({M}, bias), true}},
                                 {});
        std::vector<int> expected;
        int ties = 0;
        for (int64_t m = 0; m < M; ++m)
            for (int64_t p = 0; p < H * W; ++p) {
                int64_t acc = bias[static_cast<size_t>(m)];
                for (int64_t c = 0; c < C; ++c)
                    acc += (int64_t{x[static_cast<size_t>(c * H * W + p)]} - zx) * w[static_cast<size_t>(m * C + c)];
                ties += ((acc % 128) + 128) % 128 == 64;
                expected.push_back(expectedCode<uint8_t>(static_cast<long double>(acc) / 128.0L, zy));
            }
        QVERIFY2(ties > 20, qPrintable(QString("only %1 ties").arg(ties)));
        expectCodes<uint8_t>(y, expected);
    }

    void qlinearConvSplitAcrossThreadsGivesSameCodes()
    {
        // Large enough for the direct convolution to split its tiles across two threads.
        Lcg rng(2024);
        const int64_t C = 32, H = 40, W = 40, M = 64;
        const Tensor x = q<uint8_t>({1, C, H, W}, rng.codes<uint8_t>(C * H * W));
        const std::vector<In> inputs{{"x", x}, {"sx", f32({}, {0.02f}), true}, {"zx", scalarQ<uint8_t>(120), true},
                                     {"w", q<int8_t>({M, C, 3, 3}, rng.codes<int8_t>(M * C * 9)), true},
                                     {"sw", f32({}, {0.003f}), true}, {"zw", scalarQ<int8_t>(0), true},
                                     {"sy", f32({}, {2.0f}), true}, {"zy", scalarQ<uint8_t>(128), true}};
        const std::map<std::string, Attribute> attrs{{"pads", intsAttr({1, 1, 1, 1})}};
        const Tensor one = runNode("QLinearConv", "", inputs, attrs, 1);
        const Tensor two = runNode("QLinearConv", "", inputs, attrs, 2);
        QVERIFY(one.sameContents(two));
    }

    void roundingShiftRightHalfEvenRoundsTiesToEven()
    {
        // quant_math.h's branch-free rounding (the kernels' inner loops) against the rule written out
        // with a branch: floor, then up when the remainder is above half, or exactly half and the
        // floor is odd. On ties and their neighbours, and on random products, for every shift.
        const auto reference = [](int64_t v, int shift) {
            const int64_t q = v >> shift;
            const int64_t rem = v - q * (int64_t{1} << shift);
            const int64_t half = int64_t{1} << (shift - 1);
            return (rem > half || (rem == half && (q & 1))) ? q + 1 : q;
        };
        Lcg rng(2024);
        for (int shift = 1; shift <= 62; ++shift) {
            const int64_t unit = int64_t{1} << shift;
            for (int64_t k = -3; k <= 3; ++k)
                for (int64_t v : {k * unit, k * unit + unit / 2, k * unit + unit / 2 - 1, k * unit + unit / 2 + 1}) {
                    if (rt::roundingShiftRightHalfEven(v, shift) != reference(v, shift))
                        QFAIL(qPrintable(QString("shift %1, v %2").arg(shift).arg(v)));
                }
            for (int i = 0; i < 200; ++i) {
                const int64_t v = (static_cast<int64_t>(rng.next()) << 24 | rng.next()) * ((i & 1) ? 1 : -1);
                QCOMPARE(rt::roundingShiftRightHalfEven(v, shift), reference(v, shift));
            }
        }
        // Ties: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2, -3.5 -> -4 (shift 1: v / 2).
        QCOMPARE(rt::roundingShiftRightHalfEven(5, 1), int64_t(2));
        QCOMPARE(rt::roundingShiftRightHalfEven(7, 1), int64_t(4));
        QCOMPARE(rt::roundingShiftRightHalfEven(-5, 1), int64_t(-2));
        QCOMPARE(rt::roundingShiftRightHalfEven(-7, 1), int64_t(-4));
    }

    void fusedActivationRejectsEmptyRange()
    {
        const Tensor a = q<uint8_t>({2}, {1, 2});
        QVERIFY_THROWS_EXCEPTION(std::exception,
                                 runNode("QLinearAdd", "ai.joule",
                                         {{"a", a}, {"sa", f32({}, {0.1f}), true}, {"za", scalarQ<uint8_t>(0), true},
                                          {"b", a}, {"sb", f32({}, {0.1f}), true}, {"zb", scalarQ<uint8_t>(0), true},
                                          {"sc", f32({}, {0.1f}), true}, {"zc", scalarQ<uint8_t>(0), true}},
                                         {{"activation_min", intAttr(9)}, {"activation_max", intAttr(3)}}));
    }
};

QTEST_GUILESS_MAIN(TestQLinearOps)
#include "tst_qlinear_ops.moc"
