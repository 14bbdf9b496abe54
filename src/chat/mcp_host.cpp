// McpHost (contract in mcp_host.h): many MCP clients, one list of tools, and a supervisor that
// reconnects lost servers with back-off.
//
// Locking: one mutex (Hub::mu) guards every Server. A Client is never destroyed under it: destroying a
// stdio client joins its reader thread, which may be waiting for this mutex in OnClosed. Lost clients are
// parked in Server::dead and dropped by the supervisor after unlocking.
#include "chat/mcp_host.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "common/json_read.h"

namespace llmdesk::chat {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Approval FromConfig(config::Approval a) {
  switch (a) {
    case config::Approval::kAsk: return Approval::kAsk;
    case config::Approval::kDeny: return Approval::kDeny;
    case config::Approval::kAuto: return Approval::kAuto;
  }
  return Approval::kAuto;
}

milliseconds Seconds(double s) { return milliseconds(static_cast<int64_t>(s * 1000)); }

// The per-tool override for `tool`: by the name the model sees, else by the tool's own name.
template <typename V>
const V* FindFor(const std::map<std::string, V>& map, const ToolInfo& tool) {
  if (auto it = map.find(tool.name); it != map.end()) return &it->second;
  if (auto it = map.find(tool.tool); it != map.end()) return &it->second;
  return nullptr;
}

}  // namespace

// Outlives the host when a stdio client's exit callback still holds it: `host` is cleared (under `mu`)
// by the destructor, after which callbacks do nothing.
struct McpHost::Hub {
  std::mutex mu;
  McpHost* host = nullptr;
};

struct McpHost::Server {
  HostedServer hosted;
  std::shared_ptr<mcp::Client> client;  // shared: a Call in flight keeps it alive across a loss
  std::shared_ptr<mcp::Client> dead;    // lost; dropped by the supervisor outside the lock
  std::vector<Json> tools;
  bool connecting = false;
  bool first_done = false;  // its first attempt has ended (Tools() waits for that, never for a retry)
  uint64_t attempt = 0;  // the attempt under way or last made; `client` comes from it
  std::optional<std::string> closed_while_connecting;
  std::string error;
  int failures = 0;
  int connections = 0;
  milliseconds backoff{0};
  Clock::time_point retry_at{};  // default: due at once
  std::thread worker;           // the current or last attempt
};

Json ToJson(const ServerState& s) {
  Json tools = Json::array();
  for (const auto& t : s.tools) tools.push_back({{"name", t.name}, {"description", t.description}});
  return {{"name", s.name},
          {"transport", s.transport},
          {"state", s.state},
          {"connected", s.connected},
          {"error", s.error},
          {"tools", tools},
          {"attempts", s.attempts},
          {"failures", s.failures},
          {"retry_in_ms", s.backoff.count()},
          {"reconnects", s.reconnects}};
}

std::vector<HostedServer> ServerSpecs(const config::Config& config, const std::string& tool_server_url) {
  std::vector<HostedServer> out;
  if (!tool_server_url.empty()) {
    HostedServer own;
    own.spec.name = config::kOwnServerName;
    own.spec.url = tool_server_url;
    if (config.tool_server.token) own.spec.headers["Authorization"] = "Bearer " + *config.tool_server.token;
    out.push_back(std::move(own));
  }
  for (const auto& s : config.mcp_servers) {
    HostedServer h;
    h.spec.name = s.name;
    h.spec.command = s.command;
    h.spec.env = s.env;
    h.spec.url = s.url;
    h.spec.headers = s.headers;
    h.spec.connect_timeout = Seconds(s.connect_timeout_s);
    if (s.timeout_s) h.tool_timeout = Seconds(*s.timeout_s);
    out.push_back(std::move(h));
  }
  return out;
}

McpHost::McpHost(net::HttpClient& http, config::ChatConfig chat, std::vector<HostedServer> servers, HostOptions options)
    : http_(http), chat_(std::move(chat)), options_(options), hub_(std::make_shared<Hub>()) {
  hub_->host = this;
  for (auto& h : servers) {
    auto s = std::make_unique<Server>();
    s->hosted = std::move(h);
    servers_.push_back(std::move(s));
  }
  supervisor_ = std::thread([this] { Supervise(); });
}

McpHost::~McpHost() {
  {
    std::lock_guard lock(hub_->mu);
    stopping_ = true;
    hub_->host = nullptr;  // from now on, exit callbacks of our clients do nothing
  }
  wake_.notify_all();
  supervisor_.join();
  for (auto& s : servers_)
    if (s->worker.joinable()) s->worker.join();  // each bounded by its connect timeout
  for (auto& s : servers_) s->client.reset(), s->dead.reset();  // ends the stdio servers we started
}

