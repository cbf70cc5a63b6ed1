// Tensor-family kernels: shape, layout, indexing and constant ops, run through a real Session.
#include "kernels/single_op.h"

#include <QtTest>

#include <cstring>
#include <numeric>

using namespace joule;
using namespace joule::test;

namespace {

Tensor int64s(Shape shape, std::vector<int64_t> v) { return Tensor::fromVector<int64_t>(DataType::Int64, std::move(shape), v); }
Tensor int32s(Shape shape, std::vector<int32_t> v) { return Tensor::fromVector<int32_t>(DataType::Int32, std::move(shape), v); }

// 0, 1, 2, ... as float32 of the given shape.
Tensor iota(Shape shape)
{
    Tensor t(DataType::Float32, std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(i);
    return t;
}

template <typename T> std::vector<T> valuesOf(const Tensor& t)
{
    if (t.dtype() != dataTypeOf<T>()) throw std::runtime_error(std::string("unexpected type ") + dataTypeName(t.dtype()));
    return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}


} // namespace

class TestTensorKernels : public QObject {
    Q_OBJECT

private slots:
    // Flatten
    void flattenDefaultAxisKeepsFirstDimension();
    void flattenAxisZeroAndNegativeAxis();
    // Reshape
    void reshapeCopiesZeroAndInfersMinusOne();
    void reshapeAllowZeroKeepsRealZero();
    void reshapeRejectsWrongElementCount();
    // Transpose
    void transposeDefaultReversesAxes();
    void transposeNchwToNhwcAndBack();
    void transposeGeneralPermutationOf4D();
    void transposeLargeMatrixAcrossBlockEdges();
    void transposeBatchedMatricesWithEdges();
    void transposeWorksOnInt64AndBool();
    void transposeRejectsRepeatedAxis();
    // Concat
    void concatNegativeAxisJoinsColumns();
    void concatAxisZeroOfInt8();
    void concatRejectsMismatchedShapes();
    // Split
    void splitEquallyAmongOutputs();
    void splitSizesFromInputAtOpset13();
    void splitSizesFromAttributeBeforeOpset13();
    void splitNumOutputsGivesSmallerLastPart();
    // Slice
    void sliceStepsAndAxesFromInputs();
    void sliceNegativeStepRunsBackwards();
    void sliceClampsOutOfRangeStartsAndEnds();
    void sliceAttributesAtOpset1();
    // Squeeze / Unsqueeze
    void squeezeWithoutAxesDropsAllOnes();
    void squeezeAxesAttributeBeforeOpset13();
    void squeezeRejectsAxisLongerThanOne();
    void unsqueezeUnsortedAndNegativeAxes();
    void unsqueezeAxesAttributeBeforeOpset13();
    // Pad
    void padConstantWithValueInput();
    void padReflectMirrorsWithoutEdge();
    void padEdgeRepeatsBorder();
    void padNegativePadsCrop();
    void padAttributesBeforeOpset11();
    void padAxesInputAtOpset18();
    void padWrapIsPeriodic();
    // Gather
    void gatherAxis1WithNegativeIndex();
    void gatherScalarIndexDropsAxis();
    void gatherRejectsOutOfRangeIndex();
    void gatherElementsPicksAlongAxis();
    void scatterElementsWritesAndAdds();
    void gatherNDPicksSlicesAndHonoursBatchDims();
    void scatterNDReplacesAndMultipliesSlices();
    void compressKeepsSelectedSlices();
    void reverseSequenceReversesEachPrefix();
    void eyeLikeShiftsDiagonalAndCastsType();
    // Shape / Size
    void shapeReturnsDimensionsAndSlices();
    void sizeCountsElements();
    // Constants
    void constantFromTensorAndScalarAttributes();
    void constantOfShapeDefaultsToFloatZero();
    void constantOfShapeUsesValueType();
    // Tile / Range
    void tileRepeatsEachAxis();
    void rangeFloatAndNegativeIntDelta();
    void rangeIsEmptyWhenDeltaPointsAway();
    // DepthToSpace / SpaceToDepth
    void depthToSpaceDcrAndCrd();
    void spaceToDepthInvertsDepthToSpaceDcr();
    // OneHot / Trilu
    void oneHotInsertsAxisAndWrapsNegativeIndices();
    void triluUpperAndLowerWithDiagonalOffset();
};

// ---------------------------------------------------------------- Flatten

void TestTensorKernels::flattenDefaultAxisKeepsFirstDimension()
{
    const auto y = runOp("Flatten", {{"x", iota({2, 3, 4})}}).at(0);
    QCOMPARE(y.shape(), (Shape{2, 12}));
    QCOMPARE(valuesOf<float>(y), valuesOf<float>(iota({24})));
}

void TestTensorKernels::flattenAxisZeroAndNegativeAxis()
{
    QCOMPARE(runOp("Flatten", {{"x", iota({2, 3, 4})}}, {{"axis", intAttr(0)}}).at(0).shape(), (Shape{1, 24}));
    QCOMPARE(runOp("Flatten", {{"x", iota({2, 3, 4})}}, {{"axis", intAttr(-1)}}).at(0).shape(), (Shape{6, 4}));
    QCOMPARE(runOp("Flatten", {{"x", iota({2, 3, 4})}}, {{"axis", intAttr(3)}}).at(0).shape(), (Shape{24, 1}));
}

// ---------------------------------------------------------------- Reshape

void TestTensorKernels::reshapeCopiesZeroAndInfersMinusOne()
{
    const auto y = runOp("Reshape", {{"x", iota({2, 3, 4})}, init("shape", int64s({3}, {0, -1, 2}))}).at(0);
    QCOMPARE(y.shape(), (Shape{2, 6, 2}));
    QCOMPARE(valuesOf<float>(y), valuesOf<float>(iota({24})));
}

void TestTensorKernels::reshapeAllowZeroKeepsRealZero()
{
    const auto y = runOp("Reshape", {{"x", iota({0, 3})}, init("shape", int64s({2}, {3, 0}))},
                         {{"allowzero", intAttr(1)}}).at(0);
    QCOMPARE(y.shape(), (Shape{3, 0}));
    // Without allowzero, 0 copies the input's dimension 1 (3).
    const auto z = runOp("Reshape", {{"x", iota({3, 3})}, init("shape", int64s({2}, {-1, 0}))}).at(0);
    QCOMPARE(z.shape(), (Shape{3, 3}));
}

void TestTensorKernels::reshapeRejectsWrongElementCount()
{
    QVERIFY_THROWS_EXCEPTION(std::exception, runOp("Reshape", {{"x", iota({2, 3})}, init("shape", int64s({1}, {5}))}));
    QVERIFY_THROWS_EXCEPTION(std::exception, runOp("Reshape", {{"x", iota({2, 3})}, init("shape", int64s({2}, {-1, -1}))}));
}

// ---------------------------------------------------------------- Transpose

void TestTensorKernels::transposeDefaultReversesAxes()
{
    const auto y = runOp("Transpose", {{"x", floats({2, 3}, {1, 2, 3, 4, 5, 6})}}).at(0);
    QCOMPARE(y.shape(), (Shape{3, 2}));
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

void TestTensorKernels::transposeNchwToNhwcAndBack()
{
    const int64_t n = 2, c = 3, h = 2, w = 5;
    const Tensor x = iota({n, c, h, w});
    const auto nhwc = runOp("Transpose", {{"x", x}}, {{"perm", intsAttr({0, 2, 3, 1})}}).at(0);
    QCOMPARE(nhwc.shape(), (Shape{n, h, w, c}));
    const float* px = x.data<float>();
    const float* py = nhwc.data<float>();
    for (int64_t in = 0; in < n; ++in)
        for (int64_t ic = 0; ic < c; ++ic)
            for (int64_t ih = 0; ih < h; ++ih)
                for (int64_t iw = 0; iw < w; ++iw)
                    QCOMPARE(py[((in * h + ih) * w + iw) * c + ic], px[((in * c + ic) * h + ih) * w + iw]);
    const auto back = runOp("Transpose", {{"x", nhwc}}, {{"perm", intsAttr({0, 3, 1, 2})}}).at(0);
    QVERIFY(back.sameContents(x));
}

void TestTensorKernels::transposeGeneralPermutationOf4D()
{
    // perm (2, 0, 3, 1): y[k, i, l, j] = x[i, j, k, l] for x of shape [2, 3, 4, 5].
    const Tensor x = iota({2, 3, 4, 5});
    const auto y = runOp("Transpose", {{"x", x}}, {{"perm", intsAttr({2, 0, 3, 1})}}).at(0);
    QCOMPARE(y.shape(), (Shape{4, 2, 5, 3}));
    for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 3; ++j)
            for (int64_t k = 0; k < 4; ++k)
                for (int64_t l = 0; l < 5; ++l)
                    QCOMPARE(y.data<float>()[((k * 2 + i) * 5 + l) * 3 + j], x.data<float>()[((i * 3 + j) * 4 + k) * 5 + l]);
}

void TestTensorKernels::transposeLargeMatrixAcrossBlockEdges()
{
    const int64_t rows = 70, cols = 45;   // not multiples of the 32-element blocks
    const Tensor x = iota({rows, cols});
    const auto y = runOp("Transpose", {{"x", x}}).at(0);
    QCOMPARE(y.shape(), (Shape{cols, rows}));
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) QCOMPARE(y.data<float>()[j * rows + i], static_cast<float>(i * cols + j));
}

