// ControlClient: how the CLI (and scripts) talk to a running `llmdesk serve`.
#include <filesystem>

#include "common/text.h"
#include "control/control.h"
#include "net/http_client.h"
#include "net/ports.h"
#include "net/sse.h"

namespace llmdesk::control {
namespace {

using Json = nlohmann::json;
using Handler = std::function<bool(const std::string&, const Json&)>;

std::string ConnectHost(const std::string& host) {
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "::" || host == "[::]") return "::1";
  return host;
}

}  // namespace

Status StatusFromHttp(int status, const std::string& body, const std::string& what) {
  std::string message = what + ": HTTP " + std::to_string(status);
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    if (!body.empty()) message += ": " + body.substr(0, 200);
  } else if (j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("message") &&
             j["error"]["message"].is_string()) {
    message = j["error"]["message"].get<std::string>();
  }
  switch (status) {
    case 400: return Status::InvalidArgument(message);
    case 401:
    case 403: return Status::PermissionDenied(message);
    case 404: return Status::NotFound(message);
    case 409: return Status::FailedPrecondition(message);
    case 503: return Status::Unavailable(message);
    case 504: return Status::Timeout(message);
    default: return Status::Internal(message);
  }
}

Status VerifyLlmdeskListener(int port) {
  auto holder = net::FindPortHolder(port);
  if (!holder) return Status::Unavailable("nothing listens on port " + std::to_string(port));
  const std::string who = "port " + std::to_string(port) + " " + holder->Describe();
  if (!holder->pid)
    return Status::PermissionDenied(who + "; not sending it the gateway token (is llmdesk running as another user?)");
  std::error_code ec, self_ec;
  const auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(*holder->pid) + "/exe", ec);
  const auto self = std::filesystem::read_symlink("/proc/self/exe", self_ec);
  const bool ours = !ec && ((!self_ec && exe == self) || exe.filename().string().rfind("llmdesk", 0) == 0);
  if (!ours) return Status::PermissionDenied(who + ", which is not llmdesk; the gateway token is not sent to it");
  return Status::Ok();
}

ControlClient::ControlClient(const config::ListenerConfig& gateway)
    : ControlClient(gateway.host, gateway.port, gateway.token.value_or("")) {}

ControlClient::ControlClient(std::string host, int port, std::string token)
    : host_(ConnectHost(host)), port_(port), token_(std::move(token)), http_(std::make_unique<net::HttpClient>()) {}

ControlClient::~ControlClient() = default;

