// Gateway (contract in gateway.h): routes, /v1/models, routing, errors (the body parsing is in request.cpp).
#include "gateway/gateway.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "gateway/impl.h"
#include "manager/manager.h"

namespace llmdesk::gateway {
namespace {

using Json = nlohmann::json;

const char* TypeFor(int status) {
  switch (status) {
    case 400: case 404: case 405: case 413: case 431: return status == 404 ? "not_found_error" : "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 429: return "rate_limit_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

}  // namespace

Json ErrorBody(int status, const std::string& message, const std::string& code) {
  return {{"error", {{"message", message}, {"type", TypeFor(status)}, {"code", code}}}};
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

net::Response ErrorResponse(int status, const std::string& message, const std::string& code, const Json& extra) {
  Json body = ErrorBody(status, message, code);
  if (extra.is_object())
    for (const auto& [k, v] : extra.items()) body["error"][k] = v;
  return net::Response::Json(status, body);
}

net::Response ErrorResponse(const Status& s) {
  switch (s.code()) {
    case Status::Code::kFailedPrecondition:  // the scheduler's queue is full (Connect adds Retry-After)
      return ErrorResponse(429, s.message(), "queue_full");
    case Status::Code::kNotFound: return ErrorResponse(404, s.message(), "model_not_found");
    case Status::Code::kInvalidArgument: return ErrorResponse(400, s.message(), "invalid_request");
    case Status::Code::kTimeout: return ErrorResponse(504, s.message(), "timeout");
    case Status::Code::kCancelled: return ErrorResponse(503, s.message(), "cancelled");
    case Status::Code::kUnavailable: return ErrorResponse(503, s.message(), "model_unavailable");
    default: return ErrorResponse(502, s.message(), "upstream_error");
  }
}

std::string ErrorEvent(const std::string& message, const std::string& type, const std::string& code) {
  return "data: " + Dump({{"error", {{"message", message}, {"type", type}, {"code", code}}}}) + "\n\n";
}

Gateway::Impl::Impl(manager::Manager& m, chat::ToolHost* t, Options o)
    : manager(m), tools(t), options(o), scheduler(m, m.config().gateway.max_loaded, m.config().gateway.queue) {}

Gateway::Gateway(manager::Manager& manager, chat::ToolHost* tools, Options options)
    : impl_(std::make_unique<Impl>(manager, tools, options)) {}

Gateway::~Gateway() { Shutdown(); }

void Gateway::Shutdown() { impl_->shutdown.Cancel(); }

void Gateway::Register(net::HttpServer& server) {
  Impl* p = impl_.get();
  const auto& cors = p->manager.config().gateway.cors_origins;
  auto with_cors = [p](net::Handler handler) {
    return [p, handler = std::move(handler)](net::Request& req) {
      net::Response res = handler(req);
      if (!res.deferred()) {
        p->AllowOrigin(req, res);
        return res;
      }
      return net::Response::Defer([p, &req, work = std::move(res.defer_work())] {
        net::Response out = work();
        p->AllowOrigin(req, out);
        return out;
      });
    };
  };
  // Inline (they never block): the model list and /metrics answer even while every pool worker carries a stream.
  const net::RouteOptions v1{.inline_handler = true, .allowed_origins = cors};
  server.Route("GET", "/v1/models", with_cors([p](net::Request&) { return p->Models(""); }), v1);
  server.Route("GET", "/v1/models/{id}", with_cors([p](net::Request& req) { return p->Models(req.Param("id")); }), v1);
  // Inline: Dispatch decides on the IO thread and defers to the pool whatever may block.
  const net::RouteOptions post{.inline_handler = true, .max_body_bytes = p->options.max_body_bytes, .allowed_origins = cors};
  for (const char* route : {"chat/completions", "completions", "embeddings"})
    server.Route("POST", std::string("/v1/") + route, with_cors([p, route = std::string(route)](net::Request& req) {
      return p->Dispatch(req, route);
    }), post);
  // CORS preflights carry no credentials: public (the Host/Origin checks still apply), answered inline.
  const net::RouteOptions preflight{.inline_handler = true, .public_route = true, .allowed_origins = cors};
  for (const char* path : {"/v1/models", "/v1/models/{id}", "/v1/chat/completions", "/v1/completions", "/v1/embeddings"})
    server.Route("OPTIONS", path, [p](net::Request& req) { return p->Preflight(req); }, preflight);
  server.Route("GET", "/metrics", [p](net::Request&) {
    return net::Response::Text(200, p->metrics.Render(p->scheduler.Loads()), "text/plain; version=0.0.4; charset=utf-8");
  }, {.inline_handler = true});
}

void Gateway::Impl::AllowOrigin(const net::Request& req, net::Response& res) const {
  const std::string& origin = req.Header("Origin");
  const auto& cors = manager.config().gateway.cors_origins;
  if (origin.empty() || std::find(cors.begin(), cors.end(), origin) == cors.end()) return;
  res.SetHeader("Access-Control-Allow-Origin", origin);
  res.SetHeader("Vary", "Origin");
  res.SetHeader("Access-Control-Expose-Headers", "Retry-After, x-llmdesk-warning");
}

net::Response Gateway::Impl::Preflight(const net::Request& req) const {
  const std::string& origin = req.Header("Origin");
  const auto& cors = manager.config().gateway.cors_origins;
  if (std::find(cors.begin(), cors.end(), origin) == cors.end())
    return ErrorResponse(403, "Origin '" + Shown(origin) + "' is not in gateway.cors_origins: no cross-origin access",
                         "forbidden");
  net::Response res;
  res.status = 204;
  // The headers the page asks to send (the openai client adds its x-stainless-* ones), when they are plain
  // header names; else the usual two.
  std::string asked = req.Header("Access-Control-Request-Headers");
  const bool plain = std::all_of(asked.begin(), asked.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == ',' || c == ' ';
  });
  res.SetHeader("Access-Control-Allow-Headers", plain && !asked.empty() ? asked : "Authorization, Content-Type");
  res.SetHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  res.SetHeader("Access-Control-Max-Age", "600");
  AllowOrigin(req, res);
  return res;
}

net::Response Gateway::Impl::Models(const std::string& only) {
  Json data = Json::array();
  const auto statuses = manager.List();
  for (const auto& m : manager.config().models) {
    std::string state = "unknown";
    int port = 0;
    for (const auto& s : statuses)
      if (s.name == m.name) state = manager::ToString(s.state), port = s.port;
    Json info = {{"state", state}, {"kind", config::ToString(m.kind)}};
    if (port) info["port"] = port;
    auto entry = [&](const std::string& id, bool with_tools) {
      Json e = {{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "llmdesk"}, {"llmdesk", info}};
      e["llmdesk"]["tools"] = with_tools;
      return e;
    };
    data.push_back(entry(m.name, false));
    if (tools) data.push_back(entry(m.name + std::string(kToolsSuffix), true));
  }
  if (only.empty()) return net::Response::Json(200, {{"object", "list"}, {"data", data}});
  for (const auto& e : data)
    if (e["id"] == only) return net::Response::Json(200, e);
  std::vector<std::string> ids;
  for (const auto& e : data) ids.push_back(e["id"].get<std::string>());
  return ErrorResponse(404, "The model '" + Shown(only) + "' does not exist", "model_not_found", {{"available", ids}});
}

std::optional<Routed> Gateway::Impl::Resolve(const net::Request& req, const std::string& route, net::Response& error) {
  return ParseRequest(req.body, route, manager.config(), tools != nullptr, error);
}

std::optional<Upstream> Gateway::Impl::Connect(const Routed& r, const CancelToken* cancel, net::Response& error) {
  Upstream up;
  const config::ModelConfig& m = *r.model;
  if (m.kind == config::ModelConfig::Kind::kRemote) {
    up.base_url = m.url;
    while (!up.base_url.empty() && up.base_url.back() == '/') up.base_url.pop_back();
    up.api_key = m.api_key;
    return up;
  }
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(m.startup_timeout_s * 1000)) + options.queue_timeout;
  auto ticket = scheduler.Enter(m.name, timeout, cancel);
  if (!ticket.ok()) {
    error = ErrorResponse(ticket.status());
    if (error.status == 429) error.SetHeader("Retry-After", std::to_string(scheduler.RetryAfterSeconds(m.name)));
    return std::nullopt;
  }
  up.ticket = std::move(ticket).value();
  up.base_url = up.ticket.base_url();
  return up;
}

}  // namespace llmdesk::gateway
