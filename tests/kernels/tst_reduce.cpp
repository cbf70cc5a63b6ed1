// Reduce family: Softmax / LogSoftmax / Hardmax, Reduce*, ArgMax / ArgMin, TopK, Resize, Upsample.
// Expected values are worked out by hand (or from the spec's formula) in each test.
#include "single_op.h"

#include <QtTest>

#include <cmath>

using namespace joule;
using namespace joule::test;

namespace {

Tensor f32(Shape shape, std::vector<float> v) { return Tensor::fromVector(DataType::Float32, std::move(shape), v); }
Tensor f64(Shape shape, std::vector<double> v) { return Tensor::fromVector(DataType::Float64, std::move(shape), v); }
Tensor i64(Shape shape, std::vector<int64_t> v) { return Tensor::fromVector(DataType::Int64, std::move(shape), v); }
Tensor i32(Shape shape, std::vector<int32_t> v) { return Tensor::fromVector(DataType::Int32, std::move(shape), v); }

template <typename T> std::vector<T> valuesOf(const Tensor& t) { return {t.data<T>(), t.data<T>() + t.numel()}; }

void expectFloats(const Tensor& t, const Shape& shape, const std::vector<float>& expected, float tol = 1e-5f)
{
    QCOMPARE(t.dtype(), DataType::Float32);
    QCOMPARE(shapeToString(t.shape()), shapeToString(shape));
    QCOMPARE(t.numel(), static_cast<int64_t>(expected.size()));
    for (size_t i = 0; i < expected.size(); ++i) {
        const float got = t.data<float>()[i];
        if (std::fabs(got - expected[i]) > tol * std::max(1.0f, std::fabs(expected[i])))
            QFAIL(qPrintable(QString("element %1: got %2, expected %3").arg(i).arg(got, 0, 'g', 9).arg(expected[i], 0, 'g', 9)));
    }
}

template <typename T> void expectExact(const Tensor& t, DataType type, const Shape& shape, const std::vector<T>& expected)
{
    QCOMPARE(t.dtype(), type);
    QCOMPARE(shapeToString(t.shape()), shapeToString(shape));
    QCOMPARE(valuesOf<T>(t), expected);
}

} // namespace

class TestReduceKernels : public QObject {
    Q_OBJECT

private slots:
    // --- Softmax family ---------------------------------------------------------------------
    void softmaxNormalisesLastAxis()
    {
        auto y = runOp("Softmax", {{"x", f32({1, 3}, {-1, 0, 1})}});
        const float s = std::exp(-1.0f) + 1.0f + std::exp(1.0f);
        expectFloats(y[0], {1, 3}, {std::exp(-1.0f) / s, 1.0f / s, std::exp(1.0f) / s});
    }

    void softmaxBeforeOpset13CoercesTo2DAtAxis()
    {
        // Shape [2, 1, 2], axis 1: opset 11 normalises each row of the [2, 2] view; opset 13
        // normalises along the size-1 axis, which gives all ones.
        const Tensor x = f32({2, 1, 2}, {1, 2, 3, 3});
        const float a = 1.0f / (1.0f + std::exp(1.0f));
        expectFloats(runOp("Softmax", {{"x", x}}, {{"axis", intAttr(1)}}, 1, 11)[0], {2, 1, 2}, {a, 1 - a, 0.5f, 0.5f});
        expectFloats(runOp("Softmax", {{"x", x}}, {{"axis", intAttr(1)}}, 1, 13)[0], {2, 1, 2}, {1, 1, 1, 1});
    }

    void softmaxAlongLeadingAxisNormalisesColumns()
    {
        auto y = runOp("Softmax", {{"x", f32({2, 2}, {0, 0, std::log(3.0f), 0})}}, {{"axis", intAttr(0)}});
        expectFloats(y[0], {2, 2}, {0.25f, 0.5f, 0.75f, 0.5f});
    }

    void softmaxDefaultAxisBeforeOpset13IsOne()
    {
        // [2, 2, 1] with default axis 1 at opset 12: each of the two rows of 2 values sums to 1.
        auto y = runOp("Softmax", {{"x", f32({2, 2, 1}, {0, std::log(3.0f), 5, 5})}}, {}, 1, 12);
        expectFloats(y[0], {2, 2, 1}, {0.25f, 0.75f, 0.5f, 0.5f});
    }

    void logSoftmaxIsStableForLargeInputs()
    {
        auto y = runOp("LogSoftmax", {{"x", f32({1, 2}, {1000, 1001})}});
        const float l = std::log(1.0f + std::exp(1.0f));
        expectFloats(y[0], {1, 2}, {-l, 1.0f - l});
    }

