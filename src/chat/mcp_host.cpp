// McpHost (contract in mcp_host.h): many MCP clients, one list of tools.
#include "chat/mcp_host.h"

#include <spdlog/spdlog.h>

#include <map>
#include <thread>

namespace llmdesk::chat {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

Approval FromConfig(config::Approval a) {
  switch (a) {
    case config::Approval::kAsk: return Approval::kAsk;
    case config::Approval::kDeny: return Approval::kDeny;
    case config::Approval::kAuto: return Approval::kAuto;
  }
  return Approval::kAuto;
}

}  // namespace

struct McpHost::Server {
  mcp::ServerSpec spec;
  std::shared_ptr<mcp::Client> client;  // shared: a Call in flight keeps it alive across a reconnect
  std::vector<Json> tools;
  std::string error;
  Clock::time_point retry_at{};
  std::chrono::milliseconds backoff{1000};
};

std::vector<mcp::ServerSpec> ServerSpecs(const config::Config& config, const std::string& tool_server_url) {
  std::vector<mcp::ServerSpec> out;
  if (!tool_server_url.empty()) {
    mcp::ServerSpec own;
    own.name = "llmdesk";
    own.url = tool_server_url;
    if (config.tool_server.token) own.headers["Authorization"] = "Bearer " + *config.tool_server.token;
    out.push_back(std::move(own));
  }
  for (const auto& s : config.mcp_servers) {
    mcp::ServerSpec spec;
    spec.name = s.name;
    spec.command = s.command;
    spec.env = s.env;
    spec.url = s.url;
    spec.headers = s.headers;
    out.push_back(std::move(spec));
  }
  return out;
}

McpHost::McpHost(net::HttpClient& http, config::ChatConfig chat, std::vector<mcp::ServerSpec> servers)
    : http_(http), chat_(std::move(chat)) {
  for (auto& spec : servers) {
    auto s = std::make_unique<Server>();
    s->spec = std::move(spec);
    servers_.push_back(std::move(s));
  }
  first_round_done_ = servers_.empty();
}

McpHost::~McpHost() = default;

void McpHost::Refresh() {
  std::vector<Server*> todo;
  {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    for (auto& s : servers_)
      if (!s->client && now >= s->retry_at) todo.push_back(s.get());
  }
  // Each server on its own thread: a hanging one costs its own timeout, not the others'.
  std::vector<std::thread> threads;
  for (Server* s : todo) {
    threads.emplace_back([this, s] {
      auto client = mcp::Client::Connect(s->spec, &http_);
      Result<std::vector<Json>> tools = client.ok() ? (*client)->ListTools() : Result<std::vector<Json>>(client.status());
      std::lock_guard lock(mu_);
      if (client.ok() && tools.ok()) {
        s->client = std::shared_ptr<mcp::Client>(std::move(client).value());
        s->tools = std::move(tools).value();
        s->error.clear();
        s->backoff = std::chrono::milliseconds(1000);
        return;
      }
      s->error = (client.ok() ? tools.status() : client.status()).message();
      s->retry_at = Clock::now() + s->backoff;
      s->backoff = std::min(s->backoff * 2, std::chrono::milliseconds(60000));
      spdlog::warn("MCP server '{}' skipped: {}", s->spec.name, s->error);
    });
  }
  for (auto& t : threads) t.join();
  std::lock_guard lock(mu_);
  first_round_done_ = true;
  first_round_cv_.notify_all();
}

std::vector<ServerState> McpHost::Servers() const {
  std::lock_guard lock(mu_);
  std::vector<ServerState> out;
  for (const auto& s : servers_) {
    ServerState state{s->spec.name, s->spec.url.empty() ? "stdio" : s->spec.url, s->client != nullptr, s->error, {}};
    if (!s->spec.command.empty()) {
      state.transport = "stdio:";
      for (const auto& a : s->spec.command) state.transport += " " + a;
    }
    for (const auto& t : s->tools) state.tools.push_back(t.value("name", ""));
    out.push_back(std::move(state));
  }
  return out;
}

Approval McpHost::ApprovalFor(const std::string& tool, const Json& annotations) const {
  if (auto it = chat_.tool_approval.find(tool); it != chat_.tool_approval.end()) return FromConfig(it->second);
  if (annotations.is_object() && annotations.value("readOnlyHint", false)) return Approval::kAuto;
  return FromConfig(chat_.approval);
}

std::vector<ToolInfo> McpHost::Tools() {
  std::unique_lock lock(mu_);
  std::chrono::milliseconds longest{0};
  for (const auto& s : servers_) longest = std::max(longest, s->spec.connect_timeout);
  first_round_cv_.wait_for(lock, longest + std::chrono::seconds(5), [this] { return first_round_done_; });
  std::map<std::string, int> seen;
  for (const auto& s : servers_)
    if (s->client)
      for (const auto& t : s->tools) ++seen[t.value("name", "")];
  std::vector<ToolInfo> out;
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(chat_.tool_timeout_s * 1000));
  for (const auto& s : servers_) {
    if (!s->client) continue;
    for (const auto& t : s->tools) {
      ToolInfo info;
      info.tool = t.value("name", "");
      info.server = s->spec.name;
      info.name = seen[info.tool] > 1 ? s->spec.name + "__" + info.tool : info.tool;
      auto spec = llm::FromMcpTool(t);
      info.description = spec.description;
      info.input_schema = spec.parameters;
      info.approval = ApprovalFor(info.name, t.value("annotations", Json::object()));
      info.timeout = timeout;
      out.push_back(std::move(info));
    }
  }
  return out;
}

Result<ToolOutcome> McpHost::Call(const ToolInfo& tool, const Json& arguments, Clock::time_point deadline,
                                  CancelToken& cancel) {
  std::shared_ptr<mcp::Client> client;
  {
    std::lock_guard lock(mu_);
    for (const auto& s : servers_)
      if (s->spec.name == tool.server) client = s->client;
  }
  if (!client) return Status::Unavailable("the MCP server '" + tool.server + "' is not connected");
  auto result = client->CallTool(tool.tool, arguments, deadline, &cancel);
  if (!result.ok()) return result.status();
  return ToolOutcome{mcp::ResultText(*result), result->value("isError", false), *result};
}

}  // namespace llmdesk::chat
