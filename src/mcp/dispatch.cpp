// The JSON-RPC envelope: request validation, protocol-version selection (stateful handshake vs
// stateless per-request _meta), error replies and their HTTP statuses, batches.
#include <spdlog/spdlog.h>

#include "mcp/server_impl.h"

namespace llmdesk::mcp {

Server::Server(const tools::Registry& registry, std::unique_ptr<Extension> extension, ServerOptions options)
    : state_(std::make_unique<detail::ServerState>(registry, std::move(extension), std::move(options))) {
  state_->Tools();  // built once up front, so the first tools/list does not pay for it
}

Server::~Server() = default;

SessionTable& Server::sessions() { return state_->sessions; }
const ServerOptions& Server::options() const { return state_->options; }

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
std::optional<Outcome> CheckParamHeaders(const detail::ToolCache& tools, const Incoming& in, const json& id,
                                         const json& params) {
  auto name = params.find("name");
  if (name == params.end() || !name->is_string()) return std::nullopt;
  auto tool = tools.header_params.find(name->get_ref<const std::string&>());
  if (tool == tools.header_params.end()) return std::nullopt;
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
    if (in.http && method == "tools/call") {
      auto tools = state_->Tools();
      if (!tools->header_params.empty()) {
        if (auto rejected = CheckParamHeaders(*tools, in, id, params)) return std::move(*rejected);
      }
    }
  } else {
    if (in.http && !in.session && !initialize && has_id) {
      return Fail(id, 400, rpc::kSessionRequired,
                  std::string("Bad Request: no Mcp-Session-Id header; send initialize first (or use protocol ") +
                      kVersionStateless + " with _meta)");
    }
    mode.version = in.session ? in.session->protocol_version : kVersionLatestStateful;
  }
  if (!params.is_object()) {
    if (!has_id) return {std::nullopt, 202, nullptr};
    return Fail(id, StatusFor(mode, {rpc::kInvalidParams, {}, nullptr}), rpc::kInvalidParams,
                "Invalid params: \"params\" must be an object");
  }

  mode.id = id;
  MethodReply reply;
  try {
    reply = RunMethod(*state_, mode, in, method, params);
  } catch (const std::exception& e) {
    spdlog::error("mcp: {} failed: {}", method, e.what());
    reply = MethodReply::Err(rpc::kInternalError, std::string("Internal error: ") + e.what());
  }
  if (!has_id) return {std::nullopt, 202, nullptr};  // notifications get no answer
  if (reply.error) {
    int status = reply.http_status ? reply.http_status : StatusFor(mode, *reply.error);
    return {ErrorReply(id, *reply.error), status, nullptr};
  }
  if (mode.stateless && reply.result.is_object() && !reply.result.contains("resultType")) {
    reply.result["resultType"] = "complete";
  }
  return {ResultReply(std::move(id), std::move(reply.result)), 200, std::move(reply.new_session)};
}

std::optional<std::string> Server::Handle(std::string_view text, Incoming& context) {
  if (auto error = ParseWire(text, context.message)) return DumpWire(ErrorReply(nullptr, *error));
  if (context.message.is_array()) {
    bool allowed = context.session && context.session->protocol_version == kVersionWithBatches;
    if (!allowed || context.message.empty()) {
      return DumpWire(ErrorReply(nullptr, {rpc::kInvalidRequest,
                                           std::string("Invalid Request: JSON-RPC batches are only accepted "
                                                       "from protocol ") +
                                               kVersionWithBatches + " sessions, and must not be empty",
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
  return state_->extension && name != params->end() && name->is_string() &&
         state_->extension->ToolStreams(name->get_ref<const std::string&>());
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
  if (state_->extension && state_->extension->HasTool(tool_name)) return true;
  auto tool = state_->registry.Find(tool_name);
  if (!tool) return false;  // unknown tool: -32602 at once
  auto open_world = tool->annotations.find("openWorldHint");
  return open_world == tool->annotations.end() || !open_world->is_boolean() || open_world->get<bool>();
}

bool Server::DeliverClientReply(const json& reply, const Session* session) {
  return state_->DeliverClientReply(reply, session);
}

}  // namespace llmdesk::mcp
