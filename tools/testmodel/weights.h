// tools/testmodel/weights.h — the tensors of a test model (internal to llmdesk-testmodel).
#pragma once

#include <ggml.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "testmodel.h"

namespace llmdesk::testmodel {

struct GgmlContextFree {
  void operator()(ggml_context* ctx) const { ggml_free(ctx); }
};

// The tensors (names and shapes as llama.cpp's llama architecture expects), owned by ctx.
struct ModelTensors {
  std::unique_ptr<ggml_context, GgmlContextFree> ctx;
  std::vector<ggml_tensor*> tensors;
};

// SplitMix64: tiny, portable and fully specified, so a seed gives identical bytes everywhere
// (std::normal_distribution and friends are implementation-defined).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [-scale, scale).
  float Uniform(float scale) { return static_cast<float>((Next() >> 40) * 0x1.0p-24 * 2.0 - 1.0) * scale; }

 private:
  uint64_t state_;
};

// One tensor to create: its name, type, shape and how to fill it (row-major: ne0 values per row).
struct TensorPlan {
  std::string name;
  ggml_type type;
  int64_t ne0, ne1;  // ne1 == 0: a vector
  std::function<void(std::vector<float>&, Rng&)> fill;
};

// The RoPE base an answer-after-tool model is written with (its positional heads are tuned to it).
float AnswerRopeFreqBase(const Shape& shape);

// The tensors of an answer-after-tool model (script.answer_tokens non-empty), described in testmodel.h.
Result<std::vector<TensorPlan>> AnswerTensorPlans(const Shape& shape, const Script& script, int64_t n_vocab);

// Random weights for `seed`; with a script, the previous-token state machine described in
// testmodel.h (and an untied output.weight). Without one, output shares token_embd (tied).
Result<ModelTensors> BuildTensors(const Shape& shape, uint64_t seed, const Script* script, int64_t n_vocab);

}  // namespace llmdesk::testmodel
