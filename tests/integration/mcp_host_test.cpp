// The MCP host with real servers in real processes (issue 8 §3, acceptance 3):
//  - @modelcontextprotocol/server-everything (npm, pinned in tests/interop) attached through `mcp_servers:`:
//    its tools are listed and called from the agent loop, whose model is the SCRIPTED OpenAI stand-in
//    (tests/support/scripted_openai.h) — the real tool results must reach the model's next request;
//  - servers that hang or exit at once are reported with their own stderr and skipped, without hiding the
//    other servers' tools or holding the chat beyond the connect timeout;
//  - a stdio server killed mid-session is reconnected with a capped exponential back-off;
//  - `llmdesk mcp list` and GET /api/mcp/servers show servers, state and tools.
// The npm tools are installed by scripts/setup; a missing one makes these tests fail, never skip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "chat/agent.h"
#include "chat/mcp_host.h"
#include "control/control.h"
#include "llm/client.h"
#include "net/http_client.h"
#include "support/scripted_openai.h"
#include "support/test_support.h"

namespace llmdesk::chat {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::filesystem::path kNode = LLMDESK_INTEROP_NODE;
const std::filesystem::path kEverything = LLMDESK_SERVER_EVERYTHING;

// The config the user would write, loaded as llmdesk loads it.
config::Config Load(const std::string& yaml) {
  auto r = config::LoadString(yaml, "test.yaml", config::ProcessEnv());
  for (const auto& d : r.errors()) ADD_FAILURE() << d.ToString();
  return r.config;
}

std::string EverythingEntry() {
  return "  everything: {command: " + kNode.string() + ", args: [" + kEverything.string() +
         ", stdio], connect_timeout_s: 60}\n";
}

void RequireNpmTools() {
  ASSERT_TRUE(std::filesystem::exists(kNode)) << kNode << " is missing: run scripts/setup (npm ci in tests/interop)";
  ASSERT_TRUE(std::filesystem::exists(kEverything)) << kEverything << " is missing: run scripts/setup";
}

const ToolInfo* FindTool(const std::vector<ToolInfo>& tools, const std::string& name) {
  for (const auto& t : tools)
    if (t.name == name) return &t;
  return nullptr;
}

const ServerState& StateOf(const std::vector<ServerState>& all, const std::string& name) {
  for (const auto& s : all)
    if (s.name == name) return s;
  throw std::runtime_error("no server " + name);
}

TEST(McpHostEverything, ToolsAreListedAndCallableFromTheAgentLoop) {
  RequireNpmTools();
  auto cfg = Load("mcp_servers:\n" + EverythingEntry() +
                  "chat:\n  tool_timeout_s: 45\n  tools:\n    get-sum: {timeout_s: 7}\n");
  net::HttpClient http;
  McpHost host(http, cfg.chat, ServerSpecs(cfg, ""));
  auto tools = host.Tools();
  const ServerState state = StateOf(host.Servers(), "everything");  // a copy: Servers() returns a temporary
  ASSERT_TRUE(state.connected) << state.error;
  const ToolInfo* sum = FindTool(tools, "get-sum");
  const ToolInfo* echo = FindTool(tools, "echo");
  ASSERT_NE(sum, nullptr);
  ASSERT_NE(echo, nullptr);
  EXPECT_EQ(sum->server, "everything");
  EXPECT_EQ(sum->timeout, 7s);    // chat.tools.get-sum.timeout_s
  EXPECT_EQ(echo->timeout, 45s);  // chat.tool_timeout_s
  EXPECT_EQ(sum->approval, Approval::kAuto);  // readOnlyHint

  // The scripted model asks for both tools at once, then answers.
  test::ScriptedOpenAi model({test::Turn::ToolCalls({{"get-sum", R"({"a": 2, "b": 40})"},
                                                     {"echo", R"({"message": "hi from llmdesk"})"}}),
                              test::Turn::Text("2 + 40 = 42, and the echo came back.")});
  llm::ChatClient client(http, {.base_url = model.base_url()});
  CancelToken cancel;
  std::vector<Event> events;
  auto run = Agent(client, &host).Run({{"user", "Add 2 and 40, and echo a greeting", {}, ""}}, {.model = "scripted"},
                                      [&](const Event& e) { events.push_back(e); }, nullptr, cancel);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->answer, "2 + 40 = 42, and the echo came back.");

