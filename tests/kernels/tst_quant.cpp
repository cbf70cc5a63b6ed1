// Quant family: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger,
// QLinearMatMul, ConvInteger, QLinearConv, and the requantization arithmetic of quant_math.h.
// Expected values are worked out by hand or from the spec's formula inside each test.
#include "runtime/kernels/int_gemm.h"
#include "runtime/quant_math.h"
#include "single_op.h"

#include <QtTest>

#include <cmath>

using namespace joule;
using namespace joule::test;

namespace {

Tensor f32(Shape shape, std::vector<float> v) { return Tensor::fromVector(DataType::Float32, std::move(shape), v); }
Tensor u8(Shape shape, std::vector<uint8_t> v) { return Tensor::fromVector(DataType::UInt8, std::move(shape), v); }
Tensor s8(Shape shape, std::vector<int8_t> v) { return Tensor::fromVector(DataType::Int8, std::move(shape), v); }
Tensor i32(Shape shape, std::vector<int32_t> v) { return Tensor::fromVector(DataType::Int32, std::move(shape), v); }

template <typename T> std::vector<T> valuesOf(const Tensor& t) { return {t.data<T>(), t.data<T>() + t.numel()}; }

template <typename T> void expectExact(const Tensor& t, DataType type, const Shape& shape, const std::vector<T>& expected)
{
    QCOMPARE(t.dtype(), type);
    QCOMPARE(shapeToString(t.shape()), shapeToString(shape));
    QCOMPARE(valuesOf<T>(t), expected);
}

// Deterministic pseudo-random bytes for the formula-checked convolution.
struct Lcg {
    uint32_t s = 12345;
    uint32_t next() { s = s * 1664525u + 1013904223u; return s >> 8; }
};

} // namespace

class TestQuantKernels : public QObject {
    Q_OBJECT

private slots:
    // --- quant_math.h -----------------------------------------------------------------------
    void requantizerRoundsHalfToEvenExactly()
    {
        const rt::Requantizer half = rt::Requantizer::fromReal(0.5);
        QCOMPARE(half.apply(1), int64_t{0});
        QCOMPARE(half.apply(3), int64_t{2});
        QCOMPARE(half.apply(5), int64_t{2});
        QCOMPARE(half.apply(-1), int64_t{0});
        QCOMPARE(half.apply(-3), int64_t{-2});
        QCOMPARE(half.apply(-5), int64_t{-2});
    }

    void requantizerMatchesRoundingOfItsExactProduct()
    {
        // acc * m0 / 2^shift evaluated in long double (64-bit mantissa: exact) and rounded half to even.
        Lcg rng;
        for (double m : {0.0043485, 0.25, 0.999999, 1.5, 3.7e-5, 123.456}) {
            const rt::Requantizer r = rt::Requantizer::fromReal(m);
            QVERIFY(std::fabs(r.real() - m) <= m * 1e-9);
            for (int i = 0; i < 2000; ++i) {
                const int32_t acc = static_cast<int32_t>(rng.next() % 2000001) - 1000000;
                const long double exact = std::ldexp(static_cast<long double>(acc) * r.multiplier, -r.shift);
                QCOMPARE(r.apply(acc), static_cast<int64_t>(std::nearbyintl(exact)));
            }
        }
        QCOMPARE(rt::Requantizer::fromReal(0.0).apply(123456), int64_t{0});
        QCOMPARE(rt::Requantizer::fromReal(1e-30).apply(2147483647), int64_t{0});
    }

    // --- int_gemm.h micro-kernels --------------------------------------------------------------
    void intGemmMicroKernelsAgreeWithDirectSums()
    {
        // The CPU's best kernels (AVX2 here) and the portable ones against plain int32 sums, with
        // extreme values (+-255 products) and a padded length.
        Lcg rng;
        const int64_t kp = rt::intgemm::packedK(37);
        QCOMPARE(kp, int64_t{48});
        std::vector<int16_t> a(static_cast<size_t>(4 * kp)), b(static_cast<size_t>(2 * kp));
        for (auto& v : a) v = static_cast<int16_t>(static_cast<int>(rng.next() % 511) - 255);
        for (auto& v : b) v = static_cast<int16_t>(static_cast<int>(rng.next() % 511) - 255);
        a[0] = b[0] = -255;
        for (const rt::intgemm::IntKernels* k : {&rt::intgemm::intKernels(), &rt::intgemm::portableIntKernels()}) {
            int32_t out[8];
            k->tile4x2(a.data(), kp, b.data(), kp, kp, out);
            for (int r = 0; r < 4; ++r)
                for (int c = 0; c < 2; ++c) {
                    int32_t expected = 0;
                    for (int64_t i = 0; i < kp; ++i) expected += a[static_cast<size_t>(r * kp + i)] * b[static_cast<size_t>(c * kp + i)];
                    QCOMPARE(out[r * 2 + c], expected);
                    QCOMPARE(k->dot(a.data() + r * kp, b.data() + c * kp, kp), expected);
                }
        }
    }