    void logSoftmaxAlongMiddleAxis()
    {
        auto y = runOp("LogSoftmax", {{"x", f32({1, 2, 2}, {0, 7, 0, 7})}}, {{"axis", intAttr(1)}});
        const float l = std::log(0.5f);
        expectFloats(y[0], {1, 2, 2}, {l, l, l, l});
    }

    void softmaxFloat64()
    {
        auto y = runOp("Softmax", {{"x", f64({2}, {0.0, 0.0})}});
        QCOMPARE(y[0].dtype(), DataType::Float64);
        QCOMPARE(y[0].data<double>()[0], 0.5);
    }

    void hardmaxMarksFirstMaximum()
    {
        auto y = runOp("Hardmax", {{"x", f32({2, 3}, {3, 3, 1, -1, 2, 2})}});
        expectFloats(y[0], {2, 3}, {1, 0, 0, 0, 1, 0});
        auto z = runOp("Hardmax", {{"x", f32({2, 2}, {1, 5, 2, 5})}}, {{"axis", intAttr(0)}});
        expectFloats(z[0], {2, 2}, {0, 1, 1, 0});
    }

    // --- Reduce* ----------------------------------------------------------------------------
    void reduceMeanKeepsReducedAxisAsOne()
    {
        const Tensor x = f32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
        auto y = runOp("ReduceMean", {{"x", x}}, {{"axes", intsAttr({1})}});
        expectFloats(y[0], {2, 1, 2}, {2, 3, 6, 7});
    }

    void reduceMeanWithoutKeepdimsDropsAxes()
    {
        const Tensor x = f32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
        auto y = runOp("ReduceMean", {{"x", x}}, {{"axes", intsAttr({0, 2})}, {"keepdims", intAttr(0)}});
        expectFloats(y[0], {2}, {(1 + 2 + 5 + 6) / 4.0f, (3 + 4 + 7 + 8) / 4.0f});
    }

    void reduceMeanTakesAxesFromInputAtOpset18()
    {
        const Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
        auto y = runOp("ReduceMean", {{"x", x}, {"axes", i64({1}, {-1}), true}}, {}, 1, 18);
        expectFloats(y[0], {2, 1}, {2, 5});
    }

    void reduceSumTakesAxesFromInputAtOpset13()
    {
        const Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
        auto y = runOp("ReduceSum", {{"x", x}, {"axes", i64({1}, {0}), true}}, {{"keepdims", intAttr(0)}}, 1, 13);
        expectFloats(y[0], {3}, {5, 7, 9});
    }

    void reduceSumUsesAxesAttributeBeforeOpset13()
    {
        const Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
        auto y = runOp("ReduceSum", {{"x", x}}, {{"axes", intsAttr({1})}}, 1, 11);
        expectFloats(y[0], {2, 1}, {6, 15});
    }

    void reduceSumWithoutAxesReducesEverything()
    {
        const Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
        expectFloats(runOp("ReduceSum", {{"x", x}}, {}, 1, 13)[0], {1, 1}, {21});
        expectFloats(runOp("ReduceSum", {{"x", x}, {"axes", i64({0}, {}), true}}, {}, 1, 13)[0], {1, 1}, {21});
    }

    void reduceSumEmptyAxesWithNoopIsIdentity()
    {
        const Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
        auto y = runOp("ReduceSum", {{"x", x}, {"axes", i64({0}, {}), true}}, {{"noop_with_empty_axes", intAttr(1)}}, 1, 13);
        expectFloats(y[0], {2, 3}, {1, 2, 3, 4, 5, 6});
    }

    void reduceSumOfInt32StaysInteger()
    {
        auto y = runOp("ReduceSum", {{"x", i32({2, 2}, {1, 2, 3, 4})}, {"axes", i64({1}, {0}), true}});
        expectExact<int32_t>(y[0], DataType::Int32, {1, 2}, {4, 6});
    }

    void reduceMaxAndMinWithNegativeAxis()
    {
        const Tensor x = f32({2, 3}, {5, -1, 2, 0, 9, -7});
        expectFloats(runOp("ReduceMax", {{"x", x}}, {{"axes", intsAttr({-1})}, {"keepdims", intAttr(0)}})[0], {2}, {5, 9});
        expectFloats(runOp("ReduceMin", {{"x", x}}, {{"axes", intsAttr({-2})}, {"keepdims", intAttr(0)}})[0], {3}, {0, -1, -7});
    }

