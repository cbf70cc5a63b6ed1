// Elementwise kernels and the broadcast plan, run through a real Session (runOp). Expected values
// are worked out by hand or from the operator's formula.
#include "kernels/single_op.h"
#include "runtime/broadcast.h"

#include <QtTest>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

using namespace joule;
using namespace joule::test;

namespace {

Tensor bools(Shape shape, std::vector<bool> v) { return tensor<bool>(std::move(shape), std::move(v)); }

// Empty when `t` has type T, shape `shape` and values `expected` (each within tol), else what differs.
template <typename T>
QString mismatch(const Tensor& t, const Shape& shape, const std::vector<T>& expected, double tol = 0.0)
{
    if (t.dtype() != dataTypeOf<T>())
        return QString("type %1, expected %2").arg(dataTypeName(t.dtype()), dataTypeName(dataTypeOf<T>()));
    if (t.shape() != shape)
        return QString("shape %1, expected %2")
            .arg(QString::fromStdString(shapeToString(t.shape())), QString::fromStdString(shapeToString(shape)));
    for (size_t i = 0; i < expected.size(); ++i) {
        const double got = static_cast<double>(t.data<T>()[i]), want = static_cast<double>(expected[i]);
        const bool same = std::isnan(want) ? std::isnan(got) : (got == want || std::fabs(got - want) <= tol);
        if (!same) return QString("element %1 is %2, expected %3").arg(i).arg(got, 0, 'g', 9).arg(want, 0, 'g', 9);
    }
    return {};
}

#define CHECK_TENSOR(t, T, ...)                                            \
    do {                                                                   \
        const QString why_ = mismatch<T>(t, __VA_ARGS__);                  \
        QVERIFY2(why_.isEmpty(), qPrintable(why_));                        \
    } while (0)

Tensor unaryFloat(const std::string& op, std::vector<float> x, const std::map<std::string, Attribute>& attrs = {})
{
    const Shape shape{static_cast<int64_t>(x.size())};
    return runOp(op, {{"x", floats(shape, std::move(x))}}, attrs)[0];
}

} // namespace

class TestElementwiseKernels : public QObject {
    Q_OBJECT

private slots:
    // Broadcast plan
    void planMergesEqualShapesIntoOneRow();
    void planGivesScalarOperandStrideZero();
    void planKeepsChannelBroadcastAsThreeDims();
    void planRejectsIncompatibleShapes();
    void planWalksRowsFromAnyStartOffset();
    // Add Sub Mul Div
    void addBroadcastsRowOverMatrix();
    void addLargeTensorSplitAcrossThreadsMatchesLoop();
    void subBroadcastsColumnAgainstRow();
    void mulUint8WrapsAround();
    void divIntegersTruncateTowardZero();
    void divFloatBroadcastsScalar();
    void binaryRejectsIncompatibleShapes();
    // Pow
    void powFloatBroadcastsExponentRow();
    void powFloatBaseIntegerExponent();
    void powIntegerBaseFloatExponentTruncates();
    void powIntegerBaseIntegerExponentIsExact();
    // Comparisons and logic
    void greaterAndLessBroadcastToBool();
    void orEqualComparisonsIncludeTies();
    void equalComparesIntegersAndBools();
    void andOrXorBroadcastBothWays();
    void notInvertsBools();
    // Where
    void whereBroadcastsAllThreeInputs();
    void whereSelectsInt64Values();
    // Max Min Sum Mean
    void maxOfThreeBroadcastInputs();
    void minOfUint8AndOneInputIsCopy();
    void maxPropagatesNaN();
    void sumAndMeanOfThreeInputs();
    void maxAndMinOfFloat16();
    // Activations and math
    void reluFloatAndInt32();
    void leakyReluScalesNegatives();
    void preluSlopePerChannel();
    void clipBoundsFromInputsAtOpset13();
    void clipBoundsFromAttributesAtOpset6();
    void clipInt8MinAboveMaxGivesMax();
    void sigmoidTanhExpLogSqrtMatchStd();
    void transcendentalsOnLargeTensorMatchStd();
    void softplusDoesNotOverflow();
    void hardSigmoidAndHardSwish();
    void eluAndSeluUseAttributes();
    void negAbsSignOnIntegers();
    void floorCeilReciprocalErf();
    void roundHalvesToEven();
    void shrinkSoftsignAndTrigonometry();
    void isNaNAndIsInfWithDirections();
    // Mod, BitShift
    void modIntegerTakesSignOfDivisor();
    void modWithFmodTakesSignOfDividend();
    void bitShiftLeftAndRightBroadcast();
    // Cast
    void castFloatToIntTruncatesAndToBool();
    void castBoolAndIntToDouble();
    void castFloatToFloat16RoundsToNearestEven();
    void castFloat16ToFloatIsExact();
    void castDoubleToFloat16RoundsOnce();
    void castLikeTakesTypeOfSecondInput();
    void castFloatToStringIsShortestRoundTrip();
    void castStringToNumbersParsesSpecForms();
    void castStringRejectsNonNumberNamingElement();
    void castBoolToStringIsUnsupported();
    void castFloatToBfloat16Truncates();
    // Identity, Dropout, Expand
    void identityCopiesInt64();
    void dropoutInferenceIsIdentityWithTrueMask();
    void dropoutTrainingMatchesNumpySeed();
    void dropoutBeforeOpset10HasMaskOfInputType();
    void expandBroadcastsToRequestedShape();
    void expandKeepsLargerInputDims();
};

// ---------------------------------------------------------------------------------------------
// Broadcast plan

void TestElementwiseKernels::planMergesEqualShapesIntoOneRow()
{
    rt::BroadcastPlan<2> plan;
    plan.build({Shape{2, 3, 4}, Shape{2, 3, 4}});
    QCOMPARE(plan.outputShape(), (Shape{2, 3, 4}));
    QCOMPARE(plan.rank(), 1);
    QCOMPARE(plan.rowLength(), int64_t(24));
    QCOMPARE(plan.rowStride(0), int64_t(1));
    QCOMPARE(plan.rowStride(1), int64_t(1));
}

