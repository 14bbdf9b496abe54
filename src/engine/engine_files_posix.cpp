// engine/engine_files.h on POSIX: bin/llama-server, libggml-NAME.so modules, no bundled engine.
#include "engine/engine_files.h"

namespace llmdesk::engine {

std::filesystem::path LlamaServerInPrefix(const std::filesystem::path& prefix) {
  return prefix / "bin" / "llama-server";
}

std::vector<std::filesystem::path> BundledLlamaServers(const std::filesystem::path&) { return {}; }

std::optional<std::string> BackendModuleName(std::string_view file) {
  if (!file.starts_with("libggml-") || !file.ends_with(".so")) return std::nullopt;
  return std::string(file.substr(8, file.size() - 8 - 3));
}

}  // namespace llmdesk::engine
