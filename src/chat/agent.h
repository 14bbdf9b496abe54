// chat/agent.h — the tool-using agent loop, written once for every front end (CLI, desktop app, gateway).
//
// What it does
//   messages + tools (from a ToolHost: MCP servers) -> the model (llm::Model: OpenAI chat completions)
//   -> the tool calls it asks for run through the ToolHost, in parallel when it asks for several
//   -> results appended as `tool` messages -> again, until the model answers without tool calls.
//  - `max_tool_steps` model turns that ask for tools end a runaway loop with a clear error.
//  - A tool call with invalid JSON arguments, an unknown tool (or none named), a denied approval, a timeout
//    or a failing tool becomes an error *tool result* the model can read and correct — never a crash or an
//    abort. A huge result is cut to RunOptions::max_tool_result_bytes with a note.
//  - Approval per tool: auto, ask (the front end answers through `ask`: once / always / deny; no answer
//    counts as deny; "always" holds for the run and, through RunOptions/Transcript::always_allowed, for the
//    rest of the conversation), deny. The default comes from the tool (read-only tools: auto).
//  - Cancel at any moment through the CancelToken (common/cancel.h): the model request and running tools are cancelled
//    (the ToolHost passes it on, e.g. as MCP notifications/cancelled), and Run returns Cancelled.
//  - Every step is reported as a typed Event, in order, for front ends to render (they render only these).
//
// Threads: Run blocks the calling thread (never a UI thread: front ends call it through the control API).
// Tool calls of one model turn run on threads Run owns and joins before it returns. `on_event` and `ask`
// are called from those threads too, one at a time (serialised), and must not block for long — except
// `ask`, which may wait for a person (bounded by the tool timeout).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/cancel.h"
#include "common/status.h"
#include "llm/model.h"
#include "llm/openai.h"

namespace llmdesk::chat {

enum class Approval { kAuto, kAsk, kDeny };

struct ToolInfo {
  std::string name;          // the name the model sees (unique; "server__tool" when names collide)
  std::string server;        // MCP server it comes from
  std::string tool;          // its name on that server
  std::string description;
  nlohmann::json input_schema = nlohmann::json::object();
  Approval approval = Approval::kAuto;  // the effective policy (config, else annotations)
  std::chrono::milliseconds timeout{60000};
};

struct ToolOutcome {
  std::string text;       // what the model reads
  bool is_error = false;
  nlohmann::json raw;     // the MCP result, for front ends (may be null)
};

// Where tools live (the MCP host). Thread-safe: Call runs concurrently for parallel tool calls.
class ToolHost {
 public:
  virtual ~ToolHost() = default;
  virtual std::vector<ToolInfo> Tools() = 0;
  // Runs one tool until done, the deadline, or cancel. Tool failures are outcomes with is_error; a Status
  // is for the call not happening at all (server gone, timeout, cancelled) and is shown to the model too.
  virtual Result<ToolOutcome> Call(const ToolInfo& tool, const nlohmann::json& arguments,
                                   std::chrono::steady_clock::time_point deadline, CancelToken& cancel) = 0;
};

struct Event {
  enum class Kind {
    kRequestSent,   // a model turn begins (step = 1, 2, ...)
    kToken,         // text: a content delta
    kToolCallStarted,  // call_id, server, tool, arguments
    kApprovalNeeded,   // call_id, tool, arguments: `ask` was called
    kToolResult,    // call_id, tool, text, is_error, duration
    kFinal,         // text: the final answer
    kCancelled,
    kError,         // text: what went wrong
    kMessage,       // message: one message of the transcript is complete (for history; not shown)
    kWarning,       // text: something the user should know; the turn goes on (e.g. a template without tools)
  };
  Kind kind = Kind::kToken;
  int step = 0;
  std::string text;
  std::string call_id, server, tool;
  nlohmann::json arguments;
  bool is_error = false;
  std::chrono::milliseconds duration{0};
  const llm::Message* message = nullptr;  // kMessage only; valid during the callback
};
const char* ToString(Event::Kind kind);
nlohmann::json ToJson(const Event& e);

enum class ApprovalAnswer { kAllowOnce, kAllowAlways, kDeny, kNoAnswer /* in time: counts as deny */ };
using AskFn = std::function<ApprovalAnswer(const ToolInfo& tool, const std::string& call_id,
                                           const nlohmann::json& arguments, CancelToken& cancel)>;

struct RunOptions {
  std::string model;
  bool use_tools = true;
  int max_tool_steps = 8;
  std::optional<int> max_tokens;
  std::optional<double> temperature;
  // A tool result longer than this reaches the model (and events, and history) cut at a UTF-8 boundary,
  // with a note saying how long it was: a 10 MB result must not flood the context or the front ends.
  size_t max_tool_result_bytes = 64 * 1024;
  std::set<std::string> always_allowed;  // `ask` tools answered "always" earlier in this conversation
};

// `text` bounded to `max_bytes` (plus a truncation note saying how many bytes there were).
std::string BoundToolResult(std::string text, size_t max_bytes);

struct Transcript {
  std::vector<llm::Message> messages;  // everything added by this run (assistant turns and tool results)
  std::string answer;                  // the final answer's text
  llm::Usage usage;                    // summed over all model turns
  int steps = 0;                       // model turns
  std::set<std::string> always_allowed;  // RunOptions::always_allowed plus this run's "always" answers
};

class Agent {
 public:
  Agent(llm::Model& model, ToolHost* tools);
  // Runs the loop on `history` (which ends with the user's message). Cancelled when cancel fired;
  // FailedPrecondition when max_tool_steps ran out (the transcript so far is kept in `partial`);
  // the model's own error otherwise.
  Result<Transcript> Run(const std::vector<llm::Message>& history, const RunOptions& options,
                         const std::function<void(const Event&)>& on_event, const AskFn& ask, CancelToken& cancel,
                         Transcript* partial = nullptr);

 private:
  llm::Model& model_;
  ToolHost* tools_;
};

}  // namespace llmdesk::chat
