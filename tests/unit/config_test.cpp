// Config loader: happy path and each error class, each with its file:line:col.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "support/test_support.h"

namespace llmdesk::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

GetEnv FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional(it->second);
  };
}

LoadResult Load(const std::string& yaml, std::map<std::string, std::string> env = {{"HOME", "/home/u"}}) {
  return LoadString(yaml, "t.yaml", FakeEnv(env));
}

// The single error of `r`, formatted; fails the test if there is not exactly one.
std::string OnlyError(const LoadResult& r) {
  auto errors = r.errors();
  EXPECT_EQ(errors.size(), 1u) << [&] {
    std::string all;
    for (const auto& d : r.diagnostics) all += d.ToString() + "\n";
    return all;
  }();
  return errors.empty() ? "" : errors.front().ToString();
}

TEST(ConfigLoader, BuiltInDefaults) {
  Config c = Defaults(FakeEnv({{"HOME", "/home/u"}}));
  EXPECT_EQ(c.tool_server.port, 8763);
  EXPECT_EQ(c.gateway.port, 8760);
  EXPECT_EQ(c.gateway.host, "127.0.0.1");
  ASSERT_EQ(c.models.size(), 1u);
  EXPECT_EQ(c.models[0].name, "default");
  EXPECT_EQ(c.models[0].port, 10500);
  EXPECT_EQ(c.models[0].model, "");  // no default.gguf under /home/u: the built-in hf: model
  EXPECT_EQ(c.models[0].hf, kDefaultHfModel);
  EXPECT_EQ(c.ports.on_conflict, OnConflict::kFallback);
  EXPECT_EQ(c.tool_server.tools.size(), 4u);
}

TEST(ConfigLoader, EmptyFileMeansDefaults) {
  auto r = Load("");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.config.models.size(), 1u);
}

TEST(ConfigLoader, SeedCompatibleConfig) {
  auto r = Load("models:\n  default:\n    port: 10500\n  phi4_assistant:\n    port: 10501\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.config.models.size(), 2u);
  EXPECT_EQ(r.config.models[1].name, "phi4_assistant");
  EXPECT_EQ(r.config.models[1].port, 10501);
  // Loads fine, but cannot start without a model file — said at start, not at load.
  Status s = CheckModelStartable(r.config.models[0]);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("t.yaml:2:3"));
  EXPECT_THAT(s.message(), HasSubstr("add `model:"));
}

TEST(ConfigLoader, ExampleFileIsValidAndComplete) {
  auto r = LoadFile(std::string(LLMDESK_SOURCE_DIR) + "/examples/llm_backends.yaml", FakeEnv({{"HOME", "/h"}}));
  for (const auto& d : r.errors()) ADD_FAILURE() << d.ToString();
  const Config& c = r.config;
  EXPECT_EQ(c.tool_server.tools, tools::BuiltinToolNames());
  ASSERT_NE(c.FindModel("default"), nullptr);
  const ModelConfig& m = *c.FindModel("default");
  EXPECT_EQ(m.model, "/h/models/qwen2.5-1.5b-instruct-q4_k_m.gguf");
  EXPECT_EQ(m.args, (std::vector<std::string>{"--ctx-size", "8192"}));
  EXPECT_EQ(m.ttl_s, 600);
  EXPECT_EQ(c.FindModel("remote_example")->kind, ModelConfig::Kind::kRemote);
  const ModelConfig& custom = *c.FindModel("custom_server");
  EXPECT_EQ(custom.kind, ModelConfig::Kind::kCommand);
  EXPECT_EQ(custom.command[2], "${PORT}");  // macro kept for spawn time
  EXPECT_EQ(c.mcp_servers.size(), 2u);
  EXPECT_EQ(c.mcp_servers[0].command.front(), "npx");
  EXPECT_EQ(c.mcp_servers[1].headers.at("Authorization"), "Bearer none");
  EXPECT_EQ(c.chat.tool_approval.at("get_weather"), Approval::kAsk);
  // Missing model files are warnings at load time.
  EXPECT_FALSE(r.warnings().empty());
  EXPECT_THAT(r.warnings()[0].ToString(), HasSubstr("does not exist yet"));
}

