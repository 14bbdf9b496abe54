// control/chat_view.cpp — progress lines for /api/chat events (see control.h, "Chat event lines"). Reads the
// JSON defensively: the events come over a socket.
#include "control/control.h"

#include "common/json_read.h"

namespace llmdesk::control {
namespace {

using Json = nlohmann::json;

std::string Dump(const Json& d, const char* key) {
  auto it = d.find(key);
  return it == d.end() ? std::string("{}") : it->dump(-1, ' ', false, Json::error_handler_t::replace);
}
std::string KindOf(const std::string& event, const Json& data) {
  std::string kind = JsonString(data, "kind");
  return kind.empty() ? event : kind;
}

}  // namespace

std::string ChatEventLine(const std::string& event, const Json& data) {
  if (!data.is_object()) return "";
  if (event == "failed") return "error: " + JsonString(data, "message");
  const std::string kind = KindOf(event, data);
  if (kind == "backend") {
    const std::string state = JsonString(data, "state"), name = JsonString(data, "backend");
    const int64_t port = JsonInt(data, "port");
    if (data.contains("warning")) return name + ": warning: " + JsonString(data, "warning");
    if (data.contains("stage")) return name + ": " + JsonString(data, "stage");
    if (state == "starting") return "starting " + name + (port ? " on port " + std::to_string(port) : "");
    if (state == "ready") return name + " is ready on port " + std::to_string(port);
    if (state == "failed") return name + " failed: " + JsonString(data, "reason");
    return "";
  }
  if (kind == "tool_call") return "calling " + JsonString(data, "tool") + " " + Dump(data, "arguments");
  if (kind == "tool_result") {
    std::string text = JsonString(data, "text");
    if (text.size() > 200) text = text.substr(0, 200) + "…";
    return JsonString(data, "tool") + (JsonBool(data, "is_error") ? " failed: " : " → ") + text + " (" +
           std::to_string(JsonInt(data, "duration_ms")) + " ms)";
  }
  if (kind == "approval_needed") return JsonString(data, "tool") + " needs approval: " + Dump(data, "arguments");
  if (kind == "cancelled") return "cancelled";
  if (kind == "error") return "error: " + JsonString(data, "text");
  if (kind == "warning") return "warning: " + JsonString(data, "text");
  return "";
}

bool ChatEventIsOngoing(const std::string& event, const Json& data) {
  if (!data.is_object()) return false;
  const std::string kind = KindOf(event, data);
  if (kind == "backend") return data.contains("stage") || JsonString(data, "state") == "starting";
  return kind == "tool_call" || kind == "approval_needed" || kind == "request_sent";
}

}  // namespace llmdesk::control
