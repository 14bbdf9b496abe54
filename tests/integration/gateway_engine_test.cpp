// The gateway (issue 9) against the real llama-server with generated models (llmdesk-testmodel): one engine
// however many first requests arrive at once, a max_loaded swap that lets the running stream finish, kill -9
// of the engine mid-stream, a client that goes away mid-stream or mid-way through a whole (non-streamed)
// answer, `NAME+tools` through the real engine and the real tool server, and the warning for a model whose
// chat template cannot do tools.
#include <signal.h>

#include <filesystem>
#include <thread>

#include "integration/gateway_fixture.h"
#include "net/http_server.h"
#include "support/raw_http.h"

namespace llmdesk::test {
namespace {

// A long streamed completion: a random-weights model rambles until max_tokens (ignore_eos).
Json LongStream(const std::string& model, int max_tokens) {
  return {{"model", model}, {"stream", true}, {"max_tokens", max_tokens}, {"ignore_eos", true},
          {"messages", {{{"role", "user"}, {"content", "Tell me a long story."}}}}};
}

Json Ask(const std::string& model, const std::string& question = "Hello?") {
  return {{"model", model}, {"max_tokens", 16}, {"messages", {{{"role", "user"}, {"content", question}}}}};
}

class GatewayEngineTest : public GatewayTest {
 protected:
  std::vector<manager::Event> StateEvents(const std::string& name) {
    std::lock_guard lock(mu_);
    std::vector<manager::Event> out;
    for (const auto& e : events_)
      if (e.backend == name) out.push_back(e);
    return out;
  }
  void Record() {
    sub_ = stack_->manager().Subscribe([this](const manager::Event& e) {
      if (e.kind != manager::Event::Kind::kState) return;
      std::lock_guard lock(mu_);
      events_.push_back(e);
    });
  }
  void TearDown() override {
    sub_.Reset();
    GatewayTest::TearDown();
  }
  std::mutex mu_;
  std::vector<manager::Event> events_;
  manager::Subscription sub_;
};

TEST_F(GatewayEngineTest, TwoConcurrentFirstRequestsStartExactlyOneEngine) {
  const std::string model = MakeModel("hello", {"--text", "Hello from the engine"});
  StartStack(LocalModel("hello", model));
  Record();
  ASSERT_EQ(CountProcesses(model), 0);
  std::vector<net::HttpResponse> answers(2);
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) clients.emplace_back([&, i] { answers[i] = Post("/v1/chat/completions", Ask("hello")); });
  // While both wait for the start, and after: one engine process for this model.
  auto starting = stack_->manager().WaitUntil("hello", [](const auto& s) { return s.state != manager::State::kStopped; }, 10s);
  ASSERT_TRUE(starting.ok());
  EXPECT_LE(CountProcesses(model), 1);
  for (auto& t : clients) t.join();
  for (const auto& a : answers) {
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(Parse(a.body)["choices"][0]["message"]["content"], "Hello from the engine") << a.body;
  }
  EXPECT_EQ(CountProcesses(model), 1);
  int starts = 0;
  for (const auto& e : StateEvents("hello")) starts += e.old_state == manager::State::kStopped && e.new_state == manager::State::kStarting;
  EXPECT_EQ(starts, 1);
}

TEST_F(GatewayEngineTest, ASwapUnderMaxLoadedLetsTheRunningStreamFinish) {
  const std::string a = MakeModel("a", {"--seed", "7"});
  const std::string b = MakeModel("b", {"--text", "B is here"});
  StartStack(LocalModel("a", a) + LocalModel("b", b), "max_loaded: 1");
  Record();
  std::string sse;
  std::thread other;
  net::HttpResponse b_answer;
  bool b_sent = false;
  sse = PostStream("/v1/chat/completions", LongStream("a", 200), [&](std::string_view chunk) {
    if (!b_sent && chunk.find("content") != std::string_view::npos) {  // a is generating: ask for b now
      b_sent = true;
      other = std::thread([&] { b_answer = Post("/v1/chat/completions", Ask("b")); });
    }
    return true;
  });
  ASSERT_TRUE(b_sent) << sse.substr(0, 2000);
  other.join();
  auto events = Events(sse);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]") << "the stream of a ran to its end: " << sse.substr(sse.size() > 2000 ? sse.size() - 2000 : 0);
  for (const auto& e : events) EXPECT_FALSE(e.is_object() && e.contains("error")) << e.dump();
  std::string finish;
  for (const auto& e : events)
    if (e.is_object() && e.contains("choices") && e["choices"].is_array() && !e["choices"].empty() &&
        e["choices"][0]["finish_reason"].is_string())
      finish = e["choices"][0]["finish_reason"];
  EXPECT_EQ(finish, "length") << "a generated all its tokens, not cut short";
  ASSERT_EQ(b_answer.status, 200) << b_answer.body;
  EXPECT_EQ(Parse(b_answer.body)["choices"][0]["message"]["content"], "B is here");
  EXPECT_EQ(CountProcesses(a), 0) << "a was unloaded to make room for b";
  EXPECT_EQ(CountProcesses(b), 1);
  // a stopped only after its stream: its `stopping` comes after b was asked for, and b started after it.
  uint64_t a_stopping = 0, b_starting = 0;
  for (const auto& e : StateEvents("a")) if (e.new_state == manager::State::kStopping) a_stopping = e.seq;
  for (const auto& e : StateEvents("b")) if (e.new_state == manager::State::kStarting && !b_starting) b_starting = e.seq;
  EXPECT_GT(a_stopping, 0u);
  EXPECT_GT(b_starting, a_stopping) << "b loads once a is gone (max_loaded: 1)";
}

