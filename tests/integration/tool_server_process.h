// tests/integration/tool_server_process.h — `llmdesk tool-server` as a real process for the MCP tests
// (tools: calculator, get_time), waited for until it prints where it listens.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

#include "support/spawn.h"
#include "support/test_support.h"

namespace llmdesk::test {

// `llmdesk tool-server` on `port` (0 = any); returns the process and sets `port` to the one it bound.
inline Spawned StartToolServer(const TempDir& dir, int& port) {
  auto config = dir.Write("llm_backends.yaml", "tool_server:\n  tools: [calculator, get_time]\n");
  auto p = SpawnProcess({.argv = {BinPath("llmdesk").string(), "--config", config.string(), "tool-server", "--port",
                                  std::to_string(port)},
                         .out = Stdio::Pipe(), .err = Stdio::Merge()});
  const std::string marker = "MCP tool server on http://127.0.0.1:";
  std::string out;
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  auto up = [&] {
    auto at = out.find(marker);
    return at != std::string::npos && out.find("/mcp", at) != std::string::npos;
  };
  while (!up() && Clock::now() < deadline) out += ReadAll(p.stdout_fd().get(), Clock::now() + std::chrono::milliseconds(100));
  if (!up()) throw std::runtime_error("the tool server did not come up: " + out);
  auto at = out.find(marker);
  port = std::stoi(out.substr(at + marker.size()));
  return p;
}

}  // namespace llmdesk::test
