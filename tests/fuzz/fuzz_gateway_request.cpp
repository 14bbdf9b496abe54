// libFuzzer target: gateway::ParseRequest, which turns the body of a POST to /v1/chat/completions,
// /v1/completions or /v1/embeddings into a routed request or the 4xx that refuses it, and, for `NAME+tools`,
// MessagesFrom / OptionsFrom (the agent's conversation and options). The first input byte picks the route
// and whether a tool host exists; the rest is the body. Checked, besides no crash or sanitizer report:
// a refusal is a 4xx whose body is an OpenAI error object with a message; an accepted request names a
// configured model, goes upstream as a JSON object with that model's own name and no `llmdesk` member
// (or as the client's bytes, untouched), and never asks the agent for a negative token budget.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "gateway/request.h"

namespace {

using nlohmann::json;

const llmdesk::config::Config& FuzzConfig() {
  static const llmdesk::config::Config config = [] {
    auto loaded = llmdesk::config::LoadString(
        "models:\n  default: {model: /models/a.gguf, port: 10500}\n  phi: {model: /models/b.gguf, port: 10501}\n"
        "  remote: {url: 'http://127.0.0.1:9/v1'}\n",
        "fuzz.yaml", [](const std::string&) { return std::optional<std::string>(); });
    if (!loaded.ok()) std::abort();
    return loaded.config;
  }();
  return config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kRoutes[] = {"chat/completions", "completions", "embeddings"};
  const std::string route = kRoutes[data[0] % 3];
  const bool tool_host = (data[0] & 0x4) == 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto& config = FuzzConfig();

  llmdesk::net::Response error;
  auto routed = llmdesk::gateway::ParseRequest(body, route, config, tool_host, error);
  if (!routed) {
    if (error.status < 400 || error.status > 499) std::abort();
    json answer = json::parse(error.body, nullptr, false);
    if (!answer.is_object() || !answer.contains("error") || !answer["error"].is_object() ||
        !answer["error"].contains("message") || !answer["error"]["message"].is_string() ||
        answer["error"]["message"].get<std::string>().empty())
      std::abort();
    return 0;
  }
  if (!routed->model || config.FindModel(routed->model->name) != routed->model) std::abort();
  if (routed->tools && (!tool_host || route != "chat/completions")) std::abort();
  if (routed->body != body) {  // rewritten: the model's own name, no llmdesk member
    json upstream = json::parse(routed->body, nullptr, false);
    if (!upstream.is_object() || upstream.contains("llmdesk") || !upstream.contains("model") ||
        upstream["model"] != routed->model->name)
      std::abort();
  }
  if (routed->tools) {
    auto messages = llmdesk::gateway::MessagesFrom(routed->json);
    if (!messages.ok() && messages.status().message().empty()) std::abort();
    auto options = llmdesk::gateway::OptionsFrom(routed->json, routed->model->name, 8);
    if (options.max_tokens && *options.max_tokens < 0) std::abort();
  }
  return 0;
}
