// The OpenAI-compatible gateway (issue 9) inside the whole stack, against the scripted stand-in
// (support/scripted_openai.h) as a `url:` remote, the stand-in engine as a spawned `command:` model, and the
// real MCP tool server: routing, byte-for-byte pass-through, streaming as it arrives, `NAME+tools`, every
// error code in OpenAI's shape (also for hostile bodies), CORS for configured origins, Retry-After from the
// model's last start, and a client that leaves while its model starts.
#include <sys/socket.h>

#include <cstdlib>
#include <functional>
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

// Bounded wait for a condition on state this test cannot be woken by (the gateway's /metrics, another
// process's start): looks every 20 ms.
bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
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
  // No start of this model seen yet: as long again as this one has run (well under a second), so 1 s.
  EXPECT_EQ(second.Header("Retry-After"), "1");
  first.join();
  auto metrics = Send("GET", "/metrics");
  EXPECT_NE(metrics.body.find("llmdesk_gateway_rejected_total{model=\"slow\"} 1"), std::string::npos) << metrics.body;

  // Stopped and started again: the last start took over 3 s, so a client refused now hears to come back in
  // about that long, not in 1 s.
  ASSERT_TRUE(stack_->manager().Stop("slow").ok());
  ASSERT_TRUE(stack_->manager().WaitUntil("slow", [](const manager::BackendStatus& s) {
    return s.state == manager::State::kStopped;
  }, 20s).ok());
  std::thread again([&] { (void)Post("/v1/chat/completions", {{"model", "slow"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}}); });
  ASSERT_TRUE(stack_->manager().WaitUntil("slow", [](const manager::BackendStatus& s) {
    return s.state == manager::State::kStarting;
  }, 10s).ok());
  auto third = Post("/v1/chat/completions", {{"model", "slow"}, {"messages", {{{"role", "user"}, {"content", "z"}}}}});
  ExpectOpenAiError(third, 429, "queue_full");
  const int retry = std::atoi(third.Header("Retry-After").c_str());
  EXPECT_GE(retry, 2) << third.Header("Retry-After");
  EXPECT_LE(retry, 60) << third.Header("Retry-After");
  again.join();
}