void TestElementwiseKernels::planGivesScalarOperandStrideZero()
{
    rt::BroadcastPlan<2> plan;
    plan.build({Shape{5, 7}, Shape{}});
    QCOMPARE(plan.outputShape(), (Shape{5, 7}));
    QCOMPARE(plan.rank(), 1);
    QCOMPARE(plan.rowLength(), int64_t(35));
    QCOMPARE(plan.rowStride(0), int64_t(1));
    QCOMPARE(plan.rowStride(1), int64_t(0));
}

void TestElementwiseKernels::planKeepsChannelBroadcastAsThreeDims()
{
    // NCHW + per-channel [C,1,1]: N (b repeats), C (both advance), H*W (b repeats).
    rt::BroadcastPlan<2> plan;
    plan.build({Shape{2, 3, 4, 5}, Shape{3, 1, 1}});
    QCOMPARE(plan.rank(), 3);
    QCOMPARE(plan.dim(0), int64_t(2));
    QCOMPARE(plan.dim(1), int64_t(3));
    QCOMPARE(plan.dim(2), int64_t(20));
    QCOMPARE(plan.stride(0, 0), int64_t(60));
    QCOMPARE(plan.stride(0, 1), int64_t(20));
    QCOMPARE(plan.stride(1, 0), int64_t(0));
    QCOMPARE(plan.stride(1, 1), int64_t(1));
    QCOMPARE(plan.stride(1, 2), int64_t(0));
}

void TestElementwiseKernels::planRejectsIncompatibleShapes()
{
    rt::BroadcastPlan<2> plan;
    QVERIFY_THROWS_EXCEPTION(rt::KernelError, plan.build({Shape{2, 3}, Shape{4}}));
    QVERIFY_THROWS_EXCEPTION(rt::KernelError, plan.build({Shape{2, 3}}, Shape{3}));
}

void TestElementwiseKernels::planWalksRowsFromAnyStartOffset()
{
    // [2,3] + [2,1]: walking [2, 5) must visit a's offsets 2,3,4 and b's offsets 0,1,1.
    rt::BroadcastPlan<2> plan;
    plan.build({Shape{2, 3}, Shape{2, 1}});
    std::vector<int64_t> aOffsets, bOffsets;
    plan.forEachRow(2, 5, [&](const int64_t* off, int64_t out, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
            aOffsets.push_back(off[0] + i * plan.rowStride(0));
            bOffsets.push_back(off[1] + i * plan.rowStride(1));
            QCOMPARE(out + i, aOffsets.back());
        }
    });
    QCOMPARE(aOffsets, (std::vector<int64_t>{2, 3, 4}));
    QCOMPARE(bOffsets, (std::vector<int64_t>{0, 1, 1}));
}

// ---------------------------------------------------------------------------------------------
// Add Sub Mul Div

void TestElementwiseKernels::addBroadcastsRowOverMatrix()
{
    auto y = runOp("Add", {{"a", floats({2, 3}, {1, 2, 3, 4, 5, 6})}, {"b", floats({3}, {10, 20, 30})}})[0];
    CHECK_TENSOR(y, float, {2, 3}, {11, 22, 33, 14, 25, 36});
}

