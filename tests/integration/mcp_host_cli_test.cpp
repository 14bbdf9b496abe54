// Acceptance 3 of issue 8 as a user runs it: `llmdesk serve` with @modelcontextprotocol/server-everything
// (npm, pinned in tests/interop) under `mcp_servers:` and a `url:` model that is the SCRIPTED OpenAI stand-in
// (tests/support/scripted_openai.h); `llmdesk chat` makes the loop call server-everything's get-sum, and the
// real result reaches the model's next request; `llmdesk mcp list --json` asks the running stack
// (GET /api/mcp/servers). `mcp import` writes a config that `mcp list` then connects. Missing npm tools fail.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration/cli_manager_helpers.h"
#include "support/scripted_openai.h"
#include "support/test_support.h"

namespace llmdesk::test {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

const std::filesystem::path kNode = LLMDESK_INTEROP_NODE;
const std::filesystem::path kEverything = LLMDESK_SERVER_EVERYTHING;

class McpHostCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kNode)) << kNode << " is missing: run scripts/setup (npm ci in tests/interop)";
    ASSERT_TRUE(std::filesystem::exists(kEverything)) << kEverything << " is missing: run scripts/setup";
    const int base = FreePortRange(4);
    gateway_ = base;
    tool_port_ = base + 1;
    env_ = ScratchEnv(dir_.path());
  }

  // `llmdesk --config CONFIG ARGS...` with the test's own XDG directories.
  CommandResult Llmdesk(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"env"};
    for (const auto& [k, v] : env_) argv.push_back(v.empty() ? "--unset=" + k : k + "=" + v);
    for (const auto& a : {BinPath("llmdesk").string(), std::string("--config"), config_.string()}) argv.push_back(a);
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, std::chrono::seconds(180));
  }

  std::string Listeners() const {
    return "gateway: {port: " + std::to_string(gateway_) + "}\ntool_server: {port: " + std::to_string(tool_port_) +
           ", tools: [calculator]}\n";
  }

  TempDir dir_;
  int gateway_ = 0, tool_port_ = 0;
  std::map<std::string, std::string> env_;
  std::filesystem::path config_;
};

TEST_F(McpHostCli, ChatThroughServeCallsServerEverythingAndMcpListAsksTheStack) {
  ScriptedOpenAi scripted({Turn::ToolCalls({{"get-sum", R"({"a": 20, "b": 22})"}}), Turn::Text("The sum is 42.")});
  config_ = dir_.Write("llm_backends.yaml", Listeners() + "models:\n  remote: {url: " + scripted.base_url() +
                                                "}\nmcp_servers:\n  everything: {command: " + kNode.string() +
                                                ", args: [" + kEverything.string() + ", stdio], connect_timeout_s: 60}\n");
  Proc serve({BinPath("llmdesk").string(), "--config", config_.string(), "serve"}, env_);
  ASSERT_TRUE(serve.WaitFor("control API at http://127\\.0\\.0\\.1:" + std::to_string(gateway_))) << serve.Output();

  auto chat = Llmdesk({"chat", "-m", "remote", "Add 20 and 22 with your tool"});
  EXPECT_EQ(chat.exit_code, 0) << chat.out << chat.err << serve.Output();
  EXPECT_THAT(chat.out, HasSubstr("The sum is 42."));
  EXPECT_THAT(chat.err, HasSubstr("calling get-sum"));
  auto requests = scripted.requests();
  ASSERT_EQ(requests.size(), 2u) << chat.err;
  std::string tool_result;
  for (const auto& m : requests[1]["messages"])
    if (m["role"] == "tool") tool_result = m["content"];
  EXPECT_EQ(tool_result, "The sum of 20 and 22 is 42.");

  auto list = Llmdesk({"mcp", "list", "--json"});
  EXPECT_EQ(list.exit_code, 0) << list.out << list.err;
  Json listing = Json::parse(list.out, nullptr, false);
  ASSERT_TRUE(listing.is_object()) << list.out << list.err;
  EXPECT_EQ(listing["source"], "stack");
  ASSERT_EQ(listing["servers"].size(), 2u) << list.out;
  EXPECT_EQ(listing["servers"][0]["name"], "llmdesk");  // our own tool server is one of them
  EXPECT_EQ(listing["servers"][0]["tools"][0]["name"], "calculator");
  EXPECT_EQ(listing["servers"][1]["name"], "everything");
  EXPECT_EQ(listing["servers"][1]["state"], "connected");
  std::vector<std::string> names;
  for (const auto& t : listing["servers"][1]["tools"]) names.push_back(t["name"]);
  EXPECT_THAT(names, ::testing::IsSupersetOf({"echo", "get-sum"}));

  serve.Signal(SIGINT);
  EXPECT_EQ(serve.Wait(std::chrono::seconds(60)), 0) << serve.Output();
}