TEST(ConfigLoader, UnknownKeySuggestsTheRightOne) {
  auto r = Load("models:\n  default:\n    prot: 10500\n");
  EXPECT_EQ(OnlyError(r), "t.yaml:3:5: error: models.default.prot: unknown key; did you mean 'port'? "
                          "(expected one of: model, hf, url, command, port, args, env, ttl, autostart, "
                          "startup_timeout, stop_grace, api_key, rpc, device, gpu_layers)");
}

TEST(ConfigLoader, UnknownTopLevelKey) {
  auto r = Load("tool_sever:\n  port: 1\n");
  EXPECT_THAT(OnlyError(r), HasSubstr("t.yaml:1:1: error: tool_sever: unknown key; did you mean 'tool_server'?"));
}

TEST(ConfigLoader, StringPortIsATypeError) {
  auto r = Load("gateway:\n  port: \"8760\"\n");
  EXPECT_THAT(OnlyError(r), HasSubstr("t.yaml:2:9: error: gateway.port: expected an integer from 1 to 65535, "
                                      "got the quoted string \"8760\"; write it without quotes"));
  auto r2 = Load("gateway:\n  port: eighty\n");
  EXPECT_THAT(OnlyError(r2), HasSubstr("t.yaml:2:9: error: gateway.port: expected an integer"));
}

TEST(ConfigLoader, PortOutOfRange) {
  EXPECT_THAT(OnlyError(Load("tool_server: {port: 0}\n")), HasSubstr("tool_server.port: expected an integer from 1 to 65535, got 0"));
  EXPECT_THAT(OnlyError(Load("tool_server: {port: 70000}\n")), HasSubstr("got 70000"));
  EXPECT_THAT(OnlyError(Load("models: {a: {port: -1}}\n")), HasSubstr("models.a.port"));
}

TEST(ConfigLoader, DuplicatePortsNameBothEntries) {
  auto r = Load("models:\n  a:\n    port: 10500\n  b:\n    port: 10500\n");
  EXPECT_EQ(OnlyError(r), "t.yaml:5:11: error: models.b.port: port 10500 is already used by models.a.port "
                          "(t.yaml:3:11); give each entry its own port");
  auto r2 = Load("tool_server: {port: 10500}\nmodels:\n  a:\n    port: 10500\n");
  EXPECT_THAT(OnlyError(r2), HasSubstr("already used by tool_server.port (t.yaml:1:21)"));
}

TEST(ConfigLoader, WrongShapes) {
  EXPECT_THAT(OnlyError(Load("models: [a, b]\n")), HasSubstr("t.yaml:1:9: error: models: expected a map of keys, got a list"));
  EXPECT_THAT(OnlyError(Load("models: {a: {args: --ctx}}\n")), HasSubstr("models.a.args: expected a list"));
  EXPECT_THAT(OnlyError(Load("models: {a: {autostart: maybe}}\n")), HasSubstr("expected true or false, got 'maybe'"));
  EXPECT_THAT(OnlyError(Load("models: {a: {ttl: 1.5}}\n")), HasSubstr("models.a.ttl: expected an integer"));
}

TEST(ConfigLoader, ChoicesAndRanges) {
  EXPECT_THAT(OnlyError(Load("ports: {on_conflict: fallbak}\n")),
              HasSubstr("expected one of fallback, fail, got 'fallbak'; did you mean 'fallback'?"));
  EXPECT_THAT(OnlyError(Load("ports: {range: 11000-10000}\n")), HasSubstr("ports.range: expected FIRST-LAST"));
  auto ok = Load("ports: {range: 20000-20010, on_conflict: fail}\n");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.config.ports.range_first, 20000);
  EXPECT_EQ(ok.config.ports.range_last, 20010);
  EXPECT_EQ(ok.config.ports.on_conflict, OnConflict::kFail);
  EXPECT_THAT(OnlyError(Load("chat: {approval: sometimes}\n")), HasSubstr("chat.approval: expected one of auto, ask, deny"));
  EXPECT_THAT(OnlyError(Load("tool_server: {tools: [calculater]}\n")),
              HasSubstr("unknown tool 'calculater'; did you mean 'calculator'?"));
}

