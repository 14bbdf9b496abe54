// The Server's shared mutable state: the tools/list cache that follows the registry, server->client
// questions waiting for their replies, running tool calls a client may cancel, and CallEnv's notifications.
#include "mcp/server_impl.h"

namespace llmdesk::mcp {

void CallEnv::Log(const std::string& level, const json& data) const {
  if (!peer || log_level == -2) return;
  int index = LogLevelIndex(level);
  if (log_level >= 0 && index < log_level) return;
  peer->Send(MakeNotification("notifications/message", {{"level", level}, {"logger", "llmdesk"}, {"data", data}}));
}

void CallEnv::Progress(double progress, std::optional<double> total, const std::string& message) const {
  if (!peer || progress_token.is_null()) return;
  json params = {{"progressToken", progress_token}, {"progress", progress}};
  if (total) params["total"] = *total;
  if (!message.empty()) params["message"] = message;
  peer->Send(MakeNotification("notifications/progress", std::move(params)));
}

namespace detail {

ServerState::ServerState(const tools::Registry& r, std::unique_ptr<Extension> e, ServerOptions o)
    : registry(r),
      extension(std::move(e)),
      options(std::move(o)),
      sessions(options.max_sessions, options.session_idle_ttl) {}

std::shared_ptr<const ToolCache> ServerState::BuildToolCache(uint64_t generation) const {
  auto cache = std::make_shared<ToolCache>();
  cache->generation = generation;
  for (const auto& tool : registry.List()) cache->tool_entries.push_back(tool->Describe());
  if (extension) {
    for (const auto& entry : extension->Tools()) cache->tool_entries.push_back(entry);
  }
  for (const auto& entry : cache->tool_entries) {
    const json& props = entry["inputSchema"].value("properties", json::object());
    for (const auto& [arg, schema] : props.items()) {
      if (schema.is_object() && schema.contains("x-mcp-header") && schema["x-mcp-header"].is_string()) {
        cache->header_params[entry["name"].get<std::string>()].emplace_back(arg, schema["x-mcp-header"].get<std::string>());
      }
    }
  }
  cache->result_stateful = {{"tools", cache->tool_entries}};
  cache->result_stateless = cache->result_stateful;
  cache->result_stateless["resultType"] = "complete";
  cache->result_stateless["ttlMs"] = 60000;
  cache->result_stateless["cacheScope"] = "public";
  return cache;
}

std::shared_ptr<const ToolCache> ServerState::Tools() {
  uint64_t generation = registry.generation();
  std::lock_guard lock(tools_mu_);
  if (!tools_ || tools_->generation != generation) tools_ = BuildToolCache(generation);
  return tools_;
}

Result<json> ServerState::Ask(Peer& peer, const Session* session, const std::string& method, json params,
                              Clock::time_point deadline) {
  auto pending = std::make_shared<PendingAsk>();
  pending->session_id = session ? session->id : "";
  std::string id = "llmdesk-ask-" + std::to_string(next_ask_++);
  {
    std::lock_guard lock(pending_mu_);
    pending_[id] = pending;
  }
  peer.Send(MakeRequest(id, method, std::move(params)));
  std::optional<json> reply;
  {
    std::unique_lock lock(pending->mu);
    pending->cv.wait_until(lock, deadline, [&] { return pending->reply.has_value(); });
    reply = std::move(pending->reply);
  }
  {
    std::lock_guard lock(pending_mu_);
    pending_.erase(id);
  }
  if (!reply) return Status::Timeout("the client did not answer in time");
  if (reply->contains("error")) {
    return Status::Unavailable("the client answered with an error: " + DumpWire((*reply)["error"]));
  }
  return reply->value("result", json::object());
}

bool ServerState::DeliverClientReply(const json& reply, const Session* session) {
  auto id = reply.find("id");
  if (id == reply.end() || !id->is_string()) return false;
  std::shared_ptr<PendingAsk> pending;
  {
    std::lock_guard lock(pending_mu_);
    auto it = pending_.find(id->get_ref<const std::string&>());
    if (it == pending_.end()) return false;
    if (it->second->session_id != (session ? session->id : "")) return false;  // not this client's question
    pending = it->second;
  }
  std::lock_guard lock(pending->mu);
  pending->reply = reply;
  pending->cv.notify_all();
  return true;
}

namespace {
// Request ids are strings or integers; their JSON text keeps "1" and 1 apart.
std::string CallKey(const Session* session, const json& request_id) {
  return (session ? session->id : std::string()) + '\n' + DumpWire(request_id);
}
}  // namespace

std::shared_ptr<std::atomic<bool>> ServerState::BeginCall(const Session* session, const json& request_id) {
  auto flag = std::make_shared<std::atomic<bool>>(false);
  std::lock_guard lock(calls_mu_);
  calls_[CallKey(session, request_id)] = flag;  // a reused id replaces the older entry
  return flag;
}

void ServerState::EndCall(const Session* session, const json& request_id,
                          const std::shared_ptr<std::atomic<bool>>& flag) {
  std::lock_guard lock(calls_mu_);
  auto it = calls_.find(CallKey(session, request_id));
  if (it != calls_.end() && it->second == flag) calls_.erase(it);  // not a newer call that reused the id
}

void ServerState::Cancel(const Session* session, const json& request_id) {
  std::lock_guard lock(calls_mu_);
  auto it = calls_.find(CallKey(session, request_id));
  if (it != calls_.end()) *it->second = true;
}

}  // namespace detail
}  // namespace llmdesk::mcp
