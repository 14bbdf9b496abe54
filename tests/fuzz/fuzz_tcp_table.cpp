// libFuzzer target: net::ParseTcpTable, the reader of /proc/net/tcp{,6} behind "port 10500 is held by
// PID 4242" (the sock_diag path's fallback). Any row may be garbage; the result must stay sane.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/ports.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& holder : llmdesk::net::ParseTcpTable(text)) {
    if (holder.port < 0 || holder.port > 65535) std::abort();
    (void)holder.Describe();
    (void)holder.HowToFree();
  }
  return 0;
}
