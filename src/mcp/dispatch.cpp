// The JSON-RPC envelope: parsing, request validation, protocol-version selection (stateful handshake vs
// stateless per-request _meta), error replies and their HTTP statuses, batches, server->client asks.
#include <array>

#include <spdlog/spdlog.h>

#include "mcp/server_impl.h"

namespace llmdesk::mcp {

const std::vector<std::string>& SupportedVersions() {
  static const std::vector<std::string> kVersions = {kVersionStateless, "2025-11-25", "2025-06-18", "2025-03-26"};
  return kVersions;
}

bool IsStatefulVersion(std::string_view v) {
  return v == "2025-11-25" || v == "2025-06-18" || v == "2025-03-26";
}

int LogLevelIndex(std::string_view level) {
  static constexpr std::array<std::string_view, 8> kLevels = {"debug", "info",     "notice", "warning",
                                                              "error", "critical", "alert",  "emergency"};
  for (size_t i = 0; i < kLevels.size(); ++i) {
    if (kLevels[i] == level) return static_cast<int>(i);
  }
  return -1;
}

json ErrorReply(const json& id, const RpcError& error) {
  json err = {{"code", error.code}, {"message", error.message}};
  if (!error.data.is_null()) err["data"] = error.data;
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(err)}};
}

std::string DumpWire(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::optional<RpcError> ParseWire(std::string_view text, json& out) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return RpcError{rpc::kParseError, "Parse error: JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                                              " levels is not accepted", nullptr};
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  try {
    out = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e999
    return RpcError{rpc::kParseError, std::string("Parse error: ") + e.what(), nullptr};
  }
  return std::nullopt;
}

void CallEnv::Log(const std::string& level, const json& data) const {
  if (!peer || log_level == -2) return;
  int index = LogLevelIndex(level);
  if (log_level >= 0 && index < log_level) return;
  peer->Send({{"jsonrpc", "2.0"},
              {"method", "notifications/message"},
              {"params", {{"level", level}, {"logger", "llmdesk"}, {"data", data}}}});
}

void CallEnv::Progress(double progress, std::optional<double> total, const std::string& message) const {
  if (!peer || progress_token.is_null()) return;
  json params = {{"progressToken", progress_token}, {"progress", progress}};
  if (total) params["total"] = *total;
  if (!message.empty()) params["message"] = message;
  peer->Send({{"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", std::move(params)}});
}

Server::Server(const tools::Registry& registry, std::unique_ptr<Extension> extension, ServerOptions options)
    : impl_(std::make_unique<Impl>(registry, std::move(extension))),
      sessions_(options.max_sessions, options.session_idle_ttl),
      options_(std::move(options)) {
  for (const tools::Tool* tool : registry.List()) impl_->tool_entries.push_back(tool->Describe());
  if (impl_->extension) {
    for (const auto& entry : impl_->extension->Tools()) impl_->tool_entries.push_back(entry);
  }
  for (const auto& entry : impl_->tool_entries) {
    const json& props = entry["inputSchema"].value("properties", json::object());
    for (const auto& [arg, schema] : props.items()) {
      if (schema.is_object() && schema.contains("x-mcp-header") && schema["x-mcp-header"].is_string()) {
        impl_->header_params[entry["name"].get<std::string>()].emplace_back(arg, schema["x-mcp-header"].get<std::string>());
      }
    }
  }
  impl_->tools_result_stateful = {{"tools", impl_->tool_entries}};
  impl_->tools_result_stateless = impl_->tools_result_stateful;
  impl_->tools_result_stateless["resultType"] = "complete";
  impl_->tools_result_stateless["ttlMs"] = 60000;
  impl_->tools_result_stateless["cacheScope"] = "public";
}

Server::~Server() = default;

namespace {

int StatusFor(const RequestMode& mode, const RpcError& e) {
  if (e.code == rpc::kParseError || e.code == rpc::kInvalidRequest) return 400;
  if (!mode.stateless) return 200;
  if (e.code == rpc::kMethodNotFound) return 404;  // 2026-07-28: unknown/removed methods are 404 on HTTP
  if (e.code == rpc::kInternalError) return 500;
  return 400;
}

Outcome Fail(const json& id, int http_status, int code, std::string message, json data = nullptr) {
  return {ErrorReply(id, {code, std::move(message), std::move(data)}), http_status, nullptr};
}

// The name-shaped body field mirrored by the Mcp-Name header.
std::optional<std::string> NameField(const std::string& method, const json& params) {
  const char* key = method == "resources/read" ? "uri"
                    : (method == "tools/call" || method == "prompts/get") ? "name"
                                                                          : nullptr;
  if (!key || !params.is_object()) return std::nullopt;
  auto it = params.find(key);
  if (it == params.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// Checks a 2026-07-28 request's _meta and headers; an Outcome when it must be rejected.
std::optional<Outcome> CheckStateless(const Incoming& in, const json& id, const std::string& method,
                                      const json& params, RequestMode& mode) {
  const json* meta = nullptr;
  if (params.is_object()) {
    auto it = params.find("_meta");
    if (it != params.end() && it->is_object()) meta = &*it;
  }
  if (in.http && !in.header_version) {
    return Fail(id, 400, rpc::kHeaderMismatch, "Missing MCP-Protocol-Version header");
  }
  if (!meta || !meta->contains(kMetaProtocolVersion) || !meta->contains(kMetaClientCapabilities)) {
    return Fail(id, 400, rpc::kInvalidParams,
                std::string("Invalid params: stateless requests need _meta with \"") + kMetaProtocolVersion +
                    "\" and \"" + kMetaClientCapabilities + "\"");
  }
  const json& v = (*meta)[kMetaProtocolVersion];
  std::string requested = v.is_string() ? v.get<std::string>() : v.dump();
  if (in.http && requested != *in.header_version) {
    return Fail(id, 400, rpc::kHeaderMismatch,
                "MCP-Protocol-Version header '" + *in.header_version + "' does not match _meta protocol version '" +
                    requested + "'");
  }
  if (requested != kVersionStateless) {
    return Fail(id, 400, rpc::kUnsupportedVersion, "Unsupported protocol version '" + requested + "'",
                {{"supported", SupportedVersions()}, {"requested", requested}});
  }
  if (!(*meta)[kMetaClientCapabilities].is_object()) {
    return Fail(id, 400, rpc::kInvalidParams, std::string("Invalid params: ") + kMetaClientCapabilities +
                                                  " must be an object");
  }
  if (in.http) {
    if (!in.header_method || *in.header_method != method) {
      return Fail(id, 400, rpc::kHeaderMismatch,
                  "Mcp-Method header '" + in.header_method.value_or("") + "' does not match method '" + method + "'");
    }
    auto name = NameField(method, params);
    if (name && (!in.header_name || *in.header_name != *name)) {
      return Fail(id, 400, rpc::kHeaderMismatch,
                  "Mcp-Name header '" + in.header_name.value_or("") + "' does not match '" + *name + "'");
    }
  }
  mode.stateless = true;
  mode.version = requested;
  return std::nullopt;
}

// SEP-2243 header values: literal, or "=?base64?<strict base64>?=".
std::optional<std::string> DecodeHeaderValue(const std::string& value) {
  const std::string prefix = "=?base64?", suffix = "?=";
  if (value.size() < prefix.size() + suffix.size() || value.rfind(prefix, 0) != 0 ||
      value.compare(value.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return value;
  }
  std::string_view b64(value.data() + prefix.size(), value.size() - prefix.size() - suffix.size());
  if (b64.size() % 4 != 0) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  for (size_t i = 0; i < b64.size(); ++i) {
    char c = b64[i];
    int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '+' ? 62 : c == '/' ? 63 : -1;
    if (c == '=') {
      if (i + 2 < b64.size()) return std::nullopt;  // padding only in the last two places
      ++padding;
      continue;
    }
    if (v < 0 || padding > 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// Arguments a tool mirrors into Mcp-Param-* headers must arrive in both places and agree.
std::optional<Outcome> CheckParamHeaders(const Server::Impl& impl, const Incoming& in, const json& id,
                                         const json& params) {
  auto name = params.find("name");
  if (name == params.end() || !name->is_string()) return std::nullopt;
  auto tool = impl.header_params.find(name->get_ref<const std::string&>());
  if (tool == impl.header_params.end()) return std::nullopt;
  const json& args = params.value("arguments", json::object());
  for (const auto& [arg, header] : tool->second) {
    const std::string* sent = nullptr;
    for (const auto& [h, v] : in.param_headers) {
      if (IEquals(h, header)) sent = &v;
    }
    bool in_body = args.is_object() && args.contains(arg) && !args[arg].is_null();
    if (!sent && !in_body) continue;
    if (!sent) return Fail(id, 400, rpc::kHeaderMismatch, "Missing Mcp-Param-" + header + " header for argument '" + arg + "'");
    auto decoded = DecodeHeaderValue(*sent);
    if (!decoded) return Fail(id, 400, rpc::kHeaderMismatch, "Mcp-Param-" + header + " is not valid =?base64?...?= text");
    const json& value = in_body ? args[arg] : json();
    std::string expected = value.is_string() ? value.get<std::string>() : value.dump();
    if (!in_body || *decoded != expected) {
      return Fail(id, 400, rpc::kHeaderMismatch, "Mcp-Param-" + header + " does not match argument '" + arg + "'");
    }
  }
  return std::nullopt;
}

bool WantsStateless(const Incoming& in, const json& params) {
  if (in.session) return false;
  if (params.is_object()) {
    auto it = params.find("_meta");
    if (it != params.end() && it->is_object() && it->contains(kMetaProtocolVersion)) return true;
  }
  return in.header_version && !IsStatefulVersion(*in.header_version);
}

}  // namespace

Outcome Server::Dispatch(const Incoming& in) {
  const json& msg = in.message;
  if (!msg.is_object()) return Fail(nullptr, 400, rpc::kInvalidRequest, "Invalid Request: expected a JSON object");
  json id = nullptr;
  auto id_it = msg.find("id");
  bool has_id = id_it != msg.end();
  if (has_id) {
    if (!id_it->is_string() && !id_it->is_number_integer()) {
      return Fail(nullptr, 400, rpc::kInvalidRequest, "Invalid Request: id must be a string or an integer");
    }
    id = *id_it;
  }
  auto jsonrpc = msg.find("jsonrpc");
  if (jsonrpc == msg.end() || *jsonrpc != "2.0") {
    return Fail(id, 400, rpc::kInvalidRequest, "Invalid Request: \"jsonrpc\" must be \"2.0\"");
  }
  auto method_it = msg.find("method");
  if (method_it == msg.end()) {
    if (has_id && (msg.contains("result") || msg.contains("error"))) {
      DeliverClientReply(msg, in.session.get());
      return {std::nullopt, 202, nullptr};
    }
    return Fail(id, 400, rpc::kInvalidRequest, "Invalid Request: no \"method\"");
  }
  if (!method_it->is_string()) return Fail(id, 400, rpc::kInvalidRequest, "Invalid Request: method must be a string");
  const std::string& method = method_it->get_ref<const std::string&>();
  static const json kNoParams = json::object();
  auto params_it = msg.find("params");
  const json& params = params_it == msg.end() ? kNoParams : *params_it;

  RequestMode mode;
  bool initialize = method == "initialize";
  if (WantsStateless(in, params)) {
    if (auto rejected = CheckStateless(in, id, method, params, mode)) {
      if (!has_id) return {std::nullopt, 202, nullptr};
      return std::move(*rejected);
    }
    if (in.http && method == "tools/call" && !impl_->header_params.empty()) {
      if (auto rejected = CheckParamHeaders(*impl_, in, id, params)) return std::move(*rejected);
    }
  } else {
    if (in.http && !in.session && !initialize && has_id) {
      return Fail(id, 400, rpc::kSessionRequired,
                  "Bad Request: no Mcp-Session-Id header; send initialize first (or use protocol 2026-07-28 "
                  "with _meta)");
    }
    mode.version = in.session ? in.session->protocol_version : kVersionLatestStateful;
  }
  if (!params.is_object()) {
    if (!has_id) return {std::nullopt, 202, nullptr};
    return Fail(id, StatusFor(mode, {rpc::kInvalidParams, {}, nullptr}), rpc::kInvalidParams,
                "Invalid params: \"params\" must be an object");
  }

  MethodReply reply;
  try {
    reply = RunMethod(*this, *impl_, mode, in, method, params);
  } catch (const std::exception& e) {
    spdlog::error("mcp: {} failed: {}", method, e.what());
    reply = MethodReply::Err(rpc::kInternalError, std::string("Internal error: ") + e.what());
  }
  if (!has_id) return {std::nullopt, 202, nullptr};  // notifications get no answer
  if (reply.error) return {ErrorReply(id, *reply.error), StatusFor(mode, *reply.error), nullptr};
  if (mode.stateless && reply.result.is_object() && !reply.result.contains("resultType")) {
    reply.result["resultType"] = "complete";
  }
  return {json{{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"result", std::move(reply.result)}}, 200,
          std::move(reply.new_session)};
}

std::optional<std::string> Server::Handle(std::string_view text, Incoming& context) {
  if (auto error = ParseWire(text, context.message)) return DumpWire(ErrorReply(nullptr, *error));
  if (context.message.is_array()) {
    bool allowed = context.session && context.session->protocol_version == "2025-03-26";
    if (!allowed || context.message.empty()) {
      return DumpWire(ErrorReply(nullptr, {rpc::kInvalidRequest,
                                           "Invalid Request: JSON-RPC batches are only accepted from protocol "
                                           "2025-03-26 sessions, and must not be empty",
                                           nullptr}));
    }
    json replies = json::array();
    json batch = std::move(context.message);
    for (auto& element : batch) {
      context.message = std::move(element);
      Outcome out = Dispatch(context);
      if (out.reply) replies.push_back(std::move(*out.reply));
    }
    if (replies.empty()) return std::nullopt;
    return DumpWire(replies);
  }
  Outcome out = Dispatch(context);
  if (out.new_session) context.session = out.new_session;
  if (!out.reply) return std::nullopt;
  return DumpWire(*out.reply);
}

bool Server::MayStream(const json& message, const Session* /*session*/) const {
  if (!message.is_object()) return false;
  auto method = message.find("method");
  if (method == message.end() || *method != "tools/call") return false;
  auto params = message.find("params");
  if (params == message.end() || !params->is_object()) return false;
  auto meta = params->find("_meta");
  if (meta != params->end() && meta->is_object() && meta->contains("progressToken")) return true;
  auto name = params->find("name");
  return impl_->extension && name != params->end() && name->is_string() &&
         impl_->extension->ToolStreams(name->get_ref<const std::string&>());
}

bool Server::MayBlock(const json& message) const {
  if (!message.is_object()) return true;
  auto method = message.find("method");
  if (method == message.end() || *method != "tools/call") return true;
  auto params = message.find("params");
  if (params == message.end() || !params->is_object()) return false;  // answered with an error at once
  auto name = params->find("name");
  if (name == params->end() || !name->is_string()) return false;
  const std::string& tool_name = name->get_ref<const std::string&>();
  if (impl_->extension && impl_->extension->HasTool(tool_name)) return true;
  const tools::Tool* tool = impl_->registry.Find(tool_name);
  if (!tool) return false;  // unknown tool: -32602 at once
  auto open_world = tool->annotations.find("openWorldHint");
  return open_world == tool->annotations.end() || !open_world->is_boolean() || open_world->get<bool>();
}

std::shared_ptr<Server::Pending> Server::RegisterAsk(json& request, const Session* session) {
  auto pending = std::make_shared<Pending>();
  pending->session_id = session ? session->id : "";
  std::string id = "llmdesk-ask-" + std::to_string(impl_->next_ask++);
  request["id"] = id;
  std::lock_guard lock(impl_->pending_mu);
  impl_->pending[id] = pending;
  return pending;
}

Result<json> Server::WaitAsk(const std::shared_ptr<Pending>& pending, Clock::time_point deadline) {
  std::optional<json> reply;
  {
    std::unique_lock lock(pending->mu);
    pending->cv.wait_until(lock, deadline, [&] { return pending->reply.has_value(); });
    reply = std::move(pending->reply);
  }
  {
    std::lock_guard lock(impl_->pending_mu);
    for (auto it = impl_->pending.begin(); it != impl_->pending.end(); ++it) {
      if (it->second == pending) {
        impl_->pending.erase(it);
        break;
      }
    }
  }
  if (!reply) return Status::Timeout("the client did not answer in time");
  if (reply->contains("error")) {
    return Status::Unavailable("the client answered with an error: " + DumpWire((*reply)["error"]));
  }
  return reply->value("result", json::object());
}

bool Server::DeliverClientReply(const json& reply, const Session* session) {
  auto id = reply.find("id");
  if (id == reply.end() || !id->is_string()) return false;
  std::shared_ptr<Pending> pending;
  {
    std::lock_guard lock(impl_->pending_mu);
    auto it = impl_->pending.find(id->get_ref<const std::string&>());
    if (it == impl_->pending.end()) return false;
    if (it->second->session_id != (session ? session->id : "")) return false;  // not this client's question
    pending = it->second;
  }
  std::lock_guard lock(pending->mu);
  pending->reply = reply;
  pending->cv.notify_all();
  return true;
}

}  // namespace llmdesk::mcp
