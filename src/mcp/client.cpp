// mcp::Client: initialize, session-loss retry, tools (contract in client.h). Transports: client_http.cpp,
// client_stdio.cpp.
#include "mcp/client.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/json_read.h"
#include "mcp/jsonrpc.h"

namespace llmdesk::mcp {
namespace {

using Clock = std::chrono::steady_clock;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string ResultText(const json& result) {
  std::string out;
  auto content = result.find("content");
  if (content != result.end() && content->is_array()) {
    for (const auto& block : *content) {
      if (!block.is_object()) continue;
      std::string piece;
      if (JsonString(block, "type") == "text" && block.contains("text") && block["text"].is_string())
        piece = block["text"].get<std::string>();
      else
        piece = "[" + JsonString(block, "type", "content") + "]";
      out += (out.empty() ? "" : "\n") + piece;
    }
  }
  if (out.empty() && result.contains("structuredContent")) out = Dump(result["structuredContent"]);
  return out;
}

json AnswerServerRequest(const json& request, const ServerRequestHandler& handler) {
  const json id = request.value("id", json());
  const std::string method = request.contains("method") && request["method"].is_string() ? request["method"].get<std::string>() : "";
  if (method == "ping") return ResultReply(id, json::object());
  if (!handler) return ErrorReply(id, {rpc::kMethodNotFound, "llmdesk does not offer " + method, nullptr});
  const json params = request.contains("params") && request["params"].is_object() ? request["params"] : json::object();
  auto answer = handler(method, params);
  if (answer.ok()) return ResultReply(id, std::move(answer).value());
  int code = rpc::kInternalError;
  if (answer.status().code() == Status::Code::kNotFound) code = rpc::kMethodNotFound;
  if (answer.status().code() == Status::Code::kInvalidArgument) code = rpc::kInvalidParams;
  return ErrorReply(id, {code, answer.status().message(), nullptr});
}

Client::Client(ServerSpec spec, std::unique_ptr<Transport> transport, json capabilities, bool listen)
    : spec_(std::move(spec)), transport_(std::move(transport)), capabilities_(std::move(capabilities)), listen_(listen) {}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Connect(const ServerSpec& spec, net::HttpClient* http, ClientOptions options) {
  auto make = [&](NotificationFn on_notification) -> Result<std::unique_ptr<Transport>> {
    if (!spec.url.empty()) {
      if (!http)
        return Status::InvalidArgument("MCP server '" + spec.name + "' is an HTTP server, but no HTTP client was given");
      return MakeHttpTransport(*http, spec, std::move(on_notification), options.on_request);
    }
    if (!spec.command.empty())
      return MakeStdioTransport(spec, std::move(on_notification), options.on_request, options.on_closed);
    return Status::InvalidArgument("MCP server '" + spec.name + "' has neither a command nor a url");
  };
  return ConnectOver(spec, make, options);
}

Result<std::unique_ptr<Client>> Client::ConnectOver(const ServerSpec& spec, const TransportFactory& make,
                                                    ClientOptions options) {
  // Notifications come from the server: nothing in them is trusted to have the type it should.
  auto on_notification = [name = spec.name](const json& message) {
    if (JsonString(message, "method") != "notifications/message") return;
    const json params = message.contains("params") ? message["params"] : json();
    if (params.is_object() && params.contains("data")) spdlog::info("mcp {}: {}", name, Dump(params["data"]));
  };
  auto transport = make(on_notification);
  if (!transport.ok()) return transport.status();
  json capabilities = options.capabilities.is_object() ? std::move(options.capabilities) : json::object();
  std::unique_ptr<Client> client(new Client(spec, std::move(transport).value(), std::move(capabilities), options.listen));
  if (Status s = client->Initialize(Clock::now() + spec.connect_timeout); !s.ok()) return s;
  return client;
}

Status Client::Initialize(Clock::time_point deadline) {
  std::lock_guard lock(init_mu_);
  transport_->SetSession("", "");
  json params = {{"protocolVersion", kVersionLatestStateful},
                 {"capabilities", capabilities_},
                 {"clientInfo", {{"name", "llmdesk"}, {"version", LLMDESK_VERSION}}}};
  auto reply = transport_->Request(MakeRequest(next_id_++, "initialize", params), deadline, nullptr);
  if (!reply.ok()) return reply.status();
  if (reply->contains("error"))
    return Status::Unavailable("MCP server '" + spec_.name + "' refused initialize: " + Dump((*reply)["error"]));
  const json result = reply->contains("result") ? (*reply)["result"] : json();
  const std::string version = JsonString(result, "protocolVersion");
  const auto& known = SupportedVersions();
  if (!IsStatefulVersion(version) || std::find(known.begin(), known.end(), version) == known.end())
    return Status::FailedPrecondition("MCP server '" + spec_.name + "' (" + transport_->Describe() +
                                      ") speaks protocol version '" + version + "', which llmdesk does not");
  protocol_version_ = version;
  server_info_ = result.contains("serverInfo") && result["serverInfo"].is_object() ? result["serverInfo"] : json::object();
  transport_->SetSession(transport_->ReceivedSession(), version);
  if (Status s = transport_->Notify(MakeNotification("notifications/initialized")); !s.ok()) return s;
  if (listen_) transport_->Listen();
  return Status::Ok();
}

Result<json> Client::Call(const std::string& method, json params, Clock::time_point deadline,
                          const CancelToken* cancel) {
  for (int attempt = 0;; ++attempt) {
    const int64_t id = next_id_++;
    auto reply = transport_->Request(MakeRequest(id, method, params), deadline, cancel);
    if (!reply.ok()) {
      if (reply.status().code() == Status::Code::kCancelled)
        (void)transport_->Notify(MakeNotification("notifications/cancelled",
                                                  {{"requestId", id}, {"reason", "cancelled by the user"}}));
      if (attempt == 0 && transport_->SessionLost(reply.status())) {
        spdlog::info("mcp {}: the session is gone; initializing again", spec_.name);
        if (Status s = Initialize(deadline); !s.ok()) return s;
        continue;
      }
      return reply.status();
    }
    if (auto error = reply->find("error"); error != reply->end()) {
      const std::string message = JsonString(*error, "message", Dump(*error));
      const int64_t code = JsonInt(*error, "code");
      return Status::InvalidArgument("MCP server '" + spec_.name + "' answered " + method + " with error " +
                                     std::to_string(code) + ": " + message);
    }
    auto result = reply->find("result");
    if (result == reply->end() || !result->is_object())
      return Status::Unavailable("MCP server '" + spec_.name + "' answered " + method + " without a result object");
    return *result;
  }
}

Result<std::vector<json>> Client::ListTools(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::vector<json> tools;
  json params = json::object();
  for (int page = 0; page < 100; ++page) {  // bounded: a server that pages forever is not followed forever
    auto result = Call("tools/list", params, deadline, nullptr);
    if (!result.ok()) return result.status();
    if (auto list = result->find("tools"); list != result->end() && list->is_array())
      for (const auto& t : *list)
        if (t.is_object() && t.contains("name") && t["name"].is_string()) tools.push_back(t);
    auto cursor = result->find("nextCursor");
    if (cursor == result->end() || !cursor->is_string() || cursor->get<std::string>().empty()) break;
    params = {{"cursor", *cursor}};
  }
  return tools;
}

Result<json> Client::CallTool(const std::string& name, const json& arguments, Clock::time_point deadline,
                              const CancelToken* cancel) {
  return Call("tools/call", {{"name", name}, {"arguments", arguments}}, deadline, cancel);
}

Status Client::Ping(std::chrono::milliseconds timeout) {
  auto result = Call("ping", json::object(), Clock::now() + timeout, nullptr);
  return result.ok() ? Status::Ok() : result.status();
}

}  // namespace llmdesk::mcp