TEST_F(GatewayEngineTest, KillMinusNineMidStreamGivesAnErrorEventThenTheNextRequestWorks) {
  const std::string model = MakeModel("rambler", {"--seed", "3"});
  StartStack(LocalModel("rambler", model));
  bool killed = false;
  std::string sse = PostStream("/v1/chat/completions", LongStream("rambler", 20000), [&](std::string_view chunk) {
    if (!killed && chunk.find("content") != std::string_view::npos) {
      killed = true;
      auto s = stack_->manager().Get("rambler");
      EXPECT_TRUE(s.ok() && s->pid > 0);
      if (s.ok() && s->pid > 0) ::kill(s->pid, SIGKILL);
    }
    return true;
  });
  ASSERT_TRUE(killed);
  auto events = Events(sse);
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(events.back().is_object() && events.back().contains("error")) << sse.substr(sse.size() > 1000 ? sse.size() - 1000 : 0);
  EXPECT_EQ(events.back()["error"]["code"], "upstream_failed");
  EXPECT_EQ(events.back()["error"]["type"], "server_error");
  // The manager restarts the engine; the next request waits for it and succeeds.
  auto next = Post("/v1/chat/completions", Ask("rambler"));
  EXPECT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(CountProcesses(model), 1);
}

TEST_F(GatewayEngineTest, AClientThatGoesAwayStopsTheGeneration) {
  const std::string model = MakeModel("endless", {"--seed", "5"});
  StartStack(LocalModel("endless", model));
  const int port = std::stoi(base_.substr(base_.rfind(':') + 1));
  Raw raw(port);
  const std::string body = LongStream("endless", 100000).dump();
  ASSERT_TRUE(raw.Send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
  ASSERT_NE(raw.ReadUntil("\"content\"", 120s).find("\"content\""), std::string::npos);
  auto engine = stack_->manager().Get("endless");
  ASSERT_TRUE(engine.ok());
  net::HttpClient probe;
  auto busy = [&] {
    auto r = probe.Send({.url = "http://127.0.0.1:" + std::to_string(engine->port) + "/slots"});
    if (!r.ok() || r->status != 200) return -1;
    Json slots = Json::parse(r->body, nullptr, false);
    int n = 0;
    for (const auto& s : slots) n += s.value("is_processing", false);
    return n;
  };
  EXPECT_EQ(busy(), 1) << "the engine is generating for us";
  raw.Close();
  // The upstream request is cancelled at once: the slot is idle again long before 100000 tokens.
  int left = 1;
  for (int i = 0; i < 100 && left != 0; ++i) {
    left = busy();
    if (left != 0) std::this_thread::sleep_for(50ms);  // bounded poll of another process's state
  }
  EXPECT_EQ(left, 0) << "the engine still generates for a client that left";
}

// Slots of the engine serving `model` that are generating; -1 when it does not answer.
int BusySlots(const manager::BackendStatus& engine) {
  net::HttpClient probe;
  auto r = probe.Send({.url = "http://127.0.0.1:" + std::to_string(engine.port) + "/slots"});
  if (!r.ok() || r->status != 200) return -1;
  Json slots = Json::parse(r->body, nullptr, false);
  int n = 0;
  for (const auto& s : slots) n += s.is_object() && s.value("is_processing", false);
  return n;
}

// How often the engine of `model` logged that it cancelled a task (the client of a request went away).
int EngineCancels(manager::Manager& manager, const std::string& model) {
  int n = 0;
  for (const auto& line : manager.LogTail(model, 400)) n += line.find("cancel task") != std::string::npos;
  return n;
}

// A whole (non-streamed) answer sends nothing until it is done, so the gateway learns of the client going away
// from the socket: the upstream request is cancelled and the engine stops, plain or through `NAME+tools`.
TEST_F(GatewayEngineTest, AClientThatGoesAwayStopsAWholeAnswerToo) {
  const std::string model = MakeModel("endless", {"--seed", "5"});
  StartStack(LocalModel("endless", model));
  const int port = std::stoi(base_.substr(base_.rfind(':') + 1));
  for (const char* name : {"endless", "endless+tools"}) {
    SCOPED_TRACE(name);
    Json request = LongStream(name, 100000);
    request["stream"] = false;
    const std::string body = request.dump();
    Raw raw(port);
    ASSERT_TRUE(raw.Send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
    auto ready = stack_->manager().WaitUntil("endless", [](const auto& s) { return s.state == manager::State::kReady; }, 120s);
    ASSERT_TRUE(ready.ok()) << ready.status().ToString();
    int busy = 0;
    for (int i = 0; i < 200 && busy != 1; ++i) {
      busy = BusySlots(*ready);
      if (busy != 1) std::this_thread::sleep_for(50ms);  // bounded poll of another process's state
    }
    ASSERT_EQ(busy, 1) << "the engine never generated for us";
    const int cancels_before = EngineCancels(stack_->manager(), "endless");
    raw.Close();
    // Told by the engine's log, not by polling /slots: llama-server checks a whole answer's connection only
    // after 1 s without any result, and each /slots answer is a result that restarts that wait.
    int cancels = cancels_before;
    for (int i = 0; i < 100 && cancels == cancels_before; ++i) {
      cancels = EngineCancels(stack_->manager(), "endless");
      if (cancels == cancels_before) std::this_thread::sleep_for(100ms);  // bounded poll of another process's log
    }
    EXPECT_GT(cancels, cancels_before) << "the engine still generates a whole answer for a client that left\n"
                                       << Send("GET", "/metrics").body;
    int left = 1;
    for (int i = 0; i < 40 && left != 0; ++i) {  // the cancelled slot is released right after the log line
      left = BusySlots(*ready);
      if (left != 0) std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(left, 0);
  }
}

// A model whose chat template renders no tools (Gemma 2's) answers `NAME+tools` with a warning the client can
// see: a header, and in the answer (whole) or as the first note of the stream.
TEST_F(GatewayEngineTest, NameToolsOnAModelWhoseTemplateHasNoToolsWarnsTheClient) {
  const std::string model = MakeModel("plain", {"--text", "Hi", "--template",
                                                (std::filesystem::path(LLMDESK_TEST_ENGINE_PREFIX) /
                                                 "share/llama.cpp/models/templates/google-gemma-2-2b-it.jinja").string()});
  StartStack(LocalModel("plain", model));
  auto whole = Post("/v1/chat/completions", Ask("plain+tools"));
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_NE(whole.Header("x-llmdesk-warning").find("chat template has no tool support"), std::string::npos)
      << whole.Header("x-llmdesk-warning");
  Json j = Parse(whole.body);
  EXPECT_NE(j["llmdesk"]["warning"].get<std::string>().find("no tool support"), std::string::npos) << whole.body;
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hi");
  Json streamed = Ask("plain+tools");
  streamed["stream"] = true;
  const std::string sse = PostStream("/v1/chat/completions", streamed);
  auto events = Events(sse);
  ASSERT_GE(events.size(), 2u) << sse;
  EXPECT_EQ(events[1]["llmdesk"]["event"], "warning") << sse;
  EXPECT_EQ(StreamedText(sse), "Hi") << sse;
  // Without tools nothing is said: the plain model is fine as it is.
  EXPECT_EQ(Post("/v1/chat/completions", Ask("plain")).Header("x-llmdesk-warning"), "");
}

TEST_F(GatewayEngineTest, NameToolsIsAnsweredThroughTheRealEngineAndToolServer) {
  const std::string model = MakeModel("calc", {"--tool-call", "calculator", R"({"expression":"2+2"})", "--answer-after-tool", "The sum is "});
  StartStack(LocalModel("calc", model));
  auto r = Post("/v1/chat/completions", Ask("calc+tools", "What's 2+2?"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-llmdesk-warning"), "") << "the Qwen2.5 template can do tools";
  Json j = Parse(r.body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "The sum is 4") << r.body;
  EXPECT_EQ(j["llmdesk"]["steps"], 2);
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), 0);
}

}  // namespace
}  // namespace llmdesk::test