TEST_F(McpHostCli, ImportThenListConnectsTheImportedServer) {
  config_ = dir_.Write("llm_backends.yaml", "# mine\n" + Listeners());
  auto json = dir_.Write("mcp.json", R"({"mcpServers": {
      "everything": {"command": ")" + kNode.string() + R"(", "args": [")" + kEverything.string() + R"(", "stdio"]},
      "llmdesk": {"command": "llmdesk", "args": ["mcp-stdio"]},
      "calc": {"command": "llmdesk", "args": ["mcp-stdio"]}}})");
  auto imported = Llmdesk({"mcp", "import", json.string()});
  EXPECT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  EXPECT_THAT(imported.out, HasSubstr("added  everything\nskipped  llmdesk: llmdesk's own tools are always offered to "
                                      "the chat\nadded  calc\nwrote " + config_.string()));
  auto again = Llmdesk({"mcp", "import", json.string()});
  EXPECT_THAT(again.out, HasSubstr("exists  everything: already in"));
  EXPECT_THAT(again.out, HasSubstr("nothing to change in"));

  auto bad = dir_.Write("bad.json", "{\"mcpServers\": {\n  \"x\": {\"command\": 'npx'}\n}}");
  auto refused = Llmdesk({"mcp", "import", bad.string()});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr(bad.string() + ":2:"));

  // `llmdesk` may not be on PATH here: point `calc` at the one we built.
  auto ours = dir_.Write("ours.json", R"({"mcpServers": {"calc": {"command": ")" + BinPath("llmdesk").string() +
                                          R"(", "args": ["--config", ")" + config_.string() + R"(", "mcp-stdio"]}}})");
  auto replaced = Llmdesk({"mcp", "import", "--overwrite", ours.string()});
  EXPECT_THAT(replaced.out, HasSubstr("replaced  calc"));

  auto list = Llmdesk({"mcp", "list", "--json"});
  Json listing = Json::parse(list.out, nullptr, false);
  ASSERT_TRUE(listing.is_object()) << list.out << list.err;
  EXPECT_EQ(listing["source"], "direct");
  ASSERT_EQ(listing["servers"].size(), 2u) << list.out;
  for (const auto& s : listing["servers"]) EXPECT_EQ(s["state"], "connected") << s.dump();
  EXPECT_EQ(list.exit_code, 0) << list.err;
}

// `mcp call` (the command the Windows build tests its stdio MCP client with, tests/windows/mcp_stdio_under_wine.sh):
// one tools/call on a configured stdio server, its answer on stdout; a tool error and an unknown server are errors.
TEST_F(McpHostCli, McpCallCallsOneToolOfAStdioServer) {
  config_ = dir_.Write("llm_backends.yaml", Listeners() + "mcp_servers:\n  calc: {command: " +
                                                BinPath("llmdesk").string() + ", args: [mcp-stdio]}\n");
  auto call = Llmdesk({"mcp", "call", "calc", "calculator", R"({"expression": "2+2"})"});
  EXPECT_EQ(call.exit_code, 0) << call.out << call.err;
  EXPECT_EQ(call.out, "4\n") << call.err;

  auto json = Llmdesk({"mcp", "call", "--json", "calc", "calculator", R"({"expression": "6*7"})"});
  EXPECT_EQ(Json::parse(json.out, nullptr, false)["content"][0]["text"], "42") << json.out << json.err;

  auto tool_error = Llmdesk({"mcp", "call", "calc", "calculator", R"({"expression": "2+"})"});
  EXPECT_EQ(tool_error.exit_code, 1) << tool_error.out;
  EXPECT_EQ(tool_error.out, "");
  EXPECT_FALSE(tool_error.err.empty());

  auto unknown = Llmdesk({"mcp", "call", "nope", "calculator"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("no MCP server named 'nope' under mcp_servers: (configured: calc)"));
  auto not_object = Llmdesk({"mcp", "call", "calc", "calculator", "[1]"});
  EXPECT_EQ(not_object.exit_code, 2);
  EXPECT_THAT(not_object.err, HasSubstr("ARGUMENTS must be a JSON object"));
}

}  // namespace
}  // namespace llmdesk::test