    void reduceProdL1L2SumSquare()
    {
        const Tensor x = f32({2, 2}, {1, -2, 3, -4});
        const std::map<std::string, Attribute> rows{{"axes", intsAttr({1})}, {"keepdims", intAttr(0)}};
        expectFloats(runOp("ReduceProd", {{"x", x}}, rows)[0], {2}, {-2, -12});
        expectFloats(runOp("ReduceL1", {{"x", x}}, rows)[0], {2}, {3, 7});
        expectFloats(runOp("ReduceL2", {{"x", x}}, rows)[0], {2}, {std::sqrt(5.0f), 5});
        expectFloats(runOp("ReduceSumSquare", {{"x", x}}, rows)[0], {2}, {5, 25});
    }

    void reduceLogSumAndLogSumExp()
    {
        const Tensor x = f32({1, 2}, {1, 2});
        expectFloats(runOp("ReduceLogSum", {{"x", x}})[0], {1, 1}, {std::log(3.0f)});
        // Stable for large values: log(e^1000 + e^1000) = 1000 + log 2.
        auto y = runOp("ReduceLogSumExp", {{"x", f64({2}, {1000.0, 1000.0})}});
        QCOMPARE(y[0].dtype(), DataType::Float64);
        QVERIFY(std::fabs(y[0].data<double>()[0] - (1000.0 + std::log(2.0))) < 1e-9);
    }

    void reduceOverInterleavedAxes()
    {
        // [2, 2, 2] reducing axes 0 and 2 keeps axis 1: out[j] = sum over i, k of x[i][j][k].
        const Tensor x = f32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
        auto y = runOp("ReduceSum", {{"x", x}, {"axes", i64({2}, {0, 2}), true}});
        expectFloats(y[0], {1, 2, 1}, {1 + 2 + 5 + 6, 3 + 4 + 7 + 8});
    }

    void reduceRejectsDuplicateAxes()
    {
        const Tensor x = f32({2, 2}, {1, 2, 3, 4});
        QVERIFY_THROWS_EXCEPTION(std::exception, runOp("ReduceMax", {{"x", x}}, {{"axes", intsAttr({1, -1})}}));
    }

    // --- ArgMax / ArgMin --------------------------------------------------------------------
    void argMaxTakesFirstOfEqualMaxima()
    {
        auto y = runOp("ArgMax", {{"x", f32({2, 2}, {2, 2, 3, 10})}}, {{"axis", intAttr(1)}});
        expectExact<int64_t>(y[0], DataType::Int64, {2, 1}, {0, 1});
    }

    void argMaxSelectLastIndex()
    {
        auto y = runOp("ArgMax", {{"x", f32({2, 2}, {2, 2, 3, 10})}},
                       {{"axis", intAttr(1)}, {"select_last_index", intAttr(1)}, {"keepdims", intAttr(0)}});
        expectExact<int64_t>(y[0], DataType::Int64, {2}, {1, 1});
    }

    void argMinAlongDefaultAxisZero()
    {
        auto y = runOp("ArgMin", {{"x", f32({3, 2}, {4, 1, 0, 5, 0, -2})}});
        expectExact<int64_t>(y[0], DataType::Int64, {1, 2}, {1, 2});
        auto z = runOp("ArgMin", {{"x", f32({3, 2}, {4, 1, 0, 5, 0, -2})}}, {{"select_last_index", intAttr(1)}});
        expectExact<int64_t>(z[0], DataType::Int64, {1, 2}, {2, 2});
    }

    // --- TopK -------------------------------------------------------------------------------
    void topKLargestBreaksTiesByLowerIndex()
    {
        auto y = runOp("TopK", {{"x", f32({1, 5}, {1, 7, 3, 7, 5})}, {"k", i64({1}, {3}), true}}, {}, 2, 11);
        expectFloats(y[0], {1, 3}, {7, 7, 5});
        expectExact<int64_t>(y[1], DataType::Int64, {1, 3}, {1, 3, 4});
    }

    void topKSmallestAlongAxisZero()
    {
        auto y = runOp("TopK", {{"x", f32({3, 2}, {4, 1, 0, 5, 2, -2})}, {"k", i64({1}, {2}), true}},
                       {{"axis", intAttr(0)}, {"largest", intAttr(0)}}, 2, 11);
        expectFloats(y[0], {2, 2}, {0, -2, 2, 1});
        expectExact<int64_t>(y[1], DataType::Int64, {2, 2}, {1, 2, 2, 0});
    }