TEST(ConfigLoader, ModelSourcesMustBeCoherent) {
  EXPECT_THAT(OnlyError(Load("models: {a: {url: http://x/v1, model: /m.gguf}}\n")), HasSubstr("remove model/hf/command/args"));
  EXPECT_THAT(OnlyError(Load("models: {a: {url: ftp://x}}\n")), HasSubstr("expected an http:// or https:// base url"));
  EXPECT_THAT(OnlyError(Load("models: {a: {hf: not a repo}}\n")), HasSubstr("expected owner/repo"));
  EXPECT_THAT(OnlyError(Load("models: {a: {model: /m.gguf, hf: o/r:Q4}}\n")), HasSubstr("not both"));
  EXPECT_THAT(OnlyError(Load("mcp_servers: {x: {}}\n")), HasSubstr("exactly one of `command:`"));
}

TEST(ConfigLoader, MissingModelFileIsAWarningThenAStartError) {
  auto r = Load("models:\n  a:\n    model: /nonexistent/m.gguf\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.warnings().size(), 1u);
  EXPECT_EQ(r.warnings()[0].ToString(), "t.yaml:3:12: warning: models.a.model: file '/nonexistent/m.gguf' does not "
                                        "exist yet; starting this model will fail until it does");
  Status s = CheckModelStartable(r.config.models[0]);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("/nonexistent/m.gguf does not exist"));
}

