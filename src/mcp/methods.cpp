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

MethodReply FromExtension(Extension::Reply r) {
  if (r.error) return {nullptr, std::move(r.error), nullptr};
  return MethodReply::Ok(std::move(r.result));
}

CallEnv MakeEnv(Server& server, const RequestMode& mode, const Incoming& in, const json& params) {
  CallEnv env;
  env.peer = in.peer;
  env.session = in.session.get();
  env.stateless = mode.stateless;
  env.deadline = Clock::now() + server.options().call_timeout;
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
  env.ask = [&server, peer, session, deadline, can_ask](const std::string& method, json p) -> Result<json> {
    if (!can_ask) return Status::Unavailable("this channel cannot carry a request to the client");
    json request = {{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(p)}};
    auto pending = server.RegisterAsk(request, session.get());
    peer->Send(request);
    return server.WaitAsk(pending, deadline);
  };
  return env;
}

MethodReply Initialize(Server& server, Server::Impl& impl, const Incoming& in, const json& params) {
  auto requested = params.find("protocolVersion");
  if (requested == params.end() || !requested->is_string()) {
    return MethodReply::Err(rpc::kInvalidParams, "Invalid params: initialize needs a string \"protocolVersion\"");
  }
  std::string version = requested->get<std::string>();
  if (!IsStatefulVersion(version)) version = kVersionLatestStateful;  // offer ours; the client decides
  std::shared_ptr<Session> session;
  if (in.http) session = server.sessions().Create(version);
  else {
    session = std::make_shared<Session>();  // stdio: one connection, one session, no table
    session->protocol_version = version;
  }
  session->client_capabilities = params.value("capabilities", json::object());
  if (!session->client_capabilities.is_object()) session->client_capabilities = json::object();
  session->client_info = params.value("clientInfo", json::object());
  MethodReply reply = MethodReply::Ok({
      {"protocolVersion", version},
      {"capabilities", CapabilitiesFor(impl, false)},
      {"serverInfo", {{"name", server.options().name}, {"title", "llmdesk tool server"},
                      {"version", server.options().version}}},
      {"instructions", "Tools for arithmetic (calculator), weather, time zones and unit conversion."},
  });
  reply.new_session = std::move(session);
  return reply;
}

MethodReply Discover(Server& server, Server::Impl& impl) {
  json info = {{"name", server.options().name}, {"version", server.options().version}};
  return MethodReply::Ok({{"supportedVersions", SupportedVersions()},
                          {"capabilities", CapabilitiesFor(impl, true)},
                          {"serverInfo", info},
                          {"ttlMs", 60000},
                          {"cacheScope", "public"},
                          {"_meta", {{kMetaServerInfo, info}}}});
}

MethodReply ListTools(Server& server, Server::Impl& impl, const RequestMode& mode, const json& params) {
  size_t page = server.options().tools_page_size;
  auto cursor = params.find("cursor");
  bool has_cursor = cursor != params.end() && !cursor->is_null();
  if (page == 0 && !has_cursor) {
    return MethodReply::Ok(mode.stateless ? impl.tools_result_stateless : impl.tools_result_stateful);
  }
  size_t start = 0;
  if (has_cursor) {
    if (!cursor->is_string()) return MethodReply::Err(rpc::kInvalidParams, "Invalid params: cursor must be a string");
    try {
      start = std::stoul(cursor->get<std::string>());
    } catch (const std::exception&) {
      return MethodReply::Err(rpc::kInvalidParams, "Invalid params: unknown cursor");
    }
    if (start > impl.tool_entries.size()) return MethodReply::Err(rpc::kInvalidParams, "Invalid params: unknown cursor");
  }
  size_t end = page == 0 ? impl.tool_entries.size() : std::min(impl.tool_entries.size(), start + page);
  json result = {{"tools", json(impl.tool_entries.begin() + static_cast<long>(start),
                                impl.tool_entries.begin() + static_cast<long>(end))}};
  if (end < impl.tool_entries.size()) result["nextCursor"] = std::to_string(end);
  AddCacheHints(result, mode.stateless, 60000, "public");
  return MethodReply::Ok(std::move(result));
}

MethodReply CallTool(Server& server, Server::Impl& impl, const RequestMode& mode, const Incoming& in,
                     const json& params) {
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
  if (impl.extension && impl.extension->HasTool(name)) {
    CallEnv env = MakeEnv(server, mode, in, params);
    return FromExtension(impl.extension->CallTool(name, params, env));
  }
  // Built-in tools only report progress: the hot path builds no CallEnv (no capability copies).
  tools::CallContext ctx;
  ctx.deadline = Clock::now() + server.options().call_timeout;
  CallEnv env;
  const json& meta = MetaOf(params);
  if (auto token = meta.find("progressToken"); token != meta.end() && in.peer) {
    env.peer = in.peer;
    env.progress_token = *token;
    ctx.progress = [&env](double progress, std::optional<double> total, const std::string& message) {
      env.Progress(progress, total, message);
    };
  }
  auto result = impl.registry.Call(name, arguments, ctx);
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
                                                    (mode.stateless ? " (protocol 2026-07-28)" : ""));
}

}  // namespace

json CapabilitiesFor(const Server::Impl& impl, bool stateless) {
  json caps = {{"tools", stateless ? json::object() : json{{"listChanged", false}}}, {"logging", json::object()}};
  if (impl.extension) {
    caps["resources"] = stateless ? json::object() : json{{"subscribe", true}, {"listChanged", false}};
    caps["prompts"] = stateless ? json::object() : json{{"listChanged", false}};
    caps["completions"] = json::object();
  }
  return caps;
}

MethodReply RunMethod(Server& server, Server::Impl& impl, const RequestMode& mode, const Incoming& in,
                      const std::string& method, const json& params) {
  Extension* ext = impl.extension.get();
  if (method == "tools/call") return CallTool(server, impl, mode, in, params);
  if (method == "tools/list") return ListTools(server, impl, mode, params);
  if (mode.stateless) {
    if (method == "server/discover") return Discover(server, impl);
  } else {
    if (method == "initialize") return Initialize(server, impl, in, params);
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
  if (method.rfind("notifications/", 0) == 0) return MethodReply::Ok(nullptr);  // cancelled, roots changed...
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
    env = MakeEnv(server, mode, in, params);
    MethodReply reply = FromExtension(ext->ReadResource(params, env));
    if (!reply.error) AddCacheHints(reply.result, mode.stateless, 0, "private");
    return reply;
  }
  if (method == "prompts/list") return listed("prompts", ext->Prompts());
  if (method == "prompts/get") {
    env = MakeEnv(server, mode, in, params);
    return FromExtension(ext->GetPrompt(params, env));
  }
  if (method == "completion/complete") return FromExtension(ext->Complete(params));
  return NotFound(method, mode);
}

}  // namespace llmdesk::mcp
