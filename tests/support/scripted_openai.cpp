#include "support/scripted_openai.h"

#include <thread>

#include "net/sse.h"

namespace llmdesk::test {
namespace {

using Json = nlohmann::json;

Json Chunk(Json delta, Json finish = nullptr) {
  Json choice = {{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish)}};
  return {{"object", "chat.completion.chunk"}, {"model", "scripted"}, {"choices", Json::array({choice})}};
}

}  // namespace

Turn Turn::Text(const std::string& text, size_t pieces) {
  Turn t;
  t.chunks.push_back(Chunk({{"role", "assistant"}, {"content", nullptr}}));
  const size_t step = std::max<size_t>(1, text.size() / std::max<size_t>(1, pieces));
  for (size_t at = 0; at < text.size(); at += step) t.chunks.push_back(Chunk({{"content", text.substr(at, step)}}));
  t.chunks.push_back(Chunk(Json::object(), "stop"));
  t.chunks.push_back({{"choices", Json::array()}, {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 5}, {"total_tokens", 15}}}});
  return t;
}

Turn Turn::ToolCalls(const std::vector<std::pair<std::string, std::string>>& calls) {
  Turn t;
  t.chunks.push_back(Chunk({{"role", "assistant"}, {"content", nullptr}}));
  for (size_t i = 0; i < calls.size(); ++i) {
    const auto& [name, args] = calls[i];
    Json head = {{"index", i}, {"id", "call_" + std::to_string(i)}, {"type", "function"},
                 {"function", {{"name", name}, {"arguments", ""}}}};
    t.chunks.push_back(Chunk({{"tool_calls", Json::array({head})}}));
    const size_t half = args.size() / 2;
    for (const auto& piece : {args.substr(0, half), args.substr(half)})
      t.chunks.push_back(Chunk({{"tool_calls", Json::array({{{"index", i}, {"function", {{"arguments", piece}}}}})}}));
  }
  t.chunks.push_back(Chunk(Json::object(), "tool_calls"));
  return t;
}

Turn Turn::Error(int status, const std::string& message) {
  Turn t;
  t.kind = Kind::kJson;
  t.status = status;
  t.json = {{"error", {{"code", status}, {"message", message}, {"type", "server_error"}}}};
  return t;
}

Turn Turn::Html(int status, const std::string& page) {
  Turn t;
  t.kind = Kind::kRaw;
  t.status = status;
  t.body = page;
  t.content_type = "text/html";
  return t;
}

ScriptedOpenAi::ScriptedOpenAi(std::deque<Turn> turns) : turns_(std::move(turns)) {
  server_ = std::make_unique<net::HttpServer>(net::ServerOptions{.host = "127.0.0.1", .port = 0});
  server_->Route("POST", "/v1/chat/completions", [this](net::Request& req) { return Serve(req); });
  server_->Route("GET", "/v1/models", [](net::Request&) {
    return net::Response::Json(200, {{"object", "list"}, {"data", Json::array({{{"id", "scripted"}, {"object", "model"}}})}});
  });
  server_->Route("GET", "/props", [this](net::Request&) {
    std::lock_guard lock(mu_);
    ++props_requests_;
    if (props_.is_null()) return net::Response::Error(404, "File Not Found", "not_found");
    return net::Response::Json(200, props_);
  });
  server_->Route("GET", "/health", [](net::Request&) { return net::Response::Json(200, {{"status", "ok"}}); });
  if (Status s = server_->Bind(); !s.ok()) throw std::runtime_error("scripted server: " + s.ToString());
  if (Status s = server_->Start(); !s.ok()) throw std::runtime_error("scripted server: " + s.ToString());
}

ScriptedOpenAi::~ScriptedOpenAi() { server_->Stop(); }

int ScriptedOpenAi::port() const { return server_->port(); }
std::string ScriptedOpenAi::base_url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/v1"; }

std::vector<Json> ScriptedOpenAi::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void ScriptedOpenAi::SetProps(Json props) {
  std::lock_guard lock(mu_);
  props_ = std::move(props);
}

int ScriptedOpenAi::props_requests() const {
  std::lock_guard lock(mu_);
  return props_requests_;
}

void ScriptedOpenAi::Push(Turn turn) {
  std::lock_guard lock(mu_);
  turns_.push_back(std::move(turn));
}

net::Response ScriptedOpenAi::Serve(net::Request& req) {
  Turn turn;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(Json::parse(req.body, nullptr, false));
    if (turns_.empty()) return net::Response::Error(500, "the scripted server has no reply left", "script_exhausted");
    turn = std::move(turns_.front());
    turns_.pop_front();
  }
  switch (turn.kind) {
    case Turn::Kind::kJson: return net::Response::Json(turn.status, turn.json);
    case Turn::Kind::kRaw: return net::Response::Text(turn.status, turn.body, turn.content_type);
    case Turn::Kind::kStream: break;
  }
  return net::Response::Stream("text/event-stream", [turn](std::shared_ptr<net::Stream> stream) {
    for (const auto& c : turn.chunks) {
      if (turn.pause.count() > 0) std::this_thread::sleep_for(turn.pause);  // a slow model, as scripted
      if (!stream->Write(net::SseFrame("", c.dump()))) return;
    }
    if (!turn.raw_tail.empty() && !stream->Write(turn.raw_tail)) return;
    if (turn.done_marker) stream->Write(net::SseFrame("", "[DONE]"));
    stream->Close();
  });
}

}  // namespace llmdesk::test
