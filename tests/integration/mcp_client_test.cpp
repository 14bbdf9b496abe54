// mcp::Client against real servers in real processes: llmdesk's own tool server over Streamable HTTP (and
// its restart: the client initializes again), `llmdesk mcp-stdio` over stdio, and stdio servers that die at
// once, hang, or never answer a call (cancel).
#include <gtest/gtest.h>

#include <thread>

#include "mcp/client.h"
#include "net/http_client.h"
#include "support/spawn.h"
#include "support/test_support.h"

namespace llmdesk::mcp {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

// `llmdesk tool-server` on `port` (0 = any); returns the process and sets `port` to the one it bound.
test::Spawned StartToolServer(const test::TempDir& dir, int& port) {
  auto config = dir.Write("llm_backends.yaml", "tool_server:\n  tools: [calculator, get_time]\n");
  auto p = test::SpawnProcess({.argv = {test::BinPath("llmdesk").string(), "--config", config.string(), "tool-server",
                                        "--port", std::to_string(port)},
                               .out = test::Stdio::Pipe(), .err = test::Stdio::Merge()});
  const std::string marker = "MCP tool server on http://127.0.0.1:";
  std::string out;
  const auto deadline = Clock::now() + 30s;
  auto up = [&] {
    auto at = out.find(marker);
    return at != std::string::npos && out.find("/mcp", at) != std::string::npos;
  };
  while (!up() && Clock::now() < deadline) out += test::ReadAll(p.stdout_fd().get(), Clock::now() + 100ms);
  if (!up()) throw std::runtime_error("the tool server did not come up: " + out);
  auto at = out.find(marker);
  port = std::stoi(out.substr(at + marker.size()));
  return p;
}

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
  auto server = StartToolServer(dir, port);
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
  auto server = StartToolServer(dir, port);
  net::HttpClient http;
  auto client = Client::Connect({.name = "llmdesk", .url = "http://127.0.0.1:" + std::to_string(port) + "/mcp"}, &http);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ASSERT_TRUE((*client)->CallTool("calculator", {{"expression", "1+1"}}, Clock::now() + 10s).ok());
  server.Stop(5s);
  int same_port = port;
  auto again = StartToolServer(dir, same_port);  // a new process: the old session is unknown to it
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

}  // namespace
}  // namespace llmdesk::mcp
