// tools/testmodel/weights.h — the tensors of a test model (internal to llmdesk-testmodel).
#pragma once

#include <ggml.h>

#include <memory>
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

// Random weights for `seed`; with a script, the previous-token state machine described in
// testmodel.h (and an untied output.weight). Without one, output shares token_embd (tied).
Result<ModelTensors> BuildTensors(const Shape& shape, uint64_t seed, const Script* script, int64_t n_vocab);

}  // namespace llmdesk::testmodel
