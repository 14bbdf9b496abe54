// The MCP methods: initialize, ping, server/discover, tools/*, logging/setLevel, and the resources/
// prompts/completion surface an Extension provides. One table decides which methods exist in which mode.
#include <spdlog/spdlog.h>

#include "mcp/server_impl.h"

namespace llmdesk::mcp {
namespace {

const json& MetaOf(const json& params) {
  static const json kEmpty = json::object();
  auto it = params.find("_meta");
  return it != params.end() && it->is_object() ? *it : kEmpty;
}

// Caching hints for list/read results (2026-07-28).
void AddCacheHints(json& result, bool stateless, int ttl_ms, const char* scope) {
  if (!stateless || !result.is_object()) return;
  if (!result.contains("ttlMs")) result["ttlMs"] = ttl_ms;
  if (!result.contains("cacheScope")) result["cacheScope"] = scope;
}

// A registry tool call a notifications/cancelled may interrupt, registered for as long as it runs.
class RunningCall {
 public:
  RunningCall(detail::ServerState& state, const Session* session, const json& id)
      : state_(state), session_(session), id_(id), flag_(state.BeginCall(session, id)) {}
  ~RunningCall() { state_.EndCall(session_, id_, flag_); }
  RunningCall(const RunningCall&) = delete;
  RunningCall& operator=(const RunningCall&) = delete;
  const std::shared_ptr<std::atomic<bool>>& flag() const { return flag_; }