    void topKReadsAttributeBeforeOpset10()
    {
        auto y = runOp("TopK", {{"x", f32({4}, {1, 4, 2, 3})}}, {{"k", intAttr(2)}}, 2, 9);
        expectFloats(y[0], {2}, {4, 3});
        expectExact<int64_t>(y[1], DataType::Int64, {2}, {1, 3});
    }

    void topKRejectsKLargerThanAxis()
    {
        QVERIFY_THROWS_EXCEPTION(std::exception,
                                 runOp("TopK", {{"x", f32({3}, {1, 2, 3})}, {"k", i64({1}, {4}), true}}, {}, 2, 11));
    }

    // --- Resize / Upsample ------------------------------------------------------------------
    void resizeNearestUpsamplesByScales()
    {
        // half_pixel + round_prefer_floor, scales [1, 1, 2, 3] (the ONNX example).
        auto y = runOp("Resize", {{"x", f32({1, 1, 2, 2}, {1, 2, 3, 4})}, {"roi", Tensor()},
                                  {"scales", f32({4}, {1, 1, 2, 3}), true}}, {{"mode", stringAttr("nearest")}});
        expectFloats(y[0], {1, 1, 4, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4});
    }

    void resizeNearestModesPickDifferentNeighbours()
    {
        // 1-D [10, 20] to 5 with asymmetric coordinates: x_original = x * 2/5 = 0, .4, .8, 1.2, 1.6.
        const Tensor x = f32({2}, {10, 20});
        auto run = [&](const char* mode) {
            return runOp("Resize", {{"x", x}, {"roi", Tensor()}, {"scales", Tensor()}, {"sizes", i64({1}, {5}), true}},
                         {{"coordinate_transformation_mode", stringAttr("asymmetric")}, {"nearest_mode", stringAttr(mode)}})[0];
        };
        expectFloats(run("floor"), {5}, {10, 10, 10, 20, 20});
        expectFloats(run("ceil"), {5}, {10, 20, 20, 20, 20});
        expectFloats(run("round_prefer_floor"), {5}, {10, 10, 20, 20, 20});
    }

    void resizeLinearHalfPixelUpsample()
    {
        // Per axis x_original = (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> weights clamp at edges.
        auto y = runOp("Resize", {{"x", f32({1, 1, 2, 2}, {1, 2, 3, 4})}, {"roi", Tensor()},
                                  {"scales", f32({4}, {1, 1, 2, 2}), true}}, {{"mode", stringAttr("linear")}});
        expectFloats(y[0], {1, 1, 4, 4},
                     {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4});
    }

    void resizeLinearAlignCorners()
    {
        // x_original = x * (2 - 1) / (4 - 1): 0, 1/3, 2/3, 1.
        auto y = runOp("Resize", {{"x", f32({2}, {0, 3})}, {"roi", Tensor()}, {"scales", f32({1}, {2}), true}},
                       {{"mode", stringAttr("linear")}, {"coordinate_transformation_mode", stringAttr("align_corners")}});
        expectFloats(y[0], {4}, {0, 1, 2, 3});
    }

    void resizeCubicAsymmetricUsesKeysKernel()
    {
        // x = 1 maps to 0.5: taps at -1, 0, 1, 2 (clamped to 0, 0, 1, 2) with A = -0.75 weights
        // -0.09375, 0.59375, 0.59375, -0.09375.
        auto y = runOp("Resize", {{"x", f32({4}, {1, 2, 3, 4})}, {"roi", Tensor()}, {"scales", f32({1}, {2}), true}},
                       {{"mode", stringAttr("cubic")}, {"coordinate_transformation_mode", stringAttr("asymmetric")}});
        QCOMPARE(y[0].numel(), int64_t{8});
        QCOMPARE(y[0].data<float>()[0], 1.0f);
        const float expected = -0.09375f * 1 + 0.59375f * 1 + 0.59375f * 2 - 0.09375f * 3;
        QVERIFY(std::fabs(y[0].data<float>()[1] - expected) < 1e-6f);
        QCOMPARE(y[0].data<float>()[2], 2.0f);
    }

    void resizeCubicExcludeOutsideRenormalises()
    {
        // Same point with exclude_outside: the tap at -1 gets weight 0 and the rest are rescaled.
        auto y = runOp("Resize", {{"x", f32({4}, {1, 2, 3, 4})}, {"roi", Tensor()}, {"scales", f32({1}, {2}), true}},
                       {{"mode", stringAttr("cubic")}, {"coordinate_transformation_mode", stringAttr("asymmetric")},
                        {"exclude_outside", intAttr(1)}});
        const float w = 0.59375f + 0.59375f - 0.09375f;
        const float expected = (0.59375f * 1 + 0.59375f * 2 - 0.09375f * 3) / w;
        QVERIFY(std::fabs(y[0].data<float>()[1] - expected) < 1e-6f);
    }

