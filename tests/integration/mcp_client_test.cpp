// mcp::Client against real servers in real processes: llmdesk's own tool server over Streamable HTTP (and
// its restart: the client initializes again), `llmdesk mcp-stdio` over stdio, and stdio servers that die at
// once, hang, or never answer a call (cancel). Then what our tool server never does, from scripted servers
// on 127.0.0.1 (mcp_client_scripted.h): reply streams that end before the reply (resumed with GET +
// Last-Event-ID after `retry:`), a dropped connection, requests to the client (elicitation with defaults).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "integration/mcp_client_scripted.h"
#include "integration/tool_server_process.h"
#include "mcp/client.h"
#include "net/http_client.h"
#include "net/sse.h"
#include "support/spawn.h"
#include "support/test_support.h"

namespace llmdesk::mcp {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

ServerSpec Stdio(std::vector<std::string> argv, std::chrono::milliseconds connect_timeout = 10s) {
  ServerSpec s;
  s.name = "t";
  s.command = std::move(argv);
  s.connect_timeout = connect_timeout;
  return s;
}

TEST(McpClient, HttpListsAndCallsToolsOfOurToolServer) {
  test::TempDir dir;
  int port = 0;
  auto server = test::StartToolServer(dir, port);
  net::HttpClient http;
  auto client = Client::Connect({.name = "llmdesk", .url = "http://127.0.0.1:" + std::to_string(port) + "/mcp"}, &http);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ((*client)->protocol_version(), "2025-11-25");
  auto tools = (*client)->ListTools();
  ASSERT_TRUE(tools.ok()) << tools.status().ToString();
  ASSERT_EQ(tools->size(), 2u);
  EXPECT_EQ((*tools)[0]["name"], "calculator");
  auto four = (*client)->CallTool("calculator", {{"expression", "2+2"}}, Clock::now() + 10s);
  ASSERT_TRUE(four.ok()) << four.status().ToString();
  EXPECT_EQ(ResultText(*four), "4");
  auto bad = (*client)->CallTool("calculator", {{"expression", "1/0"}}, Clock::now() + 10s);
  ASSERT_TRUE(bad.ok()) << "a tool failure is a result";
  EXPECT_TRUE(bad->value("isError", false));
  auto unknown = (*client)->CallTool("nope", json::object(), Clock::now() + 10s);
  EXPECT_EQ(unknown.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("-32602"), std::string::npos) << unknown.status().ToString();
}

TEST(McpClient, HttpInitializesAgainWhenTheToolServerRestarted) {
  test::TempDir dir;
  int port = 0;
  auto server = test::StartToolServer(dir, port);
  net::HttpClient http;
  auto client = Client::Connect({.name = "llmdesk", .url = "http://127.0.0.1:" + std::to_string(port) + "/mcp"}, &http);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ASSERT_TRUE((*client)->CallTool("calculator", {{"expression", "1+1"}}, Clock::now() + 10s).ok());
  server.Stop(5s);
  int same_port = port;
  auto again = test::StartToolServer(dir, same_port);  // a new process: the old session is unknown to it
  ASSERT_EQ(same_port, port);
  auto after = (*client)->CallTool("calculator", {{"expression", "2+3"}}, Clock::now() + 10s);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(ResultText(*after), "5");
}

TEST(McpClient, StdioListsAndCallsToolsOfMcpStdio) {
  test::TempDir dir;
  auto config = dir.Write("llm_backends.yaml", "tool_server:\n  tools: [calculator, convert_units]\n");
  auto client = Client::Connect(Stdio({test::BinPath("llmdesk").string(), "--config", config.string(), "mcp-stdio"}),
                                nullptr);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto tools = (*client)->ListTools();
  ASSERT_TRUE(tools.ok()) << tools.status().ToString();
  EXPECT_EQ(tools->size(), 2u);
  // Concurrent calls are matched to their replies by id.
  std::vector<std::thread> threads;
  std::vector<std::string> answers(4);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      auto r = (*client)->CallTool("calculator", {{"expression", std::to_string(i) + "*10"}}, Clock::now() + 10s);
      answers[i] = r.ok() ? ResultText(*r) : r.status().ToString();
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(answers[i], std::to_string(i * 10));
  EXPECT_TRUE((*client)->Ping().ok());
}

TEST(McpClient, StdioServerThatDiesIsReportedWithItsOwnWords) {
  auto r = Client::Connect(Stdio({"/bin/sh", "-c", "echo 'cannot open the database' >&2; exit 3"}), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("cannot open the database"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("exited with code 3"), std::string::npos) << r.status().ToString();

  auto missing = Client::Connect(Stdio({"/nonexistent/mcp-server"}), nullptr);
  EXPECT_EQ(missing.status().code(), Status::Code::kUnavailable) << missing.status().ToString();
}

// The server closes its stdin before it answers initialize, so the client's next line (initialized) is refused
// while the server still runs for a second: the error waits for the exit and carries its code and last words,
// not a bare "closed its stdin" (under load, the test above raced into that).
TEST(McpClient, StdioServerThatClosesItsInputThenExitsIsReportedWithItsExit) {
  const std::string script =
      "read -r line; v=$(printf '%s' \"$line\" | sed -n 's/.*\"protocolVersion\":\"\\([^\"]*\\)\".*/\\1/p'); "
      "exec 0<&-; printf '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocolVersion\":\"%s\",\"capabilities\":{},"
      "\"serverInfo\":{\"name\":\"t\",\"version\":\"1\"}}}\\n' \"$v\"; echo 'lost my database' >&2; sleep 1; exit 3";
  auto r = Client::Connect(Stdio({"/bin/sh", "-c", script}), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("exited with code 3"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("lost my database"), std::string::npos) << r.status().ToString();
}

TEST(McpClient, StdioServerThatHangsTimesOutWithinItsConnectTimeout) {
  const auto started = Clock::now();
  auto r = Client::Connect(Stdio({"/bin/sh", "-c", "exec sleep 60"}, 500ms), nullptr);
  EXPECT_EQ(r.status().code(), Status::Code::kTimeout) << r.status().ToString();
  EXPECT_LT(Clock::now() - started, 10s);
}

TEST(McpClient, CancelEndsACallTheServerNeverAnswers) {
  // Answers initialize, then reads everything and answers nothing.
  const std::string script =
      "read line; printf '%s\\n' '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocolVersion\":\"2025-11-25\","
      "\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"mute\",\"version\":\"1\"}}}'; exec cat >/dev/null";
  auto client = Client::Connect(Stdio({"/bin/sh", "-c", script}), nullptr);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  CancelToken cancel;
  std::thread stop([&] {
    std::this_thread::sleep_for(200ms);  // a person pressing Stop a moment later (not synchronisation)
    cancel.Cancel();
  });
  const auto started = Clock::now();
  auto r = (*client)->CallTool("anything", json::object(), Clock::now() + 30s, &cancel);
  stop.join();
  EXPECT_EQ(r.status().code(), Status::Code::kCancelled) << r.status().ToString();
  EXPECT_LT(Clock::now() - started, 5s);
}

// --- Reply streams that end before the reply (2025-11-25 Streamable HTTP, SEP-1699) ---------------------

// The SSE frames a scripted server writes: a priming event (an id, a reconnection time, no message) and a
// JSON-RPC message with an id.
std::string Priming(const std::string& id, int retry_ms) {
  return "id: " + id + "\nretry: " + std::to_string(retry_ms) + "\ndata: \n\n";
}
std::string Message(const json& message, const std::string& id) { return net::SseFrame("message", message.dump(), id); }
json ToolReply(const json& id, const std::string& text) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", {{"content", {{{"type", "text"}, {"text", text}}}}}}};
}

TEST(McpClient, HttpResumesAReplyStreamTheServerClosedAfterItsRetryDelayWithLastEventId) {
  std::mutex mu;
  json pending_id;
  Clock::time_point closed_at;
  test::ScriptedMcp server(
      [&](const json* call, net::Stream& stream) {
        stream.Write(Priming("call-1", 300));
        std::lock_guard lock(mu);
        pending_id = (*call)["id"];
        closed_at = Clock::now();
        stream.Close();
      },
      [&](const json*, net::Stream& stream) {
        std::lock_guard lock(mu);
        stream.Write(Message(ToolReply(pending_id, "resumed"), "call-2"));
        stream.Close();
      });
  net::HttpClient http;
  auto client = Client::Connect({.name = "scripted", .url = server.url()}, &http);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto r = (*client)->CallTool("slow", json::object(), Clock::now() + 10s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ResultText(*r), "resumed");
  auto gets = server.gets();
  ASSERT_EQ(gets.size(), 1u);
  EXPECT_EQ(gets[0].last_event_id, "call-1");
  EXPECT_EQ(gets[0].session, "scripted-session");
  // The server asked for 300 ms before the client comes back (the default would be 1 s; none would be 0).
  std::lock_guard lock(mu);
  EXPECT_GE(gets[0].at - closed_at, 300ms);
}

TEST(McpClient, HttpResumesAsOftenAsTheResumedStreamsBringNewEvents) {
  // Polling: every GET brings one more notification and ends; the fifth brings the reply. More resumes
  // than kMaxIdleResumes in a row: only resumes that bring nothing count against it.
  std::mutex mu;
  json pending_id;
  int get_count = 0;
  test::ScriptedMcp server(
      [&](const json* call, net::Stream& stream) {
        std::lock_guard lock(mu);
        pending_id = (*call)["id"];
        stream.Write(Priming("e0", 10));
        stream.Close();
      },
      [&](const json*, net::Stream& stream) {
        std::lock_guard lock(mu);
        const std::string id = "e" + std::to_string(++get_count);
        if (get_count < 5)
          stream.Write(Message({{"jsonrpc", "2.0"}, {"method", "notifications/progress"},
                                {"params", {{"progressToken", 1}, {"progress", get_count}}}}, id));
        else
          stream.Write(Message(ToolReply(pending_id, "after five resumes"), id));
        stream.Close();
      });
  net::HttpClient http;
  auto client = Client::Connect({.name = "scripted", .url = server.url()}, &http);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto r = (*client)->CallTool("poll", json::object(), Clock::now() + 10s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ResultText(*r), "after five resumes");
  auto gets = server.gets();
  ASSERT_EQ(gets.size(), 5u);
  for (size_t i = 0; i < gets.size(); ++i) EXPECT_EQ(gets[i].last_event_id, "e" + std::to_string(i)) << i;
}

TEST(McpClient, HttpGivesUpOnAServerThatKeepsEndingTheStreamWithNothingNew) {
  test::ScriptedMcp server(
      [&](const json*, net::Stream& stream) {
        stream.Write(Priming("only", 10));
        stream.Close();
      },
      [&](const json*, net::Stream& stream) {
        stream.Write(Priming("only", 10));  // the same id again: no progress
        stream.Close();
      });
  net::HttpClient http;
  auto client = Client::Connect({.name = "scripted", .url = server.url()}, &http);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const auto started = Clock::now();
  auto r = (*client)->CallTool("never", json::object(), Clock::now() + 30s);
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("kept ending it without the reply (3 GETs"), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(server.gets().size(), 3u);
  EXPECT_LT(Clock::now() - started, 10s);
}

TEST(McpClient, HttpResumesAStreamWhoseConnectionDropped) {
  // A chunked reply stream cut off mid-way (no final chunk): a transport error, not an end; the client
  // resumes it like a closed one.
  std::mutex mu;
  std::vector<std::string> seen;  // "METHOD rpc-method-or-(get)"
  json pending_id;
  test::RawHttpScript server([&](const std::string& method, const std::string& body) -> std::string {
    std::lock_guard lock(mu);
    const json m = json::parse(body, nullptr, false);
    const std::string rpc = m.is_object() ? m.value("method", "") : "";
    seen.push_back(method + " " + rpc);
    const std::string sse_head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nMcp-Session-Id: raw\r\nConnection: close\r\n";
    if (rpc == "initialize") {
      const std::string reply = json{{"jsonrpc", "2.0"}, {"id", m["id"]},
                                     {"result", {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()},
                                                 {"serverInfo", {{"name", "raw"}, {"version", "1"}}}}}}.dump();
      return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: raw\r\nContent-Length: " +
             std::to_string(reply.size()) + "\r\nConnection: close\r\n\r\n" + reply;
    }
    if (rpc == "tools/call") {
      pending_id = m["id"];
      const std::string priming = Priming("cut-1", 20);
      char size[16];
      std::snprintf(size, sizeof size, "%zx", priming.size());
      return sse_head + "Transfer-Encoding: chunked\r\n\r\n" + size + "\r\n" + priming + "\r\n";  // no "0\r\n\r\n"
    }
    if (method == "GET") return sse_head + "\r\n" + Message(ToolReply(pending_id, "after the drop"), "cut-2");
    return "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  });
  net::HttpClient http;
  auto client = Client::Connect({.name = "raw", .url = server.url()}, &http);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto r = (*client)->CallTool("fragile", json::object(), Clock::now() + 10s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ResultText(*r), "after the drop");
  std::lock_guard lock(mu);
  EXPECT_EQ(seen.back(), "GET ");
}

// --- Requests from the server: elicitation answered with the schema's defaults (SEP-1034) -----------------

const json kElicitation = {
    {"message", "Who are you?"},
    {"requestedSchema",
     {{"type", "object"},
      {"properties",
       {{"name", {{"type", "string"}, {"default", "John Doe"}}},
        {"age", {{"type", "integer"}, {"default", 30}}},
        {"score", {{"type", "number"}, {"default", 95.5}}},
        {"status", {{"type", "string"}, {"enum", {"active", "inactive"}}, {"default", "active"}}},
        {"verified", {{"type", "boolean"}, {"default", true}}},
        {"nickname", {{"type", "string"}}}}},
      {"required", {"name"}}}}};

ClientOptions ElicitationWithDefaults() {
  ClientOptions options;
  options.capabilities = {{"elicitation", {{"form", json::object()}}}};
  options.on_request = [](const std::string& method, const json& params) -> Result<json> {
    if (method == "elicitation/create") return AcceptElicitationWithDefaults(params);
    return Status::NotFound("not served: " + method);
  };
  return options;
}

TEST(McpElicitation, AcceptsWithEveryUsableDefaultAndDeclinesWhatItCannotAnswer) {
  json answer = AcceptElicitationWithDefaults(kElicitation);
  EXPECT_EQ(answer, json({{"action", "accept"},
                          {"content", {{"name", "John Doe"}, {"age", 30}, {"score", 95.5}, {"status", "active"},
                                       {"verified", true}}}}));
  json required_without_default = kElicitation;
  required_without_default["requestedSchema"]["required"] = {"name", "nickname"};
  EXPECT_EQ(AcceptElicitationWithDefaults(required_without_default)["action"], "decline");
  json wrong_types = kElicitation;
  wrong_types["requestedSchema"]["properties"]["age"]["default"] = "thirty";
  wrong_types["requestedSchema"]["properties"]["status"]["default"] = "deleted";  // not in the enum
  EXPECT_FALSE(AcceptElicitationWithDefaults(wrong_types)["content"].contains("age"));
  EXPECT_FALSE(AcceptElicitationWithDefaults(wrong_types)["content"].contains("status"));
  EXPECT_EQ(AcceptElicitationWithDefaults({{"mode", "url"}, {"url", "https://example.com"}})["action"], "decline");
  EXPECT_EQ(AcceptElicitationWithDefaults(json("not an object"))["action"], "decline");
}

TEST(McpClient, HttpDeclaresElicitationAndAnswersItWithTheSchemaDefaults) {
  json client_reply;
  test::ScriptedMcp* self = nullptr;
  test::ScriptedMcp server(
      [&](const json* call, net::Stream& stream) {
        // The request goes out on the tool call's stream; the client answers with a POST of its own.
        stream.Write(Message({{"jsonrpc", "2.0"}, {"id", "ask-1"}, {"method", "elicitation/create"},
                              {"params", kElicitation}}, "s1"));
        client_reply = self->WaitForClientReply("ask-1");
        stream.Write(Message(ToolReply((*call)["id"], client_reply.dump()), "s2"));
        stream.Close();
      },
      [&](const json*, net::Stream& stream) { stream.Close(); });
  self = &server;
  net::HttpClient http;
  auto client = Client::Connect({.name = "scripted", .url = server.url()}, &http, ElicitationWithDefaults());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ(server.initialize_params()["capabilities"], json({{"elicitation", {{"form", json::object()}}}}));
  auto r = (*client)->CallTool("ask", json::object(), Clock::now() + 10s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json reply = json::parse(ResultText(*r), nullptr, false);
  EXPECT_EQ(reply["result"]["action"], "accept") << reply;
  EXPECT_EQ(reply["result"]["content"]["name"], "John Doe") << reply;
  EXPECT_EQ(reply["result"]["content"]["verified"], true) << reply;
}

TEST(McpClient, HttpListensOnTheStandaloneStreamForRequestsOutsideItsOwn) {
  // The server asks on its standalone stream (GET), not on the tool call's, as the TypeScript SDK does for
  // a request without a related request id; the call's answer is the client's reply.
  test::ScriptedMcp* self = nullptr;
  std::atomic<int> listening_gets{0};
  test::ScriptedMcp server(
      [&](const json* call, net::Stream& stream) {
        json reply = self->WaitForClientReply("ask-2");
        stream.Write(Message(ToolReply((*call)["id"], reply.dump()), "c1"));
        stream.Close();
      },
      [&](const json*, net::Stream& stream) {
        if (++listening_gets > 1) return stream.Close();
        stream.Write("retry: 60000\n\n");  // come back in a minute: the client's end must not wait for it
        stream.Write(Message({{"jsonrpc", "2.0"}, {"id", "ask-2"}, {"method", "elicitation/create"},
                              {"params", kElicitation}}, "g1"));
        self->WaitForClientReply("ask-2");
        stream.Close();
      });
  self = &server;
  net::HttpClient http;
  ClientOptions options = ElicitationWithDefaults();
  options.listen = true;
  auto client = Client::Connect({.name = "scripted", .url = server.url()}, &http, options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto r = (*client)->CallTool("ask", json::object(), Clock::now() + 10s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json reply = json::parse(ResultText(*r), nullptr, false);
  EXPECT_EQ(reply["result"]["content"]["score"], 95.5) << reply;
  auto gets = server.gets();
  ASSERT_GE(gets.size(), 1u);
  EXPECT_EQ(gets[0].session, "scripted-session");
  const auto closing = Clock::now();
  (*client).reset();  // the listener waits out a 60 s retry: closing the client ends that wait at once
  EXPECT_LT(Clock::now() - closing, 5s);
  EXPECT_EQ(listening_gets.load(), 1);
}

TEST(McpClient, StdioAnswersElicitationThroughTheHandlerAndRefusesWithoutOne) {
  // Answers initialize, then sends an elicitation request for the tool call and returns the client's
  // answer as the call's structuredContent.
  const std::string ask = json{{"jsonrpc", "2.0"}, {"id", 77}, {"method", "elicitation/create"},
                               {"params", kElicitation}}.dump();
  const std::string script =
      "read init; printf '%s\\n' '{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocolVersion\":\"2025-11-25\","
      "\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"asker\",\"version\":\"1\"}}}'; read initialized; "
      "read call; printf '%s\\n' '" + ask + "'; read answer; "
      "printf '{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"content\":[],\"structuredContent\":%s}}\\n' \"$answer\"; "
      "exec cat >/dev/null";
  auto with = Client::Connect(Stdio({"/bin/sh", "-c", script}), nullptr, ElicitationWithDefaults());
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  auto r = (*with)->CallTool("ask", json::object(), Clock::now() + 10s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["structuredContent"]["id"], 77);
  EXPECT_EQ((*r)["structuredContent"]["result"]["content"]["age"], 30) << *r;

  auto without = Client::Connect(Stdio({"/bin/sh", "-c", script}), nullptr);
  ASSERT_TRUE(without.ok()) << without.status().ToString();
  auto refused = (*without)->CallTool("ask", json::object(), Clock::now() + 10s);
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  EXPECT_EQ((*refused)["structuredContent"]["error"]["code"], -32601) << *refused;
}

}  // namespace
}  // namespace llmdesk::mcp
