// ChatService (contract in service.h): backend on demand, agent loop, history, one event stream.
#include "chat/service.h"

#include <fmt/format.h>

#include <atomic>
#include <map>

#include "llm/client.h"
#include "llm/props.h"
#include "net/http_client.h"
#include "store/history.h"

namespace llmdesk::chat {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
constexpr auto kPartialSaveEvery = std::chrono::milliseconds(100);

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Saves the turn as it happens (see service.h): partial answers as they grow, messages when complete.
class Recorder {
 public:
  Recorder(store::History* history, int64_t conversation) : history_(history), conversation_(conversation) {}

  void OnAgentEvent(const Event& e) {
    if (!history_) return;
    switch (e.kind) {
      case Event::Kind::kToken:
        if (!streaming_) {
          auto id = history_->BeginMessage(conversation_, "assistant");
          if (!id.ok()) return;
          streaming_ = *id;
          text_.clear();
        }
        text_ += e.text;
        if (Clock::now() - last_save_ >= kPartialSaveEvery) {
          (void)history_->UpdateMessage(streaming_, text_);
          last_save_ = Clock::now();
        }
        return;
      case Event::Kind::kToolCallStarted:
        servers_[e.call_id] = e.server;
        return;
      case Event::Kind::kToolResult:
        (void)history_->RecordToolResult(last_assistant_, e.call_id, e.text, e.is_error, e.duration.count());
        return;
      case Event::Kind::kMessage:
        if (e.message) Save(*e.message);
        return;
      case Event::Kind::kCancelled:
      case Event::Kind::kError:
        if (streaming_) {
          store::MessageRecord partial{.role = "assistant", .content = text_,
                                       .status = store::MessageRecord::Status::kIncomplete,
                                       .meta = {{"error", e.text}}};
          (void)history_->FinishMessage(streaming_, partial);
          streaming_ = 0;
        }
        return;
      default:
        return;
    }
  }

 private:
  void Save(const llm::Message& m) {
    store::MessageRecord r{.role = m.role, .content = m.content, .tool_call_id = m.tool_call_id};
    for (const auto& c : m.tool_calls) {
      Json args = Json::parse(c.arguments, nullptr, /*allow_exceptions=*/false);
      r.tool_calls.push_back({c.id, servers_[c.id], c.name, args.is_discarded() ? Json(c.arguments) : args,
                              std::nullopt, false, 0});
    }
    if (m.role == "assistant" && streaming_) {
      (void)history_->FinishMessage(streaming_, r);
      last_assistant_ = streaming_;
      streaming_ = 0;
      return;
    }
    auto id = history_->AppendMessage(conversation_, r);
    if (id.ok() && m.role == "assistant") last_assistant_ = *id;
  }

  store::History* history_;
  int64_t conversation_;
  int64_t streaming_ = 0, last_assistant_ = 0;
  std::string text_;
  Clock::time_point last_save_{};
  std::map<std::string, std::string> servers_;  // call id -> MCP server
};

std::vector<llm::Message> FromHistory(const store::Conversation& c) {
  std::vector<llm::Message> out;
  for (const auto& m : c.messages) {
    llm::Message msg{m.role, m.content, {}, m.tool_call_id};
    for (const auto& t : m.tool_calls)
      msg.tool_calls.push_back({t.call_id, t.tool, t.arguments.is_string() ? t.arguments.get<std::string>() : Dump(t.arguments)});
    out.push_back(std::move(msg));
  }
  return out;
}

}  // namespace

Json ToJson(const TurnEvent& e) {
  switch (e.kind) {
    case TurnEvent::Kind::kBackend: {
      const auto& b = e.backend;
      Json j = {{"kind", "backend"}, {"backend", b.backend}, {"state", manager::ToString(b.new_state)},
                {"port", b.port}, {"reason", b.reason}};
      if (b.kind == manager::Event::Kind::kProgress) j["stage"] = b.stage, j["progress"] = b.progress;
      if (b.kind == manager::Event::Kind::kWarning) j["warning"] = b.reason;  // e.g. no tool support
      return j;
    }
    case TurnEvent::Kind::kConversation:
      return {{"kind", "conversation"}, {"conversation", e.conversation}};
    case TurnEvent::Kind::kAgent:
      break;
  }
  return ToJson(e.agent);
}

