// engine/engine_files.h on Windows: llama-server.exe, ggml-NAME.dll modules (libggml-NAME.dll when built with
// MinGW, whose shared libraries keep the "lib" prefix), and the zip's layout: the engine beside llmdesk.exe.
#include "engine/engine_files.h"

#include <algorithm>
#include <cctype>

namespace llmdesk::engine {

std::filesystem::path LlamaServerInPrefix(const std::filesystem::path& prefix) {
  return prefix / "bin" / "llama-server.exe";
}

std::vector<std::filesystem::path> BundledLlamaServers(const std::filesystem::path& program_dir) {
  return {program_dir / "llama-server.exe"};
}

std::optional<std::string> BackendModuleName(std::string_view file) {
  std::string lower(file);  // Windows file names compare without case
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view name(lower);
  if (name.starts_with("lib")) name.remove_prefix(3);
  if (!name.starts_with("ggml-") || !name.ends_with(".dll")) return std::nullopt;
  return std::string(name.substr(5, name.size() - 5 - 4));
}

}  // namespace llmdesk::engine
