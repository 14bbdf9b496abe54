// The OpenAI-compatible gateway (issue 9) inside the whole stack, against the scripted stand-in
// (support/scripted_openai.h) as a `url:` remote, the stand-in engine as a spawned `command:` model, and the
// real MCP tool server: routing, byte-for-byte pass-through, streaming as it arrives, `NAME+tools`, and every
// error code in OpenAI's shape.
#include <sys/socket.h>

#include <cstdlib>
#include <thread>

#include "integration/gateway_fixture.h"
#include "support/raw_http.h"
#include "support/scripted_openai.h"

namespace llmdesk::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string Remote(const std::string& name, const std::string& url, const std::string& more = "") {
  return "  " + name + ":\n    url: " + url + "\n" + more;
}

// The stand-in engine as a spawned model: healthy after `delay_ms`, answers only /health and /v1/models.
std::string FakeEngine(const std::string& name, int delay_ms) {
  return "  " + name + ":\n    command: [" + BinPath("llmdesk-fake-engine").string() +
         ", --host, 127.0.0.1, --port, \"${PORT}\", --delay-ms, \"" + std::to_string(delay_ms) + "\"]\n";
}

void ExpectOpenAiError(const net::HttpResponse& r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.body;
  Json j = Json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << r.body;
  EXPECT_TRUE(j["error"]["message"].is_string()) << r.body;
  EXPECT_TRUE(j["error"]["type"].is_string()) << r.body;
  if (!code.empty()) {
    EXPECT_EQ(j["error"]["code"], code) << r.body;
  }
}

TEST_F(GatewayTest, ModelsListsEveryConfiguredModelWithItsState) {
  ScriptedOpenAi scripted({});
  StartStack(Remote("remote", scripted.base_url()) + FakeEngine("local", 0));
  auto r = Send("GET", "/v1/models");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Parse(r.body);
  EXPECT_EQ(j["object"], "list");
  std::map<std::string, std::string> states;
  for (const auto& m : j["data"]) states[m["id"]] = m["llmdesk"]["state"];
  EXPECT_EQ(states.size(), 4u) << r.body;  // each model and its NAME+tools
  EXPECT_EQ(states["local"], "stopped");
  EXPECT_EQ(states["local+tools"], "stopped");
  EXPECT_TRUE(states.count("remote")) << r.body;
  auto one = Send("GET", "/v1/models/local");
  EXPECT_EQ(Parse(one.body)["id"], "local") << one.body;
  ExpectOpenAiError(Send("GET", "/v1/models/nope"), 404, "model_not_found");
}