void TestElementwiseKernels::addLargeTensorSplitAcrossThreadsMatchesLoop()
{
    // Large enough to be split across two threads; the second operand broadcasts over rows.
    const int64_t rows = 1024, cols = 300;
    Tensor a(DataType::Float32, {rows, cols}), b(DataType::Float32, {rows, 1});
    for (int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = static_cast<float>(i % 977) * 0.5f;
    for (int64_t r = 0; r < rows; ++r) b.data<float>()[r] = static_cast<float>(r);
    auto y = runOp("Add", {{"a", a}, {"b", b}}, {}, 1, 17, 2)[0];
    auto same = runOp("Add", {{"a", a}, {"b", a}}, {}, 1, 17, 2)[0];
    for (int64_t i = 0; i < a.numel(); ++i) {
        QCOMPARE(y.data<float>()[i], a.data<float>()[i] + static_cast<float>(i / cols));
        QCOMPARE(same.data<float>()[i], 2 * a.data<float>()[i]);
    }
}

void TestElementwiseKernels::subBroadcastsColumnAgainstRow()
{
    auto y = runOp("Sub", {{"a", floats({3, 1}, {10, 20, 30})}, {"b", floats({1, 2}, {1, 2})}})[0];
    CHECK_TENSOR(y, float, {3, 2}, {9, 8, 19, 18, 29, 28});
}

void TestElementwiseKernels::mulUint8WrapsAround()
{
    auto y = runOp("Mul", {{"a", tensor<uint8_t>({3}, {200, 16, 3})}, {"b", tensor<uint8_t>({3}, {2, 16, 5})}})[0];
    CHECK_TENSOR(y, uint8_t, {3}, {144, 0, 15});
}

void TestElementwiseKernels::divIntegersTruncateTowardZero()
{
    const int32_t lowest = std::numeric_limits<int32_t>::min();
    auto y = runOp("Div", {{"a", tensor<int32_t>({5}, {7, -7, 7, 5, lowest})},
                           {"b", tensor<int32_t>({5}, {2, 2, -2, 0, -1})}})[0];
    // 7/2 = 3, -7/2 = -3, 7/-2 = -3, x/0 = 0, INT_MIN/-1 wraps to INT_MIN.
    CHECK_TENSOR(y, int32_t, {5}, {3, -3, -3, 0, lowest});
    auto u = runOp("Div", {{"a", tensor<uint8_t>({2}, {250, 9})}, {"b", tensor<uint8_t>({2}, {100, 4})}})[0];
    CHECK_TENSOR(u, uint8_t, {2}, {2, 2});
}

void TestElementwiseKernels::divFloatBroadcastsScalar()
{
    auto y = runOp("Div", {{"a", floats({4}, {1, -3, 0, 5})}, {"b", floats({}, {2})}})[0];
    CHECK_TENSOR(y, float, {4}, {0.5f, -1.5f, 0.0f, 2.5f});
}

void TestElementwiseKernels::binaryRejectsIncompatibleShapes()
{
    QVERIFY_THROWS_EXCEPTION(rt::KernelError,
                             runOp("Add", {{"a", floats({2, 3}, {})}, {"b", floats({2}, {})}}));
}

// ---------------------------------------------------------------------------------------------
// Pow

void TestElementwiseKernels::powFloatBroadcastsExponentRow()
{
    auto y = runOp("Pow", {{"x", floats({2, 3}, {1, 2, 3, 4, 5, 6})}, {"e", floats({3}, {2, 0.5f, -1})}})[0];
    CHECK_TENSOR(y, float, {2, 3}, {1, std::sqrt(2.0f), 1.0f / 3, 16, std::sqrt(5.0f), 1.0f / 6}, 1e-6);
    auto sq = runOp("Pow", {{"x", floats({3}, {-3, 0.5f, 7})}, {"e", floats({}, {2})}})[0];
    CHECK_TENSOR(sq, float, {3}, {9, 0.25f, 49});
}

void TestElementwiseKernels::powFloatBaseIntegerExponent()
{
    auto y = runOp("Pow", {{"x", floats({3}, {2, -2, 10})}, {"e", tensor<int64_t>({3}, {3, 3, -2})}})[0];
    CHECK_TENSOR(y, float, {3}, {8, -8, 0.01f}, 1e-7);
}

void TestElementwiseKernels::powIntegerBaseFloatExponentTruncates()
{
    auto y = runOp("Pow", {{"x", tensor<int64_t>({3}, {4, 2, 9})}, {"e", floats({3}, {0.5f, 1.5f, -1})}})[0];
    // 4^0.5 = 2, 2^1.5 = 2.83 -> 2, 9^-1 = 0.11 -> 0
    CHECK_TENSOR(y, int64_t, {3}, {2, 2, 0});
}

void TestElementwiseKernels::powIntegerBaseIntegerExponentIsExact()
{
    auto y = runOp("Pow", {{"x", tensor<int32_t>({5}, {3, -2, 2, -1, 1})}, {"e", tensor<int32_t>({5}, {4, 3, -1, -3, -5})}})[0];
    CHECK_TENSOR(y, int32_t, {5}, {81, -8, 0, -1, 1});
    auto big = runOp("Pow", {{"x", tensor<int64_t>({1}, {3})}, {"e", tensor<int64_t>({1}, {39})}})[0];
    CHECK_TENSOR(big, int64_t, {1}, {int64_t(4052555153018976267)});
}

// ---------------------------------------------------------------------------------------------
// Comparisons and logic

void TestElementwiseKernels::greaterAndLessBroadcastToBool()
{
    const Tensor a = floats({2, 2}, {1, 5, 3, 2}), b = floats({2}, {2, 2});
    CHECK_TENSOR(runOp("Greater", {{"a", a}, {"b", b}})[0], bool, {2, 2}, {false, true, true, false});
    CHECK_TENSOR(runOp("Less", {{"a", a}, {"b", b}})[0], bool, {2, 2}, {true, false, false, false});
}

void TestElementwiseKernels::orEqualComparisonsIncludeTies()
{
    const Tensor a = tensor<int64_t>({3}, {1, 2, 3}), b = tensor<int64_t>({}, {2});
    CHECK_TENSOR(runOp("GreaterOrEqual", {{"a", a}, {"b", b}})[0], bool, {3}, {false, true, true});
    CHECK_TENSOR(runOp("LessOrEqual", {{"a", a}, {"b", b}})[0], bool, {3}, {true, true, false});
}

void TestElementwiseKernels::equalComparesIntegersAndBools()
{
    auto y = runOp("Equal", {{"a", tensor<int32_t>({2, 2}, {1, 2, 3, 4})}, {"b", tensor<int32_t>({2, 1}, {2, 3})}})[0];
    CHECK_TENSOR(y, bool, {2, 2}, {false, true, true, false});
    auto z = runOp("Equal", {{"a", bools({3}, {true, false, true})}, {"b", bools({1}, {true})}})[0];
    CHECK_TENSOR(z, bool, {3}, {true, false, true});
}

void TestElementwiseKernels::andOrXorBroadcastBothWays()
{
    const Tensor a = bools({2, 1}, {true, false}), b = bools({1, 2}, {true, false});
    CHECK_TENSOR(runOp("And", {{"a", a}, {"b", b}})[0], bool, {2, 2}, {true, false, false, false});
    CHECK_TENSOR(runOp("Or", {{"a", a}, {"b", b}})[0], bool, {2, 2}, {true, true, true, false});
    CHECK_TENSOR(runOp("Xor", {{"a", a}, {"b", b}})[0], bool, {2, 2}, {false, true, true, false});
}

void TestElementwiseKernels::notInvertsBools()
{
    CHECK_TENSOR(runOp("Not", {{"x", bools({3}, {true, false, false})}})[0], bool, {3}, {false, true, true});
}

// ---------------------------------------------------------------------------------------------
// Where

void TestElementwiseKernels::whereBroadcastsAllThreeInputs()
{
    auto y = runOp("Where", {{"c", bools({2, 1}, {true, false})},
                             {"x", floats({1, 3}, {1, 2, 3})},
                             {"y", floats({}, {-1})}})[0];
    CHECK_TENSOR(y, float, {2, 3}, {1, 2, 3, -1, -1, -1});
}

void TestElementwiseKernels::whereSelectsInt64Values()
{
    auto y = runOp("Where", {{"c", bools({2, 2}, {true, false, false, true})},
                             {"x", tensor<int64_t>({2, 2}, {1, 2, 3, 4})},
                             {"y", tensor<int64_t>({2, 2}, {9, 8, 7, 6})}})[0];
    CHECK_TENSOR(y, int64_t, {2, 2}, {1, 8, 7, 4});
}

// ---------------------------------------------------------------------------------------------
// Max Min Sum Mean

void TestElementwiseKernels::maxOfThreeBroadcastInputs()
{
    auto y = runOp("Max", {{"a", floats({3}, {1, 5, 2})}, {"b", floats({2, 1}, {3, 0})}, {"c", floats({}, {1.5f})}})[0];
    CHECK_TENSOR(y, float, {2, 3}, {3, 5, 3, 1.5f, 5, 2});
}

void TestElementwiseKernels::minOfUint8AndOneInputIsCopy()
{
    auto y = runOp("Min", {{"a", tensor<uint8_t>({3}, {1, 200, 7})}, {"b", tensor<uint8_t>({3}, {2, 100, 7})}})[0];
    CHECK_TENSOR(y, uint8_t, {3}, {1, 100, 7});
    auto one = runOp("Min", {{"a", floats({2}, {4, -4})}})[0];
    CHECK_TENSOR(one, float, {2}, {4, -4});
}

void TestElementwiseKernels::maxPropagatesNaN()
{
    const float nan = std::numeric_limits<float>::quiet_NaN();
    auto y = runOp("Max", {{"a", floats({2}, {nan, 1})}, {"b", floats({2}, {0, nan})}})[0];
    CHECK_TENSOR(y, float, {2}, {nan, nan});
}

void TestElementwiseKernels::sumAndMeanOfThreeInputs()
{
    const std::vector<OpInput> in = {{"a", floats({2}, {1, 2})}, {"b", floats({2}, {3, 4})}, {"c", floats({1}, {5})}};
    CHECK_TENSOR(runOp("Sum", in)[0], float, {2}, {9, 11});
    CHECK_TENSOR(runOp("Mean", in)[0], float, {2}, {3, 11.0f / 3}, 1e-6);
    CHECK_TENSOR(runOp("Mean", {{"a", floats({2}, {1, 2})}, {"b", floats({2}, {2, 2})}})[0], float, {2}, {1.5f, 2});
}

void TestElementwiseKernels::maxAndMinOfFloat16()
{
    // 1.0 = 0x3c00, 2.0 = 0x4000, -2.0 = 0xc000, 0.5 = 0x3800.
    Tensor a(DataType::Float16, {2}), b(DataType::Float16, {2});
    const uint16_t av[2] = {0x3c00, 0xc000}, bv[2] = {0x4000, 0x3800};
    std::memcpy(a.raw(), av, sizeof av);
    std::memcpy(b.raw(), bv, sizeof bv);
    auto mx = runOp("Max", {{"a", a}, {"b", b}})[0];
    auto mn = runOp("Min", {{"a", a}, {"b", b}})[0];
    QCOMPARE(mx.dtype(), DataType::Float16);
    QCOMPARE(mx.data<uint16_t>()[0], uint16_t(0x4000));
    QCOMPARE(mx.data<uint16_t>()[1], uint16_t(0x3800));
    QCOMPARE(mn.data<uint16_t>()[0], uint16_t(0x3c00));
    QCOMPARE(mn.data<uint16_t>()[1], uint16_t(0xc000));
}

// ---------------------------------------------------------------------------------------------
// Activations and math

void TestElementwiseKernels::reluFloatAndInt32()
{
    CHECK_TENSOR(unaryFloat("Relu", {-1, 0, 2.5f}), float, {3}, {0, 0, 2.5f});
    CHECK_TENSOR(runOp("Relu", {{"x", tensor<int32_t>({3}, {-7, 0, 7})}})[0], int32_t, {3}, {0, 0, 7});
}

void TestElementwiseKernels::leakyReluScalesNegatives()
{
    CHECK_TENSOR(unaryFloat("LeakyRelu", {-2, 3}, {{"alpha", floatAttr(0.1f)}}), float, {2}, {-0.2f, 3}, 1e-7);
    CHECK_TENSOR(unaryFloat("LeakyRelu", {-100}), float, {1}, {-1}, 1e-6);   // default alpha 0.01
}

void TestElementwiseKernels::preluSlopePerChannel()
{
    // x [1,2,2,1], slope [2,1,1]: channel 0 slope 0.5, channel 1 slope 2.
    auto y = runOp("PRelu", {{"x", floats({1, 2, 2, 1}, {-2, 3, -4, 5})}, {"s", floats({2, 1, 1}, {0.5f, 2})}})[0];
    CHECK_TENSOR(y, float, {1, 2, 2, 1}, {-1, 3, -8, 5});
    QVERIFY_THROWS_EXCEPTION(rt::KernelError,
                             runOp("PRelu", {{"x", floats({2}, {1, 2})}, {"s", floats({2, 2}, {1, 1, 1, 1})}}));
}

void TestElementwiseKernels::clipBoundsFromInputsAtOpset13()
{
    const Tensor x = floats({5}, {-3, -1, 0, 1, 3});
    CHECK_TENSOR(runOp("Clip", {{"x", x}, {"lo", floats({}, {-1.5f})}, {"hi", floats({}, {2})}})[0], float, {5},
                 {-1.5f, -1, 0, 1, 2});
    CHECK_TENSOR(runOp("Clip", {{"x", x}, {"lo", Tensor()}, {"hi", floats({}, {0.5f})}})[0], float, {5},
                 {-3, -1, 0, 0.5f, 0.5f});
    CHECK_TENSOR(runOp("Clip", {{"x", x}})[0], float, {5}, {-3, -1, 0, 1, 3});
}

void TestElementwiseKernels::clipBoundsFromAttributesAtOpset6()
{
    auto y = runOp("Clip", {{"x", floats({4}, {-3, -0.5f, 0.5f, 3})}}, {{"min", floatAttr(-1)}, {"max", floatAttr(1)}}, 1, 6)[0];
    CHECK_TENSOR(y, float, {4}, {-1, -0.5f, 0.5f, 1});
}

void TestElementwiseKernels::clipInt8MinAboveMaxGivesMax()
{
    const Tensor x = tensor<int8_t>({3}, {-100, 0, 100});
    CHECK_TENSOR(runOp("Clip", {{"x", x}, {"lo", tensor<int8_t>({}, {-5})}, {"hi", tensor<int8_t>({}, {5})}})[0], int8_t,
                 {3}, {-5, 0, 5});
    CHECK_TENSOR(runOp("Clip", {{"x", x}, {"lo", tensor<int8_t>({}, {10})}, {"hi", tensor<int8_t>({}, {2})}})[0], int8_t,
                 {3}, {2, 2, 2});
}

void TestElementwiseKernels::sigmoidTanhExpLogSqrtMatchStd()
{
    const std::vector<float> x = {-20, -1.5f, -0.25f, 0, 0.3f, 1, 4, 30};
    const std::vector<float> pos = {1e-6f, 0.3f, 1, 2, 10, 1e6f};
    auto expect = [](const std::vector<float>& v, auto fn) {
        std::vector<float> out;
        for (float e : v) out.push_back(static_cast<float>(fn(static_cast<double>(e))));
        return out;
    };
    const Shape sx{8}, sp{6};
    CHECK_TENSOR(unaryFloat("Sigmoid", x), float, sx, expect(x, [](double v) { return 1 / (1 + std::exp(-v)); }), 1e-6);
    CHECK_TENSOR(unaryFloat("Tanh", x), float, sx, expect(x, [](double v) { return std::tanh(v); }), 1e-6);
    CHECK_TENSOR(unaryFloat("Exp", {-3, 0, 1, 5}), float, {4}, {std::exp(-3.0f), 1, std::exp(1.0f), std::exp(5.0f)}, 1e-4);
    CHECK_TENSOR(unaryFloat("Log", pos), float, sp, expect(pos, [](double v) { return std::log(v); }), 1e-6);
    CHECK_TENSOR(unaryFloat("Sqrt", pos), float, sp, expect(pos, [](double v) { return std::sqrt(v); }), 1e-6);
    CHECK_TENSOR(unaryFloat("Log", {0, -1}), float, {2}, {-std::numeric_limits<float>::infinity(), NAN});
}

void TestElementwiseKernels::transcendentalsOnLargeTensorMatchStd()
{
    // Vectorised blocks split across threads, including a ragged tail.
    const int64_t n = 300001;
    Tensor x(DataType::Float32, {n});
    for (int64_t i = 0; i < n; ++i) x.data<float>()[i] = static_cast<float>(i % 2001 - 1000) / 100.0f;
    const auto exp = runOp("Exp", {{"x", x}}, {}, 1, 17, 2)[0];
    const auto tanh = runOp("Tanh", {{"x", x}}, {}, 1, 17, 2)[0];
    const auto sigmoid = runOp("Sigmoid", {{"x", x}}, {}, 1, 17, 2)[0];
    const auto erf = runOp("Erf", {{"x", x}}, {}, 1, 17, 2)[0];
    for (int64_t i = 0; i < n; i += 7) {
        const double v = x.data<float>()[i];
        QVERIFY(std::fabs(exp.data<float>()[i] - std::exp(v)) <= 3e-7 * std::exp(v));
        QVERIFY(std::fabs(tanh.data<float>()[i] - std::tanh(v)) <= 2e-7);
        QVERIFY(std::fabs(sigmoid.data<float>()[i] - 1 / (1 + std::exp(-v))) <= 2e-7);
        QVERIFY(std::fabs(erf.data<float>()[i] - std::erf(v)) <= 5e-7);
    }
    // The last element (a partial vector) and special values.
    const auto tail = unaryFloat("Exp", {-200, 100, NAN, 0, 0, 0, 0, 0, 1});
    CHECK_TENSOR(tail, float, {9}, {0, std::numeric_limits<float>::infinity(), NAN, 1, 1, 1, 1, 1, std::exp(1.0f)}, 1e-6);
    CHECK_TENSOR(unaryFloat("Tanh", {1e-5f, -0.05f, -30}), float, {3}, {1e-5f, std::tanh(-0.05f), -1}, 1e-9);
}

void TestElementwiseKernels::softplusDoesNotOverflow()
{
    // log(1 + e^x): e^1000 overflows, the result is 1000.
    CHECK_TENSOR(unaryFloat("Softplus", {-1000, 0, 1, 1000}), float, {4}, {0, std::log(2.0f), std::log1p(std::exp(1.0f)), 1000},
                 1e-6);
}

void TestElementwiseKernels::hardSigmoidAndHardSwish()
{
    CHECK_TENSOR(unaryFloat("HardSigmoid", {-10, 0, 1, 10}, {{"alpha", floatAttr(0.5f)}, {"beta", floatAttr(0.6f)}}), float,
                 {4}, {0, 0.6f, 1, 1}, 1e-7);
    CHECK_TENSOR(unaryFloat("HardSigmoid", {1}), float, {1}, {0.7f}, 1e-7);   // defaults 0.2, 0.5
    CHECK_TENSOR(unaryFloat("HardSwish", {-4, -1, 0, 1, 4}), float, {5}, {0, -1.0f / 3, 0, 2.0f / 3, 4}, 1e-6);
}

void TestElementwiseKernels::eluAndSeluUseAttributes()
{
    CHECK_TENSOR(unaryFloat("Elu", {-1, 2}, {{"alpha", floatAttr(2)}}), float, {2}, {2 * (std::exp(-1.0f) - 1), 2}, 1e-6);
    CHECK_TENSOR(unaryFloat("Selu", {-1, 2}, {{"alpha", floatAttr(2)}, {"gamma", floatAttr(3)}}), float, {2},
                 {3 * (2 * std::exp(-1.0f) - 2), 6}, 1e-6);
    // Default Selu: gamma * x for positive x.
    CHECK_TENSOR(unaryFloat("Selu", {1}), float, {1}, {1.0507009873554805f}, 1e-6);
}

void TestElementwiseKernels::negAbsSignOnIntegers()
{
    const Tensor x = tensor<int32_t>({4}, {-5, 0, 7, std::numeric_limits<int32_t>::min()});
    const int32_t lowest = std::numeric_limits<int32_t>::min();
    CHECK_TENSOR(runOp("Neg", {{"x", x}})[0], int32_t, {4}, {5, 0, -7, lowest});
    CHECK_TENSOR(runOp("Abs", {{"x", x}})[0], int32_t, {4}, {5, 0, 7, lowest});
    CHECK_TENSOR(runOp("Sign", {{"x", x}})[0], int32_t, {4}, {-1, 0, 1, -1});
    CHECK_TENSOR(unaryFloat("Sign", {-0.5f, 0, 3}), float, {3}, {-1, 0, 1});
}

void TestElementwiseKernels::floorCeilReciprocalErf()
{
    CHECK_TENSOR(unaryFloat("Floor", {-1.5f, 1.5f, 2}), float, {3}, {-2, 1, 2});
    CHECK_TENSOR(unaryFloat("Ceil", {-1.5f, 1.5f, 2}), float, {3}, {-1, 2, 2});
    CHECK_TENSOR(unaryFloat("Reciprocal", {-4, 0.5f}), float, {2}, {-0.25f, 2});
    CHECK_TENSOR(unaryFloat("Erf", {0, 1, -2}), float, {3}, {0, 0.8427007929f, -0.995322265f}, 1e-6);
}

void TestElementwiseKernels::roundHalvesToEven()
{
    CHECK_TENSOR(unaryFloat("Round", {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 1.2f, -2.7f}), float, {7}, {0, 2, 2, 0, -2, 1, -3});
}

void TestElementwiseKernels::shrinkSoftsignAndTrigonometry()
{
    CHECK_TENSOR(unaryFloat("Shrink", {-2, -1, 0, 1, 2}, {{"lambd", floatAttr(1.5f)}, {"bias", floatAttr(1.5f)}}), float, {5},
                 {-0.5f, 0, 0, 0, 0.5f});
    CHECK_TENSOR(unaryFloat("Softsign", {-3, 0, 1}), float, {3}, {-0.75f, 0, 0.5f});
    CHECK_TENSOR(unaryFloat("Sin", {0, 1.5707964f}), float, {2}, {0, 1}, 1e-7);
    CHECK_TENSOR(unaryFloat("Acos", {1, 0}), float, {2}, {0, 1.5707964f}, 1e-7);
    CHECK_TENSOR(unaryFloat("Atanh", {0.5f}), float, {1}, {0.54930614f}, 1e-7);
}

void TestElementwiseKernels::isNaNAndIsInfWithDirections()
{
    const float inf = std::numeric_limits<float>::infinity();
    const Tensor x = floats({4}, {1, NAN, inf, -inf});
    CHECK_TENSOR(runOp("IsNaN", {{"x", x}})[0], bool, {4}, {false, true, false, false});
    CHECK_TENSOR(runOp("IsInf", {{"x", x}})[0], bool, {4}, {false, false, true, true});
    CHECK_TENSOR(runOp("IsInf", {{"x", x}}, {{"detect_positive", intAttr(0)}})[0], bool, {4}, {false, false, false, true});
    CHECK_TENSOR(runOp("IsInf", {{"x", x}}, {{"detect_negative", intAttr(0)}})[0], bool, {4}, {false, false, true, false});
}

void TestElementwiseKernels::modIntegerTakesSignOfDivisor()
{
    // Python: -7 % 3 = 2, 7 % -3 = -2, -7 % -3 = -1; x % 0 gives 0 here.
    auto y = runOp("Mod", {{"a", tensor<int32_t>({5}, {7, -7, 7, -7, 5})}, {"b", tensor<int32_t>({5}, {3, 3, -3, -3, 0})}})[0];
    CHECK_TENSOR(y, int32_t, {5}, {1, 2, -2, -1, 0});
    auto bc = runOp("Mod", {{"a", tensor<int64_t>({2, 2}, {10, 11, 12, 13})}, {"b", tensor<int64_t>({1}, {4})}})[0];
    CHECK_TENSOR(bc, int64_t, {2, 2}, {2, 3, 0, 1});
}

void TestElementwiseKernels::modWithFmodTakesSignOfDividend()
{
    auto y = runOp("Mod", {{"a", floats({3}, {-4.5f, 4.5f, 5})}, {"b", floats({3}, {2, -2, 2.5f})}}, {{"fmod", intAttr(1)}})[0];
    CHECK_TENSOR(y, float, {3}, {-0.5f, 0.5f, 0});
    auto i = runOp("Mod", {{"a", tensor<int32_t>({2}, {-7, 7})}, {"b", tensor<int32_t>({2}, {3, -3})}}, {{"fmod", intAttr(1)}})[0];
    CHECK_TENSOR(i, int32_t, {2}, {-1, 1});
    QVERIFY_THROWS_EXCEPTION(rt::KernelError, runOp("Mod", {{"a", floats({1}, {1})}, {"b", floats({1}, {1})}}));
}

void TestElementwiseKernels::bitShiftLeftAndRightBroadcast()
{
    const Tensor x = tensor<uint8_t>({3}, {16, 4, 1}), s = tensor<uint8_t>({3}, {1, 2, 9});
    CHECK_TENSOR(runOp("BitShift", {{"x", x}, {"s", s}}, {{"direction", stringAttr("LEFT")}})[0], uint8_t, {3}, {32, 16, 0});
    CHECK_TENSOR(runOp("BitShift", {{"x", x}, {"s", s}}, {{"direction", stringAttr("RIGHT")}})[0], uint8_t, {3}, {8, 1, 0});
    CHECK_TENSOR(runOp("BitShift", {{"x", tensor<uint32_t>({2}, {1, 3})}, {"s", tensor<uint32_t>({}, {31})}},
                       {{"direction", stringAttr("LEFT")}})[0],
                 uint32_t, {2}, {2147483648u, 2147483648u});
}

// ---------------------------------------------------------------------------------------------
// Cast

void TestElementwiseKernels::castFloatToIntTruncatesAndToBool()
{
    const Tensor x = floats({4}, {-2.7f, -0.5f, 0, 3.9f});
    CHECK_TENSOR(runOp("Cast", {{"x", x}}, {{"to", intAttr(6)}})[0], int32_t, {4}, {-2, 0, 0, 3});
    CHECK_TENSOR(runOp("Cast", {{"x", x}}, {{"to", intAttr(9)}})[0], bool, {4}, {true, true, false, true});
    CHECK_TENSOR(runOp("Cast", {{"x", x}}, {{"to", intAttr(7)}})[0], int64_t, {4}, {-2, 0, 0, 3});
}

void TestElementwiseKernels::castBoolAndIntToDouble()
{
    CHECK_TENSOR(runOp("Cast", {{"x", bools({2}, {true, false})}}, {{"to", intAttr(11)}})[0], double, {2}, {1, 0});
    CHECK_TENSOR(runOp("Cast", {{"x", tensor<int64_t>({2}, {-3, int64_t(1) << 40})}}, {{"to", intAttr(11)}})[0], double, {2},
                 {-3, 1099511627776.0});
    CHECK_TENSOR(runOp("Cast", {{"x", tensor<int32_t>({2}, {300, -1})}}, {{"to", intAttr(2)}})[0], uint8_t, {2}, {44, 255});
}

void TestElementwiseKernels::castFloatToFloat16RoundsToNearestEven()
{
    // 1 -> 0x3c00; 65504 is the largest half; 65520 rounds up to inf; 0.1 -> 0x2e66;
    // 1 + 2^-11 is a tie between 0x3c00 and 0x3c01 and goes to the even 0x3c00; 2^-24 is the
    // smallest subnormal (0x0001); 2^-26 rounds to zero; -2 -> 0xc000.
    const Tensor x = floats({8}, {1, 65504, 65520, 0.1f, 1 + std::ldexp(1.0f, -11), std::ldexp(1.0f, -24),
                                  std::ldexp(1.0f, -26), -2});
    auto y = runOp("Cast", {{"x", x}}, {{"to", intAttr(10)}})[0];
    QCOMPARE(y.dtype(), DataType::Float16);
    const std::vector<uint16_t> bits(y.data<uint16_t>(), y.data<uint16_t>() + 8);
    QCOMPARE(bits, (std::vector<uint16_t>{0x3c00, 0x7bff, 0x7c00, 0x2e66, 0x3c00, 0x0001, 0x0000, 0xc000}));
}

void TestElementwiseKernels::castFloat16ToFloatIsExact()
{
    Tensor h(DataType::Float16, {5});
    const uint16_t bits[5] = {0x3c00, 0x0001, 0x7bff, 0xfc00, 0x3555};
    std::memcpy(h.raw(), bits, sizeof bits);
    auto y = runOp("Cast", {{"x", h}}, {{"to", intAttr(1)}})[0];
    CHECK_TENSOR(y, float, {5}, {1, std::ldexp(1.0f, -24), 65504, -std::numeric_limits<float>::infinity(),
                                 0.333251953125f});
}

void TestElementwiseKernels::castDoubleToFloat16RoundsOnce()
{
    // 1 + 2^-11 + 2^-40 is just above the tie: the correct half is 0x3c01. Rounding to float first
    // would give exactly the tie and then 0x3c00.
    const Tensor x = tensor<double>({1}, {1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40)});
    auto y = runOp("Cast", {{"x", x}}, {{"to", intAttr(10)}})[0];
    QCOMPARE(y.data<uint16_t>()[0], uint16_t(0x3c01));
}

