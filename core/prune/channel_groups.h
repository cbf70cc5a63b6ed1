#pragma once
// Which channels of an fp32 graph can be removed together: a dependency graph over channel
// dimensions (docs/pruning.md).
//
//   std::vector<ChannelGroup> groups = channelGroups(graph);
//   for (const ChannelGroup& g : groups) if (g.prunable) ... g.channels, g.producers ...
//   Graph smaller = removeChannels(graph, groups, {{i, {0, 5}}});   // drop channels 0 and 5 of groups[i]
//
// Every tensor of rank >= 2 has a channel space (axis 1). Ops that keep channels one to one tie
// their input's and output's spaces into one group: Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid,
// HardSwish, Tanh, Elu, Selu, Identity, Dropout, BatchNormalization (its per-channel parameters are sliced), MaxPool,
// AveragePool, GlobalAveragePool and GlobalMaxPool, Flatten of a [N, C, 1, 1] tensor, a depthwise
// Conv (group = C_in = C_out: its filters, bias and group follow), and Add / Sub / Mul / Max / Min / Sum of
// same-shape tensors (a residual addition couples every branch). A Conv with group 1 or a Gemm with
// a constant B *produces* a new space (its filters or rows can be removed) and *consumes* its input's
// space (the matching input columns are removed); a Gemm fed by Flatten of [N, C, H, W] consumes
// the flattened input's C channels H*W columns at a time. A Concat (axis 1) makes its output a group
// of its own whose channels are its inputs' channels side by side: removing channels of an input's
// group removes the matching channels of the output's group too (and of what that feeds, Concats
// after it included). A group is pruned as a whole: every producer loses the same output channels,
// every pass-through op and consumer follows.
//
// A group is not prunable (frozen, with the reason) when it reaches a graph input or output, a
// Reshape or any op not listed above, a grouped (not depthwise) Conv, or a constant operand of an
// elementwise op, or when it has no producer. A Concat's output group is never pruned directly (its
// channels belong to its inputs), and an input group is frozen when the output group is frozen.

#include "ir/graph.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace joule::prune {

struct ChannelConsumer {
    int node = -1;          // a Conv (group 1) or Gemm reading the group's channels
    int64_t columns = 1;    // input columns per channel (Gemm after Flatten of C x H x W: H * W)
};

struct ChannelGroup {
    int64_t channels = 0;
    std::vector<std::string> tensors;      // values whose axis 1 is this space
    std::vector<int> producers;            // Conv (group 1) / Gemm nodes whose output channels these are
    std::vector<int> passThrough;          // depthwise Conv and BatchNormalization nodes that follow
    std::vector<ChannelConsumer> consumers;
    // Concats this group's tensors feed: (index of the Concat output's group, channel offset of
    // this input in it). A group may feed one Concat twice.
    std::vector<std::pair<size_t, int64_t>> concatTargets;
    bool concatOutput = false;             // the output group of a Concat
    bool prunable = false;
    std::string frozenBy;                  // why not, e.g. "graph output 'logits'", "Reshape 'r'"
    // The name a user calls it by: the first producer's node name.
    std::string name;
};

std::vector<ChannelGroup> channelGroups(const Graph& graph);

// The graph without the channels `drop[i]` of groups[i] (indices into channelGroups(graph), channel
// indices of that graph), and without the channels of Concat output groups they imply: producers,
// pass-through ops and consumers sliced; the tensors' shapes in value infos updated. `kept`, when
// given, receives the channels each group kept (every group that lost some, the implied ones
// included). Throws std::invalid_argument for a frozen group or a drop that would empty a group.
Graph removeChannels(const Graph& graph, const std::vector<ChannelGroup>& groups, const std::map<size_t, std::vector<int64_t>>& drop,
                     std::map<size_t, std::vector<int64_t>>* kept = nullptr);

} // namespace joule::prune