  auto requests = model.requests();
  ASSERT_EQ(requests.size(), 2u);
  std::vector<std::string> offered;
  for (const auto& t : requests[0]["tools"]) offered.push_back(t["function"]["name"]);
  EXPECT_THAT(offered, ::testing::IsSupersetOf({"get-sum", "echo", "get-env", "get-tiny-image"}));
  std::vector<std::string> results;
  for (const auto& m : requests[1]["messages"])
    if (m["role"] == "tool") results.push_back(m["content"]);
  EXPECT_THAT(results, ::testing::UnorderedElementsAre("The sum of 2 and 40 is 42.", "Echo: hi from llmdesk"));
}

TEST(McpHostEverything, McpListShowsItsToolsAndAServerThatFailed) {
  RequireNpmTools();
  test::TempDir dir;
  auto config = dir.Write("llm_backends.yaml",
                          "gateway: {port: " + std::to_string(test::PickUnusedPort()) + "}\nmcp_servers:\n" +
                              EverythingEntry() +
                              "  broken: {command: /bin/sh, args: [-c, \"echo 'no database here' >&2; exit 4\"]}\n");
  auto r = test::RunCommand({test::BinPath("llmdesk").string(), "--config", config.string(), "mcp", "list", "--json"}, 120s);
  EXPECT_EQ(r.exit_code, 1) << "a server that is not connected makes `mcp list` fail\n" << r.err;
  Json listing = Json::parse(r.out, nullptr, false);
  ASSERT_TRUE(listing.is_object()) << r.out << r.err;
  EXPECT_EQ(listing["source"], "direct");
  ASSERT_EQ(listing["servers"].size(), 2u);
  const Json& everything = listing["servers"][0];
  EXPECT_EQ(everything["name"], "everything");
  EXPECT_EQ(everything["state"], "connected");
  EXPECT_THAT(everything["transport"].get<std::string>(), HasSubstr("stdio: " + kNode.string()));
  std::vector<std::string> names;
  for (const auto& t : everything["tools"]) names.push_back(t["name"]);
  EXPECT_THAT(names, ::testing::IsSupersetOf({"echo", "get-sum"}));
  const Json& broken = listing["servers"][1];
  EXPECT_EQ(broken["state"], "error");
  EXPECT_THAT(broken["error"].get<std::string>(), HasSubstr("exited with code 4"));
  EXPECT_THAT(broken["error"].get<std::string>(), HasSubstr("no database here"));

  auto text = test::RunCommand({test::BinPath("llmdesk").string(), "--config", config.string(), "mcp", "list"}, 120s);
  EXPECT_THAT(text.out, HasSubstr("everything  (stdio: "));
  EXPECT_THAT(text.out, HasSubstr("    get-sum  Returns the sum of two numbers"));
  EXPECT_THAT(text.out, HasSubstr("broken  (stdio: /bin/sh -c"));
  EXPECT_THAT(text.out, HasSubstr("no database here"));
}

// llmdesk's own `mcp-stdio` as a healthy stdio server (quick to start), under `sh` so its PID is recorded.
std::string OwnStdioServer(const test::TempDir& dir, const std::string& name, const std::filesystem::path& pid_file) {
  auto config = dir.Write(name + ".yaml", "tool_server: {tools: [calculator]}\n");
  return "  " + name + ": {command: /bin/sh, args: [-c, \"echo $$ >> " + pid_file.string() + "; exec " +
         test::BinPath("llmdesk").string() + " --config " + config.string() + " mcp-stdio\"]}\n";
}

