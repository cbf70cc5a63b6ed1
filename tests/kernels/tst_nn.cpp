// Neural-network kernels (Conv, ConvTranspose, Gemm, MatMul, normalizations, pooling) and the packed
// GEMM under them, run through a real Session (runOp). Small cases are worked out by hand (several
// are the ONNX operator documentation's examples); larger random cases are compared with a direct
// loop over the operator's formula, written out below.
#include "kernels/single_op.h"
#include "runtime/cpu_isa.h"
#include "runtime/kernels/gemm_fp32.h"

#include <QtTest>

#include <array>
#include <cmath>
#include <random>

using namespace joule;
using namespace joule::test;

namespace {


Tensor iota(Shape shape, float start = 0.0f)
{
    Tensor t(DataType::Float32, std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
    return t;
}
Tensor filled(Shape shape, float v)
{
    Tensor t(DataType::Float32, std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = v;
    return t;
}
Tensor randomFloats(Shape shape, uint32_t seed)
{
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    Tensor t(DataType::Float32, std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(gen);
    return t;
}

// Empty when `t` has type T, shape `shape` and values `expected` (each within tol), else what differs.
template <typename T>
QString mismatch(const Tensor& t, const Shape& shape, const std::vector<T>& expected, double tol = 0.0)
{
    if (t.dtype() != dataTypeOf<T>())
        return QString("type %1, expected %2").arg(dataTypeName(t.dtype()), dataTypeName(dataTypeOf<T>()));
    if (t.shape() != shape)
        return QString("shape %1, expected %2")
            .arg(QString::fromStdString(shapeToString(t.shape())), QString::fromStdString(shapeToString(shape)));
    if (static_cast<size_t>(t.numel()) != expected.size())
        return QString("%1 elements, expected %2").arg(t.numel()).arg(expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        const double got = static_cast<double>(t.data<T>()[i]), want = static_cast<double>(expected[i]);
        if (!(got == want || std::fabs(got - want) <= tol))
            return QString("element %1 is %2, expected %3").arg(i).arg(got, 0, 'g', 9).arg(want, 0, 'g', 9);
    }
    return {};
}

#define CHECK_TENSOR(t, T, ...)                                            \
    do {                                                                   \
        const QString why_ = mismatch<T>(t, __VA_ARGS__);                  \
        QVERIFY2(why_.isEmpty(), qPrintable(why_));                        \
    } while (0)

std::vector<float> values(const Tensor& t) { return {t.data<float>(), t.data<float>() + t.numel()}; }

// Convolution straight from its definition: y[n, co, o] = B[co] + sum over the group's input
// channels and kernel taps of x[n, ci, o * stride - padBegin + tap * dilation] * W[co, ci, tap].
struct ConvSpec {
    Shape x, w;
    std::vector<int64_t> strides, pads, dilations;
    int64_t group = 1;
};

Tensor referenceConv(const ConvSpec& s, const Tensor& x, const Tensor& w, const Tensor* bias)
{
    const size_t rank = s.x.size() - 2;
    std::vector<int64_t> out(rank);
    for (size_t d = 0; d < rank; ++d) {
        const int64_t ek = (s.w[d + 2] - 1) * s.dilations[d] + 1;
        out[d] = (s.x[d + 2] + s.pads[d] + s.pads[d + rank] - ek) / s.strides[d] + 1;
    }
    Shape yShape = {s.x[0], s.w[0]};
    yShape.insert(yShape.end(), out.begin(), out.end());
    Tensor y(DataType::Float32, yShape);
    const int64_t cinG = s.w[1], coutG = s.w[0] / s.group;
    const int64_t outCount = elementCount(out), taps = elementCount(Shape(s.w.begin() + 2, s.w.end()));
    const int64_t inCount = elementCount(Shape(s.x.begin() + 2, s.x.end()));
    for (int64_t n = 0; n < s.x[0]; ++n)
        for (int64_t co = 0; co < s.w[0]; ++co)
            for (int64_t o = 0; o < outCount; ++o) {
                double acc = bias ? bias->data<float>()[co] : 0.0;
                std::vector<int64_t> opos(rank);
                for (int64_t rem = o, d = static_cast<int64_t>(rank) - 1; d >= 0; --d) {
                    opos[static_cast<size_t>(d)] = rem % out[static_cast<size_t>(d)];
                    rem /= out[static_cast<size_t>(d)];
                }
                for (int64_t c = 0; c < cinG; ++c) {
                    const int64_t ci = co / coutG * cinG + c;
                    for (int64_t t = 0; t < taps; ++t) {
                        int64_t rem = t, idx = 0;
                        bool inside = true;
                        std::vector<int64_t> tap(rank);
                        for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; --d) {
                            tap[static_cast<size_t>(d)] = rem % s.w[static_cast<size_t>(d) + 2];
                            rem /= s.w[static_cast<size_t>(d) + 2];
                        }
                        for (size_t d = 0; d < rank; ++d) {
                            const int64_t i = opos[d] * s.strides[d] - s.pads[d] + tap[d] * s.dilations[d];
                            inside = inside && i >= 0 && i < s.x[d + 2];
                            idx = idx * s.x[d + 2] + i;
                        }
                        if (!inside) continue;
                        acc += static_cast<double>(x.data<float>()[(n * s.x[1] + ci) * inCount + idx]) *
                               w.data<float>()[(co * cinG + c) * taps + t];
                    }
                }
                y.data<float>()[(n * s.w[0] + co) * outCount + o] = static_cast<float>(acc);
            }
    return y;
}

std::map<std::string, Attribute> convAttributes(const ConvSpec& s)
{
    return {{"strides", intsAttr(s.strides)}, {"pads", intsAttr(s.pads)}, {"dilations", intsAttr(s.dilations)},
            {"group", intAttr(s.group)}};
}

// C = A * B for row-major matrices, in double.
std::vector<float> referenceMatMul(const float* a, const float* b, int64_t m, int64_t k, int64_t n)
{
    std::vector<float> c(static_cast<size_t>(m * n));
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double s = 0.0;
            for (int64_t p = 0; p < k; ++p) s += static_cast<double>(a[i * k + p]) * b[p * n + j];
            c[static_cast<size_t>(i * n + j)] = static_cast<float>(s);
        }
    return c;
}

} // namespace

class TestNnKernels : public QObject {
    Q_OBJECT

private slots:
    // Packed GEMM engine
    void gemmEngineEveryMicroKernelMatchesDirectProduct();
    void gemmEngineAccumulatesIntoC();
    // Conv
    void convWithoutPaddingSumsEachWindow();
    void convWithPaddingKeepsSize();
    void convStridesWithAsymmetricPadding();
    void convSameLowerPadsAtTheBeginning();
    void convAddsBiasPerOutputChannel();
    void convMatchesDefinitionOnEveryPath_data();
    void convMatchesDefinitionOnEveryPath();
    void convWeightsFedAtRunTimeMatchConstantWeights();
    void convRejectsChannelMismatch();
    // ConvTranspose
    void convTransposeSpreadsEachInputOverTheKernel();
    void convTransposeSameUpperCropsTheEnd();
    void convTransposeStridesOutputShapeAndGroups();
    // Gemm
    void gemmTransposesScalesAndAddsBias();
    void gemmBroadcastsScalarAndMatrixBias();
    void gemmConstantWeightsMatchRunTimeWeights();
    void gemmFloat64UsesSameFormula();
    // MatMul
    void matmulMultipliesMatrices();
    void matmulVectorOperandsDropTheirAxis();
    void matmulBroadcastsBatchAxes();
    void matmulConstantWeightsFoldBatchIntoRows();
    void matmulInt64IsExact();
    // BatchNormalization
    void batchNormAppliesPerChannelAffine();
    void batchNormTrainingModeUsesBatchStatistics();
    void batchNormSpatialZeroUsesPerActivationStatistics();
    // Pooling
    void maxPoolStridesTakesWindowMaximum();
    void maxPoolIndicesRowAndColumnMajor();
    void maxPoolPadsAndCeilModeAndDilations();
    void maxPoolUint8And1dAnd3d();
    void maxPool8BitStride2MatchesBruteForce();
    void averagePoolExcludesOrIncludesPadding();
    void averagePoolCeilModeDividesByTapsInside();
    void averagePoolSameUpperAnd3d();
    void globalPoolsReduceEachChannel();
    // Normalizations
    void layerNormNormalizesTrailingAxesWithStatistics();
    void layerNormAxisZeroBroadcastsScale();
    void instanceNormNormalizesEachChannel();
    void lrnDividesByNeighbourChannelEnergy();
};

void TestNnKernels::gemmEngineEveryMicroKernelMatchesDirectProduct()
{
    // Edge sizes around the tile shapes, and one product large enough to be split across threads.
    std::vector<std::array<int64_t, 3>> sizes;
    for (int64_t m : {1, 7, 9, 33})
        for (int64_t n : {1, 15, 33, 70})
            for (int64_t k : {1, 5, 300, 600}) sizes.push_back({m, n, k});
    sizes.push_back({70, 300, 260});
    int tested = 0;
    for (const char* name : {"portable", "avx2", "avx512"}) {
        const rt::gemm::MicroKernel* mk = rt::gemm::microKernel(name);
        // Every micro-kernel this CPU can run is tested; one it cannot run is not offered.
        const bool cpuCan = std::string(name) == "portable" ||
                            rt::cpuHas(std::string(name) == "avx2" ? rt::CpuFeature::Avx2Fma : rt::CpuFeature::Avx512F);
        QCOMPARE(mk != nullptr, cpuCan);
        if (!cpuCan) continue;
        ++tested;
        for (const auto& [m, n, k] : sizes) {
            const Tensor a = randomFloats({m, k}, 1), b = randomFloats({k, n}, 2), bias = randomFloats({m}, 3);
            std::vector<float> want = referenceMatMul(a.data<float>(), b.data<float>(), m, k, n);
            for (int64_t i = 0; i < m; ++i)
                for (int64_t j = 0; j < n; ++j) want[static_cast<size_t>(i * n + j)] += bias.data<float>()[i];
            std::vector<float> ap(rt::gemm::packedASize(*mk, m, k)), bp(rt::gemm::packedBSize(*mk, k, n));
            rt::gemm::packA(*mk, a.data<float>(), k, 1, m, k, 1.0f, ap.data());
            rt::gemm::packB(*mk, b.data<float>(), n, 1, k, n, bp.data());
            for (int inPlace = 0; inPlace < 2; ++inPlace)
                for (int threads : {1, 2}) {
                    std::vector<float> c(static_cast<size_t>(m * n), -7.0f);
                    rt::gemm::Problem p;
                    p.m = m; p.n = n; p.k = k;
                    p.a = ap.data();
                    p.b = inPlace ? b.data<float>() : bp.data();
                    p.ldb = inPlace ? n : 0;
                    p.c = c.data();
                    p.ldc = n;
                    p.rowBias = bias.data<float>();
                    rt::gemm::run(*mk, p, threads);
                    for (size_t i = 0; i < c.size(); ++i)
                        QVERIFY2(std::fabs(c[i] - want[i]) < 1e-4 * std::max(1.0, std::sqrt(double(k))),
                                 qPrintable(QString("%1 m=%2 n=%3 k=%4 in-place=%5 threads=%6 element %7: %8 vs %9")
                                                .arg(name).arg(m).arg(n).arg(k).arg(inPlace).arg(threads).arg(i)
                                                .arg(c[i]).arg(want[i])));
                }
        }
    }
    QVERIFY(tested >= 1);
}

void TestNnKernels::gemmEngineAccumulatesIntoC()
{
    const rt::gemm::MicroKernel& mk = rt::gemm::bestMicroKernel();
    // [1 2; 3 4] * [1 0; 0 1] added onto C = 10.
    const std::vector<float> a = {1, 2, 3, 4}, b = {1, 0, 0, 1};
    std::vector<float> ap(rt::gemm::packedASize(mk, 2, 2)), bp(rt::gemm::packedBSize(mk, 2, 2));
    rt::gemm::packA(mk, a.data(), 2, 1, 2, 2, 1.0f, ap.data());
    rt::gemm::packB(mk, b.data(), 2, 1, 2, 2, bp.data());
    std::vector<float> c(4, 10.0f);
    rt::gemm::Problem p;
    p.m = 2; p.n = 2; p.k = 2;
    p.a = ap.data(); p.b = bp.data(); p.c = c.data(); p.ldc = 2;
    p.accumulate = true;
    rt::gemm::run(mk, p, 1);
    QCOMPARE(c, (std::vector<float>{11, 12, 13, 14}));
}

// ONNX documentation example: 5x5 input 0..24, 3x3 kernel of ones.
void TestNnKernels::convWithoutPaddingSumsEachWindow()
{
    auto y = runOp("Conv", {{"x", iota({1, 1, 5, 5})}, init("w", filled({1, 1, 3, 3}, 1))},
                   {{"kernel_shape", intsAttr({3, 3})}, {"pads", intsAttr({0, 0, 0, 0})}})[0];
    CHECK_TENSOR(y, float, {1, 1, 3, 3}, {54, 63, 72, 99, 108, 117, 144, 153, 162});
}

void TestNnKernels::convWithPaddingKeepsSize()
{
    auto y = runOp("Conv", {{"x", iota({1, 1, 5, 5})}, init("w", filled({1, 1, 3, 3}, 1))},
                   {{"pads", intsAttr({1, 1, 1, 1})}})[0];
    CHECK_TENSOR(y, float, {1, 1, 5, 5},
                 {12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81, 93, 144, 153, 162, 111,
                  72, 111, 117, 123, 84});
}

void TestNnKernels::convStridesWithAsymmetricPadding()
{
    auto y = runOp("Conv", {{"x", iota({1, 1, 7, 5})}, init("w", filled({1, 1, 3, 3}, 1))},
                   {{"strides", intsAttr({2, 2})}, {"pads", intsAttr({1, 0, 1, 0})}})[0];
    CHECK_TENSOR(y, float, {1, 1, 4, 2}, {21, 33, 99, 117, 189, 207, 171, 183});
}

void TestNnKernels::convSameLowerPadsAtTheBeginning()
{
    // 5x5, stride 2: output 3x3 needs 2 padding per axis, one on each side.
    auto y = runOp("Conv", {{"x", iota({1, 1, 5, 5})}, init("w", filled({1, 1, 3, 3}, 1))},
                   {{"strides", intsAttr({2, 2})}, {"auto_pad", stringAttr("SAME_LOWER")}})[0];
    CHECK_TENSOR(y, float, {1, 1, 3, 3}, {12, 27, 24, 63, 108, 81, 72, 117, 84});
    // 4 wide, kernel 2, stride 1: one padding element, at the beginning for SAME_LOWER, the end for SAME_UPPER.
    auto lower = runOp("Conv", {{"x", iota({1, 1, 1, 4}, 1)}, init("w", filled({1, 1, 1, 2}, 1))},
                       {{"auto_pad", stringAttr("SAME_LOWER")}})[0];
    CHECK_TENSOR(lower, float, {1, 1, 1, 4}, {1, 3, 5, 7});
    auto upper = runOp("Conv", {{"x", iota({1, 1, 1, 4}, 1)}, init("w", filled({1, 1, 1, 2}, 1))},
                       {{"auto_pad", stringAttr("SAME_UPPER")}})[0];
    CHECK_TENSOR(upper, float, {1, 1, 1, 4}, {3, 5, 7, 4});
}

void TestNnKernels::convAddsBiasPerOutputChannel()
{
    // 1x1 kernel, two input and two output channels: y0 = x0 + 2 x1 + 10, y1 = -x0 + 0.5.
    auto y = runOp("Conv", {{"x", floats({1, 2, 1, 3}, {1, 2, 3, 4, 5, 6})},
                            init("w", floats({2, 2, 1, 1}, {1, 2, -1, 0})), init("b", floats({2}, {10, 0.5f}))})[0];
    CHECK_TENSOR(y, float, {1, 2, 1, 3}, {19, 22, 25, -0.5f, -1.5f, -2.5f});
}

void TestNnKernels::convMatchesDefinitionOnEveryPath_data()
{
    QTest::addColumn<int>("index");
    QTest::newRow("im2col 3x3 pad 1") << 0;
    QTest::newRow("im2col 7x7 stride 2 pad 3 (stem)") << 1;
    QTest::newRow("pointwise 1x1") << 2;
    QTest::newRow("1x1 stride 2 (downsample)") << 3;
    QTest::newRow("groups 2, dilation 2, asymmetric pads") << 4;
    QTest::newRow("depthwise 3x3 stride 2") << 5;
    QTest::newRow("depthwise with multiplier 2, dilation") << 6;
    QTest::newRow("1-D, stride 2, dilation 2") << 7;
    QTest::newRow("3-D, groups 2, stride, pads") << 8;
    QTest::newRow("batch 2, many output channels, deep k") << 9;
    QTest::newRow("1-D depthwise") << 10;
    QTest::newRow("im2col large enough to split across threads") << 11;
    QTest::newRow("depthwise large enough to split across threads") << 12;
    QTest::newRow("pointwise 64 channels (packed), split across threads") << 13;
    // With the AVX-512 micro-kernel the 2-D rows above run as implicit GEMM (no im2col); the
    // tst_kernels_nn_avx2 / _portable entries run them on the im2col path.
    QTest::newRow("3x3 stride 2 pad 1, 15x13 (row and column phases)") << 14;
    QTest::newRow("5x3 stride (2, 3), dilation (2, 1), batch 3, split across threads") << 15;
}

void TestNnKernels::convMatchesDefinitionOnEveryPath()
{
    QFETCH(int, index);
    const std::vector<ConvSpec> specs = {
        {{1, 3, 9, 11}, {5, 3, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
        {{1, 3, 20, 19}, {8, 3, 7, 7}, {2, 2}, {3, 3, 3, 3}, {1, 1}, 1},
        {{1, 16, 7, 9}, {12, 16, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
        {{1, 8, 9, 9}, {16, 8, 1, 1}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1},
        {{1, 4, 10, 12}, {6, 2, 3, 2}, {1, 2}, {2, 0, 1, 3}, {2, 2}, 2},
        {{1, 6, 11, 10}, {6, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 6},
        {{2, 3, 8, 9}, {6, 1, 3, 3}, {1, 1}, {2, 1, 0, 2}, {2, 1}, 3},
        {{2, 4, 23}, {5, 4, 3}, {2}, {1, 2}, {2}, 1},
        {{1, 4, 5, 6, 7}, {4, 2, 3, 2, 3}, {2, 1, 2}, {1, 0, 1, 1, 1, 0}, {1, 2, 1}, 2},
        {{2, 40, 6, 7}, {70, 40, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
        {{1, 5, 17}, {5, 1, 5}, {1}, {2, 2}, {1}, 5},
        {{1, 32, 20, 20}, {64, 32, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1},
        {{1, 96, 80, 80}, {96, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 96},
        {{1, 64, 40, 40}, {64, 64, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1},
        {{1, 16, 15, 13}, {24, 16, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1},
        {{3, 24, 31, 29}, {40, 24, 5, 3}, {2, 3}, {2, 1, 3, 0}, {2, 1}, 1},
    };
    const ConvSpec& s = specs[static_cast<size_t>(index)];
    const Tensor x = randomFloats(s.x, 11), w = randomFloats(s.w, 12), b = randomFloats({s.w[0]}, 13);
    const Tensor want = referenceConv(s, x, w, &b);
    for (int threads : {1, 2}) {
        auto y = runOp("Conv", {{"x", x}, init("w", w), init("b", b)}, convAttributes(s), 1, 17, threads)[0];
        CHECK_TENSOR(y, float, want.shape(), values(want), 1e-4);
    }
    const Tensor noBias = referenceConv(s, x, w, nullptr);
    auto y = runOp("Conv", {{"x", x}, init("w", w)}, convAttributes(s))[0];
    CHECK_TENSOR(y, float, noBias.shape(), values(noBias), 1e-4);
}

void TestNnKernels::convWeightsFedAtRunTimeMatchConstantWeights()
{
    const ConvSpec s{{1, 4, 6, 6}, {4, 2, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 2};
    const Tensor x = randomFloats(s.x, 21), w = randomFloats(s.w, 22);
    const Tensor want = referenceConv(s, x, w, nullptr);
    auto y = runOp("Conv", {{"x", x}, {"w", w}}, convAttributes(s))[0];   // W is a graph input
    CHECK_TENSOR(y, float, want.shape(), values(want), 1e-4);
}

void TestNnKernels::convRejectsChannelMismatch()
{
    QVERIFY_THROWS_EXCEPTION(rt::KernelError,
                             runOp("Conv", {{"x", filled({1, 3, 4, 4}, 1)}, init("w", filled({2, 2, 3, 3}, 1))}));
    QVERIFY_THROWS_EXCEPTION(rt::KernelError, runOp("Conv", {{"x", filled({1, 4, 4, 4}, 1)},
                                                             init("w", filled({3, 2, 3, 3}, 1))},
                                                    {{"group", intAttr(2)}}));
}

// ONNX documentation example: 3x3 input 0..8, two output channels of 3x3 ones.
void TestNnKernels::convTransposeSpreadsEachInputOverTheKernel()
{
    auto y = runOp("ConvTranspose", {{"x", iota({1, 1, 3, 3})}, init("w", filled({1, 2, 3, 3}, 1))})[0];
    const std::vector<float> channel = {0, 1, 3,  3,  2,  3, 8,  15, 12, 7,  9, 21, 36,
                                        27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8};
    std::vector<float> want = channel;
    want.insert(want.end(), channel.begin(), channel.end());
    CHECK_TENSOR(y, float, {1, 2, 5, 5}, want);
}

void TestNnKernels::convTransposeSameUpperCropsTheEnd()
{
    // 1-D: input [1, 2, 3], kernel [1, 1, 1], stride 2: full output [1 1 3 2 5 3 3] (7 long);
    // SAME_UPPER wants 3 * 2 = 6 outputs and drops the extra element at the end.
    auto y = runOp("ConvTranspose", {{"x", floats({1, 1, 3}, {1, 2, 3})}, init("w", filled({1, 1, 3}, 1))},
                   {{"strides", intsAttr({2})}, {"auto_pad", stringAttr("SAME_UPPER")}})[0];
    CHECK_TENSOR(y, float, {1, 1, 6}, {1, 1, 3, 2, 5, 3});
    // Explicit pads crop both ends; output_padding adds zeros (plus bias) at the end.
    auto p = runOp("ConvTranspose", {{"x", floats({1, 1, 3}, {1, 2, 3})}, init("w", filled({1, 1, 3}, 1)),
                                     init("b", floats({1}, {0.5f}))},
                   {{"strides", intsAttr({2})}, {"pads", intsAttr({1, 2})}, {"output_padding", intsAttr({1})}})[0];
    CHECK_TENSOR(p, float, {1, 1, 5}, {1.5f, 3.5f, 2.5f, 5.5f, 3.5f});
}

void TestNnKernels::convTransposeStridesOutputShapeAndGroups()
{
    // Reference: each input element x[ci, i] adds x * W[ci, co, t] at output i * s - pad + t * d.
    const Shape xs = {1, 4, 3, 4}, ws = {4, 3, 3, 2};   // 2 groups: 6 output channels
    const Tensor x = randomFloats(xs, 31), w = randomFloats(ws, 32), b = randomFloats({6}, 33);
    const int64_t sh = 3, sw = 2, dh = 1, dw = 2, OH = 10, OW = 9;
    // output_shape [10, 9]: full size is 3*2+3 = 9 (+1 output padding) x 2*3+(2-1)*2+1 = 9: no cropping.
    Tensor want(DataType::Float32, {1, 6, OH, OW});
    for (int64_t co = 0; co < 6; ++co)
        for (int64_t i = 0; i < OH * OW; ++i) want.data<float>()[co * OH * OW + i] = b.data<float>()[co];
    for (int64_t ci = 0; ci < 4; ++ci)
        for (int64_t c = 0; c < 3; ++c) {
            const int64_t co = ci / 2 * 3 + c;
            for (int64_t ih = 0; ih < 3; ++ih)
                for (int64_t iw = 0; iw < 4; ++iw)
                    for (int64_t ky = 0; ky < 3; ++ky)
                        for (int64_t kx = 0; kx < 2; ++kx) {
                            const int64_t oh = ih * sh + ky * dh, ow = iw * sw + kx * dw;
                            want.data<float>()[(co * OH + oh) * OW + ow] +=
                                x.data<float>()[(ci * 3 + ih) * 4 + iw] * w.data<float>()[((ci * 3 + c) * 3 + ky) * 2 + kx];
                        }
        }
    auto y = runOp("ConvTranspose", {{"x", x}, init("w", w), init("b", b)},
                   {{"strides", intsAttr({sh, sw})}, {"dilations", intsAttr({dh, dw})}, {"group", intAttr(2)},
                    {"output_padding", intsAttr({1, 0})}, {"output_shape", intsAttr({OH, OW})}})[0];
    CHECK_TENSOR(y, float, want.shape(), values(want), 1e-5);
}

void TestNnKernels::gemmTransposesScalesAndAddsBias()
{
    // A^T = [1 2 3; 4 5 6] (A is 3x2), B^T = [1 0; 0 1; 1 1] (B is 2x3), alpha 2, beta 0.5, C row [2, 4].
    auto y = runOp("Gemm", {{"a", floats({3, 2}, {1, 4, 2, 5, 3, 6})}, {"b", floats({2, 3}, {1, 0, 1, 0, 1, 1})},
                            {"c", floats({1, 2}, {2, 4})}},
                   {{"transA", intAttr(1)}, {"transB", intAttr(1)}, {"alpha", floatAttr(2)}, {"beta", floatAttr(0.5f)}})[0];
    // A^T B^T = [4 5; 10 11]
    CHECK_TENSOR(y, float, {2, 2}, {9, 12, 21, 24});
}

void TestNnKernels::gemmBroadcastsScalarAndMatrixBias()
{
    const Tensor a = floats({2, 2}, {1, 2, 3, 4}), b = floats({2, 2}, {1, 1, 0, 1});   // A B = [1 3; 3 7]
    auto scalar = runOp("Gemm", {{"a", a}, {"b", b}, {"c", floats({}, {10})}})[0];
    CHECK_TENSOR(scalar, float, {2, 2}, {11, 13, 13, 17});
    auto column = runOp("Gemm", {{"a", a}, {"b", b}, {"c", floats({2, 1}, {1, 2})}})[0];
    CHECK_TENSOR(column, float, {2, 2}, {2, 4, 5, 9});
    auto matrix = runOp("Gemm", {{"a", a}, {"b", b}, {"c", floats({2, 2}, {1, 2, 3, 4})}})[0];
    CHECK_TENSOR(matrix, float, {2, 2}, {2, 5, 6, 11});
    auto none = runOp("Gemm", {{"a", a}, {"b", b}})[0];
    CHECK_TENSOR(none, float, {2, 2}, {1, 3, 3, 7});
    QVERIFY_THROWS_EXCEPTION(rt::KernelError, runOp("Gemm", {{"a", a}, {"b", b}, {"c", floats({3}, {1, 2, 3})}}));
}

void TestNnKernels::gemmConstantWeightsMatchRunTimeWeights()
{
    // A fully connected layer: x [3, 50], W [40, 50] (transB), bias [40].
    const Tensor x = randomFloats({3, 50}, 41), w = randomFloats({40, 50}, 42), b = randomFloats({40}, 43);
    std::vector<float> want(3 * 40);
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 40; ++j) {
            double s = b.data<float>()[j];
            for (int p = 0; p < 50; ++p) s += double(x.data<float>()[i * 50 + p]) * w.data<float>()[j * 50 + p];
            want[static_cast<size_t>(i * 40 + j)] = static_cast<float>(s);
        }
    const std::map<std::string, Attribute> attrs = {{"transB", intAttr(1)}};
    auto constant = runOp("Gemm", {{"x", x}, init("w", w), init("b", b)}, attrs)[0];
    CHECK_TENSOR(constant, float, {3, 40}, want, 1e-4);
    auto fed = runOp("Gemm", {{"x", x}, {"w", w}, {"b", b}}, attrs)[0];
    CHECK_TENSOR(fed, float, {3, 40}, want, 1e-4);
}

void TestNnKernels::gemmFloat64UsesSameFormula()
{
    auto y = runOp("Gemm", {{"a", tensor<double>({1, 2}, {1, 2})}, {"b", tensor<double>({2, 2}, {3, 4, 5, 6})},
                            {"c", tensor<double>({2}, {1, 1})}},
                   {{"alpha", floatAttr(0.5f)}, {"beta", floatAttr(2)}})[0];
    CHECK_TENSOR(y, double, {1, 2}, {8.5, 10});
}

void TestNnKernels::matmulMultipliesMatrices()
{
    auto y = runOp("MatMul", {{"a", floats({2, 3}, {1, 2, 3, 4, 5, 6})}, {"b", floats({3, 2}, {7, 8, 9, 10, 11, 12})}})[0];
    CHECK_TENSOR(y, float, {2, 2}, {58, 64, 139, 154});
}

void TestNnKernels::matmulVectorOperandsDropTheirAxis()
{
    const Tensor m = floats({2, 3}, {1, 2, 3, 4, 5, 6});
    auto rowTimes = runOp("MatMul", {{"a", floats({2}, {1, -1})}, {"b", m}})[0];
    CHECK_TENSOR(rowTimes, float, {3}, {-3, -3, -3});
    auto timesColumn = runOp("MatMul", {{"a", m}, {"b", floats({3}, {1, 0, 2})}})[0];
    CHECK_TENSOR(timesColumn, float, {2}, {7, 16});
    auto dot = runOp("MatMul", {{"a", floats({3}, {1, 2, 3})}, {"b", floats({3}, {4, 5, 6})}})[0];
    CHECK_TENSOR(dot, float, {}, {32});
    auto batchedVector = runOp("MatMul", {{"a", floats({2, 1, 2}, {1, 2, 3, 4})}, {"b", floats({2}, {1, 1})}})[0];
    CHECK_TENSOR(batchedVector, float, {2, 1}, {3, 7});
}

void TestNnKernels::matmulBroadcastsBatchAxes()
{
    // A [2, 1, 2, 3] x B [3, 3, 2] -> [2, 3, 2, 2]: A's batch i pairs with every B batch j.
    const Tensor a = randomFloats({2, 1, 2, 3}, 51), b = randomFloats({3, 3, 2}, 52);
    std::vector<float> want;
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j) {
            auto c = referenceMatMul(a.data<float>() + i * 6, b.data<float>() + j * 6, 2, 3, 2);
            want.insert(want.end(), c.begin(), c.end());
        }
    auto y = runOp("MatMul", {{"a", a}, {"b", b}})[0];
    CHECK_TENSOR(y, float, {2, 3, 2, 2}, want, 1e-5);
}

void TestNnKernels::matmulConstantWeightsFoldBatchIntoRows()
{
    const Tensor a = randomFloats({2, 5, 40}, 61), w = randomFloats({40, 37}, 62);
    const std::vector<float> want = referenceMatMul(a.data<float>(), w.data<float>(), 10, 40, 37);
    auto constant = runOp("MatMul", {{"a", a}, init("w", w)})[0];
    CHECK_TENSOR(constant, float, {2, 5, 37}, want, 1e-4);
    auto fed = runOp("MatMul", {{"a", a}, {"w", w}})[0];
    CHECK_TENSOR(fed, float, {2, 5, 37}, want, 1e-4);
}

void TestNnKernels::matmulInt64IsExact()
{
    auto y = runOp("MatMul", {{"a", tensor<int64_t>({1, 2}, {3000000000LL, 1})},
                              {"b", tensor<int64_t>({2, 2}, {2, 0, 5, 7})}})[0];
    CHECK_TENSOR(y, int64_t, {1, 2}, {6000000005LL, 7});
}

void TestNnKernels::batchNormAppliesPerChannelAffine()
{
    // Channel 0: mean 1, var 4 -> (x - 1) / 2 * 3 + 1; channel 1: mean 0, var 0.25 -> x / 0.5 * 1 - 1.
    const Tensor x = floats({1, 2, 1, 2}, {1, 3, 0.5f, -1});
    auto y = runOp("BatchNormalization", {{"x", x}, init("s", floats({2}, {3, 1})), init("b", floats({2}, {1, -1})),
                                          init("m", floats({2}, {1, 0})), init("v", floats({2}, {4, 0.25f}))},
                   {{"epsilon", floatAttr(0)}})[0];
    CHECK_TENSOR(y, float, {1, 2, 1, 2}, {1, 4, 0, -3}, 1e-6);
}

void TestNnKernels::batchNormTrainingModeUsesBatchStatistics()
{
    // One channel, values 1 2 3 4 (two images): batch mean 2.5, population variance 1.25.
    const Tensor x = floats({2, 1, 2}, {1, 2, 3, 4});
    auto out = runOp("BatchNormalization", {{"x", x}, {"s", floats({1}, {1})}, {"b", floats({1}, {0})},
                                            {"m", floats({1}, {10})}, {"v", floats({1}, {2})}},
                     {{"epsilon", floatAttr(0)}, {"momentum", floatAttr(0.5f)}, {"training_mode", intAttr(1)}}, 3, 15);
    const float sd = std::sqrt(1.25f);
    CHECK_TENSOR(out[0], float, {2, 1, 2}, {-1.5f / sd, -0.5f / sd, 0.5f / sd, 1.5f / sd}, 1e-5);
    CHECK_TENSOR(out[1], float, {1}, {0.5f * 10 + 0.5f * 2.5f}, 1e-6);   // running mean
    CHECK_TENSOR(out[2], float, {1}, {0.5f * 2 + 0.5f * 1.25f}, 1e-6);   // running variance
}

void TestNnKernels::batchNormSpatialZeroUsesPerActivationStatistics()
{
    // Opset 7, spatial = 0: statistics per element of a sample ([C, W] = [1, 2]).
    auto y = runOp("BatchNormalization", {{"x", floats({2, 1, 2}, {1, 2, 3, 4})}, init("s", floats({1, 2}, {1, 2})),
                                          init("b", floats({1, 2}, {0, 1})), init("m", floats({1, 2}, {1, 2})),
                                          init("v", floats({1, 2}, {1, 4}))},
                   {{"epsilon", floatAttr(0)}, {"spatial", intAttr(0)}}, 1, 7)[0];
    CHECK_TENSOR(y, float, {2, 1, 2}, {0, 1, 2, 3}, 1e-6);
}

void TestNnKernels::maxPoolStridesTakesWindowMaximum()
{
    auto y = runOp("MaxPool", {{"x", iota({1, 1, 5, 5}, 1)}},
                   {{"kernel_shape", intsAttr({2, 2})}, {"strides", intsAttr({2, 2})}})[0];
    CHECK_TENSOR(y, float, {1, 1, 2, 2}, {7, 9, 17, 19});
}

void TestNnKernels::maxPoolIndicesRowAndColumnMajor()
{
    // Two channels: the second channel's indices are offset by its plane (25).
    auto rowMajor = runOp("MaxPool", {{"x", iota({1, 2, 5, 5}, 1)}},
                          {{"kernel_shape", intsAttr({2, 2})}, {"strides", intsAttr({2, 2})}}, 2);
    CHECK_TENSOR(rowMajor[1], int64_t, {1, 2, 2, 2}, {6, 8, 16, 18, 31, 33, 41, 43});
    auto columnMajor = runOp("MaxPool", {{"x", iota({1, 1, 5, 5}, 1)}},
                             {{"kernel_shape", intsAttr({2, 2})}, {"strides", intsAttr({2, 2})},
                              {"storage_order", intAttr(1)}}, 2);
    CHECK_TENSOR(columnMajor[0], float, {1, 1, 2, 2}, {7, 9, 17, 19});
    CHECK_TENSOR(columnMajor[1], int64_t, {1, 1, 2, 2}, {6, 16, 8, 18});
}

void TestNnKernels::maxPoolPadsAndCeilModeAndDilations()
{
    auto padded = runOp("MaxPool", {{"x", iota({1, 1, 5, 5}, 1)}},
                        {{"kernel_shape", intsAttr({5, 5})}, {"pads", intsAttr({2, 2, 2, 2})}})[0];
    CHECK_TENSOR(padded, float, {1, 1, 5, 5}, {13, 14, 15, 15, 15, 18, 19, 20, 20, 20, 23, 24, 25, 25, 25,
                                               23, 24, 25, 25, 25, 23, 24, 25, 25, 25});
    auto ceil = runOp("MaxPool", {{"x", iota({1, 1, 4, 4}, 1)}},
                      {{"kernel_shape", intsAttr({3, 3})}, {"strides", intsAttr({2, 2})}, {"ceil_mode", intAttr(1)}})[0];
    CHECK_TENSOR(ceil, float, {1, 1, 2, 2}, {11, 12, 15, 16});
    auto floorMode = runOp("MaxPool", {{"x", iota({1, 1, 4, 4}, 1)}},
                           {{"kernel_shape", intsAttr({3, 3})}, {"strides", intsAttr({2, 2})}})[0];
    CHECK_TENSOR(floorMode, float, {1, 1, 1, 1}, {11});
    auto dilated = runOp("MaxPool", {{"x", iota({1, 1, 4, 4}, 1)}},
                         {{"kernel_shape", intsAttr({2, 2})}, {"dilations", intsAttr({2, 2})}})[0];
    CHECK_TENSOR(dilated, float, {1, 1, 2, 2}, {11, 12, 15, 16});
}

void TestNnKernels::maxPoolUint8And1dAnd3d()
{
    auto u8 = runOp("MaxPool", {{"x", tensor<uint8_t>({1, 1, 1, 4}, {200, 3, 255, 7})}},
                    {{"kernel_shape", intsAttr({1, 2})}})[0];
    CHECK_TENSOR(u8, uint8_t, {1, 1, 1, 3}, {200, 255, 255});
    auto oneD = runOp("MaxPool", {{"x", floats({1, 1, 5}, {3, 1, 4, 1, 5})}},
                      {{"kernel_shape", intsAttr({2})}, {"pads", intsAttr({1, 0})}, {"strides", intsAttr({2})}})[0];
    CHECK_TENSOR(oneD, float, {1, 1, 3}, {3, 4, 5});
    auto threeD = runOp("MaxPool", {{"x", floats({1, 1, 2, 2, 2}, {1, 8, 3, 4, 5, 6, 7, 2})}},
                        {{"kernel_shape", intsAttr({2, 1, 2})}}, 2);
    CHECK_TENSOR(threeD[0], float, {1, 1, 1, 2, 1}, {8, 7});
    CHECK_TENSOR(threeD[1], int64_t, {1, 1, 1, 2, 1}, {1, 6});
}

namespace {
// 3x3 windows at stride 2 (ResNet's and SqueezeNet's pools) on 8-bit codes, against the maximum
// over each window taken here; widths on both sides of the 32-output vector step and its tails.
template <typename T> void maxPool8BitCase(int64_t H, int64_t W, int64_t pad, bool ceilMode, int threads)
{
    std::mt19937 gen(static_cast<unsigned>(H * 1000 + W * 10 + pad + ceilMode));
    std::uniform_int_distribution<int> code(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    const int64_t C = 3;
    std::vector<T> x(static_cast<size_t>(C * H * W));
    for (T& v : x) v = static_cast<T>(code(gen));
    const auto outDim = [&](int64_t n) {
        const int64_t span = n + 2 * pad - 3;
        return (ceilMode ? (span + 1) / 2 : span / 2) + 1;
    };
    const int64_t OH = outDim(H), OW = outDim(W);
    auto y = runOp("MaxPool", {{"x", tensor<T>({1, C, H, W}, x)}},
                   {{"kernel_shape", intsAttr({3, 3})}, {"strides", intsAttr({2, 2})},
                    {"pads", intsAttr({pad, pad, pad, pad})}, {"ceil_mode", intAttr(ceilMode ? 1 : 0)}},
                   1, 17, threads)[0];
    QCOMPARE(y.shape(), (Shape{1, C, OH, OW}));
    for (int64_t c = 0; c < C; ++c)
        for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
                int best = std::numeric_limits<int>::min();
                for (int64_t ky = 0; ky < 3; ++ky)
                    for (int64_t kx = 0; kx < 3; ++kx) {
                        const int64_t ih = oh * 2 - pad + ky, iw = ow * 2 - pad + kx;
                        if (ih >= 0 && ih < H && iw >= 0 && iw < W) best = std::max(best, int(x[(c * H + ih) * W + iw]));
                    }
                const int got = y.template data<T>()[(c * OH + oh) * OW + ow];
                if (got != best)
                    QFAIL(qPrintable(QString("H %1 W %2 pad %3 ceil %4: y[%5,%6,%7] = %8, expected %9")
                                         .arg(H).arg(W).arg(pad).arg(ceilMode).arg(c).arg(oh).arg(ow).arg(got).arg(best)));
            }
}
} // namespace

void TestNnKernels::maxPool8BitStride2MatchesBruteForce()
{
    for (int64_t W : {5, 7, 64, 65, 66, 112, 131})
        for (int64_t pad : {0, 1})
            for (bool ceilMode : {false, true}) {
                maxPool8BitCase<uint8_t>(9, W, pad, ceilMode, 1);
                maxPool8BitCase<int8_t>(8, W, pad, ceilMode, 1);
            }
    maxPool8BitCase<uint8_t>(112, 112, 1, false, 2);   // ResNet-18's pool, in a two-thread session
}

void TestNnKernels::averagePoolExcludesOrIncludesPadding()
{
    // 3x3 ones, kernel 2x2, pads 1: corner windows hold one input element and three padding elements.
    const Tensor x = filled({1, 1, 3, 3}, 1);
    const std::map<std::string, Attribute> attrs = {{"kernel_shape", intsAttr({2, 2})}, {"pads", intsAttr({1, 1, 1, 1})}};
    auto exclude = runOp("AveragePool", {{"x", x}}, attrs)[0];
    CHECK_TENSOR(exclude, float, {1, 1, 4, 4}, std::vector<float>(16, 1.0f));
    auto includeAttrs = attrs;
    includeAttrs["count_include_pad"] = intAttr(1);
    auto include = runOp("AveragePool", {{"x", x}}, includeAttrs)[0];
    CHECK_TENSOR(include, float, {1, 1, 4, 4},
                 {0.25f, 0.5f, 0.5f, 0.25f, 0.5f, 1, 1, 0.5f, 0.5f, 1, 1, 0.5f, 0.25f, 0.5f, 0.5f, 0.25f});
}

void TestNnKernels::averagePoolCeilModeDividesByTapsInside()
{
    auto y = runOp("AveragePool", {{"x", iota({1, 1, 4, 4}, 1)}},
                   {{"kernel_shape", intsAttr({3, 3})}, {"strides", intsAttr({2, 2})}, {"ceil_mode", intAttr(1)}})[0];
    // Windows: rows 0-2 x cols 0-2 (mean 6), rows 0-2 x cols 2-3 (7.5), rows 2-3 x cols 0-2 (12), 2-3 x 2-3 (13.5).
    CHECK_TENSOR(y, float, {1, 1, 2, 2}, {6, 7.5f, 12, 13.5f}, 1e-6);
}

void TestNnKernels::averagePoolSameUpperAnd3d()
{
    // 1x4 row, kernel 1x2, SAME_UPPER: the last window covers one element and one padding.
    auto same = runOp("AveragePool", {{"x", floats({1, 1, 1, 4}, {1, 2, 3, 4})}},
                      {{"kernel_shape", intsAttr({1, 2})}, {"auto_pad", stringAttr("SAME_UPPER")}})[0];
    CHECK_TENSOR(same, float, {1, 1, 1, 4}, {1.5f, 2.5f, 3.5f, 4});
    auto threeD = runOp("AveragePool", {{"x", iota({1, 1, 2, 2, 2}, 1)}}, {{"kernel_shape", intsAttr({2, 2, 2})}})[0];
    CHECK_TENSOR(threeD, float, {1, 1, 1, 1, 1}, {4.5f});
}

void TestNnKernels::globalPoolsReduceEachChannel()
{
    const Tensor x = floats({1, 2, 2, 2}, {1, 2, 3, 6, -1, -2, -3, -4});
    CHECK_TENSOR(runOp("GlobalAveragePool", {{"x", x}})[0], float, {1, 2, 1, 1}, {3, -2.5f});
    CHECK_TENSOR(runOp("GlobalMaxPool", {{"x", x}})[0], float, {1, 2, 1, 1}, {6, -1});
}

void TestNnKernels::layerNormNormalizesTrailingAxesWithStatistics()
{
    // Rows [1 2 3] and [2 4 6]: means 2 and 4, variances 2/3 and 8/3.
    auto out = runOp("LayerNormalization", {{"x", floats({2, 3}, {1, 2, 3, 2, 4, 6})}, init("s", floats({3}, {1, 2, 3})),
                                            init("b", floats({3}, {0, 0, 1}))},
                     {{"epsilon", floatAttr(0)}}, 3);
    const float a = 1.0f / std::sqrt(2.0f / 3.0f), b = 1.0f / std::sqrt(8.0f / 3.0f);
    CHECK_TENSOR(out[0], float, {2, 3}, {-a, 0, 3 * a + 1, -2 * b, 0, 6 * b + 1}, 1e-5);
    CHECK_TENSOR(out[1], float, {2, 1}, {2, 4}, 1e-6);
    CHECK_TENSOR(out[2], float, {2, 1}, {a, b}, 1e-5);
}

void TestNnKernels::layerNormAxisZeroBroadcastsScale()
{
    // axis 0 normalizes all four values (mean 2.5, variance 1.25); the scale [2] broadcasts over rows.
    auto y = runOp("LayerNormalization", {{"x", floats({2, 2}, {1, 2, 3, 4})}, init("s", floats({2}, {1, -1}))},
                   {{"axis", intAttr(0)}, {"epsilon", floatAttr(0)}})[0];
    const float sd = std::sqrt(1.25f);
    CHECK_TENSOR(y, float, {2, 2}, {-1.5f / sd, 0.5f / sd, 0.5f / sd, -1.5f / sd}, 1e-5);
}

void TestNnKernels::instanceNormNormalizesEachChannel()
{
    // Channel 0 [1 3]: mean 2, var 1; channel 1 [5 7]: mean 6, var 1.
    auto y = runOp("InstanceNormalization", {{"x", floats({1, 2, 2}, {1, 3, 5, 7})}, init("s", floats({2}, {2, 1})),
                                             init("b", floats({2}, {1, 7}))},
                   {{"epsilon", floatAttr(0)}})[0];
    CHECK_TENSOR(y, float, {1, 2, 2}, {-1, 3, 6, 8}, 1e-6);
}

void TestNnKernels::lrnDividesByNeighbourChannelEnergy()
{
    // size 3 over channels [1, 2, 2]: square sums 5, 9, 8; alpha 3 -> denominators (1 + sum)^0.5.
    auto y = runOp("LRN", {{"x", floats({1, 3, 1, 1}, {1, 2, 2})}},
                   {{"size", intAttr(3)}, {"alpha", floatAttr(3)}, {"beta", floatAttr(0.5f)}, {"bias", floatAttr(1)}})[0];
    CHECK_TENSOR(y, float, {1, 3, 1, 1}, {1 / std::sqrt(6.0f), 2 / std::sqrt(10.0f), 2 / std::sqrt(9.0f)}, 1e-6);
}

QTEST_APPLESS_MAIN(TestNnKernels)
#include "tst_nn.moc"
