#include "engine/engine.h"

#include <sstream>

#include "engine/engine_files.h"
#include "platform/files.h"
#include "platform/user_dirs.h"
#include "process/run.h"

#ifndef LLMDESK_ENGINE_PREFIX
#define LLMDESK_ENGINE_PREFIX ""
#endif

namespace llmdesk::engine {
namespace {

// A path (with a '/') names itself: FindProgram then only checks it is an executable file (on Windows it also
// adds `.exe` to a name without one, so the file found is returned).
std::optional<std::filesystem::path> Executable(const std::filesystem::path& p) {
  return process::FindProgram(platform::PathToUtf8(p), "");
}

std::filesystem::path SelfDir() { return platform::ExecutablePath().parent_path(); }

}  // namespace

Result<Located> LocateLlamaServer(const config::EngineConfig& engine, const config::GetEnv& env) {
  if (engine.llama_server != "auto") {
    if (auto found = Executable(platform::PathFromUtf8(engine.llama_server))) return Located{*found, "config"};
    return Status::NotFound("engine.llama_server is " + engine.llama_server +
                            ", which is not an executable file; fix the path or set it to 'auto'");
  }
  if (auto path = env("PATH")) {
    if (auto found = process::FindProgram("llama-server", *path)) return Located{*found, "PATH"};
  }
  std::vector<std::pair<std::filesystem::path, const char*>> candidates;
  const auto self = SelfDir();
  if (!self.empty())
    for (auto& bundled : BundledLlamaServers(self)) candidates.emplace_back(bundled, "beside llmdesk");
  if (auto p = env("LLMDESK_ENGINE_PREFIX"); p && !p->empty())
    candidates.emplace_back(LlamaServerInPrefix(platform::PathFromUtf8(*p)), "setup prefix");
  if (!self.empty()) candidates.emplace_back(LlamaServerInPrefix(self / ".." / ".." / ".deps" / "engine"), "setup prefix");
  if (std::string(LLMDESK_ENGINE_PREFIX).size())
    candidates.emplace_back(LlamaServerInPrefix(LLMDESK_ENGINE_PREFIX), "setup prefix");
  for (const auto& [candidate, via] : candidates) {
    auto found = Executable(candidate);
    if (!found) continue;
    std::error_code ec;  // the prefix may come from the environment: never the throwing overloads
    auto canonical = std::filesystem::weakly_canonical(*found, ec);
    return Located{ec ? *found : canonical, via};
  }
  return Status::NotFound(
      "llama-server not found (looked at engine.llama_server, PATH and the scripts/setup prefix .deps/engine); "
      "run scripts/setup to build it, or set engine.llama_server to its absolute path");
}

Result<std::string> LlamaServerVersion(const std::filesystem::path& llama_server, std::chrono::milliseconds timeout) {
  auto run = process::RunCapture({platform::PathToUtf8(llama_server), "--version"}, timeout);
  if (!run.ok()) return run.status();
  std::istringstream lines(run->output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("version:", 0) == 0) return line;
  }
  return Status::Internal(platform::PathToUtf8(llama_server) + " --version printed no version (exit " +
                          std::to_string(run->exit_code) + "): " + run->output.substr(0, 200));
}

}  // namespace llmdesk::engine
