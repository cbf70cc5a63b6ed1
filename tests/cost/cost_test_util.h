#pragma once
// Helpers shared by the cost-model tests: repository paths, small graphs, layer lookup.

#include "cost/layer_stats.h"
#include "ir/graph.h"

#include <QDir>
#include <QString>
#include <QtTest>

#include <random>
#include <string>

inline QString sourceDir() { return qEnvironmentVariable("JOULE_SOURCE_DIR"); }
inline QString targetsDir() { return sourceDir() + "/resources/targets"; }
inline QString modelsDir() { return sourceDir() + "/resources/models"; }
inline std::string modelPath(const QString& file) { return (modelsDir() + "/" + file).toStdString(); }

// A float32 initializer with seeded values (their values do not matter to the cost model).
inline joule::Tensor randomWeights(joule::Shape shape, unsigned seed = 1)
{
    joule::Tensor t(joule::DataType::Float32, std::move(shape));
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.1f);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = normal(rng);
    return t;
}

inline joule::Tensor int64Vector(const std::vector<int64_t>& v)
{
    return joule::Tensor::fromVector<int64_t>(joule::DataType::Int64, {static_cast<int64_t>(v.size())}, v);
}

inline joule::Attribute intsAttr(std::vector<int64_t> v)
{
    joule::Attribute a;
    a.kind = joule::Attribute::Kind::Ints;
    a.ints = std::move(v);
    return a;
}

inline joule::Attribute intAttr(int64_t v)
{
    joule::Attribute a;
    a.kind = joule::Attribute::Kind::Int;
    a.i = v;
    return a;
}

// Index of the layer named `name`; fails the test when absent.
inline const joule::cost::LayerStats* findLayer(const joule::cost::ModelStats& s, const std::string& name)
{
    for (const auto& l : s.layers)
        if (l.name == name) return &l;
    return nullptr;
}