void McpHost::Supervise() {
  std::unique_lock lock(hub_->mu);
  while (!stopping_) {
    std::vector<std::shared_ptr<mcp::Client>> lost;
    std::vector<std::thread> finished;
    auto next = Clock::time_point::max();
    const auto now = Clock::now();
    for (auto& s : servers_) {
      if (s->dead) lost.push_back(std::move(s->dead));
      if (s->client || s->connecting) continue;
      if (now < s->retry_at) {
        next = std::min(next, s->retry_at);
        continue;
      }
      if (s->worker.joinable()) finished.push_back(std::move(s->worker));  // it has returned: joins at once
      s->connecting = true;
      ++s->attempt;
      s->closed_while_connecting.reset();
      s->worker = std::thread([this, srv = s.get(), attempt = s->attempt] { Attempt(srv, attempt); });
      changed_.notify_all();
    }
    if (!lost.empty() || !finished.empty()) {
      lock.unlock();
      lost.clear();  // may join stdio reader threads: never under the lock
      for (auto& t : finished) t.join();
      lock.lock();
      continue;
    }
    // A due retry, a loss, a Refresh, or the destructor.
    if (next == Clock::time_point::max()) wake_.wait(lock);
    else wake_.wait_until(lock, next);
  }
}

void McpHost::Attempt(Server* s, uint64_t attempt) {
  std::weak_ptr<Hub> weak = hub_;
  auto on_closed = [weak, s, attempt](const std::string& why) {
    auto hub = weak.lock();
    if (!hub) return;
    std::lock_guard lock(hub->mu);
    if (hub->host) hub->host->OnClosed(*s, attempt, why);
  };
  auto connected = mcp::Client::Connect(s->hosted.spec, &http_, {.on_closed = on_closed});
  std::shared_ptr<mcp::Client> client;
  Result<std::vector<Json>> tools = Status::Unavailable("");
  if (connected.ok()) {
    client = std::shared_ptr<mcp::Client>(std::move(connected).value());
    tools = client->ListTools(s->hosted.spec.connect_timeout);
  }
  std::shared_ptr<mcp::Client> doomed;  // destroyed after the lock is released
  std::lock_guard lock(hub_->mu);
  s->connecting = false;
  s->first_done = true;
  if (!connected.ok() || !tools.ok() || s->closed_while_connecting) {
    std::string why = !connected.ok() ? connected.status().message()
                      : !tools.ok()   ? tools.status().message()
                                      : *s->closed_while_connecting;
    doomed = std::move(client);
    Failed(*s, std::move(why));
  } else {
    if (s->connections++ > 0) spdlog::info("MCP server '{}' is connected again", s->hosted.spec.name);
    s->client = std::move(client);
    s->tools = std::move(tools).value();
    s->error.clear();
    s->failures = 0;
    s->backoff = milliseconds(0);
  }
  changed_.notify_all();
}

void McpHost::Failed(Server& s, std::string error) {
  s.error = std::move(error);
  ++s.failures;
  s.backoff = s.failures == 1 ? options_.backoff_initial : std::min(s.backoff * 2, options_.backoff_max);
  s.retry_at = Clock::now() + s.backoff;
  spdlog::warn("MCP server '{}' skipped (trying again in {} ms): {}", s.hosted.spec.name, s.backoff.count(), s.error);
  wake_.notify_all();
}

void McpHost::OnClosed(Server& s, uint64_t attempt, const std::string& why) {
  if (attempt != s.attempt) return;  // news from an older client
  if (s.connecting) {
    s.closed_while_connecting = why;
    return;
  }
  if (!s.client) return;
  s.dead = std::move(s.client);
  s.tools.clear();
  Failed(s, "lost: " + why);
  changed_.notify_all();
}

void McpHost::Refresh() {
  std::unique_lock lock(hub_->mu);
  // The attempt each server must have finished: the one under way, else the next one.
  std::vector<uint64_t> target;
  for (auto& s : servers_) {
    if (!s->client && !s->connecting) s->retry_at = Clock::now();
    target.push_back(s->connecting ? s->attempt : s->attempt + 1);
  }
  wake_.notify_all();
  changed_.wait_for(lock, LongestConnectTimeout() * 2 + std::chrono::seconds(5), [&] {
    for (size_t i = 0; i < servers_.size(); ++i) {
      const Server& s = *servers_[i];
      if (!s.client && (s.connecting || s.attempt < target[i])) return false;
    }
    return true;
  });
}