    // --- QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear ----------------------------
    void quantizeLinearRoundsHalfToEvenAndSaturates()
    {
        // x / 2 = 0, .5, 1.5, 2.5, 500, -500, -1.5 -> 0, 0, 2, 2, 500, -500, -2, then + 128, clamp.
        auto y = runOp("QuantizeLinear", {{"x", f32({7}, {0, 1, 3, 5, 1000, -1000, -3})}, {"s", f32({}, {2})}, {"z", u8({}, {128})}});
        expectExact<uint8_t>(y[0], DataType::UInt8, {7}, {128, 128, 130, 130, 255, 0, 126});
    }

    void quantizeLinearWithoutZeroPointIsUint8()
    {
        auto y = runOp("QuantizeLinear", {{"x", f32({2}, {-1, 2.6f})}, {"s", f32({}, {1})}}, {}, 1, 10);
        expectExact<uint8_t>(y[0], DataType::UInt8, {2}, {0, 3});
    }

    void quantizeLinearPerAxisInt8()
    {
        // Axis 1 has two channels: scale 1 / zero 0, and scale 0.5 / zero -10.
        auto y = runOp("QuantizeLinear", {{"x", f32({1, 2, 2}, {1, 2, 3, 4})}, {"s", f32({2}, {1, 0.5f})}, {"z", s8({2}, {0, -10})}}, {}, 1, 13);
        expectExact<int8_t>(y[0], DataType::Int8, {1, 2, 2}, {1, 2, -4, -2});
    }

    void dequantizeLinearPerTensor()
    {
        auto y = runOp("DequantizeLinear", {{"x", u8({4}, {0, 3, 128, 255})}, {"s", f32({}, {2})}, {"z", u8({}, {128})}});
        QCOMPARE(valuesOf<float>(y[0]), (std::vector<float>{-256, -250, 0, 254}));
    }

    void dequantizeLinearPerAxis()
    {
        // Default axis 1: column scales 0.5 and 2, zero points 1 and 0.
        auto y = runOp("DequantizeLinear", {{"x", s8({2, 2}, {-1, 1, 10, 20})}, {"s", f32({2}, {0.5f, 2})}, {"z", s8({2}, {1, 0})}});
        QCOMPARE(valuesOf<float>(y[0]), (std::vector<float>{-1, 2, 4.5f, 40}));
    }

    void dequantizeLinearInt32()
    {
        auto y = runOp("DequantizeLinear", {{"x", i32({2}, {-1000000, 7})}, {"s", f32({}, {0.25f})}});
        QCOMPARE(valuesOf<float>(y[0]), (std::vector<float>{-250000, 1.75f}));
    }

    void dynamicQuantizeLinearCoversRangeAndZero()
    {
        // Range [-2.55, 5.1] -> scale 7.65 / 255 = 0.03, zero point 85.
        auto y = runOp("DynamicQuantizeLinear", {{"x", f32({3}, {0, 5.1f, -2.55f})}}, {}, 3, 11);
        expectExact<uint8_t>(y[0], DataType::UInt8, {3}, {85, 255, 0});
        QVERIFY(std::fabs(y[1].data<float>()[0] - 0.03f) < 1e-7f);
        QCOMPARE(y[1].rank(), 0);
        expectExact<uint8_t>(y[2], DataType::UInt8, {}, {85});
    }

    void dynamicQuantizeLinearOfZerosHasZeroScale()
    {
        auto y = runOp("DynamicQuantizeLinear", {{"x", f32({2}, {0, 0})}}, {}, 3, 11);
        expectExact<uint8_t>(y[0], DataType::UInt8, {2}, {0, 0});
        QCOMPARE(y[1].data<float>()[0], 0.0f);
        expectExact<uint8_t>(y[2], DataType::UInt8, {}, {0});
    }

