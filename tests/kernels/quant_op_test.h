#pragma once
// Helpers of the integer-kernel tests (tst_qlinear_ops, tst_qlinear_more): run one node in a Session,
// build quantized tensors, and compare output codes with a long-double evaluation of a spec formula.
//
//   Tensor y = runNode("QLinearAdd", "com.microsoft", {{"a", q<uint8_t>({4}, codes)}, {"a_scale", f32({}, {0.1f})}, ...});
//   expectCodes<uint8_t>(y, expected);      // QFAIL naming the first element that differs

#include "runtime/session.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

namespace joule::quanttest {

struct In {
    std::string name;
    Tensor value;               // empty: an omitted optional input
    bool initializer = false;   // a constant of the graph rather than a fed input
};

inline Attribute intAttr(int64_t v) { Attribute a; a.kind = Attribute::Kind::Int; a.i = v; return a; }
inline Attribute floatAttr(float v) { Attribute a; a.kind = Attribute::Kind::Float; a.f = v; return a; }
inline Attribute intsAttr(std::vector<int64_t> v) { Attribute a; a.kind = Attribute::Kind::Ints; a.ints = std::move(v); return a; }
inline Attribute stringAttr(std::string v) { Attribute a; a.kind = Attribute::Kind::String; a.s = std::move(v); return a; }

// A graph of the one node `op` (output "y"); fed inputs are added to `feeds`.
inline Graph oneNodeGraph(const std::string& op, const std::string& domain, const std::vector<In>& inputs,
                          const std::map<std::string, Attribute>& attributes, std::map<std::string, Tensor>* feeds)
{
    Graph g;
    g.opsetImports[""] = 17;
    if (!domain.empty()) g.opsetImports[domain] = 1;
    Node n;
    n.name = "node_under_test";
    n.opType = op;
    n.domain = domain;
    n.attributes = attributes;
    for (const auto& in : inputs) {
        if (in.value.empty()) { n.inputs.push_back(""); continue; }
        n.inputs.push_back(in.name);
        if (in.initializer) g.setInitializer(in.name, in.value);
        else if (!g.isGraphInput(in.name)) {
            g.addInput({in.name, in.value.dtype(), in.value.shape()});
            (*feeds)[in.name] = in.value;
        }
    }
    n.outputs = {"y"};
    g.addOutput({"y", DataType::Undefined, {}, {}, false});
    g.addNode(n);
    return g;
}

inline Tensor runNode(const std::string& op, const std::string& domain, const std::vector<In>& inputs,
                      const std::map<std::string, Attribute>& attributes = {}, int threads = 1)
{
    std::map<std::string, Tensor> feeds;
    rt::Session s(oneNodeGraph(op, domain, inputs, attributes, &feeds), {.threads = threads});
    return s.run(feeds).at("y");
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
