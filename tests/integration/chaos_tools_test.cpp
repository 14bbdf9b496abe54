// tests/integration/chaos_tools_test.cpp — the MCP tool server restarted while a chat runs (issue 12 §3,
// ctest label `chaos`). The tool server is a real `llmdesk tool-server` process on its own port; it is
// killed (SIGKILL: no goodbye, its sessions die with it) and started again on the same port:
//  - between two tool calls of one chat (the agent loop with llmdesk's MCP host, the model being the
//    SCRIPTED OpenAI stand-in, support/scripted_openai.h), five times in one chat: the MCP client meets
//    the new server's 404 for its old session, initializes again, and every call succeeds;
//  - between two turns of a conversation of a real `llmdesk serve` (/api/chat, the tool server attached
//    through `mcp_servers:`): a call made while the server is down is the one error the chat shows (a tool
//    result with is_error, naming the server), the chat still ends with the model's answer, and the turn
//    after the restart calls the tool again without an error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>

#include "chat/agent.h"
#include "chat/mcp_host.h"
#include "integration/chat_serve_fixture.h"
#include "integration/tool_server_process.h"
#include "llm/client.h"
#include "net/http_client.h"
#include "support/scripted_openai.h"

namespace llmdesk::test {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// `llmdesk tool-server` (calculator, get_time) on a port that stays the same across kill -9 and restart.
class RestartableToolServer {
 public:
  RestartableToolServer() { process_ = StartToolServer(dir_, port_); }
  int port() const { return port_; }
  pid_t pid() const { return process_.pid(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }

  // kill -9, reaped: its sessions are gone with it.
  void Kill() {
    process_.Signal(SIGKILL);
    ASSERT_TRUE(process_.Wait(10s).has_value()) << "the tool server outlived SIGKILL";
  }
  // A new process on the same port (the listener's SO_REUSEADDR: the old connections' TIME_WAIT does not block it).
  void Start() {
    int again = port_;
    process_ = StartToolServer(dir_, again);
    ASSERT_EQ(again, port_) << "the restarted tool server did not get its port back";
  }

 private:
  TempDir dir_;
  int port_ = 0;
  Spawned process_;
};

// The MCP host with a hook before given calls: the chaos happens exactly between two tool calls of the chat.
class HookedTools : public chat::ToolHost {
 public:
  HookedTools(chat::ToolHost& inner, std::function<void(int call)> before) : inner_(inner), before_(std::move(before)) {}
  std::vector<chat::ToolInfo> Tools() override { return inner_.Tools(); }
  Result<chat::ToolOutcome> Call(const chat::ToolInfo& tool, const Json& arguments, Clock::time_point deadline,
                                 CancelToken& cancel) override {
    before_(++calls_);
    return inner_.Call(tool, arguments, deadline, cancel);
  }

