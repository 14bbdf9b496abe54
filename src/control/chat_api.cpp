// The chat part of the control API (routes listed in control.h): POST /api/chat runs one chat turn and
// streams its events as SSE; approvals and cancel by run id; the history.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>

#include "control/chat_api.h"

#include "chat/service.h"
#include "common/text.h"
#include "control/control.h"
#include "net/http_server.h"
#include "net/sse.h"
#include "store/history.h"

namespace llmdesk::control {
namespace {

using Json = nlohmann::json;

// One running chat turn: its cancel token and the approval questions it waits on.
struct ChatRun {
  CancelToken cancel;
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::optional<chat::ApprovalAnswer>> questions;  // call id -> answer (once given)
};

}  // namespace

struct ChatRuns {
  std::mutex mu;
  uint64_t next = 1;
  std::map<std::string, std::shared_ptr<ChatRun>> runs;

  std::pair<std::string, std::shared_ptr<ChatRun>> Add() {
    std::lock_guard lock(mu);
    auto id = "run-" + std::to_string(next++);
    return {id, runs[id] = std::make_shared<ChatRun>()};
  }
  std::shared_ptr<ChatRun> Find(const std::string& id) {
    std::lock_guard lock(mu);
    auto it = runs.find(id);
    return it == runs.end() ? nullptr : it->second;
  }
  void Remove(const std::string& id) {
    std::lock_guard lock(mu);
    runs.erase(id);
  }
};

std::shared_ptr<ChatRuns> MakeChatRuns() { return std::make_shared<ChatRuns>(); }

namespace {

net::Response BadRequest(const std::string& message) { return net::Response::Error(400, message, "invalid_request"); }

// A history id as the client wrote it: digits only, 1 .. INT64_MAX ("12abc", "-1", "1;DROP", overflow: none).
std::optional<int64_t> ParseId(const std::string& text) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

std::string Shown(const std::string& text) { return Excerpt(text, 40); }

// The body of POST /api/chat: {"prompt": string, "model"?: string, "conversation"?: id, "tools"?: bool,
// "max_tokens"?: 1..1000000}. Each mistake is named, with what to send instead.
Result<chat::TurnRequest> ParseTurn(const std::string& text) {
  if (ValidUtf8(text) != text) return Status::InvalidArgument("the body is not valid UTF-8; send UTF-8 JSON");
  Json body = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return Status::InvalidArgument("the body is not JSON; send {\"prompt\": \"...\"}");
  if (!body.is_object()) return Status::InvalidArgument("the body must be a JSON object: {\"prompt\": \"...\"}");
  static const std::vector<std::string> kKeys = {"prompt", "model", "conversation", "tools", "max_tokens"};
  for (const auto& [key, value] : body.items()) {
    if (std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end()) continue;
    auto near = ClosestMatch(key, kKeys);
    const std::string hint = near ? " (did you mean '" + *near + "'?)" : "";
    return Status::InvalidArgument("unknown field '" + Shown(key) + "'" + hint +
                                   "; the fields are prompt, model, conversation, tools, max_tokens");
  }
  chat::TurnRequest turn;
  auto prompt = body.find("prompt");
  if (prompt == body.end() || !prompt->is_string()) return Status::InvalidArgument("prompt must be a string");
  turn.prompt = prompt->get<std::string>();
  if (turn.prompt.empty()) return Status::InvalidArgument("the prompt is empty");
  if (auto m = body.find("model"); m != body.end() && !m->is_null()) {
    if (!m->is_string()) return Status::InvalidArgument("model must be a string (a model name from the config)");
    turn.model = m->get<std::string>();
  }
  if (auto t = body.find("tools"); t != body.end()) {
    if (!t->is_boolean()) return Status::InvalidArgument("tools must be true or false");
    turn.use_tools = t->get<bool>();
  }
  if (auto c = body.find("conversation"); c != body.end() && !c->is_null()) {
    const bool positive = c->is_number_unsigned() ? c->get<uint64_t>() >= 1 && c->get<uint64_t>() <= INT64_MAX
                          : c->is_number_integer() ? c->get<int64_t>() >= 1
                                                   : false;
    if (!positive) return Status::InvalidArgument("conversation must be a positive integer (an id from /api/history)");
    turn.conversation = c->get<int64_t>();
  }
  if (auto n = body.find("max_tokens"); n != body.end() && !n->is_null()) {
    // (an unsigned beyond INT64_MAX reads as negative here, so it is refused too)
    if (!n->is_number_integer() || n->get<int64_t>() < 1 || n->get<int64_t>() > 1000000)
      return Status::InvalidArgument("max_tokens must be an integer from 1 to 1000000");
    turn.max_tokens = static_cast<int>(n->get<int64_t>());
  }
  return turn;
}

net::Response Refusal(const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidArgument: return BadRequest(s.message());
    case Status::Code::kNotFound: return net::Response::Error(404, s.message(), "not_found");
    case Status::Code::kFailedPrecondition: return net::Response::Error(409, s.message(), "conflict");
    default: return net::Response::Error(500, s.message(), "internal");
  }
}

// The body's string field `key`, or "" when it is missing or not a string.
std::string StringField(const Json& body, const char* key) {
  if (!body.is_object()) return "";
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

void RegisterChatRoutes(net::HttpServer& server, chat::ChatService& service, store::History* history,
                        std::shared_ptr<ChatRuns> runs) {
  server.Route("POST", "/api/chat", [&service, runs](net::Request& req) {
    auto parsed = ParseTurn(req.body);
    if (!parsed.ok()) return BadRequest(parsed.status().message());
    chat::TurnRequest turn = std::move(parsed).value();
    if (Status s = service.Check(turn); !s.ok()) return Refusal(s);
    return net::Response::Stream("text/event-stream", [&service, runs, turn](std::shared_ptr<net::Stream> stream) {
      auto added = runs->Add();  // (not a structured binding: clang 14 cannot capture those)
      const std::string id = added.first;
      std::shared_ptr<ChatRun> run = added.second;
      // The client going away cancels the turn: the model request and any running tool.
      stream->OnClose([run] { run->cancel.Cancel(); });
      auto send = [&](const std::string& event, const Json& data) {
        stream->Write(net::SseFrame(event, data.dump(-1, ' ', false, Json::error_handler_t::replace)));
      };
      send("run", {{"run", id}});
      chat::AskFn ask = [&](const chat::ToolInfo& tool, const std::string& call_id, const Json&, CancelToken& cancel) {
        std::unique_lock lock(run->mu);
        run->questions[call_id];  // (registered already when approval_needed was sent)
        uint64_t watch = cancel.OnCancel([run] {
          std::lock_guard l(run->mu);
          run->cv.notify_all();
        });
        run->cv.wait_for(lock, tool.timeout, [&] { return run->questions[call_id].has_value() || cancel.cancelled(); });
        auto answer = run->questions[call_id].value_or(chat::ApprovalAnswer::kNoAnswer);  // no answer counts as deny
        run->questions.erase(call_id);  // a late answer is told the question is gone
        lock.unlock();
        cancel.Forget(watch);
        return answer;
      };
      auto on_event = [&](const chat::TurnEvent& e) {
        if (e.kind == chat::TurnEvent::Kind::kAgent && e.agent.kind == chat::Event::Kind::kApprovalNeeded) {
          // Before the client can read the question, so an answer that comes at once finds it.
          std::lock_guard lock(run->mu);
          run->questions[e.agent.call_id];
        }
        Json j = chat::ToJson(e);
        send(j.value("kind", "event"), j);
      };
      auto result = service.Run(turn, on_event, ask, run->cancel);
      if (result.ok())
        send("done", {{"answer", result->transcript.answer},
                      {"conversation", result->conversation},
                      {"steps", result->transcript.steps},
                      {"usage", {{"prompt_tokens", result->transcript.usage.prompt_tokens},
                                 {"completion_tokens", result->transcript.usage.completion_tokens},
                                 {"total_tokens", result->transcript.usage.total_tokens}}}});
      else
        send("failed", {{"message", result.status().message()}, {"code", Status::CodeName(result.status().code())}});
      runs->Remove(id);
      stream->Close();
    });
  });

  server.Route("POST", "/api/chat/{run}/approve", [runs](net::Request& req) {
    auto run = runs->Find(req.Param("run"));
    if (!run) return net::Response::Error(404, "no running chat " + Shown(req.Param("run")), "not_found");
    Json body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object())
      return BadRequest("send {\"call_id\": \"...\", \"answer\": \"once\" | \"always\" | \"deny\"}");
    const std::string call = StringField(body, "call_id");
    const std::string answer = StringField(body, "answer");
    if (call.empty()) return BadRequest("call_id must be the string from the approval_needed event");
    chat::ApprovalAnswer a;
    if (answer == "once") a = chat::ApprovalAnswer::kAllowOnce;
    else if (answer == "always") a = chat::ApprovalAnswer::kAllowAlways;
    else if (answer == "deny") a = chat::ApprovalAnswer::kDeny;
    else return BadRequest("answer must be once, always or deny");
    std::lock_guard lock(run->mu);
    auto q = run->questions.find(call);
    if (q == run->questions.end())
      return net::Response::Error(404, "no open question for call " + Shown(call) + " (answered already, or timed out)",
                                  "not_found");
    q->second = a;
    run->cv.notify_all();
    return net::Response::Json(200, {{"ok", true}});
  });

  server.Route("POST", "/api/chat/{run}/cancel", [runs](net::Request& req) {
    auto run = runs->Find(req.Param("run"));
    if (!run) return net::Response::Error(404, "no running chat " + Shown(req.Param("run")), "not_found");
    run->cancel.Cancel();
    return net::Response::Json(202, {{"ok", true}});
  });

  if (!history) return;
  server.Route("GET", "/api/history", [history](net::Request&) {
    auto list = history->List(200);
    if (!list.ok()) return net::Response::Error(500, list.status().message(), "history");
    Json out = Json::array();
    for (const auto& c : *list) out.push_back(store::ToJson(c));
    return net::Response::Json(200, out);
  });
  auto bad_id = [](const std::string& text) {
    return BadRequest("a conversation id is a positive integer (from /api/history); got '" + Shown(text) + "'");
  };
  server.Route("GET", "/api/history/{id}", [history, bad_id](net::Request& req) {
    auto id = ParseId(req.Param("id"));
    if (!id) return bad_id(req.Param("id"));
    auto c = history->Get(*id);
    if (!c.ok())
      return c.status().code() == Status::Code::kNotFound ? net::Response::Error(404, c.status().message(), "not_found")
                                                           : net::Response::Error(500, c.status().message(), "history");
    return net::Response::Json(200, store::ToJson(*c));
  });
  server.Route("DELETE", "/api/history/{id}", [history, bad_id](net::Request& req) {
    auto id = ParseId(req.Param("id"));
    if (!id) return bad_id(req.Param("id"));
    Status s = history->Remove(*id);
    if (!s.ok())
      return s.code() == Status::Code::kNotFound ? net::Response::Error(404, s.message(), "not_found")
                                                  : net::Response::Error(500, s.message(), "history");
    return net::Response::Json(200, {{"ok", true}});
  });
}

}  // namespace llmdesk::control
