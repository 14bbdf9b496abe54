// chat/service.h — one chat turn as every front end runs it: the model's backend (started on demand through
// the manager, with its port rules, or a remote `url:` server), the agent loop with the MCP host's tools,
// the history, and one ordered stream of typed events.
//
// Events, in order: backend (state/progress of the model's backend while it starts: "starting default on
// port 10500", "loading model", ready with the actual port), then the agent's events (request sent, tokens,
// tool calls and results, final | cancelled | error). The control API streams them as SSE (/api/chat); the
// CLI renders them; the desktop app will too.
// History: the user's message is committed before the model is asked, a streamed answer is committed as it
// grows (kill -9 keeps it, marked incomplete), every finished message at once.
// Threads: Run blocks its caller (a control-API worker or the CLI's main thread); on_event and ask are called
// from the threads the agent uses, one at a time. A ChatService may run any number of turns at once.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
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
  Result<TurnResult> Run(const TurnRequest& request, const std::function<void(const TurnEvent&)>& on_event,
                         const AskFn& ask, CancelToken& cancel);

 private:
  manager::Manager& manager_;
  ToolHost* tools_;
  net::HttpClient& http_;
  store::History* history_;
};

}  // namespace llmdesk::chat