milliseconds McpHost::LongestConnectTimeout() const {
  milliseconds longest{0};
  for (const auto& s : servers_) longest = std::max(longest, s->hosted.spec.connect_timeout);
  return longest;
}

ServerState McpHost::StateOf(const Server& s) const {
  ServerState state;
  state.name = s.hosted.spec.name;
  state.transport = s.hosted.spec.url;
  if (!s.hosted.spec.command.empty()) {
    state.transport = "stdio:";
    for (const auto& a : s.hosted.spec.command) state.transport += " " + a;
  }
  state.connected = s.client != nullptr;
  state.state = state.connected ? "connected" : (s.failures == 0 ? "connecting" : "error");
  state.error = s.error;
  for (const auto& t : s.tools) state.tools.push_back({JsonString(t, "name"), JsonString(t, "description")});
  state.attempts = static_cast<int>(s.attempt);
  state.failures = s.failures;
  state.backoff = s.backoff;
  state.reconnects = std::max(0, s.connections - 1);
  return state;
}

std::vector<ServerState> McpHost::ServersLocked() const {
  std::vector<ServerState> out;
  for (const auto& s : servers_) out.push_back(StateOf(*s));
  return out;
}

std::vector<ServerState> McpHost::Servers() const {
  std::lock_guard lock(hub_->mu);
  return ServersLocked();
}

bool McpHost::WaitFor(const std::function<bool(const std::vector<ServerState>&)>& pred, milliseconds timeout) const {
  std::unique_lock lock(hub_->mu);
  return changed_.wait_for(lock, timeout, [&] { return pred(ServersLocked()); });
}

Approval McpHost::ApprovalFor(const ToolInfo& tool, const Json& annotations) const {
  if (auto* a = FindFor(chat_.tool_approval, tool)) return FromConfig(*a);
  if (JsonBool(annotations, "readOnlyHint")) return Approval::kAuto;
  return FromConfig(chat_.approval);
}

milliseconds McpHost::TimeoutFor(const ToolInfo& tool, const Server& s) const {
  if (auto* t = FindFor(chat_.tool_timeouts_s, tool)) return Seconds(*t);
  if (s.hosted.tool_timeout) return *s.hosted.tool_timeout;
  return Seconds(chat_.tool_timeout_s);
}

std::vector<ToolInfo> McpHost::Tools() {
  std::unique_lock lock(hub_->mu);
  // Each first attempt ends within its connect timeout (twice: connect, then tools/list) plus the
  // moment a failed stdio server takes to go.
  changed_.wait_for(lock, LongestConnectTimeout() * 2 + std::chrono::seconds(3), [this] {
    return std::all_of(servers_.begin(), servers_.end(),
                       [](const auto& s) { return s->client || s->first_done; });
  });
  std::map<std::string, int> seen;
  for (const auto& s : servers_)
    if (s->client)
      for (const auto& t : s->tools) ++seen[JsonString(t, "name")];
  std::vector<ToolInfo> out;
  for (const auto& s : servers_) {
    if (!s->client) continue;
    for (const auto& t : s->tools) {
      ToolInfo info;
      info.tool = JsonString(t, "name");
      info.server = s->hosted.spec.name;
      info.name = seen[info.tool] > 1 ? info.server + "__" + info.tool : info.tool;
      auto spec = llm::FromMcpTool(t);
      info.description = spec.description;
      info.input_schema = spec.parameters;
      info.approval = ApprovalFor(info, t.value("annotations", Json::object()));
      info.timeout = TimeoutFor(info, *s);
      out.push_back(std::move(info));
    }
  }
  return out;
}

Result<ToolOutcome> McpHost::Call(const ToolInfo& tool, const Json& arguments, Clock::time_point deadline,
                                  CancelToken& cancel) {
  std::shared_ptr<mcp::Client> client;
  std::string why;
  {
    std::lock_guard lock(hub_->mu);
    for (const auto& s : servers_)
      if (s->hosted.spec.name == tool.server) client = s->client, why = s->error;
  }
  if (!client)
    return Status::Unavailable("the MCP server '" + tool.server + "' is not connected" + (why.empty() ? "" : ": " + why));
  auto result = client->CallTool(tool.tool, arguments, deadline, &cancel);
  if (!result.ok()) return result.status();
  return ToolOutcome{mcp::ResultText(*result), result->value("isError", false), *result};
}

}  // namespace llmdesk::chat