void TestElementwiseKernels::castLikeTakesTypeOfSecondInput()
{
    auto y = runOp("CastLike", {{"x", floats({2}, {1.5f, -7.25f})}, {"like", tensor<double>({1}, {0})}}, {}, 1, 15)[0];
    CHECK_TENSOR(y, double, {2}, {1.5, -7.25});
}

void TestElementwiseKernels::castFloatToStringIsShortestRoundTrip()
{
    const float inf = std::numeric_limits<float>::infinity();
    auto y = runOp("Cast", {{"x", floats({6}, {0.039187793f, 1e-5f, -2.5f, inf, -inf, std::nanf("")})}}, {{"to", intAttr(8)}})[0];
    QCOMPARE(y.dtype(), DataType::String);
    QCOMPARE(std::vector<std::string>(y.data<std::string>(), y.data<std::string>() + 6),
             (std::vector<std::string>{"0.039187793", "1e-05", "-2.5", "INF", "-INF", "NaN"}));
    auto z = runOp("Cast", {{"x", tensor<int64_t>({2}, {-9, int64_t(1) << 50})}}, {{"to", intAttr(8)}})[0];
    QCOMPARE(z.data<std::string>()[1], std::string("1125899906842624"));
}

void TestElementwiseKernels::castStringToNumbersParsesSpecForms()
{
    Tensor s(DataType::String, {6});
    const char* text[6] = {"3.14", "1e-5", "1E8", "+INF", "-INF", "NaN"};
    for (int i = 0; i < 6; ++i) s.data<std::string>()[i] = text[i];
    auto y = runOp("Cast", {{"x", s}}, {{"to", intAttr(1)}})[0];
    QCOMPARE(y.dtype(), DataType::Float32);
    const float* v = y.data<float>();
    QCOMPARE(v[0], 3.14f);
    QCOMPARE(v[1], 1e-5f);
    QCOMPARE(v[2], 1e8f);
    QVERIFY(std::isinf(v[3]) && v[3] > 0);
    QVERIFY(std::isinf(v[4]) && v[4] < 0);
    QVERIFY(std::isnan(v[5]));
    Tensor ints(DataType::String, {2});
    ints.data<std::string>()[0] = "42";
    ints.data<std::string>()[1] = "-7";
    CHECK_TENSOR(runOp("Cast", {{"x", ints}}, {{"to", intAttr(7)}})[0], int64_t, {2}, {42, -7});
}

