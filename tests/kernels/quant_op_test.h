#pragma once
// Helpers of the integer-kernel tests (tst_qlinear_ops, tst_qlinear_more), on top of single_op.h:
// run one node, build quantized tensors, and compare output codes with a long-double evaluation of a
// spec formula.
//
//   Tensor y = runNode("QLinearAdd", "com.microsoft", {{"a", q<uint8_t>({4}, codes)}, {"a_scale", f32({}, {0.1f})}, ...});
//   expectCodes<uint8_t>(y, expected);      // QFAIL naming the first element that differs

#include "kernels/single_op.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

namespace joule::quanttest {

using joule::test::floatAttr;
using joule::test::intAttr;
using joule::test::intsAttr;
using joule::test::stringAttr;
using In = joule::test::OpInput;   // {name, value, asInitializer}

// The one output of `op` (single_op.h's runOpIn).
inline Tensor runNode(const std::string& op, const std::string& domain, const std::vector<In>& inputs,
                      const std::map<std::string, Attribute>& attributes = {}, int threads = 1)
{
    return joule::test::runOpIn(domain, op, inputs, attributes, 1, 17, threads).front();
}

inline Tensor f32(Shape s, std::vector<float> v) { return Tensor::fromVector(DataType::Float32, std::move(s), v); }
inline Tensor i32(Shape s, std::vector<int32_t> v) { return Tensor::fromVector(DataType::Int32, std::move(s), v); }
template <typename T> Tensor q(Shape s, std::vector<T> v) { return Tensor::fromVector(dataTypeOf<T>(), std::move(s), v); }
template <typename T> Tensor scalarQ(int v) { return q<T>({}, {static_cast<T>(v)}); }

// Seeded linear congruential codes, the same on every platform.
struct Lcg {
    uint32_t s;
    explicit Lcg(uint32_t seed) : s(seed) {}
    uint32_t next() { s = s * 1664525u + 1013904223u; return s >> 8; }
    template <typename T> std::vector<T> codes(int64_t n)
    {
        std::vector<T> v(static_cast<size_t>(n));
        for (auto& x : v) x = static_cast<T>(static_cast<int>(next() % 256) + (std::is_signed_v<T> ? -128 : 0));
        return v;
    }
};

// The code of `real` (already divided by the output scale): round half to even, add the zero point,
// saturate to T, then clamp to [lo, hi] (a fused activation).
template <typename T> int expectedCode(long double real, int zp, int lo = std::numeric_limits<T>::min(), int hi = std::numeric_limits<T>::max())
{
    const long double v = std::nearbyintl(real) + zp;
    const long double s = std::clamp<long double>(v, std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    return static_cast<int>(std::clamp<long double>(s, lo, hi));
}

template <typename T> void expectCodes(const Tensor& y, const std::vector<int>& expected)
{
    QCOMPARE(y.dtype(), dataTypeOf<T>());
    QCOMPARE(y.numel(), static_cast<int64_t>(expected.size()));
    int distinct = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
        const int got = y.data<T>()[i];
        if (got != expected[i]) QFAIL(qPrintable(QString("y[%1] = %2, expected %3").arg(i).arg(got).arg(expected[i])));
        distinct += i > 0 && expected[i] != expected[i - 1];
    }
    QVERIFY(expected.size() < 4 || distinct > 2);   // not a degenerate (all saturated) case
}

} // namespace joule::quanttest
