// stack/stack.h — the one process that owns the engines: what `llmdesk up` and `llmdesk serve` run (and
// `llmdesk chat` when no stack is running for its config).
//
// Start() brings up, in order: the manager (the per-config lock: a second stack for the same config is
// refused naming the first, so front ends attach to it instead), the MCP tool server (tool_server.host:port;
// a held port follows ports.on_conflict like the backends': fallback to the next free port naming the holder,
// or fail naming it), the chat history (a database that cannot be opened is a note, not a failure), the MCP
// host (our tool server and the config's mcp_servers, connected in the background), the chat service, and the
// control API with /api/chat on gateway.host:gateway.port when asked for, with the OpenAI-compatible gateway
// (src/gateway: /v1, /metrics) on the same listener. Backends start on demand (or as the
// front end starts them).
// Reload() re-reads the config file the stack was started with and applies what can change live (see control.h,
// ReloadReport): the backends (manager::Manager::Reconfigure: added, removed, changed, unchanged), engine, ports
// and models.hub_url. What only a restart applies — the listeners (gateway.*, tool_server.*), mcp_servers and
// chat.* — keeps running as it is and is named in the report's needs_restart. A file with errors changes nothing:
// InvalidArgument listing every error as file:line:col. The control API serves it as POST /api/config/reload;
// `llmdesk up`/`serve` call it on SIGHUP.
// Threads: the tool server's listener thread and the components' own; all are joined by Stop()/the destructor.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "chat/mcp_host.h"
#include "chat/service.h"
#include "common/status.h"
#include "control/control.h"
#include "config/config.h"
#include "manager/manager.h"

namespace llmdesk::stack {

struct Options {
  config::Config config;
  bool control_api = true;    // the control API (+ /api/chat) on the gateway listener
  bool history = true;        // keep chats in store::History (default path)
  manager::Options manager;   // state/log dirs, timings (its `config` is replaced by `config`)
};

class Stack {
 public:
  static Result<std::unique_ptr<Stack>> Start(Options options);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  manager::Manager& manager();
  chat::ChatService& chat();
  chat::McpHost& tools();
  const std::string& tool_server_url() const;  // http://127.0.0.1:PORT/mcp (the port actually bound)
  std::string control_url() const;             // "" without the control API
  // What Start did that the user should know: stale engines stopped, port fallbacks, no history.
  const std::vector<std::string>& notes() const;

  // See the header comment. FailedPrecondition when the stack runs on the built-in defaults (no file) or is
  // stopping. Any thread; reloads run one at a time. Blocks until the manager has applied the config.
  Result<control::ReloadReport> Reload();

  // Stops the control API (ending its streams), the tool server, then every engine (waiting up to `grace`).
  Status Stop(std::chrono::milliseconds grace);
  void Kill();  // every engine's process group SIGKILLed now (a second Ctrl-C)

  struct Parts;

 private:
  explicit Stack(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace llmdesk::stack