void TestTensorKernels::transposeBatchedMatricesWithEdges()
{
    // y[b, j, i] = x[b, i, j]; 17 x 19 leaves partial 8x8 tiles on both edges.
    const int64_t batch = 3, rows = 17, cols = 19;
    const Tensor x = iota({batch, rows, cols});
    const auto y = runOp("Transpose", {{"x", x}}, {{"perm", intsAttr({0, 2, 1})}}).at(0);
    QCOMPARE(y.shape(), (Shape{batch, cols, rows}));
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j)
                QCOMPARE(y.data<float>()[(b * cols + j) * rows + i], x.data<float>()[(b * rows + i) * cols + j]);
    // The same permutation on int16 goes through the portable blocked path.
    Tensor x16(DataType::Int16, {batch, rows, cols});
    for (int64_t k = 0; k < x16.numel(); ++k) x16.data<int16_t>()[k] = static_cast<int16_t>(k);
    const auto y16 = runOp("Transpose", {{"x", x16}}, {{"perm", intsAttr({0, 2, 1})}}).at(0);
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j)
                QCOMPARE(y16.data<int16_t>()[(b * cols + j) * rows + i], static_cast<int16_t>((b * rows + i) * cols + j));
}

void TestTensorKernels::transposeWorksOnInt64AndBool()
{
    const auto y = runOp("Transpose", {{"x", int64s({2, 2}, {1, 2, 3, 1LL << 40})}}).at(0);
    QCOMPARE(valuesOf<int64_t>(y), (std::vector<int64_t>{1, 3, 2, 1LL << 40}));
    const auto b = runOp("Transpose", {{"x", Tensor::fromVector<bool>(DataType::Bool, {2, 3}, {true, false, false, false, true, true})}}).at(0);
    QCOMPARE(valuesOf<bool>(b), (std::vector<bool>{true, false, false, true, false, true}));
}