void TestElementwiseKernels::castStringRejectsNonNumberNamingElement()
{
    Tensor s(DataType::String, {3});
    s.data<std::string>()[0] = "1";
    s.data<std::string>()[1] = "2";
    s.data<std::string>()[2] = "3 apples";
    try {
        runOp("Cast", {{"x", s}}, {{"to", intAttr(1)}});
        QFAIL("no error for a string that is not a number");
    } catch (const std::exception& e) {
        const std::string msg = e.what();
        QVERIFY2(msg.find("element 2") != std::string::npos && msg.find("'3 apples'") != std::string::npos, e.what());
    }
}

void TestElementwiseKernels::castBoolToStringIsUnsupported()
{
    QVERIFY_THROWS_EXCEPTION(rt::UnsupportedError, runOp("Cast", {{"x", bools({1}, {true})}}, {{"to", intAttr(8)}}));
}

void TestElementwiseKernels::castFloatToBfloat16Truncates()
{
    // 1 + 2^-7 + 2^-8 is 0x3F80C000: truncation keeps 0x3F80 (rounding would give 0x3F81); a
    // negative value truncates toward zero in magnitude; NaN stays a quiet NaN.
    const float x[3] = {std::bit_cast<float>(0x3F80C000u), std::bit_cast<float>(0xC0A0FFFFu), std::nanf("")};
    auto y = runOp("Cast", {{"x", floats({3}, {x[0], x[1], x[2]})}}, {{"to", intAttr(16)}})[0];
    QCOMPARE(y.dtype(), DataType::BFloat16);
    QCOMPARE(y.data<uint16_t>()[0], uint16_t(0x3F80));
    QCOMPARE(y.data<uint16_t>()[1], uint16_t(0xC0A0));
    QCOMPARE(y.data<uint16_t>()[2] & 0x7FC0, 0x7FC0);
}