 private:
  chat::ToolHost& inner_;
  std::function<void(int)> before_;
  std::atomic<int> calls_{0};
};

std::vector<std::string> ToolResultsSentToTheModel(const ScriptedOpenAi& model) {
  auto requests = model.requests();
  if (requests.empty()) return {};
  std::vector<std::string> out;
  for (const auto& m : requests.back()["messages"])
    if (m.value("role", "") == "tool") out.push_back(m.value("content", ""));
  return out;
}

TEST(ChaosTools, ToolServerKilledAndRestartedBetweenToolCallsOfOneChatFiveTimes) {
  constexpr int kRestarts = 5;
  RestartableToolServer server;
  auto cfg = config::LoadString("mcp_servers:\n  calc: {url: " + server.url() + "}\n", "chaos.yaml", config::ProcessEnv());
  ASSERT_TRUE(cfg.ok());
  net::HttpClient http;
  chat::McpHost host(http, cfg.config.chat, chat::ServerSpecs(cfg.config, ""));
  ASSERT_FALSE(host.Tools().empty()) << host.Servers()[0].error;

  // The model asks for one calculator call per turn, kRestarts + 1 turns, then answers.
  std::deque<Turn> turns;
  for (int i = 0; i <= kRestarts; ++i)
    turns.push_back(Turn::ToolCalls({{"calculator", R"({"expression":")" + std::to_string(i) + R"(*10+1"})"}}));
  turns.push_back(Turn::Text("All done."));
  ScriptedOpenAi model(std::move(turns));

  std::vector<pid_t> pids{server.pid()};
  HookedTools tools(host, [&](int call) {
    if (call == 1) return;  // every later call meets a new server process that never saw our session
    server.Kill();
    server.Start();
    pids.push_back(server.pid());
  });
  llm::ChatClient client(http, {.base_url = model.base_url()});
  CancelToken cancel;
  std::vector<chat::Event> results;
  auto run = chat::Agent(client, &tools).Run({{"user", "Count in tens, plus one.", {}, ""}},
                                             {.model = "scripted", .max_tool_steps = kRestarts + 2},
                                             [&](const chat::Event& e) {
                                               if (e.kind == chat::Event::Kind::kToolResult) results.push_back(e);
                                             },
                                             nullptr, cancel);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->answer, "All done.");
  ASSERT_EQ(pids.size(), size_t{kRestarts + 1});
  for (size_t i = 1; i < pids.size(); ++i) EXPECT_NE(pids[i], pids[i - 1]) << "restart " << i << " was not a new process";
  ASSERT_EQ(results.size(), size_t{kRestarts + 1});
  for (int i = 0; i <= kRestarts; ++i) {
    EXPECT_FALSE(results[i].is_error) << "call " << i << ": " << results[i].text;
    EXPECT_EQ(results[i].text, std::to_string(i * 10 + 1)) << "call " << i;
  }
  // What the model read: the real calculator's answers, each from a different process.
  EXPECT_EQ(ToolResultsSentToTheModel(model), std::vector<std::string>({"1", "11", "21", "31", "41", "51"}));
  EXPECT_TRUE(host.Servers()[0].connected) << host.Servers()[0].error;
}

// `llmdesk serve` whose model is the scripted stand-in and whose tools come from the external tool server.
class ChaosToolsServe : public ChatServe {
 protected:
  void ServeWith(const std::string& model_url, const std::string& tool_url) {
    const std::string yaml = "gateway: {host: 127.0.0.1, port: " + std::to_string(gateway_) + "}\n" +
                             "tool_server: {port: " + std::to_string(tool_port_) + ", tools: [convert_units]}\n" +
                             "mcp_servers:\n  calc: {url: " + tool_url + "}\n" +
                             "models:\n  remote:\n    url: " + model_url + "\n";
    const auto config = dir_.Write("llm_backends.yaml", yaml);
    serve_ = std::make_unique<Proc>(
        std::vector<std::string>{BinPath("llmdesk").string(), "--config", config.string(), "serve"}, env_);
    ASSERT_TRUE(serve_->WaitFor("control API at http://127\\.0\\.0\\.1:" + std::to_string(gateway_))) << serve_->Output();
    client_ = std::make_unique<control::ControlClient>("127.0.0.1", gateway_);
  }
  static std::vector<Json> ToolResults(const Streamed& turn) { return turn.Of("tool_result"); }
};

TEST_F(ChaosToolsServe, ToolServerRestartedBetweenTurnsOnlyTheCallMadeWhileItWasDownFails) {
  RestartableToolServer server;
  ScriptedOpenAi model({Turn::ToolCalls({{"calculator", R"({"expression":"2+2"})"}}), Turn::Text("It is 4."),
                        Turn::ToolCalls({{"calculator", R"({"expression":"3+3"})"}}), Turn::Text("The tool is down."),
                        Turn::ToolCalls({{"calculator", R"({"expression":"4+4"})"}}), Turn::Text("It is 8.")});
  ServeWith(model.base_url(), server.url());

  auto first = Chat({{"prompt", "What's 2+2?"}});
  ASSERT_TRUE(first.status.ok()) << first.Dump();
  ASSERT_EQ(ToolResults(first).size(), 1u) << first.Dump();
  EXPECT_FALSE(ToolResults(first)[0].value("is_error", true)) << first.Dump();
  EXPECT_EQ(ToolResults(first)[0].value("text", ""), "4");
  ASSERT_EQ(first.Of("conversation").size(), 1u) << first.Dump();
  const int64_t conversation = first.Of("conversation")[0].value("conversation", int64_t{0});

  // Down: the one call that truly cannot be made is an error result naming the server; the turn still ends.
  server.Kill();
  auto second = Chat({{"prompt", "And 3+3?"}, {"conversation", conversation}});
  ASSERT_TRUE(second.status.ok()) << second.Dump();
  ASSERT_EQ(ToolResults(second).size(), 1u) << second.Dump();
  EXPECT_TRUE(ToolResults(second)[0].value("is_error", false)) << second.Dump();
  EXPECT_THAT(ToolResults(second)[0].value("text", ""), HasSubstr("MCP server 'calc'")) << second.Dump();
  EXPECT_THAT(ToolResults(second)[0].value("text", ""), HasSubstr("could not be reached")) << second.Dump();
  ASSERT_EQ(second.Of("done").size(), 1u) << second.Dump();
  EXPECT_EQ(second.Of("done")[0].value("answer", ""), "The tool is down.");
  EXPECT_TRUE(second.Of("error").empty()) << second.Dump();

  // Back on the same port, a new process: the client initializes a new session and the call succeeds.
  server.Start();
  auto third = Chat({{"prompt", "And 4+4?"}, {"conversation", conversation}});
  ASSERT_TRUE(third.status.ok()) << third.Dump();
  ASSERT_EQ(ToolResults(third).size(), 1u) << third.Dump();
  EXPECT_FALSE(ToolResults(third)[0].value("is_error", true)) << third.Dump();
  EXPECT_EQ(ToolResults(third)[0].value("text", ""), "8") << third.Dump();
  EXPECT_EQ(third.Of("done")[0].value("answer", ""), "It is 8.");
  EXPECT_EQ(model.requests().back()["messages"].back()["content"], "8") << "the restarted calculator answered the model";
}

}  // namespace
}  // namespace llmdesk::test