void TestTensorKernels::transposeRejectsRepeatedAxis()
{
    QVERIFY_THROWS_EXCEPTION(std::exception, runOp("Transpose", {{"x", iota({2, 3})}}, {{"perm", intsAttr({0, 0})}}));
    QVERIFY_THROWS_EXCEPTION(std::exception, runOp("Transpose", {{"x", iota({2, 3})}}, {{"perm", intsAttr({1, 0, 2})}}));
}

// ---------------------------------------------------------------- Concat

void TestTensorKernels::concatNegativeAxisJoinsColumns()
{
    const auto y = runOp("Concat", {{"a", floats({2, 2}, {1, 2, 3, 4})}, {"b", floats({2, 1}, {5, 6})}},
                         {{"axis", intAttr(-1)}}).at(0);
    QCOMPARE(y.shape(), (Shape{2, 3}));
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{1, 2, 5, 3, 4, 6}));
}

void TestTensorKernels::concatAxisZeroOfInt8()
{
    const auto a = Tensor::fromVector<int8_t>(DataType::Int8, {1, 2}, {-1, 2});
    const auto b = Tensor::fromVector<int8_t>(DataType::Int8, {2, 2}, {3, -4, 5, 6});
    const auto empty = Tensor(DataType::Int8, {0, 2});
    const auto y = runOp("Concat", {{"a", a}, {"e", empty}, {"b", b}}, {{"axis", intAttr(0)}}).at(0);
    QCOMPARE(y.shape(), (Shape{3, 2}));
    QCOMPARE(valuesOf<int8_t>(y), (std::vector<int8_t>{-1, 2, 3, -4, 5, 6}));
}

void TestTensorKernels::concatRejectsMismatchedShapes()
{
    QVERIFY_THROWS_EXCEPTION(std::exception, runOp("Concat", {{"a", iota({2, 2})}, {"b", iota({3, 3})}}, {{"axis", intAttr(0)}}));
}

// ---------------------------------------------------------------- Split

void TestTensorKernels::splitEquallyAmongOutputs()
{
    const auto ys = runOp("Split", {{"x", floats({6}, {1, 2, 3, 4, 5, 6})}}, {}, 3);
    QCOMPARE(valuesOf<float>(ys[0]), (std::vector<float>{1, 2}));
    QCOMPARE(valuesOf<float>(ys[1]), (std::vector<float>{3, 4}));
    QCOMPARE(valuesOf<float>(ys[2]), (std::vector<float>{5, 6}));
}

void TestTensorKernels::splitSizesFromInputAtOpset13()
{
    const auto ys = runOp("Split", {{"x", iota({2, 3})}, init("split", int64s({2}, {1, 2}))}, {{"axis", intAttr(1)}}, 2, 13);
    QCOMPARE(ys[0].shape(), (Shape{2, 1}));
    QCOMPARE(valuesOf<float>(ys[0]), (std::vector<float>{0, 3}));
    QCOMPARE(ys[1].shape(), (Shape{2, 2}));
    QCOMPARE(valuesOf<float>(ys[1]), (std::vector<float>{1, 2, 4, 5}));
}