std::string ProgressLine(const TurnEvent& e) {
  if (e.kind == TurnEvent::Kind::kBackend) {
    const auto& b = e.backend;
    if (b.kind == manager::Event::Kind::kProgress) return b.backend + ": " + b.stage;
    switch (b.new_state) {
      case manager::State::kStarting: return "starting " + b.backend + (b.port ? " on port " + std::to_string(b.port) : "");
      case manager::State::kReady: return b.backend + " is ready on port " + std::to_string(b.port);
      case manager::State::kFailed: return b.backend + " failed: " + b.reason;
      default: return "";
    }
  }
  if (e.kind != TurnEvent::Kind::kAgent) return "";
  const Event& a = e.agent;
  switch (a.kind) {
    case Event::Kind::kToolCallStarted: return "calling " + a.tool + " " + Dump(a.arguments);
    case Event::Kind::kApprovalNeeded: return a.tool + " needs your approval: " + Dump(a.arguments);
    case Event::Kind::kToolResult:
      return fmt::format("{} {} {} ({} ms)", a.tool, a.is_error ? "failed:" : "->", a.text.substr(0, 200), a.duration.count());
    case Event::Kind::kCancelled: return "cancelled";
    case Event::Kind::kError: return "error: " + a.text;
    case Event::Kind::kWarning: return "warning: " + a.text;
    default: return "";
  }
}

std::optional<std::string> ChatService::TemplateWarning(const std::string& model, const std::string& base_url,
                                                        const std::string& engine, CancelToken& cancel) {
  {
    std::lock_guard lock(checks_mu_);
    auto it = checks_.find(model);
    if (it != checks_.end() && it->second.engine == engine) return it->second.warning;
  }
  auto props = llm::ReadServerProps(http_, base_url, &cancel);
  if (!props.ok() && props.status().code() != Status::Code::kNotFound) return std::nullopt;  // ask again next time
  TemplateCheck check{engine, props.ok() ? llm::ToolTemplateWarning(*props, model) : std::nullopt};
  std::lock_guard lock(checks_mu_);
  checks_[model] = check;
  return check.warning;
}

Result<const config::ModelConfig*> ChatService::FindModel(const std::string& name) const {
  const auto& models = manager_.config().models;
  if (models.empty()) return Status::NotFound("the config names no model to chat with");
  const config::ModelConfig* model = name.empty() ? &models.front() : manager_.config().FindModel(name);
  if (model) return model;
  std::string names;
  for (const auto& m : models) names += (names.empty() ? "" : ", ") + m.name;
  return Status::NotFound("no model named '" + name + "' (configured: " + names + ")");
}

Status ChatService::Check(const TurnRequest& request) {
  if (request.prompt.empty()) return Status::InvalidArgument("the prompt is empty");
  if (auto model = FindModel(request.model); !model.ok()) return model.status();
  if (request.conversation) {
    if (!history_)
      return Status::FailedPrecondition("this llmdesk keeps no history, so it cannot continue a conversation");
    if (auto c = history_->Get(*request.conversation); !c.ok()) return c.status();
  }
  return Status::Ok();
}

ChatService::ChatService(manager::Manager& manager, ToolHost* tools, net::HttpClient& http, store::History* history)
    : manager_(manager), tools_(tools), http_(http), history_(history) {}