// ---------------------------------------------------------------------------------------------
// Identity, Dropout, Expand

void TestElementwiseKernels::identityCopiesInt64()
{
    CHECK_TENSOR(runOp("Identity", {{"x", tensor<int64_t>({2, 1}, {-9, 1LL << 50})}})[0], int64_t, {2, 1},
                 {-9, int64_t(1) << 50});
}

void TestElementwiseKernels::dropoutInferenceIsIdentityWithTrueMask()
{
    const Tensor x = floats({3}, {1, -2, 3});
    auto out = runOp("Dropout", {{"x", x}, {"r", floats({}, {0.5f})}}, {}, 2)[0];
    CHECK_TENSOR(out, float, {3}, {1, -2, 3});
    auto both = runOp("Dropout", {{"x", x}, {"r", floats({}, {0.5f})}, {"t", bools({}, {false})}}, {}, 2);
    CHECK_TENSOR(both[0], float, {3}, {1, -2, 3});
    CHECK_TENSOR(both[1], bool, {3}, {true, true, true});
}

void TestElementwiseKernels::dropoutTrainingMatchesNumpySeed()
{
    // numpy: np.random.seed(0); np.random.uniform(0, 1, 4) = [0.5488, 0.7152, 0.6028, 0.5449].
    // With ratio 0.6 the first and last elements are dropped, the others scaled by 1 / 0.4.
    const Tensor x = floats({4}, {1, 2, 3, 4});
    auto out = runOp("Dropout", {{"x", x}, {"r", floats({}, {0.6f})}, {"t", bools({}, {true})}}, {{"seed", intAttr(0)}}, 2);
    CHECK_TENSOR(out[0], float, {4}, {0, 5, 7.5f, 0}, 1e-5);
    CHECK_TENSOR(out[1], bool, {4}, {false, true, true, false});
}