TEST(ConfigLoader, ExpandsHomeAndEnvironment) {
  auto r = Load("models:\n  a:\n    model: ~/m/${NAME}.gguf\n    args: [--threads, \"${THREADS:-4}\"]\n"
                "    env: {X: \"${HOME}/x\"}\n",
                {{"HOME", "/home/u"}, {"NAME", "qwen"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.models[0].model, "/home/u/m/qwen.gguf");
  EXPECT_EQ(r.config.models[0].args[1], "4");
  EXPECT_EQ(r.config.models[0].env.at("X"), "/home/u/x");
  EXPECT_THAT(OnlyError(Load("gateway: {token: \"${SECRET}\"}\n")),
              HasSubstr("environment variable SECRET is not set; set it or write ${SECRET:-default}"));
}

TEST(ConfigLoader, YamlSyntaxErrorHasLocation) {
  EXPECT_THAT(OnlyError(Load("models:\n  a: {port: 1\n")), HasSubstr("t.yaml:3:1: error: YAML syntax error"));
}

TEST(ConfigLoader, DuplicateKeys) {
  EXPECT_THAT(OnlyError(Load("gateway: {port: 1, port: 2}\n")), HasSubstr("gateway.port: duplicate key"));
}

TEST(ConfigLoader, ReportsAllErrorsInOneRun) {
  auto r = Load("models:\n  a:\n    prot: 1\n    port: \"x\"\n  b:\n    port: 10500\n  c:\n    port: 10500\n");
  ASSERT_EQ(r.errors().size(), 3u);
  EXPECT_THAT(r.errors()[0].ToString(), HasSubstr("t.yaml:3:5:"));
  EXPECT_THAT(r.errors()[1].ToString(), HasSubstr("t.yaml:4:11:"));
  EXPECT_THAT(r.errors()[2].ToString(), HasSubstr("t.yaml:8:11:"));
}

TEST(ConfigLoader, FileProblems) {
  test::TempDir dir;
  auto missing = LoadFile(dir.path() / "nope.yaml", FakeEnv({}));
  EXPECT_THAT(OnlyError(missing), HasSubstr("nope.yaml:1:1: error: cannot read the file"));
  auto nul = LoadFile(dir.Write("nul.yaml", std::string("models:\0x", 9)), FakeEnv({}));
  EXPECT_THAT(OnlyError(nul), HasSubstr("NUL bytes"));
  auto binary = LoadFile(dir.Write("bin.yaml", "\xff\xfe{[}]:\n\t- ::"), FakeEnv({}));
  EXPECT_FALSE(binary.ok());
}

TEST(ConfigLoader, LookupOrder) {
  test::TempDir dir;
  auto xdg_file = dir.Write("xdg/llmdesk/llm_backends.yaml", "");
  EXPECT_EQ(FindConfigFile(std::string("/x.yaml"), FakeEnv({{"LLMDESK_CONFIG", "/env.yaml"}})), "/x.yaml");
  EXPECT_EQ(FindConfigFile(std::nullopt, FakeEnv({{"LLMDESK_CONFIG", "/env.yaml"}})), "/env.yaml");
  EXPECT_EQ(FindConfigFile(std::nullopt, FakeEnv({{"XDG_CONFIG_HOME", (dir.path() / "xdg").string()}})), xdg_file);
  EXPECT_EQ(FindConfigFile(std::nullopt, FakeEnv({{"HOME", dir.path().string()}})), std::nullopt);
}

TEST(ConfigLoader, JsonAndYamlEmissionRoundTrip) {
  auto r = Load("gateway: {token: s3cret}\nmodels:\n  a: {model: /m.gguf, port: 12000}\n");
  ASSERT_TRUE(r.ok());
  auto j = ToJson(r.config);
  EXPECT_EQ(j["models"]["a"]["port"], 12000);
  EXPECT_EQ(j["gateway"]["token"], "<set>");  // secrets are never printed
  std::string yaml = ToYaml(r.config);
  EXPECT_THAT(yaml, Not(HasSubstr("s3cret")));
  EXPECT_THAT(yaml, HasSubstr("12000"));
}

// models.hub_url (issue 11): the one scalar among the model entries; a bad value names the key.
TEST(ConfigLoaderModels, HubUrlIsTheHubNotAModel) {
  auto r = Load("models:\n  hub_url: http://127.0.0.1:9999/\n  m: {hf: \"a/b:Q4_K_M\"}\n");
  ASSERT_TRUE(r.ok()) << OnlyError(r);
  EXPECT_EQ(r.config.hub.url, "http://127.0.0.1:9999");
  ASSERT_EQ(r.config.models.size(), 1u);
  EXPECT_EQ(r.config.models[0].name, "m");
  EXPECT_EQ(r.config.models[0].hf, "a/b:Q4_K_M");
  EXPECT_THAT(OnlyError(Load("models:\n  hub_url: ftp://x\n")), HasSubstr("t.yaml:2:12: error: models.hub_url: expected an http"));
  EXPECT_THAT(OnlyError(Load("models:\n  hub_url: {model: /m.gguf}\n")), HasSubstr("`hub_url` is reserved"));
  // Without `models:` the built-in default stays, at line 0 (models::PrepareModels' demo fallback keys on it).
  auto defaults = Load("gateway: {port: 9000}\n");
  ASSERT_EQ(defaults.config.models.size(), 1u);
  EXPECT_EQ(defaults.config.models[0].where.line, 0);
  EXPECT_EQ(defaults.config.models[0].hf, kDefaultHfModel);
}

}  // namespace
}  // namespace llmdesk::config