std::string ControlClient::url() const {
  return "http://" + (host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

Status ControlClient::VerifyPeer() {
  if (peer_verified_) return Status::Ok();
  Status s = VerifyLlmdeskListener(port_);
  if (s.code() == Status::Code::kUnavailable)
    return Status::Unavailable("no llmdesk serve answers on " + url() + " (nothing listens there)");
  if (!s.ok()) return s;
  peer_verified_ = true;
  return Status::Ok();
}

Result<std::string> ControlClient::AuthHeader() {
  if (token_.empty()) return std::string();
  if (Status s = VerifyPeer(); !s.ok()) return s;
  return "Bearer " + token_;
}

Result<Json> ControlClient::Request(const std::string& method, const std::string& path, bool with_token) {
  net::HttpRequest req;
  req.method = method;
  req.url = url() + path;
  req.connect_timeout = std::chrono::milliseconds(500);
  req.timeout = std::chrono::seconds(15);
  if (with_token) {
    auto auth = AuthHeader();
    if (!auth.ok()) return auth.status();
    if (!auth->empty()) req.headers.emplace_back("Authorization", *auth);
  }
  auto res = http_->Send(req);
  if (!res.ok()) return Status::Unavailable("no llmdesk serve answers on " + url() + " (" + res.status().message() + ")");
  if (res->status < 200 || res->status >= 300) return StatusFromHttp(res->status, res->body, method + " " + path);
  Json j = Json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::FailedPrecondition(url() + path + " did not answer JSON; is it llmdesk?");
  return j;
}

Result<Json> ControlClient::Health() {
  auto j = Request("GET", "/health", /*with_token=*/false);
  if (!j.ok()) {
    if (j.status().code() == Status::Code::kUnavailable) return j;
    return Status::FailedPrecondition("something that is not llmdesk answers on " + url() + ": " + j.status().message());
  }
  if (!j->is_object() || j->value("service", "") != "llmdesk")
    return Status::FailedPrecondition("something that is not llmdesk answers on " + url());
  return j;
}

Result<Json> ControlClient::Backends() { return Request("GET", "/api/backends"); }
Result<Json> ControlClient::Backend(const std::string& name) {
  return Request("GET", "/api/backends/" + PercentEncode(name));
}
Result<Json> ControlClient::Action(const std::string& name, const std::string& action) {
  if (action != "start" && action != "stop" && action != "restart")
    return Status::InvalidArgument("unknown action '" + action + "' (start, stop or restart)");
  return Request("POST", "/api/backends/" + PercentEncode(name) + "/" + action);
}
Result<Json> ControlClient::Logs(const std::string& name, size_t lines) {
  return Request("GET", "/api/backends/" + PercentEncode(name) + "/logs?lines=" + std::to_string(lines));
}
Result<Json> ControlClient::McpServers() { return Request("GET", "/api/mcp/servers"); }

Result<Json> ControlClient::StackStatus() { return Request("GET", "/api/stack"); }
Result<Json> ControlClient::ReloadConfig() { return Request("POST", "/api/config/reload"); }

Result<Json> ControlClient::Ports() { return Request("GET", "/api/ports"); }

Status ControlClient::FollowLogs(const std::string& name, size_t lines, const Handler& on_data,
                                 const std::atomic<bool>* cancel) {
  return Stream("GET", "/api/backends/" + PercentEncode(name) + "/logs?follow=1&lines=" + std::to_string(lines), "",
                on_data, cancel);
}

Status ControlClient::FollowEvents(const Handler& on_data, const std::atomic<bool>* cancel) {
  return Stream("GET", "/api/events", "", on_data, cancel);
}

Status ControlClient::Chat(const Json& request, const Handler& on_data, const std::atomic<bool>* cancel) {
  return Stream("POST", "/api/chat", request.dump(-1, ' ', false, Json::error_handler_t::replace), on_data, cancel);
}

Status ControlClient::Approve(const std::string& run, const std::string& call_id, const std::string& answer) {
  net::HttpRequest req;
  req.method = "POST";
  req.url = url() + "/api/chat/" + PercentEncode(run) + "/approve";
  req.headers = {{"Content-Type", "application/json"}};
  auto auth = AuthHeader();
  if (!auth.ok()) return auth.status();
  if (!auth->empty()) req.headers.emplace_back("Authorization", *auth);
  req.body = Json{{"call_id", call_id}, {"answer", answer}}.dump();
  req.timeout = std::chrono::seconds(10);
  auto res = http_->Send(req);
  if (!res.ok()) return res.status();
  if (res->status != 200) return StatusFromHttp(res->status, res->body, "POST " + req.url);
  return Status::Ok();
}

Status ControlClient::Stream(const std::string& method, const std::string& path, const std::string& body,
                             const Handler& on_data, const std::atomic<bool>* cancel) {
  net::HttpRequest req;
  req.method = method;
  req.url = url() + path;
  req.body = body;
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  auto auth = AuthHeader();
  if (!auth.ok()) return auth.status();
  if (!auth->empty()) req.headers.emplace_back("Authorization", *auth);
  req.headers.emplace_back("Accept", "text/event-stream");
  req.connect_timeout = std::chrono::milliseconds(500);
  if (cancel) req.cancelled = [cancel] { return cancel->load(); };
  net::SseParser parser;
  std::vector<net::SseEvent> events;
  int status = 0;
  std::string error_body;
  bool stopped_by_us = false;
  Status stream_error;
  Status done = http_->Stream(
      req,
      [&](int code, const net::HeaderList&) {
        status = code;
        return true;
      },
      [&](std::string_view chunk) {
        if (status != 200) return (error_body.append(chunk.substr(0, 4096)), error_body.size() < 65536);
        events.clear();
        if (Status s = parser.Feed(chunk, events); !s.ok()) {
          stream_error = s;
          return false;
        }
        for (const auto& e : events) {
          Json j = Json::parse(e.data, nullptr, /*allow_exceptions=*/false);
          if (!on_data(e.event, j.is_discarded() ? Json(nullptr) : j)) {
            stopped_by_us = true;
            return false;
          }
        }
        return true;
      });
  if (!stream_error.ok()) return Status::IoError(method + " " + path + ": " + stream_error.message());
  if (stopped_by_us || done.code() == Status::Code::kCancelled) return Status::Ok();
  if (!done.ok()) {
    if (status == 200) return Status::Ok();  // the server ended the stream (it is stopping)
    return Status::Unavailable("no llmdesk serve answers on " + url() + " (" + done.message() + ")");
  }
  if (status != 200) return StatusFromHttp(status, error_body, method + " " + path);
  return Status::Ok();
}

}  // namespace llmdesk::control
