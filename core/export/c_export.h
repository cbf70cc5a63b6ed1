#pragma once
// Standalone C99 for microcontrollers from a quantized candidate: bit-exact with the studio's integer
// engine (docs/export.md).
//
//   exporter::CModel c = exporter::generateC({lowerable}, nullptr, {.name = "model", .outputScale = 0.1f});
//   writeFile("model.h", c.header); writeFile("model.c", c.source);
//   c.arenaBytes;        // the one static arena, placed by the studio's memory planner
//
// The generated model.h declares
//   int NAME_run(const int8_t *input, int8_t *output);     quantized codes in and out
//   int NAME_run_f32(const float *input, float *output);   quantizes the input, dequantizes the output
//   void NAME_quantize_input(const float *input, int8_t *codes);
// (both run functions return the stage or exit that answered, 0 for a plain model) and the macros
// NAME_INPUT_SIZE, NAME_OUTPUT_SIZE (elements), NAME_ARENA_BYTES, NAME_STAGES, NAME_INPUT_SCALE,
// NAME_INPUT_ZERO_POINT, NAME_OUTPUT_SCALE, NAME_OUTPUT_ZERO_POINT. model.c includes only
// <stdint.h>, <string.h> and model.h; weights are const arrays, activations live in one static arena,
// and only the kernels the model uses are emitted.
//
// Each stage graph runs as the studio runs it: QDQ graphs are lowered (rt::lowerQdq) and every node
// of the session's plan becomes one kernel call. A node without a C kernel is refused with an
// ExportError naming the node and its op; so is a model whose input or output is not float32.

#include "adaptive/policy.h"
#include "ir/graph.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace joule::exporter {

class ExportError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct COptions {
    std::string name = "model";   // C identifier prefix (letters, digits, '_'; not starting with a digit)
    // The int8 codes of NAME_run's output (the model's float output, e.g. logits, quantized).
    float outputScale = 1.0f;
    int32_t outputZeroPoint = 0;
};

struct CModel {
    std::string header, source;
    int64_t arenaBytes = 0;              // static RAM of the model: NAME_ARENA_BYTES
    int64_t constBytes = 0;              // bytes of the const arrays (weights, multipliers, tables)
    int64_t weightBytes = 0;             // of those, the weights and biases
    int64_t inputSize = 0, outputSize = 0;
    float inputScale = 1.0f;
    int32_t inputZeroPoint = 0;          // of NAME_run's int8 input codes
    float outputScale = 1.0f;
    int32_t outputZeroPoint = 0;         // of NAME_run's int8 output codes
    std::vector<std::string> kernels;    // the kernel variants emitted, e.g. "conv_u8u8"
};

// `stages`: one graph for a plain candidate; a cascade's stages or an early exit's segments, in
// order, with `policy` (nullptr for a plain one). Throws ExportError.
CModel generateC(const std::vector<Graph>& stages, const adaptive::Policy* policy, const COptions& options = {});

// True when `name` is a valid C identifier for COptions::name.
bool isCIdentifier(const std::string& name);

} // namespace joule::exporter