// ---- mcp_servers and chat.tools (issue 8 §3: timeouts per server and tool; broken entries) -----------------
namespace llmdesk::config {
namespace {

TEST(ConfigMcpServers, TimeoutsPerServerAndPerTool) {
  auto r = Load("mcp_servers:\n"
                "  fs: {command: npx, args: [-y, pkg, 7], timeout_s: 5, connect_timeout_s: 2.5}\n"
                "  web: {url: http://127.0.0.1:9000/mcp}\n"
                "chat:\n"
                "  tool_timeout_s: 30\n"
                "  tools:\n"
                "    calculator: ask\n"
                "    get_weather: {approval: deny, timeout_s: 90}\n"
                "    echo: {timeout_s: 1.5}\n");
  for (const auto& d : r.diagnostics) ADD_FAILURE() << d.ToString();
  ASSERT_EQ(r.config.mcp_servers.size(), 2u);
  const McpServerConfig& fs = r.config.mcp_servers[0];
  EXPECT_EQ(fs.command, (std::vector<std::string>{"npx", "-y", "pkg", "7"}));
  EXPECT_EQ(fs.timeout_s, 5.0);
  EXPECT_EQ(fs.connect_timeout_s, 2.5);
  EXPECT_EQ(r.config.mcp_servers[1].timeout_s, std::nullopt);  // chat.tool_timeout_s applies
  EXPECT_EQ(r.config.mcp_servers[1].connect_timeout_s, 10.0);
  const ChatConfig& chat = r.config.chat;
  EXPECT_EQ(chat.tool_timeout_s, 30.0);
  EXPECT_EQ(chat.tool_approval.at("calculator"), Approval::kAsk);
  EXPECT_EQ(chat.tool_approval.at("get_weather"), Approval::kDeny);
  EXPECT_EQ(chat.tool_approval.count("echo"), 0u);
  EXPECT_EQ(chat.tool_timeouts_s.at("get_weather"), 90.0);
  EXPECT_EQ(chat.tool_timeouts_s.at("echo"), 1.5);
  // `config show` prints them in the long form.
  auto j = ToJson(r.config);
  EXPECT_EQ(j["chat"]["tools"]["get_weather"]["approval"], "deny");
  EXPECT_EQ(j["chat"]["tools"]["get_weather"]["timeout_s"], 90.0);
  EXPECT_EQ(j["mcp_servers"]["fs"]["timeout_s"], 5.0);
  EXPECT_FALSE(j["mcp_servers"]["web"].contains("timeout_s"));
}

TEST(ConfigMcpServers, BrokenEntriesNameTheSpotAndWhatToDo) {
  EXPECT_EQ(OnlyError(Load("mcp_servers:\n  x: {command: npx, url: http://h/mcp}\n")),
            "t.yaml:2:3: error: mcp_servers.x: expected exactly one of `command:` (a stdio server) or `url:` "
            "(a Streamable HTTP server), got both; keep one (two servers need two entries)");
  EXPECT_EQ(OnlyError(Load("mcp_servers:\n  x: {args: [a]}\n")),
            "t.yaml:2:3: error: mcp_servers.x: expected exactly one of `command:` or `url:`, got neither; give "
            "`command:` (+ `args:`, `env:`) for a stdio server, or `url:` (+ `headers:`) for a Streamable HTTP server");
  EXPECT_THAT(OnlyError(Load("mcp_servers:\n  x:\n")), HasSubstr("t.yaml:2:3: error: mcp_servers.x: the entry is empty: give `command:`"));
  EXPECT_EQ(OnlyError(Load("mcp_servers:\n  x:\n    command: \"\"\n")),
            "t.yaml:3:14: error: mcp_servers.x.command: expected the program to run, e.g. `command: npx`, got an empty string");
  EXPECT_THAT(OnlyError(Load("mcp_servers:\n  x: {command: [npx, -y]}\n")),
              HasSubstr("t.yaml:2:16: error: mcp_servers.x.command: expected the program to run as a string, e.g. "
                        "`command: npx`, got a list; put its arguments in `args:`"));
  EXPECT_THAT(OnlyError(Load("mcp_servers:\n  x: {command: npx, args: -y}\n")),
              HasSubstr("t.yaml:2:27: error: mcp_servers.x.args: expected a list"));
  EXPECT_EQ(OnlyError(Load("mcp_servers:\n  x:\n    command: npx\n    args: [-y, {a: 1}]\n")),
            "t.yaml:4:16: error: mcp_servers.x.args[1]: expected a string, got a map");
  EXPECT_THAT(OnlyError(Load("mcp_servers:\n  x: {command: npx, env: [A=1]}\n")),
              HasSubstr("mcp_servers.x.env: expected a map of keys, got a list"));
  EXPECT_THAT(OnlyError(Load("mcp_servers:\n  x: {command: npx, env: {A: [1]}}\n")),
              HasSubstr("mcp_servers.x.env.A: expected a string, got a list"));
  EXPECT_THAT(OnlyError(Load("mcp_servers:\n  x: {command: npx, headers: {A: b}}\n")),
              HasSubstr("t.yaml:2:30: error: mcp_servers.x.headers: `headers:` is for HTTP servers (`url:`)"));
  EXPECT_THAT(OnlyError(Load("mcp_servers:\n  x: {url: http://h/mcp, args: [a]}\n")),
              HasSubstr("mcp_servers.x.args: `args:` is for stdio servers (`command:`)"));
  EXPECT_THAT(OnlyError(Load("mcp_servers:\n  x: {url: 42}\n")),
              HasSubstr("mcp_servers.x.url: expected an http:// or https:// url"));
  EXPECT_THAT(OnlyError(Load("mcp_servers:\n  x: {command: npx, timeout_s: fast}\n")),
              HasSubstr("mcp_servers.x.timeout_s: expected a number from 0.1 to 3600, got 'fast'"));
  EXPECT_THAT(OnlyError(Load("mcp_servers:\n  x: {command: npx, connect_timeout_s: 0}\n")),
              HasSubstr("mcp_servers.x.connect_timeout_s: expected a number from 0.1 to 600"));
  EXPECT_THAT(OnlyError(Load("mcp_servers:\n  x: {command: npx, comand: y}\n")),
              HasSubstr("mcp_servers.x.comand: unknown key; did you mean 'command'?"));
  EXPECT_THAT(OnlyError(Load("mcp_servers:\n  x: [npx]\n")), HasSubstr("t.yaml:2:6: error: mcp_servers.x: expected a map"));
  EXPECT_THAT(OnlyError(Load("mcp_servers: [npx]\n")), HasSubstr("t.yaml:1:14: error: mcp_servers: expected a map"));
  EXPECT_THAT(OnlyError(Load("chat: {tools: {calc: {approval: ask, timout_s: 3}}}\n")),
              HasSubstr("chat.tools.calc.timout_s: unknown key; did you mean 'timeout_s'?"));
  EXPECT_THAT(OnlyError(Load("chat: {tools: {calc: [ask]}}\n")),
              HasSubstr("chat.tools.calc: expected auto, ask or deny, or a map like {approval: ask, timeout_s: 30}"));
  EXPECT_THAT(OnlyError(Load("chat: {tools: {calc: {timeout_s: -1}}}\n")),
              HasSubstr("chat.tools.calc.timeout_s: expected a number from 0.1 to 3600"));
  // Every broken entry is reported in one run, and the good ones still load.
  auto several = Load("mcp_servers:\n  a: {command: \"\"}\n  b: {url: http://h/mcp, command: x}\n  c: {command: ok}\n");
  EXPECT_EQ(several.errors().size(), 2u);
  ASSERT_EQ(several.config.mcp_servers.size(), 3u);
  EXPECT_EQ(several.config.mcp_servers[2].command, std::vector<std::string>{"ok"});
}

}  // namespace
}  // namespace llmdesk::config

namespace llmdesk::config {
namespace {
TEST(ConfigMcpServers, TheOwnToolServersNameIsTaken) {
  EXPECT_THAT(OnlyError(Load("mcp_servers:\n  llmdesk: {command: llmdesk, args: [mcp-stdio]}\n")),
              HasSubstr("t.yaml:2:3: error: mcp_servers.llmdesk: the name 'llmdesk' is taken by llmdesk's own tool server"));
}
}  // namespace
}  // namespace llmdesk::config
