// chat/mcp_host.h — the MCP host: the tools of every configured MCP server (llmdesk's own tool server and
// the `mcp_servers:` of the config, in the shape of Cursor's / Claude Desktop's mcp.json) as one ToolHost.
//
// - Connect() starts/connects every server in parallel; one that fails to start, hangs past its connect
//   timeout or dies is reported (its own stderr included) and skipped: it never blocks the others or
//   hides their tools. A failed server is tried again on a later Refresh(), with backoff.
// - Tool names that collide between servers are all exposed as `server__tool`.
// - Approval per tool: chat.tools.<name>.approval in the config, else `auto` for tools that declare
//   readOnlyHint, else chat.approval. Timeout: chat.tool_timeout_s.
// Threads: thread-safe; Call may run concurrently (one MCP client per server handles that).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chat/agent.h"
#include "config/config.h"
#include "mcp/client.h"

namespace llmdesk::net {
class HttpClient;
}

namespace llmdesk::chat {

struct ServerState {
  std::string name;
  std::string transport;  // "http://..." or "stdio: cmd ..."
  bool connected = false;
  std::string error;      // why it is not connected
  std::vector<std::string> tools;
};

class McpHost : public ToolHost {
 public:
  McpHost(net::HttpClient& http, config::ChatConfig chat, std::vector<mcp::ServerSpec> servers);
  ~McpHost() override;

  // Connects every server that is not connected (in parallel, each bounded by its connect timeout) and
  // lists their tools. Servers that failed less than the backoff ago are left alone. Tools() waits for the
  // first round (bounded by the connect timeouts), so a chat that starts while servers connect sees them.
  void Refresh();
  std::vector<ServerState> Servers() const;

  std::vector<ToolInfo> Tools() override;
  Result<ToolOutcome> Call(const ToolInfo& tool, const nlohmann::json& arguments,
                           std::chrono::steady_clock::time_point deadline, CancelToken& cancel) override;

 private:
  struct Server;
  Approval ApprovalFor(const std::string& tool, const nlohmann::json& annotations) const;
  net::HttpClient& http_;
  const config::ChatConfig chat_;
  mutable std::mutex mu_;
  std::condition_variable first_round_cv_;
  bool first_round_done_ = false;
  std::vector<std::unique_ptr<Server>> servers_;
};

// The servers a config names: llmdesk's own tool server at `tool_server_url` (when not empty) first, then
// every mcp_servers entry.
std::vector<mcp::ServerSpec> ServerSpecs(const config::Config& config, const std::string& tool_server_url);

}  // namespace llmdesk::chat
