// The tools part of the control API (routes listed in control.h): GET /api/tools lists every tool of every MCP
// server the stack's host knows (ours and external), POST /api/tools/call runs one for a person trying it.
// A tool whose policy is `deny` is refused (403): trying it is not a way around the config.
#include "control/tools_api.h"

#include <chrono>

#include "chat/agent.h"
#include "common/cancel.h"
#include "net/http_server.h"

namespace llmdesk::control {
namespace {

using Json = nlohmann::json;

const char* ApprovalName(chat::Approval a) {
  switch (a) {
    case chat::Approval::kAuto: return "auto";
    case chat::Approval::kAsk: return "ask";
    case chat::Approval::kDeny: return "deny";
  }
  return "auto";
}

}  // namespace

void RegisterToolRoutes(net::HttpServer& server, chat::ToolHost& tools) {
  server.Route("GET", "/api/tools", [&tools](net::Request&) {
    Json out = Json::array();
    for (const auto& t : tools.Tools())
      out.push_back({{"name", t.name}, {"server", t.server}, {"tool", t.tool}, {"description", t.description},
                     {"input_schema", t.input_schema}, {"approval", ApprovalName(t.approval)},
                     {"timeout_ms", t.timeout.count()}});
    return net::Response::Json(200, out);
  });

  // {name, arguments} -> {text, is_error, result (the MCP result), duration_ms}
  server.Route("POST", "/api/tools/call", [&tools](net::Request& req) {
    Json body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("name") || !body["name"].is_string())
      return net::Response::Error(400, "expected {\"name\": TOOL, \"arguments\": {...}}", "invalid_request");
    const std::string name = body["name"].get<std::string>();
    Json arguments = body.contains("arguments") ? body["arguments"] : Json::object();
    if (!arguments.is_object()) return net::Response::Error(400, "arguments must be a JSON object", "invalid_request");
    for (const auto& t : tools.Tools()) {
      if (t.name != name) continue;
      if (t.approval == chat::Approval::kDeny)
        return net::Response::Error(403, "the config denies " + name + " (chat approval: deny)", "denied");
      CancelToken cancel;
      const auto started = std::chrono::steady_clock::now();
      auto outcome = tools.Call(t, arguments, started + t.timeout, cancel);
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
      if (!outcome.ok()) return net::Response::Error(502, outcome.status().message(), "tool_unavailable");
      return net::Response::Json(200, {{"text", outcome->text}, {"is_error", outcome->is_error},
                                       {"result", outcome->raw}, {"duration_ms", ms.count()}});
    }
    return net::Response::Error(404, "no tool named " + name, "not_found");
  });
}

}  // namespace llmdesk::control
