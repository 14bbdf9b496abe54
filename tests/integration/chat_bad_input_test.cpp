// Bad input from the model's side, each a clear error, nothing crashing, nothing committed lost (the
// history db is read afterwards): malformed tool calls (arguments not JSON, tool_calls not an array, a call
// naming no function, a stream cut mid-JSON) and a server that answers HTML — through `llmdesk serve` and the
// scripted stand-in as a `url:` backend (chat_serve_fixture.h). A 10 MB tool result goes through the
// ChatService in-process (a tool host of our own makes the 10 MB): bounded for the model with a note.
#include <gtest/gtest.h>

#include <fstream>

#include "chat/service.h"
#include "integration/chat_serve_fixture.h"
#include "manager/manager.h"

namespace llmdesk::test {
namespace {

using Json = nlohmann::json;
using store::MessageRecord;

Json Chunk(Json delta, Json finish = nullptr) {
  return {{"object", "chat.completion.chunk"},
          {"choices", Json::array({{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish)}}})}};
}

Turn Chunks(std::vector<Json> chunks) {
  Turn t;
  t.chunks = std::move(chunks);
  return t;
}

class ChatBadInput : public ChatServe {
 protected:
  // The conversation as the db holds it now.
  store::Conversation Saved(int64_t id) {
    auto history = OpenHistory();
    if (!history) return {};
    auto c = history->Get(id);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : store::Conversation{};
  }
  static int64_t ConversationOf(const Streamed& s) {
    auto c = s.Of("conversation");
    return c.empty() ? 0 : c[0].value("conversation", int64_t{0});
  }
  static std::string Failure(const Streamed& s) {
    auto f = s.Of("failed");
    return f.empty() ? "" : f[0].value("message", "");
  }
};

TEST_F(ChatBadInput, ArgumentsThatAreNotJsonBecomeAToolErrorTheModelCorrects) {
  ScriptedOpenAi model({Turn::ToolCalls({{"calculator", R"({"expression": 2+)"}}),
                        Turn::ToolCalls({{"calculator", R"({"expression":"2+2"})"}}), Turn::Text("It is 4.")});
  Serve(model.base_url());
  auto turn = Chat({{"prompt", "What's 2+2?"}});
  ASSERT_TRUE(turn.status.ok()) << turn.Dump();
  auto results = turn.Of("tool_result");
  ASSERT_EQ(results.size(), 2u) << turn.Dump();
  EXPECT_TRUE(results[0].value("is_error", false));
  EXPECT_NE(results[0].value("text", "").find("must be a JSON object"), std::string::npos) << turn.Dump();
  EXPECT_EQ(results[1].value("text", ""), "4");
  EXPECT_EQ(turn.Of("done").at(0).value("answer", ""), "It is 4.");

  auto saved = Saved(ConversationOf(turn));
  ASSERT_EQ(saved.messages.size(), 6u) << store::ToJson(saved).dump(1);
  for (const auto& m : saved.messages) EXPECT_EQ(m.status, MessageRecord::Status::kComplete) << m.content;
  ASSERT_EQ(saved.messages[1].tool_calls.size(), 1u);
  EXPECT_EQ(saved.messages[1].tool_calls[0].arguments, Json(R"({"expression": 2+)")) << "kept as the model wrote it";
  EXPECT_EQ(saved.messages[5].content, "It is 4.");
}

TEST_F(ChatBadInput, ToolCallsThatAreNotAnArrayFailClearlyAndKeepTheHistory) {
  ScriptedOpenAi model({Turn::Text("Hello."),
                        Chunks({Chunk({{"role", "assistant"}}), Chunk({{"content", "Let me "}}), Chunk({{"content", "check"}}),
                                Chunk({{"tool_calls", {{"index", 0}, {"function", {{"name", "calculator"}}}}}})})});
  Serve(model.base_url());
  auto first = Chat({{"prompt", "hi"}});
  ASSERT_TRUE(first.status.ok()) << first.Dump();
  const int64_t id = ConversationOf(first);
  auto second = Chat({{"prompt", "what is 2+2?"}, {"conversation", id}});
  const std::string failure = Failure(second);
  EXPECT_NE(failure.find(model.base_url() + "/chat/completions streamed a malformed answer: delta.tool_calls is not an array"),
            std::string::npos)
      << second.Dump();
  ASSERT_TRUE(client_->Health().ok()) << serve_->Output();

  auto saved = Saved(id);
  ASSERT_EQ(saved.messages.size(), 4u) << store::ToJson(saved).dump(1);
  EXPECT_EQ(saved.messages[0].content, "hi");
  EXPECT_EQ(saved.messages[1].content, "Hello.");
  EXPECT_EQ(saved.messages[2].content, "what is 2+2?");
  EXPECT_EQ(saved.messages[2].status, MessageRecord::Status::kComplete);
  EXPECT_EQ(saved.messages[3].content, "Let me check");
  EXPECT_EQ(saved.messages[3].status, MessageRecord::Status::kIncomplete);
  EXPECT_NE(saved.messages[3].meta.value("error", "").find("not an array"), std::string::npos) << saved.messages[3].meta;
}

