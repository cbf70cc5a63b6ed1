#pragma once
// Small fp32 graphs built in code that cover the ops the quantizer and the integer lowering handle,
// and random inputs for them: shared by the lowering tests (tst_qdq_lower) and the C export's
// kernel test (tst_export_kernels).

#include "ir/graph.h"

#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace joule::test_graphs {

inline Attribute ints(std::vector<int64_t> v) { Attribute a; a.kind = Attribute::Kind::Ints; a.ints = std::move(v); return a; }
inline Attribute one(int64_t v) { Attribute a; a.kind = Attribute::Kind::Int; a.i = v; return a; }

inline Tensor randomTensor(Shape shape, std::mt19937& rng, float spread)
{
    Tensor t(DataType::Float32, std::move(shape));
    std::normal_distribution<float> d(0.0f, spread);
    for (float& v : std::span<float>(t.data<float>(), static_cast<size_t>(t.numel()))) v = d(rng);
    return t;
}

// fp32 graph: conv+relu, depthwise conv+clip(0,6), residual add+relu, maxpool, global average
// pool, flatten, gemm (logits stay fp32).
inline Graph handBuiltGraph()
{
    std::mt19937 rng(7);
    Graph g;
    g.opsetImports[""] = 13;
    g.addInput({"x", DataType::Float32, {1, 3, 12, 12}});
    g.setInitializer("w1", randomTensor({8, 3, 3, 3}, rng, 0.3f));
    g.setInitializer("b1", randomTensor({8}, rng, 0.1f));
    g.setInitializer("wdw", randomTensor({8, 1, 3, 3}, rng, 0.4f));
    g.setInitializer("bdw", randomTensor({8}, rng, 0.1f));
    g.setInitializer("lo", Tensor::fromVector(DataType::Float32, {}, std::vector<float>{0.0f}));
    g.setInitializer("hi", Tensor::fromVector(DataType::Float32, {}, std::vector<float>{6.0f}));
    g.setInitializer("wfc", randomTensor({5, 8}, rng, 0.5f));
    g.setInitializer("bfc", randomTensor({5}, rng, 0.1f));
    const std::map<std::string, Attribute> conv3 = {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}};
    g.addNode({.name = "conv1", .opType = "Conv", .inputs = {"x", "w1", "b1"}, .outputs = {"c1"}, .attributes = conv3});
    g.addNode({.name = "relu1", .opType = "Relu", .inputs = {"c1"}, .outputs = {"r1"}});
    auto dw = conv3;
    dw["group"] = one(8);
    g.addNode({.name = "dw", .opType = "Conv", .inputs = {"r1", "wdw", "bdw"}, .outputs = {"c2"}, .attributes = dw});
    g.addNode({.name = "clip", .opType = "Clip", .inputs = {"c2", "lo", "hi"}, .outputs = {"r2"}});
    g.addNode({.name = "add", .opType = "Add", .inputs = {"r1", "r2"}, .outputs = {"s"}});
    g.addNode({.name = "relu2", .opType = "Relu", .inputs = {"s"}, .outputs = {"r3"}});
    g.addNode({.name = "pool", .opType = "MaxPool", .inputs = {"r3"}, .outputs = {"p"},
               .attributes = {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}}});
    g.addNode({.name = "gap", .opType = "GlobalAveragePool", .inputs = {"p"}, .outputs = {"m"}});
    g.addNode({.name = "flat", .opType = "Flatten", .inputs = {"m"}, .outputs = {"f"}});
    g.addNode({.name = "fc", .opType = "Gemm", .inputs = {"f", "wfc", "bfc"}, .outputs = {"logits"},
               .attributes = {{"transB", one(1)}}});
    g.addOutput({"logits", DataType::Float32, {1, 5}});
    g.validate();
    return g;
}