    // --- MatMulInteger / QLinearMatMul -------------------------------------------------------
    void matMulIntegerSubtractsZeroPoints()
    {
        // (A - 10) = [[0,1,2],[3,4,5]], (B - 1) = [[0,1],[2,3],[4,5]].
        auto y = runOp("MatMulInteger", {{"a", u8({2, 3}, {10, 11, 12, 13, 14, 15})}, {"b", u8({3, 2}, {1, 2, 3, 4, 5, 6}), true},
                                         {"za", u8({}, {10})}, {"zb", u8({}, {1})}});
        expectExact<int32_t>(y[0], DataType::Int32, {2, 2}, {10, 13, 28, 40});
    }

    void matMulIntegerPerRowZeroPointWithInt8B()
    {
        // Rows of A minus their own zero point: [0, 1] and [-1, 0]; B is int8 without zero point.
        auto y = runOp("MatMulInteger", {{"a", u8({2, 2}, {5, 6, 7, 8})}, {"b", s8({2, 2}, {-1, 2, 3, -4})}, {"za", u8({2}, {5, 8})}});
        expectExact<int32_t>(y[0], DataType::Int32, {2, 2}, {3, -4, 1, -2});
    }

    void matMulIntegerBroadcastsBatchAndVectors()
    {
        auto y = runOp("MatMulInteger", {{"a", u8({2, 1, 2}, {1, 2, 3, 4})}, {"b", u8({2, 1}, {1, 1})}});
        expectExact<int32_t>(y[0], DataType::Int32, {2, 1, 1}, {3, 7});
        auto v = runOp("MatMulInteger", {{"a", u8({2}, {1, 2})}, {"b", u8({2, 2}, {1, 0, 0, 1})}});
        expectExact<int32_t>(v[0], DataType::Int32, {2}, {1, 2});
    }

    void qlinearMatMulMatchesOnnxExample()
    {
        auto y = runOp("QLinearMatMul",
                       {{"a", u8({2, 4}, {208, 236, 0, 238, 3, 214, 255, 29})}, {"sa", f32({1}, {0.0066f})}, {"za", u8({1}, {113})},
                        {"b", u8({4, 3}, {152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247}), true},
                        {"sb", f32({1}, {0.00705f})}, {"zb", u8({1}, {114})}, {"sy", f32({1}, {0.0107f})}, {"zy", u8({1}, {118})}},
                       {}, 1, 10);
        expectExact<uint8_t>(y[0], DataType::UInt8, {2, 3}, {168, 115, 255, 1, 66, 151});
    }

    void qlinearMatMulRoundsHalfToEven()
    {
        // Multiplier 1 * 1 / 2: accumulators 1, 3, 5, -1, -3 -> 0, 2, 2, 0, -2, plus 10.
        auto y = runOp("QLinearMatMul",
                       {{"a", s8({5, 1}, {1, 3, 5, -1, -3})}, {"sa", f32({}, {1})}, {"za", s8({}, {0})},
                        {"b", s8({1, 1}, {1})}, {"sb", f32({}, {1})}, {"zb", s8({}, {0})}, {"sy", f32({}, {2})}, {"zy", s8({}, {10})}},
                       {}, 1, 10);
        expectExact<int8_t>(y[0], DataType::Int8, {5, 1}, {10, 12, 12, 10, 8});
    }

    void qlinearMatMulPerColumnScales()
    {
        // b's columns have scales 1 and 4: y = round(acc * 1 * s_b / 2).
        auto y = runOp("QLinearMatMul",
                       {{"a", s8({1, 2}, {3, 5})}, {"sa", f32({}, {1})}, {"za", s8({}, {0})},
                        {"b", s8({2, 2}, {1, 1, 1, -1})}, {"sb", f32({2}, {1, 4})}, {"zb", s8({2}, {0, 0})},
                        {"sy", f32({}, {2})}, {"zy", s8({}, {0})}},
                       {}, 1, 10);
        // acc = [8, -2] -> [8 * 0.5, -2 * 2] = [4, -4]
        expectExact<int8_t>(y[0], DataType::Int8, {1, 2}, {4, -4});
    }