TEST_F(ChatBadInput, ACallNamingNoFunctionIsAToolErrorTheModelCorrects) {
  ScriptedOpenAi model({Chunks({Chunk({{"role", "assistant"}}),
                                Chunk({{"tool_calls", Json::array({{{"index", 0}, {"id", "call_x"}, {"type", "function"},
                                                                     {"function", {{"arguments", "{}"}}}}})}}),
                                Chunk(Json::object(), "tool_calls")}),
                        Turn::Text("Sorry, no tool.")});
  Serve(model.base_url());
  auto turn = Chat({{"prompt", "hi"}});
  ASSERT_TRUE(turn.status.ok()) << turn.Dump();
  ASSERT_EQ(turn.Of("tool_result").size(), 1u) << turn.Dump();
  EXPECT_TRUE(turn.Of("tool_result")[0].value("is_error", false));
  EXPECT_NE(turn.Of("tool_result")[0].value("text", "").find("names no function; call one of: calculator"), std::string::npos)
      << turn.Dump();
  EXPECT_EQ(model.requests().at(1)["messages"].back()["tool_call_id"], "call_x");
  EXPECT_EQ(turn.Of("done").at(0).value("answer", ""), "Sorry, no tool.");
  EXPECT_EQ(Saved(ConversationOf(turn)).messages.size(), 4u);
}

TEST_F(ChatBadInput, AStreamCutMidJsonIsAClearErrorAndThePartialAnswerIsKept) {
  Turn cut = Chunks({Chunk({{"role", "assistant"}}), Chunk({{"content", "The answer"}})});
  cut.raw_tail = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" is";
  cut.done_marker = false;
  Turn cut_in_call = Turn::ToolCalls({{"calculator", R"({"expression":"2+2"})"}});
  cut_in_call.chunks.resize(2);  // the name, then nothing: the arguments never come
  cut_in_call.raw_tail = "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"expr";
  cut_in_call.done_marker = false;
  ScriptedOpenAi model({cut, cut_in_call});
  Serve(model.base_url());
  for (int k = 0; k < 2; ++k) {
    auto turn = Chat({{"prompt", "What's 2+2?"}});
    EXPECT_NE(Failure(turn).find("closed the stream before the answer was finished"), std::string::npos) << turn.Dump();
    EXPECT_TRUE(turn.Of("tool_result").empty()) << "a half-received call is never run: " << turn.Dump();
    auto saved = Saved(ConversationOf(turn));
    ASSERT_GE(saved.messages.size(), 1u);
    EXPECT_EQ(saved.messages[0].content, "What's 2+2?");
    if (k == 0) {
      ASSERT_EQ(saved.messages.size(), 2u) << store::ToJson(saved).dump(1);
      EXPECT_EQ(saved.messages[1].content, "The answer");
      EXPECT_EQ(saved.messages[1].status, MessageRecord::Status::kIncomplete);
    }
  }
  ASSERT_TRUE(client_->Health().ok()) << serve_->Output();
}