void TestTensorKernels::splitSizesFromAttributeBeforeOpset13()
{
    const auto ys = runOp("Split", {{"x", floats({5}, {1, 2, 3, 4, 5})}}, {{"split", intsAttr({4, 1})}}, 2, 11);
    QCOMPARE(valuesOf<float>(ys[0]), (std::vector<float>{1, 2, 3, 4}));
    QCOMPARE(valuesOf<float>(ys[1]), (std::vector<float>{5}));
}

void TestTensorKernels::splitNumOutputsGivesSmallerLastPart()
{
    const auto ys = runOp("Split", {{"x", floats({5}, {1, 2, 3, 4, 5})}}, {{"num_outputs", intAttr(2)}}, 2, 18);
    QCOMPARE(valuesOf<float>(ys[0]), (std::vector<float>{1, 2, 3}));
    QCOMPARE(valuesOf<float>(ys[1]), (std::vector<float>{4, 5}));
}

// ---------------------------------------------------------------- Slice

void TestTensorKernels::sliceStepsAndAxesFromInputs()
{
    // x = [[0..4],[5..9],[10..14]]; rows 0..2, columns 1, 3 (step 2).
    const auto y = runOp("Slice", {{"x", iota({3, 5})}, init("starts", int64s({2}, {1, 0})), init("ends", int64s({2}, {5, 2})),
                                   init("axes", int64s({2}, {-1, 0})), init("steps", int64s({2}, {2, 1}))}).at(0);
    QCOMPARE(y.shape(), (Shape{2, 2}));
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{1, 3, 6, 8}));
}

void TestTensorKernels::sliceNegativeStepRunsBackwards()
{
    const auto y = runOp("Slice", {{"x", iota({10})}, init("starts", int64s({1}, {-1})), init("ends", int64s({1}, {-100})),
                                   init("axes", int64s({1}, {0})), init("steps", int64s({1}, {-3}))}).at(0);
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{9, 6, 3, 0}));
}

void TestTensorKernels::sliceClampsOutOfRangeStartsAndEnds()
{
    const auto y = runOp("Slice", {{"x", iota({4})}, init("starts", int64s({1}, {2})), init("ends", int64s({1}, {1000}))}).at(0);
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{2, 3}));
    const auto empty = runOp("Slice", {{"x", iota({4})}, init("starts", int64s({1}, {1000})), init("ends", int64s({1}, {2000}))}).at(0);
    QCOMPARE(empty.shape(), (Shape{0}));
    // Negative step: start clamps to dim-1, end to -1 (i.e. through index 0).
    const auto rev = runOp("Slice", {{"x", iota({4})}, init("starts", int64s({1}, {50})), init("ends", int64s({1}, {-50})),
                                     init("axes", int64s({1}, {0})), init("steps", int64s({1}, {-1}))}).at(0);
    QCOMPARE(valuesOf<float>(rev), (std::vector<float>{3, 2, 1, 0}));
}

void TestTensorKernels::sliceAttributesAtOpset1()
{
    const auto y = runOp("Slice", {{"x", iota({3, 4})}},
                         {{"starts", intsAttr({1, 1})}, {"ends", intsAttr({3, -1})}, {"axes", intsAttr({0, 1})}}, 1, 1).at(0);
    QCOMPARE(y.shape(), (Shape{2, 2}));
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{5, 6, 9, 10}));
}

// ---------------------------------------------------------------- Squeeze / Unsqueeze

void TestTensorKernels::squeezeWithoutAxesDropsAllOnes()
{
    const auto y = runOp("Squeeze", {{"x", iota({1, 3, 1, 2})}}).at(0);
    QCOMPARE(y.shape(), (Shape{3, 2}));
    QCOMPARE(valuesOf<float>(y), valuesOf<float>(iota({6})));
    const auto z = runOp("Squeeze", {{"x", iota({1, 3, 1, 2})}, init("axes", int64s({1}, {-2}))}).at(0);
    QCOMPARE(z.shape(), (Shape{1, 3, 2}));
}

void TestTensorKernels::squeezeAxesAttributeBeforeOpset13()
{
    const auto y = runOp("Squeeze", {{"x", iota({1, 3, 1})}}, {{"axes", intsAttr({0})}}, 1, 11).at(0);
    QCOMPARE(y.shape(), (Shape{3, 1}));
}

void TestTensorKernels::squeezeRejectsAxisLongerThanOne()
{
    QVERIFY_THROWS_EXCEPTION(std::exception, runOp("Squeeze", {{"x", iota({1, 3})}, init("axes", int64s({1}, {1}))}));
}

