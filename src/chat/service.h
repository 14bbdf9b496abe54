// chat/service.h — one chat turn as every front end runs it: the model's backend (started on demand through
// the manager, with its port rules, or a remote `url:` server), the agent loop with the MCP host's tools,
// the history, and one ordered stream of typed events.
//
// Events, in order: backend (state/progress of the model's backend while it starts: "starting default on
// port 10500", "loading model", ready with the actual port), the conversation id, a warning when tools are on
// and the backend is a llama-server whose chat template cannot do tools (GET /props, read once per engine
// start — llm/props.h; the turn goes on without them), then the agent's events (request sent, tokens, tool
// calls and results, final | cancelled | error). The control API streams them as SSE (/api/chat); the
// CLI renders them; the desktop app will too.
// History: the user's message is committed before the model is asked, a streamed answer is committed as it
// grows (kill -9 keeps it, marked incomplete), every finished message at once.
// Threads: Run blocks its caller (a control-API worker or the CLI's main thread); on_event and ask are called
// from the threads the agent uses, one at a time. A ChatService may run any number of turns at once.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/agent.h"
#include "common/cancel.h"
#include "common/status.h"
#include "manager/manager.h"

namespace llmdesk::net {
class HttpClient;
}
namespace llmdesk::store {
class History;
}

namespace llmdesk::chat {

struct TurnRequest {
  std::string model;                    // a configured model name; empty = the first one
  std::string prompt;                   // the user's new message
  std::optional<int64_t> conversation;  // continue this history conversation (else a new one)
  bool use_tools = true;
  std::optional<int> max_tokens;
};

struct TurnEvent {
  enum class Kind { kBackend, kAgent, kConversation };
  Kind kind = Kind::kAgent;
  manager::Event backend;  // kBackend: a state or progress event of the model's backend
  Event agent;             // kAgent
  int64_t conversation = 0;  // kConversation: the history id this turn is saved under
};
nlohmann::json ToJson(const TurnEvent& e);
// The one-line progress text a front end shows for an event, or "" for events that are not progress
// ("starting default on port 10500", "loading model", "calling calculator {...}", "calculator -> 4 (3 ms)").
std::string ProgressLine(const TurnEvent& e);

struct TurnResult {
  Transcript transcript;
  int64_t conversation = 0;
  std::string backend_url;
};

class ChatService {
 public:
  ChatService(manager::Manager& manager, ToolHost* tools, net::HttpClient& http, store::History* history);
  // What Run would refuse before starting anything, for front ends to answer at once: an empty prompt
  // (InvalidArgument), an unknown model or a conversation the history does not hold (NotFound).
  Status Check(const TurnRequest& request);
  Result<TurnResult> Run(const TurnRequest& request, const std::function<void(const TurnEvent&)>& on_event,
                         const AskFn& ask, CancelToken& cancel);

 private:
  Result<const config::ModelConfig*> FindModel(const std::string& name) const;
  // The /props verdict for `model`'s backend, read once per engine (`engine` names the running process).
  std::optional<std::string> TemplateWarning(const std::string& model, const std::string& base_url,
                                             const std::string& engine, CancelToken& cancel);

  manager::Manager& manager_;
  ToolHost* tools_;
  struct TemplateCheck {
    std::string engine;                  // the engine start it was read from
    std::optional<std::string> warning;  // nullopt: tools should work, or the server is not a llama-server
  };
  std::mutex checks_mu_;  // guards checks_ and always_allowed_
  std::map<std::string, TemplateCheck> checks_;  // by model name
  std::map<int64_t, std::set<std::string>> always_allowed_;  // by conversation: tools answered "always"
  net::HttpClient& http_;
  store::History* history_;
};

}  // namespace llmdesk::chat