std::vector<pid_t> Pids(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<pid_t> out;
  for (pid_t p; in >> p;) out.push_back(p);
  return out;
}

TEST(McpHostFailures, HangingAndExitingServersAreSkippedWithTheirOwnStderr) {
  test::TempDir dir;
  auto cfg = Load("mcp_servers:\n" + OwnStdioServer(dir, "good", dir.path() / "pids") +
                  "  hangs: {command: /bin/sh, args: [-c, \"echo 'warming the cache' >&2; exec sleep 600\"], "
                  "connect_timeout_s: 1}\n"
                  "  exits: {command: /bin/sh, args: [-c, \"echo 'cannot open /nonexistent/db' >&2; exit 3\"]}\n"
                  "  missing: {command: /nonexistent/mcp-server}\n");
  net::HttpClient http;
  const auto started = Clock::now();
  McpHost host(http, cfg.chat, ServerSpecs(cfg, ""), {.backoff_initial = 30s});
  auto tools = host.Tools();
  // Bounded by the hanging server's 1 s connect timeout (plus the moment it takes to end it), not its 600 s.
  EXPECT_LT(Clock::now() - started, 8s);
  ASSERT_NE(FindTool(tools, "calculator"), nullptr) << "the good server's tools remain";
  EXPECT_EQ(tools.size(), 1u);

  auto all = host.Servers();
  EXPECT_EQ(StateOf(all, "good").state, "connected");
  const auto& hangs = StateOf(all, "hangs");
  EXPECT_EQ(hangs.state, "error");
  EXPECT_THAT(hangs.error, HasSubstr("did not answer in time"));
  EXPECT_THAT(hangs.error, HasSubstr("warming the cache"));
  EXPECT_EQ(hangs.backoff, 30s);
  const auto& exits = StateOf(all, "exits");
  EXPECT_EQ(exits.state, "error");
  EXPECT_THAT(exits.error, HasSubstr("exited with code 3"));
  EXPECT_THAT(exits.error, HasSubstr("cannot open /nonexistent/db"));
  EXPECT_THAT(StateOf(all, "missing").error, HasSubstr("could not be started"));

  // The chat goes on with the good server.
  CancelToken cancel;
  auto four = host.Call(*FindTool(tools, "calculator"), {{"expression", "2+2"}}, Clock::now() + 10s, cancel);
  ASSERT_TRUE(four.ok()) << four.status().ToString();
  EXPECT_EQ(four->text, "4");
}

TEST(McpHostFailures, AServerKilledMidSessionIsReconnectedWithBackoff) {
  test::TempDir dir;
  const auto pid_file = dir.path() / "pids";
  auto cfg = Load("mcp_servers:\n" + OwnStdioServer(dir, "calc", pid_file));
  net::HttpClient http;
  McpHost host(http, cfg.chat, ServerSpecs(cfg, ""), {.backoff_initial = 1s, .backoff_max = 4s});
  auto tools = host.Tools();
  ASSERT_NE(FindTool(tools, "calculator"), nullptr) << StateOf(host.Servers(), "calc").error;
  auto first = Pids(pid_file);
  ASSERT_EQ(first.size(), 1u);

  ASSERT_EQ(kill(first[0], SIGKILL), 0);
  ServerState lost;
  ASSERT_TRUE(host.WaitFor([&](const auto& all) { return (lost = StateOf(all, "calc")).state == "error"; }, 10s));
  EXPECT_THAT(lost.error, HasSubstr("lost: "));
  EXPECT_THAT(lost.error, HasSubstr("killed by signal 9"));
  EXPECT_EQ(lost.failures, 1);
  EXPECT_EQ(lost.backoff, 1s);
  EXPECT_TRUE(lost.tools.empty());
  CancelToken cancel;
  auto meanwhile = host.Call(*FindTool(tools, "calculator"), {{"expression", "1+1"}}, Clock::now() + 5s, cancel);
  if (!meanwhile.ok()) EXPECT_THAT(meanwhile.status().message(), HasSubstr("not connected"));  // unless already back

  ServerState back;
  ASSERT_TRUE(host.WaitFor([&](const auto& all) { return (back = StateOf(all, "calc")).connected; }, 30s))
      << StateOf(host.Servers(), "calc").error;
  EXPECT_EQ(back.reconnects, 1);
  EXPECT_EQ(back.attempts, 2);
  EXPECT_EQ(back.failures, 0);
  auto pids = Pids(pid_file);
  ASSERT_EQ(pids.size(), 2u);
  EXPECT_NE(pids[1], pids[0]);
  auto five = host.Call(*FindTool(host.Tools(), "calculator"), {{"expression", "2+3"}}, Clock::now() + 10s, cancel);
  ASSERT_TRUE(five.ok()) << five.status().ToString();
  EXPECT_EQ(five->text, "5");
}