void TestTensorKernels::unsqueezeUnsortedAndNegativeAxes()
{
    const auto y = runOp("Unsqueeze", {{"x", iota({3, 2})}, init("axes", int64s({2}, {-1, 0}))}).at(0);
    QCOMPARE(y.shape(), (Shape{1, 3, 2, 1}));
    QCOMPARE(valuesOf<float>(y), valuesOf<float>(iota({6})));
    QVERIFY_THROWS_EXCEPTION(std::exception, runOp("Unsqueeze", {{"x", iota({3})}, init("axes", int64s({2}, {0, -3}))}));   // both mean axis 0
}

void TestTensorKernels::unsqueezeAxesAttributeBeforeOpset13()
{
    const auto y = runOp("Unsqueeze", {{"x", iota({3})}}, {{"axes", intsAttr({1})}}, 1, 11).at(0);
    QCOMPARE(y.shape(), (Shape{3, 1}));
}

// ---------------------------------------------------------------- Pad

void TestTensorKernels::padConstantWithValueInput()
{
    // [[1,2],[3,4]] padded by one row on top and one column on the right with 9.
    const auto y = runOp("Pad", {{"x", floats({2, 2}, {1, 2, 3, 4})}, init("pads", int64s({4}, {1, 0, 0, 1})),
                                 init("value", floats({}, {9}))}).at(0);
    QCOMPARE(y.shape(), (Shape{3, 3}));
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{9, 9, 9, 1, 2, 9, 3, 4, 9}));
    const auto zeros = runOp("Pad", {{"x", floats({1}, {5})}, init("pads", int64s({2}, {1, 1}))}).at(0);
    QCOMPARE(valuesOf<float>(zeros), (std::vector<float>{0, 5, 0}));
}

void TestTensorKernels::padReflectMirrorsWithoutEdge()
{
    const auto y = runOp("Pad", {{"x", int32s({3}, {1, 2, 3})}, init("pads", int64s({2}, {2, 3}))},
                         {{"mode", stringAttr("reflect")}}).at(0);
    QCOMPARE(valuesOf<int32_t>(y), (std::vector<int32_t>{3, 2, 1, 2, 3, 2, 1, 2}));
}

void TestTensorKernels::padEdgeRepeatsBorder()
{
    const auto y = runOp("Pad", {{"x", floats({2, 2}, {1, 2, 3, 4})}, init("pads", int64s({4}, {0, 1, 1, 0}))},
                         {{"mode", stringAttr("edge")}}).at(0);
    QCOMPARE(y.shape(), (Shape{3, 3}));
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{1, 1, 2, 3, 3, 4, 3, 3, 4}));
}

void TestTensorKernels::padNegativePadsCrop()
{
    const auto y = runOp("Pad", {{"x", iota({2, 4})}, init("pads", int64s({4}, {0, -1, 0, 1}))}).at(0);
    QCOMPARE(y.shape(), (Shape{2, 4}));
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{1, 2, 3, 0, 5, 6, 7, 0}));
}

void TestTensorKernels::padAttributesBeforeOpset11()
{
    const auto y = runOp("Pad", {{"x", floats({2}, {1, 2})}}, {{"pads", intsAttr({1, 2})}, {"value", floatAttr(-1.5f)}}, 1, 10).at(0);
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{-1.5f, 1, 2, -1.5f, -1.5f}));
}

void TestTensorKernels::padAxesInputAtOpset18()
{
    // Pads only axis -1: one in front, none behind.
    const auto y = runOp("Pad", {{"x", floats({2, 2}, {1, 2, 3, 4})}, init("pads", int64s({2}, {1, 0})), {"value", Tensor()},
                                 init("axes", int64s({1}, {-1}))}, {}, 1, 18).at(0);
    QCOMPARE(y.shape(), (Shape{2, 3}));
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{0, 1, 2, 0, 3, 4}));
}

void TestTensorKernels::padWrapIsPeriodic()
{
    const auto y = runOp("Pad", {{"x", floats({3}, {1, 2, 3})}, init("pads", int64s({2}, {2, 4}))},
                         {{"mode", stringAttr("wrap")}}, 1, 19).at(0);
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{2, 3, 1, 2, 3, 1, 2, 3, 1}));
}

// ---------------------------------------------------------------- Gather family

void TestTensorKernels::gatherAxis1WithNegativeIndex()
{
    // x = [[0,1,2],[3,4,5]]; columns 2 and -3 (= 0).
    const auto y = runOp("Gather", {{"x", iota({2, 3})}, {"i", int64s({2}, {2, -3})}}, {{"axis", intAttr(1)}}).at(0);
    QCOMPARE(y.shape(), (Shape{2, 2}));
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{2, 0, 5, 3}));
}

