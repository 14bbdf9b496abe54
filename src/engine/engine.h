// engine/engine.h — finding llama.cpp's llama-server and asking its version.
//
// Lookup order: engine.llama_server when it is an absolute path; else `llama-server` on PATH;
// else the prefix scripts/setup builds (.deps/engine, found next to the build tree, or
// $LLMDESK_ENGINE_PREFIX). On Windows, before the prefixes: llama-server.exe beside llmdesk.exe (the zip's
// layout; engine_files_win32.cpp). A missing engine is NotFound with a message that says to run scripts/setup.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "common/status.h"
#include "config/config.h"

namespace llmdesk::engine {

struct Located {
  std::filesystem::path path;
  std::string found_via;  // "config", "PATH", "beside llmdesk" (Windows), "setup prefix"
};

Result<Located> LocateLlamaServer(const config::EngineConfig& engine, const config::GetEnv& env);

// First line of `llama-server --version` that names the version, e.g. "version: 1 (80fb11a)".
Result<std::string> LlamaServerVersion(const std::filesystem::path& llama_server,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace llmdesk::engine
