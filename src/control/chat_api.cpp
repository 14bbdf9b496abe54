// The chat part of the control API (routes listed in control.h): POST /api/chat runs one chat turn and
// streams its events as SSE; approvals and cancel by run id; the history.
#include <atomic>
#include <cstdlib>
#include <condition_variable>
#include <map>
#include <mutex>

#include "control/chat_api.h"

#include "chat/service.h"
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

void RegisterChatRoutes(net::HttpServer& server, chat::ChatService& service, store::History* history,
                        std::shared_ptr<ChatRuns> runs) {
  server.Route("POST", "/api/chat", [&service, runs](net::Request& req) {
    Json body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("prompt") || !body["prompt"].is_string())
      return net::Response::Error(400, "send {\"prompt\": \"...\"} (and optionally model, conversation, tools)",
                                  "invalid_request");
    chat::TurnRequest turn;
    turn.prompt = body["prompt"].get<std::string>();
    if (body.contains("model") && body["model"].is_string()) turn.model = body["model"];
    if (body.contains("tools") && body["tools"].is_boolean()) turn.use_tools = body["tools"];
    if (body.contains("conversation") && body["conversation"].is_number_integer())
      turn.conversation = body["conversation"].get<int64_t>();
    if (body.contains("max_tokens") && body["max_tokens"].is_number_integer()) turn.max_tokens = body["max_tokens"];
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
      chat::AskFn ask = [&](const chat::ToolInfo& tool, const std::string& call_id, const Json&,
                                       CancelToken& cancel) {
        std::unique_lock lock(run->mu);
        run->questions[call_id];
        uint64_t watch = cancel.OnCancel([run] {
          std::lock_guard l(run->mu);
          run->cv.notify_all();
        });
        run->cv.wait_for(lock, tool.timeout, [&] { return run->questions[call_id].has_value() || cancel.cancelled(); });
        auto answer = run->questions[call_id].value_or(chat::ApprovalAnswer::kDeny);  // no answer counts as deny
        lock.unlock();
        cancel.Forget(watch);
        return answer;
      };
      auto result = service.Run(
          turn, [&](const chat::TurnEvent& e) { send(chat::ToJson(e).value("kind", "event"), chat::ToJson(e)); }, ask,
          run->cancel);
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
    if (!run) return net::Response::Error(404, "no running chat " + req.Param("run"), "not_found");
    Json body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    const std::string call = body.is_object() ? body.value("call_id", "") : "";
    const std::string answer = body.is_object() ? body.value("answer", "") : "";
    chat::ApprovalAnswer a;
    if (answer == "once") a = chat::ApprovalAnswer::kAllowOnce;
    else if (answer == "always") a = chat::ApprovalAnswer::kAllowAlways;
    else if (answer == "deny") a = chat::ApprovalAnswer::kDeny;
    else return net::Response::Error(400, "answer must be once, always or deny", "invalid_request");
    std::lock_guard lock(run->mu);
    auto q = run->questions.find(call);
    if (q == run->questions.end()) return net::Response::Error(404, "no question for call " + call, "not_found");
    q->second = a;
    run->cv.notify_all();
    return net::Response::Json(200, {{"ok", true}});
  });

  server.Route("POST", "/api/chat/{run}/cancel", [runs](net::Request& req) {
    auto run = runs->Find(req.Param("run"));
    if (!run) return net::Response::Error(404, "no running chat " + req.Param("run"), "not_found");
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
  server.Route("GET", "/api/history/{id}", [history](net::Request& req) {
    int64_t id = std::strtoll(req.Param("id").c_str(), nullptr, 10);
    auto c = history->Get(id);
    if (!c.ok()) return net::Response::Error(404, c.status().message(), "not_found");
    return net::Response::Json(200, store::ToJson(*c));
  });
  server.Route("DELETE", "/api/history/{id}", [history](net::Request& req) {
    int64_t id = std::strtoll(req.Param("id").c_str(), nullptr, 10);
    Status s = history->Remove(id);
    if (!s.ok()) return net::Response::Error(404, s.message(), "not_found");
    return net::Response::Json(200, {{"ok", true}});
  });
}

}  // namespace llmdesk::control