void TestTensorKernels::gatherScalarIndexDropsAxis()
{
    const auto y = runOp("Gather", {{"x", iota({3, 2})}, {"i", int32s({}, {1})}}).at(0);
    QCOMPARE(y.shape(), (Shape{2}));
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{2, 3}));
}

void TestTensorKernels::gatherRejectsOutOfRangeIndex()
{
    QVERIFY_THROWS_EXCEPTION(std::exception, runOp("Gather", {{"x", iota({3})}, {"i", int64s({1}, {3})}}));
}

void TestTensorKernels::gatherElementsPicksAlongAxis()
{
    // out[i][j] = x[i][idx[i][j]] for axis 1.
    const auto y = runOp("GatherElements", {{"x", floats({2, 2}, {1, 2, 3, 4})}, {"i", int64s({2, 2}, {0, 0, -1, 0})}},
                         {{"axis", intAttr(1)}}).at(0);
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{1, 1, 4, 3}));
}

void TestTensorKernels::scatterElementsWritesAndAdds()
{
    const auto data = floats({1, 5}, {1, 2, 3, 4, 5});
    const auto updates = floats({1, 2}, {10, 20});
    const auto set = runOp("ScatterElements", {{"d", data}, {"i", int64s({1, 2}, {1, -2})}, {"u", updates}},
                           {{"axis", intAttr(1)}}).at(0);
    QCOMPARE(valuesOf<float>(set), (std::vector<float>{1, 10, 3, 20, 5}));
    const auto add = runOp("ScatterElements", {{"d", data}, {"i", int64s({1, 2}, {1, 1})}, {"u", updates}},
                           {{"axis", intAttr(1)}, {"reduction", stringAttr("add")}}, 1, 16).at(0);
    QCOMPARE(valuesOf<float>(add), (std::vector<float>{1, 32, 3, 4, 5}));
}

void TestTensorKernels::gatherNDPicksSlicesAndHonoursBatchDims()
{
    // data [[0,1],[2,3]]: index [1] selects row 1, index [0,1] selects element 1; [-1, 0] wraps.
    const auto rows = runOp("GatherND", {{"d", iota({2, 2})}, {"i", int64s({2, 1}, {1, 0})}}).at(0);
    QCOMPARE(rows.shape(), (Shape{2, 2}));
    QCOMPARE(valuesOf<float>(rows), (std::vector<float>{2, 3, 0, 1}));
    const auto elems = runOp("GatherND", {{"d", iota({2, 2})}, {"i", int64s({2, 2}, {0, 1, -1, 0})}}).at(0);
    QCOMPARE(valuesOf<float>(elems), (std::vector<float>{1, 2}));
    // batch_dims 1: batch b picks row i[b] of data[b].
    const auto batched = runOp("GatherND", {{"d", iota({2, 2, 2})}, {"i", int64s({2, 1}, {1, 0})}}, {{"batch_dims", intAttr(1)}}).at(0);
    QCOMPARE(batched.shape(), (Shape{2, 2}));
    QCOMPARE(valuesOf<float>(batched), (std::vector<float>{2, 3, 4, 5}));
}

void TestTensorKernels::scatterNDReplacesAndMultipliesSlices()
{
    const auto data = floats({3, 2}, {1, 2, 3, 4, 5, 6});
    const auto set = runOp("ScatterND", {{"d", data}, {"i", int64s({1, 1}, {-1})}, {"u", floats({1, 2}, {9, 8})}}).at(0);
    QCOMPARE(valuesOf<float>(set), (std::vector<float>{1, 2, 3, 4, 9, 8}));
    const auto mul = runOp("ScatterND", {{"d", data}, {"i", int64s({2, 2}, {0, 1, 0, 1})}, {"u", floats({2}, {10, 3})}},
                           {{"reduction", stringAttr("mul")}}, 1, 16).at(0);
    QCOMPARE(valuesOf<float>(mul), (std::vector<float>{1, 60, 3, 4, 5, 6}));
}

void TestTensorKernels::compressKeepsSelectedSlices()
{
    const auto cond = Tensor::fromVector<bool>(DataType::Bool, {2}, {false, true});
    const auto y = runOp("Compress", {{"x", iota({3, 2})}, {"c", cond}}, {{"axis", intAttr(1)}}).at(0);
    QCOMPARE(y.shape(), (Shape{3, 1}));
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{1, 3, 5}));
    const auto flat = runOp("Compress", {{"x", iota({3, 2})}, {"c", Tensor::fromVector<bool>(DataType::Bool, {4}, {true, false, false, true})}}).at(0);
    QCOMPARE(valuesOf<float>(flat), (std::vector<float>{0, 3}));
}