    // --- ConvInteger / QLinearConv ---------------------------------------------------------
    void convIntegerPadsWithZeroPoint()
    {
        auto y = runOp("ConvInteger", {{"x", u8({1, 1, 3, 3}, {2, 3, 4, 5, 6, 7, 8, 9, 10})}, {"w", u8({1, 1, 2, 2}, {1, 1, 1, 1}), true},
                                       {"zx", u8({}, {1})}},
                       {{"pads", intsAttr({1, 1, 1, 1})}}, 1, 10);
        expectExact<int32_t>(y[0], DataType::Int32, {1, 1, 4, 4}, {1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9});
    }

    void convIntegerGroupedStridedWithPerChannelZeroPoint()
    {
        // Two groups of one channel; each filter is all ones after its zero point (2-1, 3-2).
        // Stride 2 with one column/row of padding at the end: 2x2 windows at (0,0) (0,2) (2,0) (2,2).
        std::vector<uint8_t> x(18);
        for (int i = 0; i < 18; ++i) x[static_cast<size_t>(i)] = static_cast<uint8_t>(i + 1);
        auto y = runOp("ConvInteger", {{"x", u8({1, 2, 3, 3}, x)}, {"w", u8({2, 1, 2, 2}, {2, 2, 2, 2, 3, 3, 3, 3}), true},
                                       {"zx", Tensor()}, {"zw", u8({2}, {1, 2})}},
                       {{"group", intAttr(2)}, {"strides", intsAttr({2, 2})}, {"pads", intsAttr({0, 0, 1, 1})}}, 1, 10);
        expectExact<int32_t>(y[0], DataType::Int32, {1, 2, 2, 2}, {12, 9, 15, 9, 48, 27, 33, 18});
    }

    void qlinearConvAddsBiasAndRequantizesPerChannel()
    {
        // x - 128 = [2, 12]; filters 2 and -3 (int8); bias 4 and -8; multipliers 0.5*0.25/0.5 and 0.5*1/0.5.
        auto y = runOp("QLinearConv",
                       {{"x", u8({1, 1, 1, 2}, {130, 140})}, {"sx", f32({}, {0.5f})}, {"zx", u8({}, {128})},
                        {"w", s8({2, 1, 1, 1}, {2, -3}), true}, {"sw", f32({2}, {0.25f, 1})}, {"zw", s8({2}, {0, 0})},
                        {"sy", f32({}, {0.5f})}, {"zy", u8({}, {100})}, {"b", i32({2}, {4, -8}), true}},
                       {}, 1, 10);
        expectExact<uint8_t>(y[0], DataType::UInt8, {1, 2, 1, 2}, {102, 107, 86, 56});
    }

