// The agent loop (contract in agent.h): model turn, tool calls in parallel, tool results, again.
#include "chat/agent.h"

#include <set>
#include <thread>

namespace llmdesk::chat {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string Names(const std::map<std::string, ToolInfo>& tools) {
  std::string out;
  for (const auto& [name, info] : tools) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

// Emits events one at a time, whichever thread they come from.
class Reporter {
 public:
  explicit Reporter(const std::function<void(const Event&)>& on_event) : on_event_(on_event) {}
  void Emit(Event e) {
    if (!on_event_) return;
    std::lock_guard lock(mu_);
    on_event_(e);
  }

 private:
  const std::function<void(const Event&)>& on_event_;
  std::mutex mu_;
};

}  // namespace

const char* ToString(Event::Kind kind) {
  switch (kind) {
    case Event::Kind::kRequestSent: return "request_sent";
    case Event::Kind::kToken: return "token";
    case Event::Kind::kToolCallStarted: return "tool_call";
    case Event::Kind::kApprovalNeeded: return "approval_needed";
    case Event::Kind::kToolResult: return "tool_result";
    case Event::Kind::kFinal: return "final";
    case Event::Kind::kCancelled: return "cancelled";
    case Event::Kind::kError: return "error";
    case Event::Kind::kMessage: return "message";
    case Event::Kind::kWarning: return "warning";
  }
  return "unknown";
}

Json ToJson(const Event& e) {
  Json j = {{"kind", ToString(e.kind)}, {"step", e.step}};
  if (!e.text.empty() || e.kind == Event::Kind::kFinal || e.kind == Event::Kind::kToken) j["text"] = e.text;
  if (!e.call_id.empty()) j["call_id"] = e.call_id;
  if (!e.server.empty()) j["server"] = e.server;
  if (!e.tool.empty()) j["tool"] = e.tool;
  if (!e.arguments.is_null()) j["arguments"] = e.arguments;
  if (e.kind == Event::Kind::kToolResult) {
    j["is_error"] = e.is_error;
    j["duration_ms"] = e.duration.count();
  }
  return j;
}

std::string BoundToolResult(std::string text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  const size_t total = text.size();
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
  text.resize(cut);
  text.shrink_to_fit();
  text += "\n[llmdesk: the tool result was " + std::to_string(total) + " bytes; only the first " + std::to_string(cut) +
          " are shown]";
  return text;
}

Agent::Agent(llm::Model& model, ToolHost* tools) : model_(model), tools_(tools) {}

Result<Transcript> Agent::Run(const std::vector<llm::Message>& history, const RunOptions& options,
                              const std::function<void(const Event&)>& on_event, const AskFn& ask,
                              CancelToken& cancel, Transcript* partial) {
  Reporter report(on_event);
  Transcript transcript;
  std::vector<llm::Message> messages = history;
  std::map<std::string, ToolInfo> tools;
  if (options.use_tools && tools_)
    for (auto& t : tools_->Tools()) tools.emplace(t.name, std::move(t));
  std::set<std::string>& always_allowed = transcript.always_allowed;  // "allow always" answers
  always_allowed = options.always_allowed;
  std::mutex ask_mu;                     // one approval question at a time

  auto finish = [&](Status why) -> Result<Transcript> {
    if (partial) *partial = transcript;
    if (why.code() == Status::Code::kCancelled) report.Emit({.kind = Event::Kind::kCancelled, .text = why.message()});
    else report.Emit({.kind = Event::Kind::kError, .text = why.message()});
    return why;
  };

  for (int step = 1;; ++step) {
    if (cancel.cancelled()) return finish(Status::Cancelled("cancelled"));
    llm::ChatRequest request;
    request.model = options.model;
    request.messages = messages;
    for (const auto& [name, t] : tools) request.tools.push_back({t.name, t.description, t.input_schema});
    request.max_tokens = options.max_tokens;
    request.temperature = options.temperature;
    report.Emit({.kind = Event::Kind::kRequestSent, .step = step});
    auto completion = model_.Complete(
        request,
        [&](const llm::StreamAccumulator::Delta& d) {
          if (!d.content.empty()) report.Emit({.kind = Event::Kind::kToken, .step = step, .text = d.content});
        },
        &cancel);
    if (!completion.ok()) {
      if (cancel.cancelled()) return finish(Status::Cancelled("cancelled while the model was answering"));
      return finish(completion.status());
    }
    transcript.usage += completion->usage;
    transcript.steps = step;
    llm::Message reply = completion->message;
    messages.push_back(reply);
    transcript.messages.push_back(reply);
    report.Emit({.kind = Event::Kind::kMessage, .step = step, .message = &transcript.messages.back()});
    if (reply.tool_calls.empty()) {
      transcript.answer = reply.content;
      report.Emit({.kind = Event::Kind::kFinal, .step = step, .text = reply.content});
      if (partial) *partial = transcript;
      return transcript;
    }
    if (step > options.max_tool_steps)
      return finish(Status::FailedPrecondition(
          "the model asked for tools " + std::to_string(step) + " times without answering; stopped after " +
          std::to_string(options.max_tool_steps) + " tool steps (chat.max_tool_steps)"));

    // Run this turn's calls in parallel; each ends as a tool message the model can read.
    std::vector<llm::Message> results(reply.tool_calls.size());
    auto run_call = [&](size_t k) {
      const llm::ToolCall& call = reply.tool_calls[k];
      results[k] = {"tool", "", {}, call.id};
      const auto started = Clock::now();
      Json args = Json::parse(call.arguments.empty() ? "{}" : call.arguments, nullptr, /*allow_exceptions=*/false);
      auto it = tools.find(call.name);
      Event begin{.kind = Event::Kind::kToolCallStarted, .step = step, .call_id = call.id, .tool = call.name,
                  .arguments = args.is_discarded() ? Json(call.arguments) : args};
      if (it != tools.end()) begin.server = it->second.server;
      report.Emit(begin);
      ToolOutcome outcome;
      if (call.name.empty()) {
        outcome = {"error: this tool call names no function; call one of: " + Names(tools), true, nullptr};
      } else if (it == tools.end()) {
        outcome = {"error: there is no tool named '" + call.name + "'; the tools are: " + Names(tools), true, nullptr};
      } else if (args.is_discarded() || !args.is_object()) {
        outcome = {"error: the arguments of " + call.name + " must be a JSON object; got: " + call.arguments.substr(0, 500),
                   true, nullptr};
      } else {
        const ToolInfo& tool = it->second;
        bool allowed = tool.approval == Approval::kAuto;
        std::string refusal = "error: the user's settings do not allow " + tool.name + " to run";
        if (tool.approval == Approval::kAsk) {
          std::lock_guard asking(ask_mu);
          if (always_allowed.count(tool.name)) {
            allowed = true;
          } else if (ask) {
            report.Emit({.kind = Event::Kind::kApprovalNeeded, .step = step, .call_id = call.id,
                         .server = tool.server, .tool = tool.name, .arguments = args});
            ApprovalAnswer answer = ask(tool, call.id, args, cancel);
            allowed = answer == ApprovalAnswer::kAllowOnce || answer == ApprovalAnswer::kAllowAlways;
            if (answer == ApprovalAnswer::kAllowAlways) always_allowed.insert(tool.name);
            refusal = answer == ApprovalAnswer::kNoAnswer
                          ? "error: nobody approved this call of " + tool.name + " in time, so it did not run"
                          : "error: the user denied this call of " + tool.name;
          }
        }
        if (!allowed) {
          outcome = {refusal, true, nullptr};
        } else {
          auto done = tools_->Call(tool, args, Clock::now() + tool.timeout, cancel);
          outcome = done.ok() ? *done : ToolOutcome{"error: " + done.status().message(), true, nullptr};
        }
      }
      outcome.text = BoundToolResult(std::move(outcome.text), options.max_tool_result_bytes);
      outcome.raw = nullptr;  // the MCP result may be as large; nobody reads it past this point
      results[k].content = outcome.text;
      report.Emit({.kind = Event::Kind::kToolResult, .step = step, .text = outcome.text, .call_id = call.id,
                   .server = begin.server, .tool = call.name, .is_error = outcome.is_error,
                   .duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started)});
    };
    if (reply.tool_calls.size() == 1) {
      run_call(0);
    } else {
      std::vector<std::thread> threads;
      for (size_t k = 0; k < reply.tool_calls.size(); ++k) threads.emplace_back(run_call, k);
      for (auto& t : threads) t.join();
    }
    for (auto& r : results) {
      messages.push_back(r);
      transcript.messages.push_back(std::move(r));
      report.Emit({.kind = Event::Kind::kMessage, .step = step, .message = &transcript.messages.back()});
    }
  }
}

}  // namespace llmdesk::chat