void TestTensorKernels::reverseSequenceReversesEachPrefix()
{
    // time-major [4 steps, 2 batch]: batch 0 reverses 3 steps, batch 1 reverses 4.
    const auto y = runOp("ReverseSequence", {{"x", iota({4, 2})}, {"l", int64s({2}, {3, 4})}}).at(0);
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{4, 7, 2, 5, 0, 3, 6, 1}));
    // batch-major [2 batch, 3 steps].
    const auto z = runOp("ReverseSequence", {{"x", iota({2, 3})}, {"l", int64s({2}, {2, 1})}},
                         {{"batch_axis", intAttr(0)}, {"time_axis", intAttr(1)}}).at(0);
    QCOMPARE(valuesOf<float>(z), (std::vector<float>{1, 0, 2, 3, 4, 5}));
}

void TestTensorKernels::eyeLikeShiftsDiagonalAndCastsType()
{
    const auto y = runOp("EyeLike", {{"x", iota({3, 4})}}, {{"k", intAttr(1)}}).at(0);
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}));
    const auto z = runOp("EyeLike", {{"x", iota({3, 2})}}, {{"k", intAttr(-1)}, {"dtype", intAttr(7)}}).at(0);
    QCOMPARE(valuesOf<int64_t>(z), (std::vector<int64_t>{0, 0, 1, 0, 0, 1}));
}

// ---------------------------------------------------------------- Shape / Size

void TestTensorKernels::shapeReturnsDimensionsAndSlices()
{
    QCOMPARE(valuesOf<int64_t>(runOp("Shape", {{"x", iota({3, 4, 5})}}).at(0)), (std::vector<int64_t>{3, 4, 5}));
    QCOMPARE(valuesOf<int64_t>(runOp("Shape", {{"x", iota({3, 4, 5})}}, {{"start", intAttr(1)}, {"end", intAttr(-1)}}, 1, 15).at(0)),
             (std::vector<int64_t>{4}));
    QCOMPARE(valuesOf<int64_t>(runOp("Shape", {{"x", iota({3, 4, 5})}}, {{"start", intAttr(-10)}, {"end", intAttr(10)}}, 1, 15).at(0)),
             (std::vector<int64_t>{3, 4, 5}));
}

void TestTensorKernels::sizeCountsElements()
{
    const auto y = runOp("Size", {{"x", iota({3, 4, 5})}}).at(0);
    QCOMPARE(y.shape(), (Shape{}));
    QCOMPARE(valuesOf<int64_t>(y), (std::vector<int64_t>{60}));
}

// ---------------------------------------------------------------- Constants

void TestTensorKernels::constantFromTensorAndScalarAttributes()
{
    const auto t = runOp("Constant", {}, {{"value", tensorAttr(int32s({2}, {7, -8}))}}).at(0);
    QCOMPARE(valuesOf<int32_t>(t), (std::vector<int32_t>{7, -8}));
    const auto f = runOp("Constant", {}, {{"value_float", floatAttr(2.5f)}}).at(0);
    QCOMPARE(f.shape(), (Shape{}));
    QCOMPARE(valuesOf<float>(f), (std::vector<float>{2.5f}));
    const auto is = runOp("Constant", {}, {{"value_ints", intsAttr({1, 2, 3})}}).at(0);
    QCOMPARE(valuesOf<int64_t>(is), (std::vector<int64_t>{1, 2, 3}));
}

void TestTensorKernels::constantOfShapeDefaultsToFloatZero()
{
    const auto y = runOp("ConstantOfShape", {{"s", int64s({2}, {2, 3})}}).at(0);
    QCOMPARE(y.shape(), (Shape{2, 3}));
    QCOMPARE(valuesOf<float>(y), (std::vector<float>(6, 0.0f)));
}

void TestTensorKernels::constantOfShapeUsesValueType()
{
    const auto y = runOp("ConstantOfShape", {{"s", int64s({1}, {4})}}, {{"value", tensorAttr(int32s({1}, {-7}))}}).at(0);
    QCOMPARE(valuesOf<int32_t>(y), (std::vector<int32_t>(4, -7)));
}

// ---------------------------------------------------------------- Tile / Range

void TestTensorKernels::tileRepeatsEachAxis()
{
    const auto y = runOp("Tile", {{"x", floats({2, 2}, {1, 2, 3, 4})}, init("r", int64s({2}, {2, 3}))}).at(0);
    QCOMPARE(y.shape(), (Shape{4, 6}));
    QCOMPARE(valuesOf<float>(y), (std::vector<float>{1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4,
                                                     1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4}));
}

