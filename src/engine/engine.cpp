#include "engine/engine.h"

#include <sstream>

#include "process/run.h"

#ifndef LLMDESK_ENGINE_PREFIX
#define LLMDESK_ENGINE_PREFIX ""
#endif

namespace llmdesk::engine {
namespace {

// A path (with a '/') names itself: FindProgram then only checks it is an executable file.
bool IsExecutable(const std::filesystem::path& p) { return process::FindProgram(p.string(), "").has_value(); }

std::filesystem::path SelfDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

}  // namespace

Result<Located> LocateLlamaServer(const config::EngineConfig& engine, const config::GetEnv& env) {
  if (engine.llama_server != "auto") {
    if (IsExecutable(engine.llama_server)) return Located{engine.llama_server, "config"};
    return Status::NotFound("engine.llama_server is " + engine.llama_server +
                            ", which is not an executable file; fix the path or set it to 'auto'");
  }
  if (auto path = env("PATH")) {
    if (auto found = process::FindProgram("llama-server", *path)) return Located{*found, "PATH"};
  }
  std::vector<std::filesystem::path> prefixes;
  if (auto p = env("LLMDESK_ENGINE_PREFIX"); p && !p->empty()) prefixes.emplace_back(*p);
  if (auto self = SelfDir(); !self.empty()) prefixes.push_back(self / ".." / ".." / ".deps" / "engine");
  if (std::string(LLMDESK_ENGINE_PREFIX).size()) prefixes.emplace_back(LLMDESK_ENGINE_PREFIX);
  for (const auto& prefix : prefixes) {
    auto candidate = prefix / "bin" / "llama-server";
    if (!IsExecutable(candidate)) continue;
    std::error_code ec;  // the prefix may come from the environment: never the throwing overloads
    auto canonical = std::filesystem::weakly_canonical(candidate, ec);
    return Located{ec ? candidate : canonical, "setup prefix"};
  }
  return Status::NotFound(
      "llama-server not found (looked at engine.llama_server, PATH and the scripts/setup prefix .deps/engine); "
      "run scripts/setup to build it, or set engine.llama_server to its absolute path");
}

Result<std::string> LlamaServerVersion(const std::filesystem::path& llama_server, std::chrono::milliseconds timeout) {
  auto run = process::RunCapture({llama_server.string(), "--version"}, timeout);
  if (!run.ok()) return run.status();
  std::istringstream lines(run->output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("version:", 0) == 0) return line;
  }
  return Status::Internal(llama_server.string() + " --version printed no version (exit " +
                          std::to_string(run->exit_code) + "): " + run->output.substr(0, 200));
}

}  // namespace llmdesk::engine