// fp32 graph for the ops lowered without MACs: conv -> standalone LeakyRelu -> conv whose output
// feeds both a standalone Relu and a Concat (so the quantizer cannot fuse the Relu), Concat of the
// three and of MaxPool -> Relu (fused by the quantizer with the pool's parameters), AveragePool 3x3 / 2, Concat of the pool with itself (same parameters: plain Concat on
// codes), global average pool, flatten, gemm.
inline Graph concatPoolActivationGraph()
{
    std::mt19937 rng(11);
    Graph g;
    g.opsetImports[""] = 13;
    g.addInput({"x", DataType::Float32, {1, 3, 12, 12}});
    g.setInitializer("w1", randomTensor({8, 3, 3, 3}, rng, 0.3f));
    g.setInitializer("b1", randomTensor({8}, rng, 0.1f));
    g.setInitializer("w2", randomTensor({8, 8, 3, 3}, rng, 0.2f));
    g.setInitializer("b2", randomTensor({8}, rng, 0.1f));
    g.setInitializer("wfc", randomTensor({5, 64}, rng, 0.5f));
    g.setInitializer("bfc", randomTensor({5}, rng, 0.1f));
    const std::map<std::string, Attribute> conv3 = {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}};
    Attribute alpha;
    alpha.kind = Attribute::Kind::Float;
    alpha.f = 0.1f;
    g.addNode({.name = "conv1", .opType = "Conv", .inputs = {"x", "w1", "b1"}, .outputs = {"c1"}, .attributes = conv3});
    g.addNode({.name = "leaky", .opType = "LeakyRelu", .inputs = {"c1"}, .outputs = {"l1"}, .attributes = {{"alpha", alpha}}});
    g.addNode({.name = "conv2", .opType = "Conv", .inputs = {"l1", "w2", "b2"}, .outputs = {"c2"}, .attributes = conv3});
    g.addNode({.name = "relu", .opType = "Relu", .inputs = {"c2"}, .outputs = {"r2"}});
    g.addNode({.name = "maxpool", .opType = "MaxPool", .inputs = {"c1"}, .outputs = {"mp"},
               .attributes = {{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}}});
    g.addNode({.name = "relu_after_pool", .opType = "Relu", .inputs = {"mp"}, .outputs = {"mr"}});
    g.addNode({.name = "cat", .opType = "Concat", .inputs = {"l1", "c2", "r2", "mr"}, .outputs = {"k"}, .attributes = {{"axis", one(1)}}});
    g.addNode({.name = "avg", .opType = "AveragePool", .inputs = {"k"}, .outputs = {"a"},
               .attributes = {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}}});
    g.addNode({.name = "dup", .opType = "Concat", .inputs = {"a", "a"}, .outputs = {"d"}, .attributes = {{"axis", one(1)}}});
    g.addNode({.name = "gap", .opType = "GlobalAveragePool", .inputs = {"d"}, .outputs = {"m"}});
    g.addNode({.name = "flat", .opType = "Flatten", .inputs = {"m"}, .outputs = {"f"}});
    g.addNode({.name = "fc", .opType = "Gemm", .inputs = {"f", "wfc", "bfc"}, .outputs = {"logits"},
               .attributes = {{"transB", one(1)}}});
    g.addOutput({"logits", DataType::Float32, {1, 5}});
    g.validate();
    return g;
}

// fp32 graph for the fully connected tail: conv+relu, global average pool, flatten, Gemm+Relu (a
// quantized QGemm output), MatMul with a constant B (QLinearMatMul), standalone Sigmoid (a lookup
// table), Gemm, and a Relu on the float logits the model returns.
inline Graph fullyConnectedGraph()
{
    std::mt19937 rng(13);
    Graph g;
    g.opsetImports[""] = 13;
    g.addInput({"x", DataType::Float32, {1, 3, 12, 12}});
    g.setInitializer("w1", randomTensor({6, 3, 3, 3}, rng, 0.3f));
    g.setInitializer("b1", randomTensor({6}, rng, 0.1f));
    g.setInitializer("wa", randomTensor({16, 6}, rng, 0.5f));
    g.setInitializer("ba", randomTensor({16}, rng, 0.1f));
    g.setInitializer("wm", randomTensor({16, 8}, rng, 0.4f));
    g.setInitializer("wb", randomTensor({5, 8}, rng, 0.5f));
    g.setInitializer("bb", randomTensor({5}, rng, 0.1f));
    g.addNode({.name = "conv1", .opType = "Conv", .inputs = {"x", "w1", "b1"}, .outputs = {"c1"},
               .attributes = {{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}}});
    g.addNode({.name = "relu1", .opType = "Relu", .inputs = {"c1"}, .outputs = {"r1"}});
    g.addNode({.name = "gap", .opType = "GlobalAveragePool", .inputs = {"r1"}, .outputs = {"m"}});
    g.addNode({.name = "flat", .opType = "Flatten", .inputs = {"m"}, .outputs = {"f"}});
    g.addNode({.name = "fca", .opType = "Gemm", .inputs = {"f", "wa", "ba"}, .outputs = {"ga"}, .attributes = {{"transB", one(1)}}});
    g.addNode({.name = "relua", .opType = "Relu", .inputs = {"ga"}, .outputs = {"ra"}});
    g.addNode({.name = "mm", .opType = "MatMul", .inputs = {"ra", "wm"}, .outputs = {"mmo"}});
    g.addNode({.name = "sig", .opType = "Sigmoid", .inputs = {"mmo"}, .outputs = {"s"}});
    g.addNode({.name = "fcb", .opType = "Gemm", .inputs = {"s", "wb", "bb"}, .outputs = {"gb"}, .attributes = {{"transB", one(1)}}});
    g.addNode({.name = "relub", .opType = "Relu", .inputs = {"gb"}, .outputs = {"logits"}});
    g.addOutput({"logits", DataType::Float32, {1, 5}});
    g.validate();
    return g;
}

inline std::vector<std::map<std::string, Tensor>> randomFeeds(const std::string& input, const Shape& shape, int count, uint32_t seed)
{
    std::mt19937 rng(seed);
    std::vector<std::map<std::string, Tensor>> feeds;
    for (int i = 0; i < count; ++i) feeds.push_back({{input, randomTensor(shape, rng, 1.0f)}});
    return feeds;
}

} // namespace joule::test_graphs