TEST_F(GatewayTest, ARemoteGetsTheBodyByteForByteWithItsApiKey) {
  // A recording upstream: what arrived, with which Authorization header.
  std::mutex mu;
  std::string got_body, got_auth, got_path;
  net::HttpServer upstream({.port = 0});
  upstream.Route("POST", "/v1/chat/completions", [&](net::Request& req) {
    std::lock_guard lock(mu);
    got_body = req.body, got_auth = req.Header("Authorization"), got_path = req.path;
    return net::Response::Json(200, {{"id", "x"}, {"object", "chat.completion"},
                                     {"choices", Json::array({{{"index", 0}, {"message", {{"role", "assistant"}, {"content", "hi"}}},
                                                               {"finish_reason", "stop"}}})},
                                     {"usage", {{"prompt_tokens", 3}, {"completion_tokens", 1}, {"total_tokens", 4}}}});
  });
  ASSERT_TRUE(upstream.Bind().ok());
  ASSERT_TRUE(upstream.Start().ok());
  ::setenv("LLMDESK_GW_TEST_KEY", "sk-test-123", 1);
  StartStack(Remote("remote", upstream.url() + "/v1/", "    api_key: ${LLMDESK_GW_TEST_KEY}\n"));
  const std::string body = R"({ "model":"remote",  "messages":[{"role":"user","content":"h\u00e9"}], "x_extra": [1, 2.50] })";
  auto r = Send("POST", "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Parse(r.body)["choices"][0]["message"]["content"], "hi");
  std::lock_guard lock(mu);
  EXPECT_EQ(got_body, body);  // not re-serialised: spacing, escapes and unknown fields intact
  EXPECT_EQ(got_auth, "Bearer sk-test-123");
  EXPECT_EQ(got_path, "/v1/chat/completions");
}

TEST_F(GatewayTest, StreamingIsPassedThroughAsItArrives) {
  Turn slow = Turn::Text("one two three four", 4);
  slow.pause = 300ms;
  ScriptedOpenAi scripted({slow});
  StartStack(Remote("remote", scripted.base_url()));
  std::vector<Clock::duration> arrivals;
  const auto t0 = Clock::now();
  int status = 0;
  std::string sse = PostStream("/v1/chat/completions",
                               {{"model", "remote"}, {"stream", true}, {"messages", {{{"role", "user"}, {"content", "count"}}}}},
                               [&](std::string_view chunk) {
                                 if (chunk.find("content") != std::string_view::npos) arrivals.push_back(Clock::now() - t0);
                                 return true;
                               },
                               &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(StreamedText(sse), "one two three four") << sse;
  auto events = Events(sse);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]") << "ends as the upstream ended, nothing added: " << sse;
  ASSERT_GE(arrivals.size(), 3u) << sse;
  // The first piece reached us long before the last was written upstream: nothing buffered whole.
  EXPECT_GE(arrivals.back() - arrivals.front(), 500ms);
}

TEST_F(GatewayTest, AStreamCutOffUpstreamEndsWithAnErrorEvent) {
  Turn cut = Turn::Text("half an answer", 2);
  cut.done_marker = false;  // the upstream's connection ends without [DONE]
  ScriptedOpenAi scripted({cut});
  StartStack(Remote("remote", scripted.base_url()));
  std::string sse = PostStream("/v1/chat/completions",
                               {{"model", "remote"}, {"stream", true}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  auto events = Events(sse);
  ASSERT_FALSE(events.empty()) << sse;
  ASSERT_TRUE(events.back().is_object() && events.back().contains("error")) << sse;
  EXPECT_EQ(events.back()["error"]["code"], "upstream_failed");
  EXPECT_EQ(StreamedText(sse), "half an answer");
}

TEST_F(GatewayTest, ClientToolsArePassedThroughUntouched) {
  ScriptedOpenAi scripted({Turn::ToolCalls({{"lookup", R"({"q":"x"})"}})});  // streamed: the client asks so
  StartStack(Remote("remote", scripted.base_url()));
  Json tools = Json::array({{{"type", "function"},
                             {"function", {{"name", "lookup"}, {"parameters", {{"type", "object"}, {"properties", {{"q", {{"type", "string"}}}}}}}}}}});
  auto r = Post("/v1/chat/completions", {{"model", "remote"}, {"messages", {{{"role", "user"}, {"content", "find x"}}}},
                                         {"tools", tools}, {"stream", true}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"name\":\"lookup\""), std::string::npos) << "the tool call reached the client: " << r.body;
  auto requests = scripted.requests();
  ASSERT_EQ(requests.size(), 1u) << "the gateway ran no tool itself";
  EXPECT_EQ(requests[0]["tools"], tools);
}

TEST_F(GatewayTest, NameToolsRunsTheAgentLoopWithTheRealToolServer) {
  ScriptedOpenAi scripted({Turn::ToolCalls({{"calculator", R"({"expression":"2+2"})"}}), Turn::Text("2+2 is 4.")});
  StartStack(Remote("remote", scripted.base_url()));
  auto r = Post("/v1/chat/completions", {{"model", "remote+tools"}, {"messages", {{{"role", "user"}, {"content", "What's 2+2?"}}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Parse(r.body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "2+2 is 4.");
  EXPECT_EQ(j["model"], "remote+tools");
  EXPECT_EQ(j["llmdesk"]["steps"], 2);
  ASSERT_EQ(j["llmdesk"]["tools"].size(), 2u) << r.body;  // the call and its result
  EXPECT_EQ(j["llmdesk"]["tools"][1]["text"], "4");
  auto requests = scripted.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0]["model"], "remote");  // the suffix is ours, not the upstream's
  EXPECT_FALSE(requests[0]["tools"].empty());
  const auto& messages = requests[1]["messages"];
  EXPECT_EQ(messages.back()["role"], "tool");
  EXPECT_EQ(messages.back()["content"], "4");
}

TEST_F(GatewayTest, NameToolsStreamedShowsToolActivityAndTheAnswer) {
  ScriptedOpenAi scripted({Turn::ToolCalls({{"calculator", R"({"expression":"6*7"})"}}), Turn::Text("It is 42.")});
  StartStack(Remote("remote", scripted.base_url()));
  std::string sse = PostStream("/v1/chat/completions", {{"model", "remote"}, {"llmdesk", {{"tools", "auto"}}}, {"stream", true},
                                                         {"messages", {{{"role", "user"}, {"content", "6*7?"}}}}});
  EXPECT_EQ(StreamedText(sse), "It is 42.") << sse;
  std::vector<std::string> activity;
  bool usage = false;
  for (const auto& e : Events(sse)) {
    if (e.is_object() && e.contains("llmdesk") && e["llmdesk"].contains("event")) activity.push_back(e["llmdesk"]["event"]);
    if (e.is_object() && e.contains("usage")) usage = true;
  }
  EXPECT_EQ(activity, (std::vector<std::string>{"tool_call", "tool_result"})) << sse;
  EXPECT_TRUE(usage) << sse;
  EXPECT_NE(sse.find("data: [DONE]"), std::string::npos);
}

TEST_F(GatewayTest, ErrorsComeInOpenAisShape) {
  ScriptedOpenAi scripted({});
  StartStack(Remote("remote", scripted.base_url()) + FakeEngine("local", 0));
  auto unknown = Post("/v1/chat/completions", {{"model", "gpt-9"}, {"messages", Json::array()}});
  ExpectOpenAiError(unknown, 404, "model_not_found");
  EXPECT_NE(Parse(unknown.body)["error"]["message"].get<std::string>().find("available: remote, local"), std::string::npos)
      << unknown.body;
  EXPECT_EQ(Parse(unknown.body)["error"]["available"], Json::array({"remote", "local"}));
  ExpectOpenAiError(Send("POST", "/v1/chat/completions", "{\"model\": \"remote\", "), 400, "invalid_json");
  ExpectOpenAiError(Send("POST", "/v1/completions", "[1,2]"), 400, "invalid_json");
  ExpectOpenAiError(Post("/v1/embeddings", {{"input", "x"}}), 400, "missing_model");
  ExpectOpenAiError(Send("GET", "/v1/models", "", {{"Origin", "http://evil.example"}}), 403, "");
  // A body over the limit is refused from its Content-Length, before it is read.
  Raw raw(std::stoi(base_.substr(base_.rfind(':') + 1)));
  ASSERT_TRUE(raw.Send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       "Content-Length: 40000000\r\n\r\n{"));
  std::string head = raw.ReadUntil("}}");
  EXPECT_NE(head.find("HTTP/1.1 413"), std::string::npos) << head;
  EXPECT_NE(head.find("\"type\":\"invalid_request_error\""), std::string::npos) << head;
}

TEST_F(GatewayTest, ATokenIsRequiredWhenConfigured) {
  ScriptedOpenAi scripted({Turn::Text("ok")});
  StartStack(Remote("remote", scripted.base_url()), "token: s3cret");
  ExpectOpenAiError(Send("GET", "/v1/models"), 401, "");
  ExpectOpenAiError(Send("GET", "/v1/models", "", {{"Authorization", "Bearer wrong"}}), 401, "");
  EXPECT_EQ(Send("GET", "/v1/models", "", {{"Authorization", "Bearer s3cret"}}).status, 200);
}

TEST_F(GatewayTest, AnEngineThatCannotStartIs503NamingThePortHolder) {
  int held = 0;
  UniqueFd holder = BindLoopbackSocket(held);
  ASSERT_EQ(::listen(holder.get(), 4), 0);
  StartStack("  local:\n    command: [" + BinPath("llmdesk-fake-engine").string() +
                 ", --host, 127.0.0.1, --port, \"${PORT}\"]\n    port: " + std::to_string(held) + "\n",
             "", [](config::Config& c) { c.ports.on_conflict = config::OnConflict::kFail; });
  auto r = Post("/v1/chat/completions", {{"model", "local"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  ExpectOpenAiError(r, 503, "model_unavailable");
  const std::string message = Parse(r.body)["error"]["message"];
  EXPECT_NE(message.find("port " + std::to_string(held) + " is held by PID " + std::to_string(::getpid())), std::string::npos)
      << message;
}

TEST_F(GatewayTest, AFullQueueIs429WithRetryAfter) {
  StartStack(FakeEngine("slow", 3000), "queue: 1");
  std::thread first([&] {
    auto r = Post("/v1/chat/completions", {{"model", "slow"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
    EXPECT_NE(r.status, 429) << r.body;  // it waited for the start (the stand-in answers no completions)
  });
  // The first request is waiting for the start once the backend is starting.
  auto starting = stack_->manager().WaitUntil("slow", [](const manager::BackendStatus& s) {
    return s.state == manager::State::kStarting;
  }, 10s);
  ASSERT_TRUE(starting.ok());
  auto second = Post("/v1/chat/completions", {{"model", "slow"}, {"messages", {{{"role", "user"}, {"content", "y"}}}}});
  ExpectOpenAiError(second, 429, "queue_full");
  EXPECT_EQ(second.Header("Retry-After"), "1");
  first.join();
  auto metrics = Send("GET", "/metrics");
  EXPECT_NE(metrics.body.find("llmdesk_gateway_rejected_total{model=\"slow\"} 1"), std::string::npos) << metrics.body;
}

TEST_F(GatewayTest, MetricsCountRequestsTokensLoadsAndQueueDepth) {
  Turn whole;
  whole.kind = Turn::Kind::kJson;
  whole.json = {{"id", "x"}, {"object", "chat.completion"},
                {"choices", Json::array({{{"index", 0}, {"message", {{"role", "assistant"}, {"content", "hi"}}}, {"finish_reason", "stop"}}})},
                {"usage", {{"prompt_tokens", 7}, {"completion_tokens", 3}, {"total_tokens", 10}}}};
  ScriptedOpenAi scripted({whole});
  StartStack(Remote("remote", scripted.base_url()) + FakeEngine("local", 0));
  EXPECT_EQ(Post("/v1/chat/completions", {{"model", "remote"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}}).status, 200);
  (void)Post("/v1/completions", {{"model", "local"}, {"prompt", "x"}});  // the stand-in has no /v1/completions: 404
  (void)Post("/v1/chat/completions", {{"model", "nope"}});
  auto r = Send("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.Header("Content-Type").find("text/plain; version=0.0.4"), std::string::npos);
  for (const char* line : {"llmdesk_gateway_requests_total{model=\"remote\",route=\"chat/completions\",code=\"200\"} 1",
                           "llmdesk_gateway_requests_total{model=\"local\",route=\"completions\",code=\"404\"} 1",
                           "llmdesk_gateway_requests_total{model=\"\",route=\"chat/completions\",code=\"404\"} 1",
                           "llmdesk_gateway_tokens_total{model=\"remote\",kind=\"prompt\"} 7",
                           "llmdesk_gateway_tokens_total{model=\"remote\",kind=\"completion\"} 3",
                           "llmdesk_gateway_request_duration_seconds_count{model=\"remote\"} 1",
                           "llmdesk_gateway_loads_total{model=\"local\"} 1", "llmdesk_gateway_queue_depth{model=\"local\"} 0",
                           "llmdesk_gateway_in_flight{model=\"local\"} 0"})
    EXPECT_NE(r.body.find(line), std::string::npos) << line << "\n" << r.body;
}

}  // namespace
}  // namespace llmdesk::test
