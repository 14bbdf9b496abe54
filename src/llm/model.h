// llm/model.h — what the chat loop needs of a model: one chat completion, streamed to `on_delta` as it
// arrives, returned whole. ChatClient (client.h) is the real one over HTTP; tests use scripted ones.
// Implementations are thread-safe; Complete blocks its caller and calls on_delta on it.
#pragma once

#include <functional>

#include "common/cancel.h"
#include "common/status.h"
#include "llm/openai.h"

namespace llmdesk::llm {

class Model {
 public:
  virtual ~Model() = default;
  virtual Result<Completion> Complete(const ChatRequest& request,
                                      const std::function<void(const StreamAccumulator::Delta&)>& on_delta,
                                      const CancelToken* cancel) = 0;
};

}  // namespace llmdesk::llm
