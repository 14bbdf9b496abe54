// chat/mcp_host.h — the MCP host: the tools of every configured MCP server (llmdesk's own tool server and
// the `mcp_servers:` of the config, in the shape of Cursor's / Claude Desktop's mcp.json) as one ToolHost.
//
// - Servers connect in the background from construction on, each on its own thread and bounded by its
//   connect timeout (mcp_servers.<name>.connect_timeout_s, default 10 s, for spawn + initialize + tools/list).
//   One that fails to start, hangs or exits is reported (state "error", its own stderr in `error`) and
//   skipped: it never blocks the others or hides their tools.
// - A server that failed, or a stdio server whose process exits mid-session, is tried again by the
//   host's supervisor thread after a back-off that doubles per consecutive failure (HostOptions: 1 s, 2 s,
//   4 s ... capped at 60 s by default) and resets once it connects. Servers() shows the state, the
//   consecutive failures and the current back-off.
// - Tool names that collide between servers are all exposed as `server__tool`.
// - Approval per tool: chat.tools.<name>.approval, else `auto` for tools that declare readOnlyHint, else
//   chat.approval. Timeout per tool: chat.tools.<name>.timeout_s, else mcp_servers.<server>.timeout_s, else
//   chat.tool_timeout_s. <name> is the name the model sees, or the tool's own name on its server.
// Threads: thread-safe. The host owns a supervisor thread and one thread per connect attempt, all joined
// by the destructor (which also ends the stdio servers it started). Call may run concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/agent.h"
#include "config/config.h"
#include "mcp/client.h"

namespace llmdesk::net {
class HttpClient;
}

namespace llmdesk::chat {

struct HostedServer {
  mcp::ServerSpec spec;
  std::optional<std::chrono::milliseconds> tool_timeout;  // mcp_servers.<name>.timeout_s
};

struct HostOptions {
  std::chrono::milliseconds backoff_initial{1000};  // the wait after the first failure
  std::chrono::milliseconds backoff_max{60000};     // the cap of the doubling
};

struct ServerState {
  std::string name;
  std::string transport;  // "http://..." or "stdio: cmd ..."
  std::string state;      // "connecting" (first attempt under way) | "connected" | "error"
  bool connected = false;
  std::string error;      // why it is not connected (the last failure; its stderr for stdio servers)
  struct Tool {
    std::string name, description;
  };
  std::vector<Tool> tools;  // while connected
  int attempts = 0;         // connect attempts started
  int failures = 0;         // consecutive failed attempts (or losses); 0 while connected
  std::chrono::milliseconds backoff{0};  // the wait before the next attempt (error state)
  int reconnects = 0;       // times it connected again after a failure or loss
};
// {name, transport, state, connected, error, tools: [{name, description}], attempts, failures,
//  retry_in_ms, reconnects} — the shape of GET /api/mcp/servers and `llmdesk mcp list --json`.
nlohmann::json ToJson(const ServerState& s);

class McpHost : public ToolHost {
 public:
  McpHost(net::HttpClient& http, config::ChatConfig chat, std::vector<HostedServer> servers,
          HostOptions options = {});
  ~McpHost() override;
  McpHost(const McpHost&) = delete;
  McpHost& operator=(const McpHost&) = delete;

  // Tries every server that is not connected now (skipping its back-off) and waits until those attempts
  // end, each bounded by its connect timeout.
  void Refresh();
  std::vector<ServerState> Servers() const;
  // Waits until `pred(Servers())` holds (checked at every state change) or `timeout` passes; its last value.
  bool WaitFor(const std::function<bool(const std::vector<ServerState>&)>& pred, std::chrono::milliseconds timeout) const;

  // The tools of the connected servers. Waits for every server's first attempt (bounded by the connect
  // timeouts), so a chat that starts while servers connect sees them.
  std::vector<ToolInfo> Tools() override;
  Result<ToolOutcome> Call(const ToolInfo& tool, const nlohmann::json& arguments,
                           std::chrono::steady_clock::time_point deadline, CancelToken& cancel) override;

 private:
  struct Server;
  struct Hub;
  void Supervise();
  void Attempt(Server* s, uint64_t attempt);
  void Failed(Server& s, std::string error);  // under the lock
  void OnClosed(Server& s, uint64_t attempt, const std::string& why);  // under the lock
  ServerState StateOf(const Server& s) const;  // under the lock
  std::vector<ServerState> ServersLocked() const;
  Approval ApprovalFor(const ToolInfo& tool, const nlohmann::json& annotations) const;
  std::chrono::milliseconds TimeoutFor(const ToolInfo& tool, const Server& s) const;
  std::chrono::milliseconds LongestConnectTimeout() const;

  net::HttpClient& http_;
  const config::ChatConfig chat_;
  const HostOptions options_;
  std::shared_ptr<Hub> hub_;  // the lock, shared with the stdio clients' exit callbacks
  std::condition_variable wake_;            // the supervisor: a server is due, lost, or we stop
  mutable std::condition_variable changed_;  // observers: any state change
  bool stopping_ = false;
  std::vector<std::unique_ptr<Server>> servers_;
  std::thread supervisor_;
};

// The servers a config names: llmdesk's own tool server at `tool_server_url` (when not empty) first, then
// every mcp_servers entry.
std::vector<HostedServer> ServerSpecs(const config::Config& config, const std::string& tool_server_url);

}  // namespace llmdesk::chat
