// libFuzzer target: config::LoadString, the YAML config loader (`llmdesk config check`, every start) on
// arbitrary bytes, with ${VAR} references resolved by a fixed stand-in environment. Any outcome but a
// crash, a hang or a sanitizer report is fine; each diagnostic must carry a position.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  const llmdesk::config::GetEnv env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "HOME") return std::string("/home/fuzz");
    if (name == "LLMDESK_FUZZ_KEY") return std::string("sk-fuzz");
    return std::nullopt;
  };
  auto result = llmdesk::config::LoadString(yaml, "fuzz.yaml", env);
  for (const auto& d : result.diagnostics)
    if (d.message.empty()) std::abort();  // an error that says nothing is a bug too
  return 0;
}
