// libFuzzer target: the OpenAI-compatible response parsers of llm/openai.h, which read what an engine
// or a remote server sends: a whole chat.completion (ParseCompletion), a stream of chunks
// (StreamAccumulator, one JSON text per line), the error shapes (ErrorMessage), tool calls leaked into
// content (RecoverLeakedToolCalls) and MCP tool entries turned into OpenAI tools (FromMcpTool).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "llm/openai.h"

using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  namespace llm = llmdesk::llm;

  json whole = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!whole.is_discarded()) {
    if (auto c = llm::ParseCompletion(whole); c.ok()) (void)llm::ToJson(c->message);
    (void)llm::ErrorMessage(whole);
    if (whole.is_object()) (void)llm::FromMcpTool(whole);
  }

  llm::StreamAccumulator stream;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    json chunk = json::parse(text.substr(start, end - start), nullptr, false);
    if (!chunk.is_discarded()) {
      llm::StreamAccumulator::Delta delta;
      if (!stream.Feed(chunk, &delta).ok()) break;
    }
    start = end + 1;
  }
  auto done = stream.Finish();
  (void)llm::ToJson(done.message);

  std::string content(text);
  auto calls = llm::RecoverLeakedToolCalls(content);
  llm::AssignMissingIds(calls);
  return 0;
}