TEST(McpHostFailures, BackoffDoublesUpToItsCap) {
  auto cfg = Load("mcp_servers:\n  flaky: {command: /bin/sh, args: [-c, \"echo 'not today' >&2; exit 1\"]}\n");
  net::HttpClient http;
  McpHost host(http, cfg.chat, ServerSpecs(cfg, ""), {.backoff_initial = 50ms, .backoff_max = 200ms});
  std::vector<std::pair<int, std::chrono::milliseconds>> seen;
  ASSERT_TRUE(host.WaitFor(
      [&](const auto& all) {
        const auto& s = StateOf(all, "flaky");
        if (s.failures > 0) seen.emplace_back(s.failures, s.backoff);
        return s.failures >= 5;
      },
      30s));
  for (auto [failures, backoff] : seen) {
    EXPECT_EQ(backoff, std::min(std::chrono::milliseconds(50 << (failures - 1)), std::chrono::milliseconds(200)))
        << "after " << failures << " failures";
  }
  EXPECT_EQ(seen.back().second, 200ms);
  EXPECT_THAT(StateOf(host.Servers(), "flaky").error, HasSubstr("not today"));
}

TEST(McpHostFailures, ControlApiListsTheServersBehindItsToken) {
  test::TempDir dir;
  auto cfg = Load("mcp_servers:\n" + OwnStdioServer(dir, "calc", dir.path() / "pids") +
                  "  exits: {command: /bin/sh, args: [-c, \"echo 'bad flag' >&2; exit 2\"]}\n");
  net::HttpClient http;
  McpHost host(http, cfg.chat, ServerSpecs(cfg, ""), {.backoff_initial = 30s});
  (void)host.Tools();
  manager::Options o;
  o.config.source = (dir.path() / "llm_backends.yaml").string();
  o.llama_server = test::BinPath("llmdesk-fake-engine");
  o.state_dir = dir.path() / "state";
  o.log_dir = dir.path() / "logs";
  auto manager = manager::Manager::Create(std::move(o));
  ASSERT_TRUE(manager.ok()) << manager.status().ToString();
  auto api = control::ControlServer::Start(**manager, {.host = "127.0.0.1", .port = 0, .token = "s3cret", .mcp = &host});
  ASSERT_TRUE(api.ok()) << api.status().ToString();

  EXPECT_EQ(control::ControlClient("127.0.0.1", (*api)->port()).McpServers().status().code(),
            Status::Code::kPermissionDenied);
  auto listed = control::ControlClient("127.0.0.1", (*api)->port(), "s3cret").McpServers();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0]["name"], "calc");
  EXPECT_EQ((*listed)[0]["state"], "connected");
  EXPECT_EQ((*listed)[0]["tools"][0]["name"], "calculator");
  EXPECT_EQ((*listed)[1]["state"], "error");
  EXPECT_THAT((*listed)[1]["error"].get<std::string>(), HasSubstr("bad flag"));
  EXPECT_EQ((*listed)[1]["retry_in_ms"], 30000);
}

}  // namespace
}  // namespace llmdesk::chat
