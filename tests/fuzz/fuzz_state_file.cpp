// libFuzzer target: manager::ParseStateFile, the reader of the state file a previous llmdesk left (the
// engines it ran, to be stopped at the next start). A corrupt or hostile file must give records that are
// safe to act on — never PID 0 or 1, never a process group below 2 (kill(-1) would signal everything) —
// or none, with notes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "manager/state_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> notes;
  for (const auto& r : llmdesk::manager::ParseStateFile(text, "fuzz.state.json", notes)) {
    if (r.pid < 2 || r.pgid < 2) std::abort();
    if (r.port < 0 || r.port > 65535) std::abort();
  }
  return 0;
}
