// The MCP front ends as a client runs them: `llmdesk mcp-stdio` (JSON-RPC lines in on stdin, one reply
// per line on stdout, nothing else on stdout) and `llmdesk tool-server` (serves, then stops on SIGTERM).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <functional>

#include "common/unique_fd.h"
#include "support/spawn.h"
#include "support/test_support.h"

namespace llmdesk {
namespace {

using json = nlohmann::json;

// A child process with stdin from a file (or /dev/null) and stdout on a pipe; killed if still running
// when the object goes away.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& input_file = "/dev/null")
      : process_(test::SpawnProcess({.argv = argv,
                                     .in = test::Stdio::File(input_file),
                                     .out = test::Stdio::Pipe(),
                                     .err = test::Stdio::Inherit()})) {}
  // Reads stdout until `done(text so far)` says so, end of file, or the deadline.
  std::string ReadUntil(const std::function<bool(const std::string&)>& done, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done(out_text_)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd pfd{process_.stdout_fd().get(), POLLIN, 0};
      if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = read(process_.stdout_fd().get(), buf, sizeof(buf));
      if (n <= 0) break;
      out_text_.append(buf, static_cast<size_t>(n));
    }
    return out_text_;
  }
  // Exit code after the process ends by itself within `timeout`; -1 otherwise (then it is killed).
  int Wait(std::chrono::milliseconds timeout) { return process_.Wait(timeout).value_or(-1); }
  pid_t pid() const { return process_.pid(); }

 private:
  test::Spawned process_;
  std::string out_text_;
};

TEST(McpStdio, InitializeListCallCalculator) {
  test::TempDir dir;
  auto config = dir.Write("llm_backends.yaml", "tool_server:\n  tools: [calculator, get_time, convert_units]\n");
  std::string input =
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})"
      "\n"
      R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
      "\n"
      R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})"
      "\n"
      "this line is not JSON\n"
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"calculator","arguments":{"expression":"2+2"}}})"
      "\n";
  auto in = dir.Write("input.jsonl", input);
  Child child({test::BinPath("llmdesk").string(), "--config", config.string(), "mcp-stdio"}, in.string());
  std::string out = child.ReadUntil([](const std::string&) { return false; }, std::chrono::seconds(30));  // to EOF
  EXPECT_EQ(child.Wait(std::chrono::seconds(10)), 0);

  std::vector<json> replies;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    json parsed = json::parse(line, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << "stdout carried a non-JSON line: " << line;
    replies.push_back(parsed);
  }
  ASSERT_EQ(replies.size(), 4u) << out;
  EXPECT_EQ(replies[0]["id"], 1);
  EXPECT_EQ(replies[0]["result"]["protocolVersion"], "2025-11-25");
  EXPECT_EQ(replies[1]["id"], 2);
  EXPECT_EQ(replies[1]["result"]["tools"][0]["name"], "calculator");
  EXPECT_EQ(replies[2]["error"]["code"], -32700);
  EXPECT_EQ(replies[3]["id"], 3);
  EXPECT_EQ(replies[3]["result"]["content"][0]["text"], "4");
}

TEST(McpCli, ToolServerServesAndStopsCleanlyOnSigterm) {
  test::TempDir dir;
  auto config = dir.Write("llm_backends.yaml", "tool_server:\n  tools: [calculator]\n");
  Child child({test::BinPath("llmdesk").string(), "--config", config.string(), "tool-server", "--port", "0"});
  const std::string marker = "MCP tool server on http://127.0.0.1:";
  std::string out = child.ReadUntil([&](const std::string& text) {
    size_t at = text.find(marker);
    return at != std::string::npos && text.find("/mcp", at) != std::string::npos;
  }, std::chrono::seconds(30));
  size_t at = out.find(marker);
  ASSERT_NE(at, std::string::npos) << out;
  int port = std::stoi(out.substr(at + marker.size()));

  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(std::chrono::seconds(10));
  json meta = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
               {"io.modelcontextprotocol/clientCapabilities", json::object()}};
  json body = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"},
               {"params", {{"name", "calculator"}, {"arguments", {{"expression", "2+2"}}}, {"_meta", meta}}}};
  auto res = client.Post("/mcp",
                         {{"Accept", "application/json, text/event-stream"}, {"MCP-Protocol-Version", "2026-07-28"},
                          {"Mcp-Method", "tools/call"}, {"Mcp-Name", "calculator"}},
                         body.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["result"]["content"][0]["text"], "4");

  kill(child.pid(), SIGTERM);
  EXPECT_EQ(child.Wait(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace llmdesk
