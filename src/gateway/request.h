// gateway/request.h — a /v1 request body turned into what the gateway routes, or into the 4xx that refuses
// it: pure functions of the body and the config (no I/O, no manager), the seam the fuzz target
// tests/fuzz/fuzz_gateway_request.cpp drives with arbitrary bytes.
//
// ParseRequest refuses, each with an OpenAI-shaped error (gateway.h: ErrorBody): a body that is not a JSON
// object or nests deeper than 64 levels (400 invalid_json), no or an empty "model" (400 missing_model), a
// model the config does not name (404 model_not_found, listing the available ones), a member of the wrong
// type (400 invalid_request: stream, max_tokens, max_completion_tokens, n, llmdesk, tools, messages), tools
// asked for with no tool host (400 tools_unavailable). Never throws, whatever the bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/agent.h"
#include "common/status.h"
#include "config/config.h"
#include "llm/openai.h"
#include "net/http_server.h"

namespace llmdesk::gateway {

// The model-name suffix that runs the agent loop in the gateway ("default+tools").
inline constexpr std::string_view kToolsSuffix = "+tools";

// What a /v1 request resolved to.
struct Routed {
  const config::ModelConfig* model = nullptr;  // points into the config given to ParseRequest
  std::string requested;  // the model as the client named it ("default+tools")
  std::string route;      // "chat/completions" | "completions" | "embeddings"
  bool tools = false;     // run the agent loop here
  bool stream = false;
  nlohmann::json json;    // the parsed body
  std::string body;       // what goes upstream: the client's bytes, or the body rewritten without `llmdesk`
};

// Parses and checks the body of a POST to /v1/<route>. `tool_host`: whether `NAME+tools` can be served.
// nullopt with `error` set when the request must be refused.
std::optional<Routed> ParseRequest(std::string_view body, const std::string& route, const config::Config& config,
                                   bool tool_host, net::Response& error);

// For `NAME+tools`: the conversation of a parsed chat body (InvalidArgument when a message has no string
// role), and the agent's options from it (max_tokens / max_completion_tokens, temperature).
Result<std::vector<llm::Message>> MessagesFrom(const nlohmann::json& body);
chat::RunOptions OptionsFrom(const nlohmann::json& body, const std::string& model, int max_tool_steps);

}  // namespace llmdesk::gateway
