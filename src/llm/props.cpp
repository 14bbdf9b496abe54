// GET /props of a llama-server and the tool-template check (contract in props.h).
#include "llm/props.h"

#include <nlohmann/json.hpp>

namespace llmdesk::llm {
namespace {

using Json = nlohmann::json;

std::optional<bool> Flag(const Json& caps, const char* key) {
  if (!caps.is_object()) return std::nullopt;
  auto it = caps.find(key);
  if (it == caps.end() || !it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

std::string ServerRoot(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() >= 3 && url.compare(url.size() - 3, 3, "/v1") == 0) url.resize(url.size() - 3);
  return url;
}

}  // namespace

Result<ServerProps> ReadServerProps(net::HttpClient& http, const std::string& base_url, const CancelToken* cancel) {
  net::HttpRequest request;
  request.url = ServerRoot(base_url) + "/props";
  request.headers = {{"Accept", "application/json"}};
  request.connect_timeout = std::chrono::seconds(5);
  request.timeout = std::chrono::seconds(10);
  request.max_response_bytes = 4 * 1024 * 1024;  // the template is a few KB; the rest is small
  request.cancel = cancel;
  auto res = http.Send(request);
  if (!res.ok()) return res.status();
  if (res->status != 200) return Status::NotFound(request.url + " answered HTTP " + std::to_string(res->status));
  Json body = Json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) return Status::NotFound(request.url + " did not answer a JSON object");
  ServerProps props;
  if (auto t = body.find("chat_template"); t != body.end() && t->is_string())
    props.chat_template = t->get<std::string>();
  if (auto caps = body.find("chat_template_caps"); caps != body.end()) {
    props.supports_tools = Flag(*caps, "supports_tools");
    props.supports_tool_calls = Flag(*caps, "supports_tool_calls");
  }
  return props;
}

std::optional<std::string> ToolTemplateWarning(const ServerProps& props, const std::string& model) {
  const std::string fix = " — use a model with a tool-capable template or start it with --chat-template-file";
  const bool no_calls = props.supports_tool_calls == false;
  const bool no_tools = props.supports_tools == false;
  const bool no_caps = !props.supports_tool_calls && !props.supports_tools;
  if (no_calls || (no_caps && !props.chat_template.empty() && props.chat_template.find("tool") == std::string::npos))
    return "model " + model + "'s chat template has no tool support; tools will not be called" + fix;
  if (no_tools)
    return "model " + model + "'s chat template does not describe tools (llama.cpp falls back to a generic tool "
           "prompt, so tool calls may be unreliable)" + fix;
  return std::nullopt;
}

}  // namespace llmdesk::llm