    void qlinearConvMatchesSpecFormula_data()
    {
        QTest::addColumn<QList<int>>("p");   // C, H, W, M, group, KH, KW, sh, sw, dh, dw, pt, pl, pb, pr
        QTest::newRow("grouped strided dilated") << QList<int>{4, 6, 5, 6, 2, 3, 2, 2, 1, 1, 2, 1, 0, 1, 1};
        QTest::newRow("depthwise padded") << QList<int>{3, 5, 6, 3, 3, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1};
        QTest::newRow("dense 1x1") << QList<int>{5, 3, 4, 7, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
        QTest::newRow("depthwise dilated") << QList<int>{2, 7, 7, 2, 2, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2};
    }

    void qlinearConvMatchesSpecFormula()
    {
        // int8 convolution against a direct evaluation of the spec's formula in long double:
        // y = saturate(zy + round((sum (x - zx) * w + bias) * sx * sw[m] / sy)).
        QFETCH(QList<int>, p);
        const int64_t N = 1, C = p[0], H = p[1], W = p[2], M = p[3], G = p[4], KH = p[5], KW = p[6];
        const int64_t sh = p[7], sw = p[8], dh = p[9], dw = p[10], pt = p[11], pl = p[12], pb = p[13], pr = p[14];
        Lcg rng;
        std::vector<int8_t> x(static_cast<size_t>(N * C * H * W)), w(static_cast<size_t>(M * (C / G) * KH * KW));
        for (auto& v : x) v = static_cast<int8_t>(static_cast<int>(rng.next() % 256) - 128);
        for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng.next() % 256) - 128);
        std::vector<int32_t> bias(static_cast<size_t>(M));
        std::vector<float> swc(static_cast<size_t>(M));
        for (int64_t m = 0; m < M; ++m) {
            bias[static_cast<size_t>(m)] = static_cast<int32_t>(rng.next() % 2001) - 1000;
            swc[static_cast<size_t>(m)] = 0.0005f * static_cast<float>(1 + rng.next() % 40);
        }
        const std::vector<int8_t> zwc(static_cast<size_t>(M), 0);
        const float sx = 0.02f, sy = 0.37f;
        const int32_t zx = -3, zy = 5;
        auto y = runOp("QLinearConv",
                       {{"x", s8({N, C, H, W}, x)}, {"sx", f32({}, {sx})}, {"zx", s8({}, {static_cast<int8_t>(zx)})},
                        {"w", s8({M, C / G, KH, KW}, w), true}, {"sw", f32({M}, swc)}, {"zw", s8({M}, zwc)},
                        {"sy", f32({}, {sy})}, {"zy", s8({}, {static_cast<int8_t>(zy)})}, {"b", i32({M}, bias), true}},
                       {{"group", intAttr(G)}, {"strides", intsAttr({sh, sw})}, {"dilations", intsAttr({dh, dw})},
                        {"pads", intsAttr({pt, pl, pb, pr})}},
                       1, 10);
        const int64_t OH = (H + pt + pb - dh * (KH - 1) - 1) / sh + 1, OW = (W + pl + pr - dw * (KW - 1) - 1) / sw + 1;
        QCOMPARE(shapeToString(y[0].shape()), shapeToString({N, M, OH, OW}));
        const int8_t* got = y[0].data<int8_t>();
        int distinct = 0, last = 1000;
        for (int64_t m = 0; m < M; ++m)
            for (int64_t oh = 0; oh < OH; ++oh)
                for (int64_t ow = 0; ow < OW; ++ow) {
                    const int64_t g = m / (M / G);
                    int64_t acc = bias[static_cast<size_t>(m)];
                    for (int64_t c = 0; c < C / G; ++c)
                        for (int64_t kh = 0; kh < KH; ++kh)
                            for (int64_t kw = 0; kw < KW; ++kw) {
                                const int64_t ih = oh * sh - pt + kh * dh, iw = ow * sw - pl + kw * dw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                const int64_t xv = x[static_cast<size_t>(((g * (C / G) + c) * H + ih) * W + iw)] - zx;
                                const int64_t wv = w[static_cast<size_t>(((m * (C / G) + c) * KH + kh) * KW + kw)];
                                acc += xv * wv;
                            }
                    const long double real = static_cast<long double>(acc) * sx * swc[static_cast<size_t>(m)] / sy;
                    const long double q = std::nearbyintl(real) + zy;
                    const int expected = static_cast<int>(std::clamp<long double>(q, -128, 127));
                    const int actual = got[(m * OH + oh) * OW + ow];
                    if (actual != expected)
                        QFAIL(qPrintable(QString("y[%1][%2][%3] = %4, expected %5").arg(m).arg(oh).arg(ow).arg(actual).arg(expected)));
                    if (expected != last) ++distinct;
                    last = expected;
                }
        QVERIFY(distinct > 3);   // the case is not degenerate (all saturated)
    }

    void qlinearConvGivesSameResultOnTwoThreads()
    {
        Lcg rng;
        std::vector<uint8_t> x(8 * 20 * 20), w(16 * 8 * 3 * 3);
        for (auto& v : x) v = static_cast<uint8_t>(rng.next());
        for (auto& v : w) v = static_cast<uint8_t>(rng.next());
        const std::vector<OpInput> in{{"x", u8({1, 8, 20, 20}, x)}, {"sx", f32({}, {0.01f})}, {"zx", u8({}, {120})},
                                      {"w", u8({16, 8, 3, 3}, w), true}, {"sw", f32({}, {0.002f})}, {"zw", u8({}, {128})},
                                      {"sy", f32({}, {0.05f})}, {"zy", u8({}, {128})}};
        const std::map<std::string, Attribute> attrs{{"pads", intsAttr({1, 1, 1, 1})}};
        auto one = runOp("QLinearConv", in, attrs, 1, 10, 1);
        auto two = runOp("QLinearConv", in, attrs, 1, 10, 2);
        QVERIFY(one[0].sameContents(two[0]));
        // Not trivially saturated: the output uses a spread of codes.
        const auto v = valuesOf<uint8_t>(one[0]);
        QVERIFY(*std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end()) > 50);
    }
};

QTEST_APPLESS_MAIN(TestQuantKernels)
#include "tst_quant.moc"