 private:
  detail::ServerState& state_;
  const Session* session_;
  const json& id_;
  std::shared_ptr<std::atomic<bool>> flag_;
};

MethodReply FromExtension(Extension::Reply r) {
  if (r.error) return {nullptr, std::move(r.error), nullptr};
  return MethodReply::Ok(std::move(r.result));
}

CallEnv MakeEnv(detail::ServerState& state, const RequestMode& mode, const Incoming& in, const json& params) {
  CallEnv env;
  env.peer = in.peer;
  env.session = in.session.get();
  env.stateless = mode.stateless;
  env.deadline = Clock::now() + state.options.call_timeout;
  const json& meta = MetaOf(params);
  if (auto token = meta.find("progressToken"); token != meta.end()) env.progress_token = *token;
  if (mode.stateless) {
    env.client_capabilities = meta.value(kMetaClientCapabilities, json::object());
    auto level = meta.find(kMetaLogLevel);
    env.log_level = level != meta.end() && level->is_string() ? std::max(0, LogLevelIndex(level->get<std::string>()))
                                                              : -2;
  } else if (in.session) {
    env.client_capabilities = in.session->client_capabilities;
    env.log_level = in.session->log_level.load();
  }
  Peer* peer = in.peer;
  std::shared_ptr<Session> session = in.session;
  Clock::time_point deadline = env.deadline;
  bool can_ask = !mode.stateless && peer && peer->CanAsk();
  env.ask = [&state, peer, session, deadline, can_ask](const std::string& method, json p) -> Result<json> {
    if (!can_ask) return Status::Unavailable("this channel cannot carry a request to the client");
    return state.Ask(*peer, session.get(), method, std::move(p), deadline);
  };
  return env;
}

MethodReply Initialize(detail::ServerState& state, const Incoming& in, const json& params) {
  auto requested = params.find("protocolVersion");
  if (requested == params.end() || !requested->is_string()) {
    return MethodReply::Err(rpc::kInvalidParams, "Invalid params: initialize needs a string \"protocolVersion\"");
  }
  std::string version = requested->get<std::string>();
  if (!IsStatefulVersion(version)) version = kVersionLatestStateful;  // offer ours; the client decides
  std::shared_ptr<Session> session;
  if (in.http) {
    auto created = state.sessions.Create(version);
    if (!created.ok()) {
      MethodReply busy = MethodReply::Err(rpc::kServerError, "Server busy: " + created.status().message());
      busy.http_status = 503;
      return busy;
    }
    session = std::move(*created);
  } else {
    session = std::make_shared<Session>();  // stdio: one connection, one session, no table
    session->protocol_version = version;
  }
  session->client_capabilities = params.value("capabilities", json::object());
  if (!session->client_capabilities.is_object()) session->client_capabilities = json::object();
  session->client_info = params.value("clientInfo", json::object());
  MethodReply reply = MethodReply::Ok({
      {"protocolVersion", version},
      {"capabilities", CapabilitiesFor(state, false)},
      {"serverInfo", {{"name", state.options.name}, {"title", "llmdesk tool server"},
                      {"version", state.options.version}}},
      {"instructions", "Tools for arithmetic (calculator), weather, time zones and unit conversion."},
  });
  reply.new_session = std::move(session);
  return reply;
}

MethodReply Discover(detail::ServerState& state) {
  json info = {{"name", state.options.name}, {"version", state.options.version}};
  return MethodReply::Ok({{"supportedVersions", SupportedVersions()},
                          {"capabilities", CapabilitiesFor(state, true)},
                          {"serverInfo", info},
                          {"ttlMs", 60000},
                          {"cacheScope", "public"},
                          {"_meta", {{kMetaServerInfo, info}}}});
}

MethodReply ListTools(detail::ServerState& state, const RequestMode& mode, const json& params) {
  size_t page = state.options.tools_page_size;
  auto cursor = params.find("cursor");
  bool has_cursor = cursor != params.end() && !cursor->is_null();
  auto tools = state.Tools();
  if (page == 0 && !has_cursor) {
    return MethodReply::Ok(mode.stateless ? tools->result_stateless : tools->result_stateful);
  }
  const json& entries = tools->tool_entries;
  size_t start = 0;
  if (has_cursor) {
    if (!cursor->is_string()) return MethodReply::Err(rpc::kInvalidParams, "Invalid params: cursor must be a string");
    try {
      start = std::stoul(cursor->get<std::string>());
    } catch (const std::exception&) {
      return MethodReply::Err(rpc::kInvalidParams, "Invalid params: unknown cursor");
    }
    if (start > entries.size()) return MethodReply::Err(rpc::kInvalidParams, "Invalid params: unknown cursor");
  }
  size_t end = page == 0 ? entries.size() : std::min(entries.size(), start + page);
  json result = {{"tools", json(entries.begin() + static_cast<long>(start), entries.begin() + static_cast<long>(end))}};
  if (end < entries.size()) result["nextCursor"] = std::to_string(end);
  AddCacheHints(result, mode.stateless, 60000, "public");
  return MethodReply::Ok(std::move(result));
}

MethodReply CallTool(detail::ServerState& state, const RequestMode& mode, const Incoming& in, const json& params) {
  auto name_it = params.find("name");
  if (name_it == params.end() || !name_it->is_string()) {
    return MethodReply::Err(rpc::kInvalidParams, "Invalid params: tools/call needs a string \"name\"");
  }
  const std::string& name = name_it->get_ref<const std::string&>();
  static const json kNoArguments = json::object();
  auto args_it = params.find("arguments");
  const json& arguments = args_it == params.end() || args_it->is_null() ? kNoArguments : *args_it;
  if (!arguments.is_object()) {
    return MethodReply::Err(rpc::kInvalidParams, "Invalid params: \"arguments\" must be an object");
  }
  if (state.extension && state.extension->HasTool(name)) {
    CallEnv env = MakeEnv(state, mode, in, params);
    return FromExtension(state.extension->CallTool(name, params, env));
  }
  // Registry tools only report progress: the hot path builds no CallEnv (no capability copies).
  tools::CallContext ctx;
  ctx.deadline = Clock::now() + state.options.call_timeout;
  // notifications/cancelled names the request by its id within the client's session (stdio: the one
  // connection); stateless HTTP requests have no session to scope an id, so they cannot be cancelled.
  std::optional<RunningCall> running;
  if (!mode.id.is_null() && (in.session || !in.http)) {
    running.emplace(state, in.session.get(), mode.id);
    ctx.cancelled = [flag = running->flag()] { return flag->load(); };
  }
  CallEnv env;
  const json& meta = MetaOf(params);
  if (auto token = meta.find("progressToken"); token != meta.end() && in.peer) {
    env.peer = in.peer;
    env.progress_token = *token;
    ctx.progress = [&env](double progress, std::optional<double> total, const std::string& message) {
      env.Progress(progress, total, message);
    };
  }
  auto result = state.registry.Call(name, arguments, ctx);
  if (!result.ok()) {
    return MethodReply::Err(rpc::kInvalidParams, "Unknown tool: '" + name + "'", {{"tool", name}});
  }
  json out = {{"content", std::move(result->content)}};
  if (result->structured) out["structuredContent"] = std::move(*result->structured);
  if (result->is_error) out["isError"] = true;
  return MethodReply::Ok(std::move(out));
}

MethodReply SetLevel(const Incoming& in, const json& params) {
  auto level = params.find("level");
  int index = level != params.end() && level->is_string() ? LogLevelIndex(level->get<std::string>()) : -1;
  if (index < 0) {
    return MethodReply::Err(rpc::kInvalidParams,
                            "Invalid params: level must be one of debug, info, notice, warning, error, critical, "
                            "alert, emergency");
  }
  if (in.session) in.session->log_level = index;
  return MethodReply::Ok(json::object());
}

MethodReply Subscribe(const Incoming& in, const json& params, bool subscribe) {
  auto uri = params.find("uri");
  if (uri == params.end() || !uri->is_string()) {
    return MethodReply::Err(rpc::kInvalidParams, "Invalid params: needs a string \"uri\"");
  }
  if (in.session) {
    std::lock_guard lock(in.session->mu);
    if (subscribe) in.session->subscriptions.insert(uri->get<std::string>());
    else in.session->subscriptions.erase(uri->get<std::string>());
  }
  return MethodReply::Ok(json::object());
}

MethodReply NotFound(const std::string& method, const RequestMode& mode) {
  return MethodReply::Err(rpc::kMethodNotFound, "Method not found: '" + method + "'" +
                                                    (mode.stateless ? std::string(" (protocol ") + kVersionStateless + ")" : ""));
}

}  // namespace

json CapabilitiesFor(const detail::ServerState& state, bool stateless) {
  json caps = {{"tools", stateless ? json::object() : json{{"listChanged", false}}}, {"logging", json::object()}};
  if (state.extension) {
    caps["resources"] = stateless ? json::object() : json{{"subscribe", true}, {"listChanged", false}};
    caps["prompts"] = stateless ? json::object() : json{{"listChanged", false}};
    caps["completions"] = json::object();
  }
  return caps;
}

MethodReply RunMethod(detail::ServerState& state, const RequestMode& mode, const Incoming& in,
                      const std::string& method, const json& params) {
  Extension* ext = state.extension.get();
  if (method == "tools/call") return CallTool(state, mode, in, params);
  if (method == "tools/list") return ListTools(state, mode, params);
  if (mode.stateless) {
    if (method == "server/discover") return Discover(state);
  } else {
    if (method == "initialize") return Initialize(state, in, params);
    if (method == "ping") return MethodReply::Ok(json::object());
    if (method == "logging/setLevel") return SetLevel(in, params);
    if (method == "notifications/initialized") {
      if (in.session) in.session->initialized = true;
      return MethodReply::Ok(nullptr);
    }
    if (ext && (method == "resources/subscribe" || method == "resources/unsubscribe")) {
      return Subscribe(in, params, method == "resources/subscribe");
    }
  }
  if (method == "notifications/cancelled") {
    if (auto request = params.find("requestId"); request != params.end() && (in.session || !in.http)) {
      state.Cancel(in.session.get(), *request);
    }
    return MethodReply::Ok(nullptr);
  }
  if (method.rfind("notifications/", 0) == 0) return MethodReply::Ok(nullptr);  // roots changed...
  if (!ext) return NotFound(method, mode);
  CallEnv env;
  // The fixture lists never change while the server runs: cacheable by anyone for a minute.
  auto listed = [&mode](const char* key, json items) {
    json result = {{key, std::move(items)}};
    AddCacheHints(result, mode.stateless, 60000, "public");
    return MethodReply::Ok(std::move(result));
  };
  if (method == "resources/list") return listed("resources", ext->Resources());
  if (method == "resources/templates/list") return listed("resourceTemplates", ext->ResourceTemplates());
  if (method == "resources/read") {
    env = MakeEnv(state, mode, in, params);
    MethodReply reply = FromExtension(ext->ReadResource(params, env));
    if (!reply.error) AddCacheHints(reply.result, mode.stateless, 0, "private");
    return reply;
  }
  if (method == "prompts/list") return listed("prompts", ext->Prompts());
  if (method == "prompts/get") {
    env = MakeEnv(state, mode, in, params);
    return FromExtension(ext->GetPrompt(params, env));
  }
  if (method == "completion/complete") return FromExtension(ext->Complete(params));
  return NotFound(method, mode);
}

}  // namespace llmdesk::mcp
