// libFuzzer target: models::ParseGgufHeader (the bounded GGUF header reader behind `llmdesk models`) on
// arbitrary bytes, and the chat-template tool check on the same bytes as text. Any outcome but a crash,
// a hang or an allocation beyond the reader's bounds is fine.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "models/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)llmdesk::models::ParseGgufHeader(bytes);
  (void)llmdesk::models::TemplateSupportsTools(bytes);
  return 0;
}