    void resizeTfCropAndResizeExtrapolates()
    {
        // roi [0.5, 1.5] of [0, 10, 20] to 3 points: x_original = 1, 2, 3; 3 is outside -> 99.
        auto y = runOp("Resize", {{"x", f32({3}, {0, 10, 20})}, {"roi", f32({2}, {0.5f, 1.5f}), true},
                                  {"scales", Tensor()}, {"sizes", i64({1}, {3}), true}},
                       {{"mode", stringAttr("linear")}, {"coordinate_transformation_mode", stringAttr("tf_crop_and_resize")},
                        {"extrapolation_value", floatAttr(99)}});
        expectFloats(y[0], {3}, {10, 20, 99});
    }

    void resizeSizesKeepAspectRatioNotLarger()
    {
        // Opset 18: sizes [4, 4] for a 2x4 input with not_larger -> scale min(2, 1) = 1: no change.
        const Tensor x = f32({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
        auto y = runOp("Resize", {{"x", x}, {"roi", Tensor()}, {"scales", Tensor()}, {"sizes", i64({2}, {4, 4}), true}},
                       {{"keep_aspect_ratio_policy", stringAttr("not_larger")}}, 1, 18);
        expectFloats(y[0], {2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
    }

    void resizeAxesLimitsScalesToListedAxes()
    {
        auto y = runOp("Resize", {{"x", f32({2, 2}, {1, 2, 3, 4})}, {"roi", Tensor()}, {"scales", f32({1}, {2}), true}},
                       {{"axes", intsAttr({1})}}, 1, 18);
        expectFloats(y[0], {2, 4}, {1, 1, 2, 2, 3, 3, 4, 4});
    }

    void resizeAntialiasAveragesWhenDownsampling()
    {
        // [0, 0, 4, 4] halved. Plain linear samples x_original = 0.5, 2.5 -> 0, 4. With antialias
        // the triangle widens to 4 taps with weights 1/8, 3/8, 3/8, 1/8.
        const Tensor x = f32({4}, {0, 0, 4, 4});
        const std::vector<OpInput> in{{"x", x}, {"roi", Tensor()}, {"scales", f32({1}, {0.5f}), true}};
        expectFloats(runOp("Resize", in, {{"mode", stringAttr("linear")}}, 1, 18)[0], {2}, {0, 4});
        expectFloats(runOp("Resize", in, {{"mode", stringAttr("linear")}, {"antialias", intAttr(1)}}, 1, 18)[0], {2}, {0.5f, 3.5f});
    }

    void resizeNearestOnUint8()
    {
        const Tensor x = Tensor::fromVector(DataType::UInt8, {1, 2}, std::vector<uint8_t>{7, 200});
        auto y = runOp("Resize", {{"x", x}, {"roi", Tensor()}, {"scales", f32({2}, {1, 2}), true}});
        expectExact<uint8_t>(y[0], DataType::UInt8, {1, 4}, {7, 7, 200, 200});
    }

    void resizeOpset10IsAsymmetric()
    {
        // Opset 10: x_original = x / 2; linear gives 0, 5, 10, 10 (edge clamped).
        auto y = runOp("Resize", {{"x", f32({2}, {0, 10})}, {"scales", f32({1}, {2}), true}},
                       {{"mode", stringAttr("linear")}}, 1, 10);
        expectFloats(y[0], {4}, {0, 5, 10, 10});
    }

    void upsampleNearestRepeatsPixels()
    {
        auto y = runOp("Upsample", {{"x", f32({1, 1, 2, 2}, {1, 2, 3, 4})}, {"scales", f32({4}, {1, 1, 2, 3}), true}},
                       {{"mode", stringAttr("nearest")}}, 1, 9);
        expectFloats(y[0], {1, 1, 4, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4});
    }

    void upsampleOpset7ReadsScalesAttribute()
    {
        auto y = runOp("Upsample", {{"x", f32({1, 2}, {0, 8})}}, {{"mode", stringAttr("linear")}, {"scales", floatsAttr({1, 2})}}, 1, 7);
        expectFloats(y[0], {1, 4}, {0, 4, 8, 8});
    }
};

QTEST_APPLESS_MAIN(TestReduceKernels)
#include "tst_reduce.moc"