void TestTensorKernels::rangeFloatAndNegativeIntDelta()
{
    const auto f = runOp("Range", {{"s", floats({}, {1})}, {"l", floats({}, {2})}, {"d", floats({}, {0.25f})}}).at(0);
    QCOMPARE(valuesOf<float>(f), (std::vector<float>{1, 1.25f, 1.5f, 1.75f}));
    const auto i = runOp("Range", {{"s", int32s({}, {10})}, {"l", int32s({}, {6})}, {"d", int32s({}, {-3})}}).at(0);
    QCOMPARE(valuesOf<int32_t>(i), (std::vector<int32_t>{10, 7}));
}

void TestTensorKernels::rangeIsEmptyWhenDeltaPointsAway()
{
    const auto y = runOp("Range", {{"s", int64s({}, {0})}, {"l", int64s({}, {5})}, {"d", int64s({}, {-1})}}).at(0);
    QCOMPARE(y.shape(), (Shape{0}));
}

// ---------------------------------------------------------------- DepthToSpace / SpaceToDepth

void TestTensorKernels::depthToSpaceDcrAndCrd()
{
    // 4 channels of one pixel, blocksize 2 -> one channel of 2x2.
    const auto x = floats({1, 4, 1, 1}, {10, 20, 30, 40});
    const auto dcr = runOp("DepthToSpace", {{"x", x}}, {{"blocksize", intAttr(2)}}).at(0);
    QCOMPARE(dcr.shape(), (Shape{1, 1, 2, 2}));
    QCOMPARE(valuesOf<float>(dcr), (std::vector<float>{10, 20, 30, 40}));
    // 8 channels, 2 output channels: DCR reads channel (bh*2 + bw)*2 + c, CRD reads c*4 + bh*2 + bw.
    const auto x8 = iota({1, 8, 1, 1});
    const auto d = runOp("DepthToSpace", {{"x", x8}}, {{"blocksize", intAttr(2)}, {"mode", stringAttr("DCR")}}).at(0);
    QCOMPARE(valuesOf<float>(d), (std::vector<float>{0, 2, 4, 6, 1, 3, 5, 7}));
    const auto c = runOp("DepthToSpace", {{"x", x8}}, {{"blocksize", intAttr(2)}, {"mode", stringAttr("CRD")}}).at(0);
    QCOMPARE(valuesOf<float>(c), (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7}));
}

void TestTensorKernels::spaceToDepthInvertsDepthToSpaceDcr()
{
    const auto x = iota({2, 3, 4, 6});
    const auto s = runOp("SpaceToDepth", {{"x", x}}, {{"blocksize", intAttr(2)}}).at(0);
    QCOMPARE(s.shape(), (Shape{2, 12, 2, 3}));
    // Channel (bh*2 + bw)*3 + c at (h, w) holds x[c, 2h + bh, 2w + bw]: channel 4 = (bh 0, bw 1, c 1).
    QCOMPARE(s.data<float>()[((0 * 12 + 4) * 2 + 1) * 3 + 2], x.data<float>()[((0 * 3 + 1) * 4 + 2) * 6 + 5]);
    const auto back = runOp("DepthToSpace", {{"x", s}}, {{"blocksize", intAttr(2)}}).at(0);
    QVERIFY(back.sameContents(x));
}

// ---------------------------------------------------------------- OneHot / Trilu

void TestTensorKernels::oneHotInsertsAxisAndWrapsNegativeIndices()
{
    const auto y = runOp("OneHot", {{"i", int64s({3}, {0, -1, 5})}, {"depth", floats({}, {3})}, {"v", int32s({2}, {2, 7})}},
                         {{"axis", intAttr(0)}}, 1, 11).at(0);
    QCOMPARE(y.shape(), (Shape{3, 3}));
    // Column k is the one-hot of index k; index 5 is out of range (all off).
    QCOMPARE(valuesOf<int32_t>(y), (std::vector<int32_t>{7, 2, 2, 2, 2, 2, 2, 7, 2}));
}

void TestTensorKernels::triluUpperAndLowerWithDiagonalOffset()
{
    const auto x = int64s({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    QCOMPARE(valuesOf<int64_t>(runOp("Trilu", {{"x", x}}, {}, 1, 14).at(0)), (std::vector<int64_t>{1, 2, 3, 0, 5, 6, 0, 0, 9}));
    QCOMPARE(valuesOf<int64_t>(runOp("Trilu", {{"x", x}, {"k", int64s({}, {1})}}, {}, 1, 14).at(0)),
             (std::vector<int64_t>{0, 2, 3, 0, 0, 6, 0, 0, 0}));
    QCOMPARE(valuesOf<int64_t>(runOp("Trilu", {{"x", x}, {"k", int64s({}, {-1})}}, {{"upper", intAttr(0)}}, 1, 14).at(0)),
             (std::vector<int64_t>{0, 0, 0, 4, 0, 0, 7, 8, 0}));
}

QTEST_APPLESS_MAIN(TestTensorKernels)
#include "tst_tensor.moc"
