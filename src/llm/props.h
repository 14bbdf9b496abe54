// llm/props.h — what a llama-server says about itself (GET /props), read once per engine start by the chat
// service to warn when the model's chat template cannot do tools (llama.cpp then renders the prompt without
// them and the model never calls one, which otherwise looks like a model that ignores its tools).
//
// llama.cpp reports `chat_template` (the Jinja text) and, in recent versions, `chat_template_caps`
// ({"supports_tools": bool, "supports_tool_calls": bool, ...}, from rendering the template with probe
// messages). With caps, they decide; without (older versions), a template whose text never mentions
// "tool" is taken as one without tool support.
// Errors: NotFound when the server has no /props or does not answer it with a JSON object (it is not a
// llama-server: no check is possible); Unavailable when nothing answers. Threads: as net::HttpClient.
#pragma once

#include <optional>
#include <string>

#include "common/cancel.h"
#include "common/status.h"
#include "net/http_client.h"

namespace llmdesk::llm {

struct ServerProps {
  std::string chat_template;                // empty when the server sent none
  std::optional<bool> supports_tools;       // chat_template_caps.supports_tools, when reported
  std::optional<bool> supports_tool_calls;  // chat_template_caps.supports_tool_calls, when reported
};

// GET <server root>/props, where the root is `base_url` without a trailing "/v1".
Result<ServerProps> ReadServerProps(net::HttpClient& http, const std::string& base_url, const CancelToken* cancel);

// Why tools will not work with this template, or nullopt when they should (or nothing is known).
// `model` names the model in the text, e.g. "model default's chat template has no tool support; ...".
std::optional<std::string> ToolTemplateWarning(const ServerProps& props, const std::string& model);

}  // namespace llmdesk::llm