TEST_F(GatewayTest, AClientThatLeavesWhileItsModelStartsStopsWaitingAtOnce) {
  StartStack(FakeEngine("slow1", 8000) + FakeEngine("slow2", 8000));
  const int port = std::stoi(base_.substr(base_.rfind(':') + 1));
  auto depth = [&](const std::string& model) {
    const std::string metrics = Send("GET", "/metrics").body, key = "llmdesk_gateway_queue_depth{model=\"" + model + "\"} ";
    const size_t at = metrics.find(key);
    return at == std::string::npos ? -1 : std::atoi(metrics.c_str() + at + key.size());
  };
  for (const auto& [name, stream] : {std::pair{"slow1", false}, std::pair{"slow2", true}}) {
    const std::string model = name;  // a copy: clang 14 cannot capture a structured binding in a lambda
    SCOPED_TRACE(model);
    Raw raw(port);
    const std::string body = Json{{"model", model}, {"stream", stream}, {"messages", {{{"role", "user"}, {"content", "x"}}}}}.dump();
    ASSERT_TRUE(raw.Send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
    // The request is counted in the queue before the gateway asks for the start: leave only once both hold, or a
    // loaded machine lets the client leave before there is a start to outlive it (the model then stays stopped).
    ASSERT_TRUE(stack_->manager().WaitUntil(model, [](const manager::BackendStatus& s) {
      return s.state == manager::State::kStarting;
    }, 10s).ok()) << "the request never started its model";
    ASSERT_TRUE(Eventually([&] { return depth(model) == 1; }, 10s)) << "the request never waited for the start";
    raw.Close();
    EXPECT_TRUE(Eventually([&] { return depth(model) == 0; }, 4s)) << "the request still waits for a client that left";
    auto now = stack_->manager().Get(model);
    ASSERT_TRUE(now.ok());
    EXPECT_EQ(now->state, manager::State::kStarting) << "it left before the start ended, not with it";
  }
}

TEST_F(GatewayTest, CorsIsAnsweredForConfiguredOriginsOnly) {
  ScriptedOpenAi scripted({Turn::Text("hi there")});
  StartStack(Remote("remote", scripted.base_url()), "cors_origins: [\"https://app.example\"]");
  const net::HeaderList app = {{"Origin", "https://app.example"}};
  const Json ask = {{"model", "remote"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}};
  // The preflight a browser sends before a cross-origin POST with a bearer token and JSON.
  auto pre = Send("OPTIONS", "/v1/chat/completions", "",
                  {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"},
                   {"Access-Control-Request-Headers", "authorization, content-type, x-stainless-os"}});
  EXPECT_EQ(pre.status, 204) << pre.body;
  EXPECT_EQ(pre.Header("Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(pre.Header("Access-Control-Allow-Headers"), "authorization, content-type, x-stainless-os");
  EXPECT_NE(pre.Header("Access-Control-Allow-Methods").find("POST"), std::string::npos);
  // The answers themselves, errors included, carry it: the page can read them.
  auto models = Send("GET", "/v1/models", "", app);
  EXPECT_EQ(models.status, 200);
  EXPECT_EQ(models.Header("Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(models.Header("Vary"), "Origin");
  auto missing = Post("/v1/chat/completions", {{"model", "nope"}, {"messages", ask["messages"]}}, app);
  ExpectOpenAiError(missing, 404, "model_not_found");
  EXPECT_EQ(missing.Header("Access-Control-Allow-Origin"), "https://app.example");
  net::HttpRequest q{.method = "POST", .url = base_ + "/v1/chat/completions",
                     .headers = {{"Content-Type", "application/json"}, {"Origin", "https://app.example"}}};
  Json streamed = ask;
  streamed["stream"] = true;
  q.body = streamed.dump();
  std::string allow, sse;
  ASSERT_TRUE(http_.Stream(q, [&](int, const net::HeaderList& headers) {
    for (const auto& [k, v] : headers)
      if (k == "Access-Control-Allow-Origin" || k == "access-control-allow-origin") allow = v;
    return true;
  }, [&](std::string_view chunk) { sse.append(chunk); return true; }).ok());
  EXPECT_EQ(allow, "https://app.example");
  EXPECT_EQ(StreamedText(sse), "hi there") << sse;
  // Any other foreign origin: 403, preflight included. A loopback page is served as before, without CORS.
  const net::HeaderList evil = {{"Origin", "https://evil.example"}};
  ExpectOpenAiError(Send("GET", "/v1/models", "", evil), 403, "");
  ExpectOpenAiError(Send("OPTIONS", "/v1/chat/completions", "", evil), 403, "");
  ExpectOpenAiError(Post("/v1/chat/completions", ask, evil), 403, "");
  auto local = Send("GET", "/v1/models", "", {{"Origin", "http://localhost:3000"}});
  EXPECT_EQ(local.status, 200);
  EXPECT_EQ(local.Header("Access-Control-Allow-Origin"), "");
  ExpectOpenAiError(Send("OPTIONS", "/v1/models", "", {{"Origin", "http://localhost:3000"}}), 403, "forbidden");
  // The origin is let in for /v1 only: the control API stays closed to it.
  ExpectOpenAiError(Send("GET", "/api/backends", "", app), 403, "");
}

TEST_F(GatewayTest, APreflightNeedsNoTokenButTheRequestDoes) {
  ScriptedOpenAi scripted({});
  StartStack(Remote("remote", scripted.base_url()), "token: s3cret, cors_origins: [\"https://app.example\"]");
  auto pre = Send("OPTIONS", "/v1/models", "", {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(pre.status, 204) << pre.body;
  EXPECT_EQ(pre.Header("Access-Control-Allow-Headers"), "Authorization, Content-Type");
  ExpectOpenAiError(Send("GET", "/v1/models", "", {{"Origin", "https://app.example"}}), 401, "");
  EXPECT_EQ(Send("GET", "/v1/models", "", {{"Origin", "https://app.example"}, {"Authorization", "Bearer s3cret"}}).status, 200);
}

// An attacker's pass over request handling: each wrong shape is an OpenAI-shaped 4xx, quickly, nothing of a
// huge input echoed back, and the gateway keeps serving.
TEST_F(GatewayTest, HostileRequestsGetOpenAiShaped4xxAndTheGatewayKeepsServing) {
  ScriptedOpenAi scripted({});
  StartStack(Remote("remote", scripted.base_url()));
  const Json messages = {{{"role", "user"}, {"content", "x"}}};
  auto with = [&](const char* key, const Json& value) {
    Json b = {{"model", "remote"}, {"messages", messages}};
    b[key] = value;
    return b.dump();
  };
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  struct Case {
    const char* what;
    std::string body;
    int status;
    const char* code;
  };
  const std::vector<Case> cases = {
      {"model as a number", with("model", 42), 400, "missing_model"},
      {"model as a list", with("model", Json::array({"remote"})), 400, "missing_model"},
      {"model as an object", with("model", {{"name", "remote"}}), 400, "missing_model"},
      {"no messages", R"({"model": "remote"})", 400, "invalid_request"},
      {"messages as a string", with("messages", "hi"), 400, "invalid_request"},
      {"messages as an object", with("messages", {{"role", "user"}}), 400, "invalid_request"},
      {"a message that is a number", with("messages", Json::array({1})), 400, "invalid_request"},
      {"a role that is a number", with("messages", Json::array({{{"role", 1}, {"content", "x"}}})), 400, "invalid_request"},
      {"stream as a string", with("stream", "yes"), 400, "invalid_request"},
      {"stream as a number", with("stream", 1), 400, "invalid_request"},
      {"max_tokens as a string", with("max_tokens", "10"), 400, "invalid_request"},
      {"max_tokens negative", with("max_tokens", -1), 400, "invalid_request"},
      {"max_tokens fractional", with("max_tokens", 1.5), 400, "invalid_request"},
      {"llmdesk as a string", with("llmdesk", "auto"), 400, "invalid_request"},
      {"llmdesk as a list", with("llmdesk", Json::array()), 400, "invalid_request"},
      {"tools as an object", with("tools", Json::object()), 400, "invalid_request"},
      {"deeply nested", R"({"model": "remote", "messages": [{"role": "user", "content": "x"}], "x": )" + deep + "}", 400,
       "invalid_json"},
      {"deeply nested, not an object", deep, 400, "invalid_json"},
      {"non-UTF-8 text", "{\"model\": \"remote\", \"messages\": [{\"role\": \"user\", \"content\": \"\xff\xfe\xc3\"}]}", 400,
       "invalid_json"},
      {"a lone surrogate escape", R"({"model": "remote", "messages": [{"role": "user", "content": "\ud800"}]})", 400,
       "invalid_json"},
      {"path characters in the model", with("model", "../../../etc/passwd"), 404, "model_not_found"},
      {"a model with a slash", with("model", "remote/../remote"), 404, "model_not_found"},
      {"+tools on an unknown model", with("model", "nope+tools"), 404, "model_not_found"},
      {"a 1 MB model name", with("model", std::string(1 << 20, 'm')), 404, "model_not_found"},
      {"a 1 MB key", "{\"" + std::string(1 << 20, 'k') + "\": 1}", 400, "missing_model"},
      {"empty body", "", 400, "invalid_json"},
      {"null", "null", 400, "invalid_json"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto r = Send("POST", "/v1/chat/completions", c.body);
    ExpectOpenAiError(r, c.status, c.code);
    EXPECT_LT(r.body.size(), 4096u) << "a huge input is not echoed back whole";
  }
  ExpectOpenAiError(Send("POST", "/v1/embeddings", with("model", 7)), 400, "missing_model");
  // A GET with a body is the GET it is; a model id with path characters is an unknown model.
  auto get = Send("GET", "/v1/models", R"({"model": 1})");
  EXPECT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(Parse(get.body)["object"], "list");
  ExpectOpenAiError(Send("GET", "/v1/models/..%2F..%2Fetc%2Fpasswd"), 404, "");
  ExpectOpenAiError(Send("GET", "/v1/models/%00"), 404, "");
  EXPECT_EQ(Send("GET", "/v1/models").status, 200) << "the gateway still serves";
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