TEST_F(ChatBadInput, AServerAnsweringHtmlIsNamedAsSuch) {
  ScriptedOpenAi model({Turn::Html(200, "<!DOCTYPE html>\n<html><head><title>Router login</title></head><body>...</body></html>"),
                        Turn::Html(502, "<html><body><h1>502 Bad Gateway</h1></body></html>")});
  Serve(model.base_url());
  const std::string expected = "the server at " + model.base_url() + "/chat/completions answered HTML instead of the OpenAI API";
  auto ok_page = Chat({{"prompt", "hi"}});
  EXPECT_NE(Failure(ok_page).find(expected + " (HTTP 200, text/html: Router login)"), std::string::npos) << ok_page.Dump();
  auto bad_gateway = Chat({{"prompt", "hi again"}});
  EXPECT_NE(Failure(bad_gateway).find(expected + " (HTTP 502, text/html: <html><body><h1>502 Bad Gateway"), std::string::npos)
      << bad_gateway.Dump();
  for (const auto* turn : {&ok_page, &bad_gateway}) {
    auto saved = Saved(ConversationOf(*turn));
    ASSERT_EQ(saved.messages.size(), 1u) << "the user's message is kept";
    EXPECT_EQ(saved.messages[0].role, "user");
  }
}

// A tool host whose one tool answers `bytes` bytes of text.
class HugeTool : public chat::ToolHost {
 public:
  explicit HugeTool(size_t bytes) : bytes_(bytes) {}
  std::vector<chat::ToolInfo> Tools() override { return {{.name = "dump", .server = "test", .tool = "dump"}}; }
  Result<chat::ToolOutcome> Call(const chat::ToolInfo&, const Json&, std::chrono::steady_clock::time_point,
                                 CancelToken&) override {
    std::string text(bytes_, 'x');
    for (size_t at = 0; at + 4 <= text.size(); at += 1000) text.replace(at, 4, "\xc3\xa9\xc3\xa9");  // UTF-8 to cut around
    return chat::ToolOutcome{std::move(text), false, nullptr};
  }

 private:
  size_t bytes_;
};

int64_t PeakRssKb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  return 0;
}

TEST(ChatHugeToolResult, TenMegabytesAreBoundedForTheModelWithANote) {
  TempDir dir;
  ScriptedOpenAi model({Turn::ToolCalls({{"dump", "{}"}}), Turn::Text("That was long.")});
  config::Config cfg;
  cfg.models.push_back({.name = "remote", .kind = config::ModelConfig::Kind::kRemote, .url = model.base_url()});
  auto manager = manager::Manager::Create({.config = cfg, .state_dir = dir.path() / "run", .log_dir = dir.path() / "logs"});
  ASSERT_TRUE(manager.ok()) << manager.status().ToString();
  auto history = store::History::Open(dir.path() / "history.db");
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  net::HttpClient http;
  HugeTool tools(10 * 1024 * 1024);
  chat::ChatService service(**manager, &tools, http, history->get());

  const int64_t rss_before = PeakRssKb();
  std::vector<std::string> results;
  CancelToken cancel;
  auto turn = service.Run({.prompt = "dump it"},
                          [&](const chat::TurnEvent& e) {
                            if (e.kind == chat::TurnEvent::Kind::kAgent && e.agent.kind == chat::Event::Kind::kToolResult)
                              results.push_back(e.agent.text);
                          },
                          nullptr, cancel);
  ASSERT_TRUE(turn.ok()) << turn.status().ToString();
  EXPECT_EQ(turn->transcript.answer, "That was long.");

  const std::string note = "[llmdesk: the tool result was 10485760 bytes; only the first ";
  const std::string sent = model.requests().at(1)["messages"].back().value("content", "");
  EXPECT_LT(sent.size(), 70u * 1024) << "the model got the whole result";
  EXPECT_GT(sent.size(), 60u * 1024);
  EXPECT_NE(sent.find(note), std::string::npos) << sent.substr(sent.size() - 200);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0], sent) << "front ends see what the model saw";

  auto saved = (*history)->Get(turn->conversation);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  ASSERT_EQ(saved->messages.size(), 4u);
  EXPECT_EQ(saved->messages[2].content, sent);
  ASSERT_EQ(saved->messages[1].tool_calls.size(), 1u);
  EXPECT_EQ(saved->messages[1].tool_calls[0].result.value_or(""), sent);
  // A few copies of 10 MB at most, not a copy per consumer (events, history, request body, SSE).
  EXPECT_LT(PeakRssKb() - rss_before, 80 * 1024) << "peak RSS grew by " << PeakRssKb() - rss_before << " kB";
}

}  // namespace
}  // namespace llmdesk::test
