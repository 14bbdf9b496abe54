// libFuzzer target: net::SseParser (MCP client streams, the chat API's events, engine streams) on
// arbitrary bytes fed in chunks whose split points come from the input itself, so events, CR/LF pairs
// and the BOM are cut at every place a network read could cut them. The same bytes fed whole must give
// the same events: the parser's output may not depend on how the stream was chunked.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "net/sse.h"

namespace {

bool Same(const std::vector<llmdesk::net::SseEvent>& a, const std::vector<llmdesk::net::SseEvent>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].event != b[i].event || a[i].data != b[i].data || a[i].id != b[i].id || a[i].retry != b[i].retry)
      return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t step = 1 + data[0] % 17;  // chunk length
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr size_t kMaxEvent = 4096;  // small, so the over-limit path is reached too

  llmdesk::net::SseParser whole(kMaxEvent);
  std::vector<llmdesk::net::SseEvent> whole_events;
  const bool whole_ok = whole.Feed(bytes, whole_events).ok();

  llmdesk::net::SseParser chunked(kMaxEvent);
  std::vector<llmdesk::net::SseEvent> chunked_events;
  bool chunked_ok = true;
  for (size_t at = 0; at < bytes.size() && chunked_ok; at += step)
    chunked_ok = chunked.Feed(bytes.substr(at, step), chunked_events).ok();

  if (whole_ok && chunked_ok && !Same(whole_events, chunked_events)) std::abort();
  return 0;
}
