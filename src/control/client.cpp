// ControlClient: how the CLI (and scripts) talk to a running `llmdesk serve`.
#include <cctype>

#include <httplib.h>

#include "common/text.h"
#include "control/control.h"
#include "net/http_policy.h"

namespace llmdesk::control {
namespace {

using Json = nlohmann::json;
using Handler = std::function<bool(const std::string&, const Json&)>;

std::string ConnectHost(const std::string& host) {
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "::" || host == "[::]") return "::1";
  return host;
}

Status FromHttp(int status, const std::string& body, const std::string& what) {
  std::string message = what + ": HTTP " + std::to_string(status);
  try {
    auto j = Json::parse(body);
    if (j.contains("error") && j["error"].is_object()) message = j["error"].value("message", message);
  } catch (const Json::exception&) {
    if (!body.empty()) message += ": " + body.substr(0, 200);
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

// Incremental text/event-stream parser: feeds complete events (blank-line terminated) to the handler.
class SseParser {
 public:
  explicit SseParser(const Handler& on_data) : on_data_(on_data) {}
  // False when the handler asked to stop.
  bool Feed(const char* data, size_t n) {
    buffer_.append(data, n);
    size_t eol;
    while ((eol = buffer_.find('\n')) != std::string::npos) {
      std::string line = buffer_.substr(0, eol);
      buffer_.erase(0, eol + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) {
        if (!Dispatch()) return false;
      } else if (line.rfind("event:", 0) == 0) {
        event_ = Trim(line.substr(6));
      } else if (line.rfind("data:", 0) == 0) {
        data_ += (data_.empty() ? "" : "\n") + Trim(line.substr(5));
      }  // comments (":") and id: lines need no handling here
    }
    return true;
  }

 private:
  static std::string Trim(std::string s) { return !s.empty() && s.front() == ' ' ? s.substr(1) : s; }
  bool Dispatch() {
    if (data_.empty()) return (event_.clear(), true);
    Json j = Json::parse(data_, nullptr, /*allow_exceptions=*/false);
    std::string event = event_.empty() ? "message" : event_;
    event_.clear();
    data_.clear();
    return on_data_(event, j.is_discarded() ? Json(nullptr) : j);
  }
  const Handler& on_data_;
  std::string buffer_, event_, data_;
};

}  // namespace

ControlClient::ControlClient(const config::ListenerConfig& gateway)
    : ControlClient(gateway.host, gateway.port, gateway.token.value_or("")) {}

ControlClient::ControlClient(std::string host, int port, std::string token)
    : host_(ConnectHost(host)), port_(port), token_(std::move(token)) {}

ControlClient::~ControlClient() = default;

std::string ControlClient::url() const {
  return "http://" + (host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

Result<Json> ControlClient::Request(const std::string& method, const std::string& path) {
  httplib::Client client(host_, port_);
  net::ConfigureClient(client);
  client.set_connection_timeout(std::chrono::milliseconds(500));
  client.set_read_timeout(std::chrono::seconds(15));
  if (!token_.empty()) client.set_bearer_token_auth(token_.c_str());
  auto res = method == "POST" ? client.Post(path.c_str()) : client.Get(path.c_str());
  if (!res) {
    return Status::Unavailable("no llmdesk serve answers on " + url() + " (" + httplib::to_string(res.error()) + ")");
  }
  if (res->status < 200 || res->status >= 300) return FromHttp(res->status, res->body, method + " " + path);
  Json j = Json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::FailedPrecondition(url() + path + " did not answer JSON; is it llmdesk?");
  return j;
}

Result<Json> ControlClient::Health() {
  auto j = Request("GET", "/health");
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
Result<Json> ControlClient::Ports() { return Request("GET", "/api/ports"); }

Status ControlClient::FollowLogs(const std::string& name, size_t lines, const Handler& on_data,
                                 const std::atomic<bool>* cancel) {
  return Stream("/api/backends/" + PercentEncode(name) + "/logs?follow=1&lines=" + std::to_string(lines),
                on_data, cancel);
}

Status ControlClient::FollowEvents(const Handler& on_data, const std::atomic<bool>* cancel) {
  return Stream("/api/events", on_data, cancel);
}

Status ControlClient::Stream(const std::string& path, const Handler& on_data, const std::atomic<bool>* cancel) {
  httplib::Client client(host_, port_);
  net::ConfigureClient(client);
  client.set_connection_timeout(std::chrono::milliseconds(500));
  client.set_read_timeout(std::chrono::seconds(10));  // the server sends a comment every second
  if (!token_.empty()) client.set_bearer_token_auth(token_.c_str());
  SseParser parser(on_data);
  int status = 0;
  std::string error_body;
  bool stopped_by_us = false;
  auto res = client.Get(
      path.c_str(), httplib::Headers{{"Accept", "text/event-stream"}},
      [&](const httplib::Response& r) {
        status = r.status;
        return true;
      },
      [&](const char* data, size_t n) {
        if (status != 200) return (error_body.append(data, n), true);
        if ((cancel && cancel->load()) || !parser.Feed(data, n)) {
          stopped_by_us = true;
          return false;
        }
        return true;
      });
  if (stopped_by_us) return Status::Ok();
  if (!res) {
    if (status == 200) return Status::Ok();  // the server ended the stream (it is stopping)
    return Status::Unavailable("no llmdesk serve answers on " + url() + " (" + httplib::to_string(res.error()) + ")");
  }
  if (res->status != 200) return FromHttp(res->status, error_body.empty() ? res->body : error_body, "GET " + path);
  return Status::Ok();
}

}  // namespace llmdesk::control