Result<TurnResult> ChatService::Run(const TurnRequest& request, const std::function<void(const TurnEvent&)>& on_event,
                                    const AskFn& ask, CancelToken& cancel) {
  auto found = FindModel(request.model);
  if (!found.ok()) return found.status();
  const config::ModelConfig* model = *found;
  auto emit = [&](TurnEvent e) {
    if (on_event) on_event(e);
  };

  TurnResult result;
  manager::Lease lease;
  std::string engine;  // which engine start this turn talks to (for the once-per-start /props check)
  if (model->kind == config::ModelConfig::Kind::kRemote) {
    result.backend_url = model->url;
    engine = model->url;
  } else {
    // The backend's own events while it starts, for the progress line.
    std::atomic<bool> saw_start{false}, saw_ready{false};
    manager::Subscription sub = manager_.Subscribe([&, name = model->name](const manager::Event& e) {
      if (e.backend != name || e.kind == manager::Event::Kind::kLog) return;
      // The manager warns from the config when a model without tool support starts; the turn has its own
      // check (TemplateWarning, below), which knows whether this turn offers tools: one warning, never two.
      if (e.kind == manager::Event::Kind::kWarning) return;
      if (e.kind == manager::Event::Kind::kState) {
        saw_start = saw_start || e.new_state == manager::State::kStarting;
        saw_ready = saw_ready || e.new_state == manager::State::kReady;
      }
      emit({.kind = TurnEvent::Kind::kBackend, .backend = e});
    });
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>((model->startup_timeout_s + 5) * 1000));
    auto acquired = manager_.Acquire(model->name, timeout, &cancel);
    sub.Reset();
    if (!acquired.ok()) {
      emit({.kind = TurnEvent::Kind::kAgent, .agent = {.kind = cancel.cancelled() ? Event::Kind::kCancelled : Event::Kind::kError,
                                                         .text = acquired.status().message()}});
      return acquired.status();
    }
    lease = std::move(acquired).value();
    // The manager wakes Acquire when the state is published, which can be before the bus delivers the
    // ready event to the subscription above: a start we reported always ends with its ready line.
    if (saw_start && !saw_ready)
      emit({.kind = TurnEvent::Kind::kBackend,
            .backend = manager::EventFor(lease.status(), manager::Event::Kind::kState, manager::State::kStarting)});
    result.backend_url = lease.url() + "/v1";
    engine = lease.url() + " pid " + std::to_string(lease.status().pid);
  }

  std::vector<llm::Message> history;
  if (history_) {
    if (request.conversation) {
      auto previous = history_->Get(*request.conversation);
      if (!previous.ok()) return previous.status();
      history = FromHistory(*previous);
      result.conversation = *request.conversation;
    } else {
      auto created = history_->CreateConversation(request.prompt.substr(0, 80), model->name);
      if (created.ok()) result.conversation = *created;
    }
    if (result.conversation)
      (void)history_->AppendMessage(result.conversation, {.role = "user", .content = request.prompt});
    emit({.kind = TurnEvent::Kind::kConversation, .conversation = result.conversation});
  }
  history.push_back({"user", request.prompt, {}, ""});
  const bool use_tools = request.use_tools && tools_ != nullptr;
  if (use_tools)
    if (auto warning = TemplateWarning(model->name, result.backend_url, engine, cancel))
      emit({.kind = TurnEvent::Kind::kAgent, .agent = {.kind = Event::Kind::kWarning, .text = *warning}});

  llm::ChatClient client(http_, {.base_url = result.backend_url});
  Recorder recorder(result.conversation ? history_ : nullptr, result.conversation);
  Agent agent(client, tools_);
  RunOptions options{.model = model->name, .use_tools = use_tools,
                     .max_tool_steps = manager_.config().chat.max_tool_steps, .max_tokens = request.max_tokens};
  if (result.conversation) {
    std::lock_guard lock(checks_mu_);
    options.always_allowed = always_allowed_[result.conversation];
  }
  Transcript partial;
  auto run = agent.Run(
      history, options,
      [&](const Event& e) {
        recorder.OnAgentEvent(e);
        if (e.kind != Event::Kind::kMessage) emit({.kind = TurnEvent::Kind::kAgent, .agent = e});
      },
      ask, cancel, &partial);
  if (result.conversation && !partial.always_allowed.empty()) {
    std::lock_guard lock(checks_mu_);
    always_allowed_[result.conversation] = partial.always_allowed;
  }
  if (!run.ok()) return run.status();
  result.transcript = std::move(run).value();
  return result;
}

}  // namespace llmdesk::chat