void TestElementwiseKernels::dropoutBeforeOpset10HasMaskOfInputType()
{
    auto out = runOp("Dropout", {{"x", floats({2}, {4, 5})}}, {{"ratio", floatAttr(0.3f)}}, 2, 7);
    CHECK_TENSOR(out[0], float, {2}, {4, 5});
    CHECK_TENSOR(out[1], float, {2}, {1, 1});
}

void TestElementwiseKernels::expandBroadcastsToRequestedShape()
{
    auto y = runOp("Expand", {{"x", floats({3, 1}, {1, 2, 3})}, init("s", tensor<int64_t>({3}, {2, 1, 2}))})[0];
    CHECK_TENSOR(y, float, {2, 3, 2}, {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
}

void TestElementwiseKernels::expandKeepsLargerInputDims()
{
    // Shape [1, 1] against x [2, 3] keeps x's dims (a dimension of 1 in `shape` broadcasts).
    auto y = runOp("Expand", {{"x", tensor<int32_t>({2, 3}, {1, 2, 3, 4, 5, 6})}, init("s", tensor<int64_t>({2}, {1, 1}))})[0];
    CHECK_TENSOR(y, int32_t, {2, 3}, {1, 2, 3, 4, 5, 6});
    QVERIFY_THROWS_EXCEPTION(rt::KernelError,
                             runOp("Expand", {{"x", floats({3}, {1, 2, 3})}, init("s", tensor<int64_t>({1}, {2}))}));
}

QTEST_APPLESS_MAIN(TestElementwiseKernels)
#include "tst_elementwise.moc"
