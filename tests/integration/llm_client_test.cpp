// llm::ChatClient over real sockets against the scripted OpenAI stand-in (tests/support/scripted_openai.h):
// streamed text and tool calls in fragments, server errors with their message, an HTML answer, a stream cut
// short, cancel mid-stream, and a server that ignores `stream`.
#include <gtest/gtest.h>

#include <thread>

#include "llm/client.h"
#include "net/http_client.h"
#include "support/scripted_openai.h"

namespace llmdesk::llm {
namespace {

using namespace std::chrono_literals;
using test::ScriptedOpenAi;
using test::Turn;
using Json = nlohmann::json;

ChatRequest Ask(const std::string& text, bool stream = true) {
  ChatRequest r;
  r.model = "scripted";
  r.stream = stream;
  r.messages = {{"user", text, {}, ""}};
  return r;
}

TEST(ChatClient, StreamsTextAndToolCallsInPieces) {
  ScriptedOpenAi server({Turn::Text("2+2 is 4.", 4), Turn::ToolCalls({{"calculator", R"({"expression":"2+2"})"},
                                                                      {"get_time", R"({"timezone":"UTC"})"}})});
  net::HttpClient http;
  ChatClient client(http, {.base_url = server.base_url()});
  std::string streamed;
  auto text = client.Complete(Ask("What's 2+2?"), [&](const StreamAccumulator::Delta& d) { streamed += d.content; }, nullptr);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(text->message.content, "2+2 is 4.");
  EXPECT_EQ(streamed, "2+2 is 4.");
  EXPECT_EQ(text->usage.total_tokens, 15);
  EXPECT_EQ(server.requests().at(0)["messages"][0]["content"], "What's 2+2?");

  auto calls = client.Complete(Ask("go"), nullptr, nullptr);
  ASSERT_TRUE(calls.ok()) << calls.status().ToString();
  ASSERT_EQ(calls->message.tool_calls.size(), 2u);
  EXPECT_EQ(calls->message.tool_calls[0].name, "calculator");
  EXPECT_EQ(calls->message.tool_calls[0].arguments, R"({"expression":"2+2"})");
  EXPECT_EQ(calls->message.tool_calls[1].arguments, R"({"timezone":"UTC"})");
  EXPECT_EQ(calls->finish_reason, "tool_calls");
}

TEST(ChatClient, ServerErrorsCarryTheServersMessage) {
  ScriptedOpenAi server({Turn::Error(503, "Loading model"), Turn::Html(502, "<html><body>Bad Gateway</body></html>"),
                         Turn::Error(400, "the request exceeds the context size")});
  net::HttpClient http;
  ChatClient client(http, {.base_url = server.base_url()});
  auto loading = client.Complete(Ask("x"), nullptr, nullptr);
  EXPECT_EQ(loading.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(loading.status().message().find("Loading model"), std::string::npos) << loading.status().ToString();
  auto html = client.Complete(Ask("x"), nullptr, nullptr);
  EXPECT_EQ(html.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(html.status().message().find("text/html"), std::string::npos) << html.status().ToString();
  auto too_long = client.Complete(Ask("x"), nullptr, nullptr);
  EXPECT_EQ(too_long.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(too_long.status().message().find("context size"), std::string::npos);
}

TEST(ChatClient, AStreamCutShortIsAnErrorNotAnAnswer) {
  Turn cut = Turn::Text("The answer is 4", 3);
  cut.chunks.resize(2);  // role + first piece, then the connection ends: no finish_reason, no [DONE]
  cut.done_marker = false;
  Turn mid_error = Turn::Text("partial", 2);
  mid_error.chunks.insert(mid_error.chunks.begin() + 2, Json{{"error", {{"message", "slot crashed"}}}});
  ScriptedOpenAi server({cut, mid_error});
  net::HttpClient http;
  ChatClient client(http, {.base_url = server.base_url()});
  auto r = client.Complete(Ask("x"), nullptr, nullptr);
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(r.status().message().find("closed the stream"), std::string::npos) << r.status().ToString();
  auto e = client.Complete(Ask("x"), nullptr, nullptr);
  EXPECT_NE(e.status().message().find("slot crashed"), std::string::npos) << e.status().ToString();
}

TEST(ChatClient, CancelEndsAStreamAtOnce) {
  Turn slow = Turn::Text("a slow answer that takes its time", 20);
  slow.pause = 200ms;  // ~4 s in all
  ScriptedOpenAi server({slow});
  net::HttpClient http;
  ChatClient client(http, {.base_url = server.base_url()});
  CancelToken cancel;
  std::chrono::steady_clock::time_point cancelled_at;
  auto r = client.Complete(Ask("x"), [&](const StreamAccumulator::Delta&) {
    if (cancelled_at == std::chrono::steady_clock::time_point{}) {
      cancelled_at = std::chrono::steady_clock::now();
      std::thread([&cancel] { cancel.Cancel(); }).join();  // from another thread, as a UI would
    }
  }, &cancel);
  EXPECT_EQ(r.status().code(), Status::Code::kCancelled) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled_at, 2s) << "the transfer must not run on to the end";
}

TEST(ChatClient, NonStreamedAndStreamIgnored) {
  Turn whole;
  whole.kind = Turn::Kind::kJson;
  whole.json = {{"choices", Json::array({{{"message", {{"role", "assistant"}, {"content", "4"}}}, {"finish_reason", "stop"}}})}};
  ScriptedOpenAi server({whole, whole});
  net::HttpClient http;
  ChatClient client(http, {.base_url = server.base_url() + "/"});
  auto plain = client.Complete(Ask("x", /*stream=*/false), nullptr, nullptr);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->message.content, "4");
  auto ignored = client.Complete(Ask("x", /*stream=*/true), nullptr, nullptr);
  ASSERT_TRUE(ignored.ok()) << ignored.status().ToString();
  EXPECT_EQ(ignored->message.content, "4");
}

TEST(ChatClient, NothingListeningIsUnavailable) {
  net::HttpClient http;
  ChatClient client(http, {.base_url = "http://127.0.0.1:1/v1"});
  auto r = client.Complete(Ask("x"), nullptr, nullptr);
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
}

}  // namespace
}  // namespace llmdesk::llm
