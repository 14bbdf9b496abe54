// control/chat_view.cpp — progress lines for /api/chat events (see control.h, "Chat event lines"). Reads the
// JSON defensively: the events come over a socket.
#include "control/control.h"

namespace llmdesk::control {
namespace {

using Json = nlohmann::json;

std::string Str(const Json& d, const char* key) {
  auto it = d.find(key);
  return it != d.end() && it->is_string() ? it->get<std::string>() : std::string();
}
int64_t Int(const Json& d, const char* key) {
  auto it = d.find(key);
  return it != d.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}
bool Bool(const Json& d, const char* key) {
  auto it = d.find(key);
  return it != d.end() && it->is_boolean() && it->get<bool>();
}
std::string Dump(const Json& d, const char* key) {
  auto it = d.find(key);
  return it == d.end() ? std::string("{}") : it->dump(-1, ' ', false, Json::error_handler_t::replace);
}
std::string KindOf(const std::string& event, const Json& data) {
  std::string kind = Str(data, "kind");
  return kind.empty() ? event : kind;
}

}  // namespace

std::string ChatEventLine(const std::string& event, const Json& data) {
  if (!data.is_object()) return "";
  if (event == "failed") return "error: " + Str(data, "message");
  const std::string kind = KindOf(event, data);
  if (kind == "backend") {
    const std::string state = Str(data, "state"), name = Str(data, "backend");
    const int64_t port = Int(data, "port");
    if (data.contains("warning")) return name + ": warning: " + Str(data, "warning");
    if (data.contains("stage")) return name + ": " + Str(data, "stage");
    if (state == "starting") return "starting " + name + (port ? " on port " + std::to_string(port) : "");
    if (state == "ready") return name + " is ready on port " + std::to_string(port);
    if (state == "failed") return name + " failed: " + Str(data, "reason");
    return "";
  }
  if (kind == "tool_call") return "calling " + Str(data, "tool") + " " + Dump(data, "arguments");
  if (kind == "tool_result") {
    std::string text = Str(data, "text");
    if (text.size() > 200) text = text.substr(0, 200) + "…";
    return Str(data, "tool") + (Bool(data, "is_error") ? " failed: " : " → ") + text + " (" +
           std::to_string(Int(data, "duration_ms")) + " ms)";
  }
  if (kind == "approval_needed") return Str(data, "tool") + " needs approval: " + Dump(data, "arguments");
  if (kind == "cancelled") return "cancelled";
  if (kind == "error") return "error: " + Str(data, "text");
  if (kind == "warning") return "warning: " + Str(data, "text");
  return "";
}

bool ChatEventIsOngoing(const std::string& event, const Json& data) {
  if (!data.is_object()) return false;
  const std::string kind = KindOf(event, data);
  if (kind == "backend") return data.contains("stage") || Str(data, "state") == "starting";
  return kind == "tool_call" || kind == "approval_needed" || kind == "request_sent";
}

}  // namespace llmdesk::control
