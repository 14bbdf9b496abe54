// Gateway (contract in gateway.h): routes, /v1/models, request parsing and routing, errors.
#include "gateway/gateway.h"

#include <ctime>

#include "gateway/impl.h"
#include "manager/manager.h"

namespace llmdesk::gateway {
namespace {

using Json = nlohmann::json;
constexpr std::string_view kToolsSuffix = "+tools";

const char* TypeFor(int status) {
  switch (status) {
    case 400: case 404: case 405: case 413: case 431: return status == 404 ? "not_found_error" : "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 429: return "rate_limit_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
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
    case Status::Code::kFailedPrecondition:  // the scheduler's queue is full
      return ErrorResponse(429, s.message(), "queue_full").SetHeader("Retry-After", "1");
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
  server.Route("GET", "/v1/models", [p](net::Request&) { return p->Models(""); });
  server.Route("GET", "/v1/models/{id}", [p](net::Request& req) { return p->Models(req.Param("id")); });
  const net::RouteOptions body_limit{.max_body_bytes = p->options.max_body_bytes};
  for (const char* route : {"chat/completions", "completions", "embeddings"})
    server.Route("POST", std::string("/v1/") + route, [p, route = std::string(route)](net::Request& req) {
      return p->Handle(req, route);
    }, body_limit);
  server.Route("GET", "/metrics", [p](net::Request&) {
    return net::Response::Text(200, p->metrics.Render(p->scheduler.Loads()), "text/plain; version=0.0.4; charset=utf-8");
  });
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
  return ErrorResponse(404, "The model '" + only + "' does not exist", "model_not_found", {{"available", ids}});
}

std::optional<Routed> Gateway::Impl::Resolve(const net::Request& req, const std::string& route, net::Response& error) {
  Routed r;
  r.route = route;
  r.json = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (r.json.is_discarded() || !r.json.is_object()) {
    error = ErrorResponse(400, "the request body is not a JSON object; send e.g. {\"model\": \"default\", \"messages\": [...]}",
                          "invalid_json");
    return std::nullopt;
  }
  const auto model_it = r.json.find("model");
  if (model_it == r.json.end() || !model_it->is_string() || model_it->get_ref<const std::string&>().empty()) {
    error = ErrorResponse(400, "the request names no model: add \"model\": \"<name>\" (GET /v1/models lists them)",
                          "missing_model");
    return std::nullopt;
  }
  r.requested = model_it->get<std::string>();
  std::string name = r.requested;
  const bool suffix = EndsWith(name, kToolsSuffix);
  if (suffix) name.resize(name.size() - kToolsSuffix.size());
  const auto llmdesk = r.json.find("llmdesk");
  const bool asked = llmdesk != r.json.end() && llmdesk->is_object() && llmdesk->value("tools", Json()) == "auto";
  const auto own_tools = r.json.find("tools");
  const bool client_tools = own_tools != r.json.end() && own_tools->is_array() && !own_tools->empty();
  r.model = manager.config().FindModel(name);
  if (!r.model) {
    std::vector<std::string> ids;
    for (const auto& m : manager.config().models) ids.push_back(m.name);
    std::string list;
    for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
    error = ErrorResponse(404, "The model '" + r.requested + "' does not exist; available: " + (list.empty() ? "none" : list),
                          "model_not_found", {{"available", ids}});
    return std::nullopt;
  }
  r.tools = (suffix || asked) && !client_tools && route == "chat/completions";
  if (r.tools && !tools) {
    error = ErrorResponse(400, "tools are not available here (no tool host); use model '" + name + "'", "tools_unavailable");
    return std::nullopt;
  }
  const auto stream_it = r.json.find("stream");
  r.stream = stream_it != r.json.end() && stream_it->is_boolean() && stream_it->get<bool>();
  if (suffix || llmdesk != r.json.end()) {  // the upstream gets its own model name and no llmdesk member
    r.json["model"] = name;
    r.json.erase("llmdesk");
    r.body = Dump(r.json);
  } else {
    r.body = req.body;  // byte for byte
  }
  return r;
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
    return std::nullopt;
  }
  up.ticket = std::move(ticket).value();
  up.base_url = up.ticket.base_url();
  return up;
}

}  // namespace llmdesk::gateway
