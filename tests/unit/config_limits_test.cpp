// Config loader on hostile input (issue 7 §0): duplicate names, 3 MB values in every string field it
// validates, paths longer than the system allows, and non-loopback hosts without a token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"

namespace llmdesk::config {
namespace {

using ::testing::HasSubstr;

LoadResult Load(const std::string& yaml) {
  return LoadString(yaml, "t.yaml", [](const std::string& name) -> std::optional<std::string> {
    if (name == "HOME") return "/home/u";
    return std::nullopt;
  });
}

std::string AllErrors(const LoadResult& r) {
  std::string all;
  for (const auto& d : r.errors()) all += d.ToString() + "\n";
  return all;
}

std::string OnlyError(const LoadResult& r) {
  EXPECT_EQ(r.errors().size(), 1u) << AllErrors(r);
  return r.errors().empty() ? "" : r.errors().front().ToString();
}

TEST(ConfigDuplicates, ModelNamesNameBothPlacesAndTheFirstCounts) {
  auto r = Load("models:\n  a:\n    port: 10500\n  a:\n    port: 10501\n");
  EXPECT_EQ(OnlyError(r), "t.yaml:4:3: error: models.a: duplicate key; first given at t.yaml:2:3; each key may appear once");
  ASSERT_EQ(r.config.models.size(), 1u);  // the manager never sees two backends of one name
  EXPECT_EQ(r.config.models[0].port, 10500);
}

TEST(ConfigDuplicates, McpServerNamesAndNestedMaps) {
  EXPECT_EQ(OnlyError(Load("mcp_servers:\n  fs: {command: /bin/true}\n  fs: {command: /bin/false}\n")),
            "t.yaml:3:3: error: mcp_servers.fs: duplicate key; first given at t.yaml:2:3; each key may appear once");
  EXPECT_THAT(OnlyError(Load("models:\n  a: {env: {X: 1, X: 2}}\n")),
              HasSubstr("t.yaml:2:19: error: models.a.env.X: duplicate key; first given at t.yaml:2:13"));
  EXPECT_THAT(OnlyError(Load("mcp_servers:\n  h: {url: http://x/mcp, headers: {A: 1, A: 2}}\n")),
              HasSubstr("mcp_servers.h.headers.A: duplicate key; first given at"));
  EXPECT_THAT(OnlyError(Load("chat:\n  tools: {calculator: ask, calculator: deny}\n")),
              HasSubstr("chat.tools.calculator: duplicate key; first given at t.yaml:2:11"));
  EXPECT_THAT(OnlyError(Load("models:\n  a: {port: 1, port: 2}\n")),
              HasSubstr("t.yaml:2:16: error: models.a.port: duplicate key; first given at t.yaml:2:7"));
}

// Every string field the loader validates, with a 3 MB value: a clear, short error (or a plain
// success where any text is valid) — never a crash, never the value echoed back in full.
TEST(ConfigHugeValues, ThreeMegabytesInEveryFieldIsHandled) {
  const std::string huge(3 << 20, 'a');
  const std::string digits(3 << 20, '7');
  struct Case {
    std::string yaml;
    std::string error;  // expected substring; empty = loads fine
  };
  const std::vector<Case> cases = {
      {"engine: {llama_server: /" + huge + "}", "engine.llama_server: path is"},
      {"engine: {llama_server: " + huge + "}", "engine.llama_server: path is"},
      {"gateway: {host: " + huge + "}", "gateway.host: expected at most 253 bytes"},
      {"gateway: {token: " + huge + "}", "gateway.token: expected at most 4096 bytes"},
      {"tool_server: {host: " + huge + "}", "tool_server.host: expected at most 253 bytes"},
      {"tool_server: {token: " + huge + "}", "tool_server.token: expected at most 4096 bytes"},
      {"tool_server: {tools: [" + huge + "]}", "unknown tool 'aaaa"},
      {"tool_server: {port: " + digits + "}", "tool_server.port: expected an integer"},
      {"ports: {on_conflict: " + huge + "}", "ports.on_conflict: expected one of fallback, fail"},
      {"ports: {range: " + digits + "-" + digits + "}", "ports.range: expected at most 32 bytes"},
      // Keys longer than 1024 characters must be explicit ("? key") in YAML.
      {"models:\n  ? " + huge + "\n  : {}", "names start with a letter or digit"},
      {"models: {a: {model: /" + huge + "}}", "models.a.model: path is"},
      {"models: {a: {model: /x/" + huge + "/m.gguf}}", "models.a.model: path is"},
      {"models: {a: {hf: " + huge + "}}", "models.a.hf: expected at most 256 bytes"},
      {"models: {a: {hf: o/" + huge + "}}", "models.a.hf: expected at most 256 bytes"},
      {"models: {a: {url: http://" + huge + "}}", "models.a.url: expected at most 8192 bytes"},
      {"models: {a: {url: " + huge + "}}", "models.a.url: expected at most 8192 bytes"},
      {"models: {a: {command: " + huge + "}}", ""},
      {"models: {a: {command: [" + huge + "]}}", ""},
      {"models: {a: {model: /m.gguf, args: [" + huge + "]}}", ""},
      {"models: {a: {model: /m.gguf, env: {X: " + huge + "}}}", ""},
      {"models: {a: {port: " + digits + "}}", "models.a.port: expected an integer"},
      {"models: {a: {ttl: " + digits + "}}", "models.a.ttl: expected an integer"},
      {"models: {a: {startup_timeout: " + digits + "}}", "models.a.startup_timeout: expected a number"},
      {"models: {a: {autostart: " + huge + "}}", "models.a.autostart: expected true or false"},
      {"models: {a: {model: \"${" + huge + "\"}}", "unterminated '${'"},
      {"models: {a: {model: \"${" + huge + "}\"}}", "is not set"},
      {"mcp_servers: {x: {command: " + huge + "}}", "mcp_servers.x.command: path is"},
      {"mcp_servers: {x: {command: /bin/true, args: [" + huge + "]}}", ""},
      {"mcp_servers: {x: {url: " + huge + "}}", "mcp_servers.x.url: expected at most 8192 bytes"},
      {"mcp_servers: {x: {url: http://x/mcp, headers: {A: " + huge + "}}}", ""},
      {"chat: {approval: " + huge + "}", "chat.approval: expected one of auto, ask, deny"},
      {"chat: {tools: {calculator: " + huge + "}}", "chat.tools.calculator: expected one of"},
      {"chat: {tool_timeout_s: " + digits + "}", "chat.tool_timeout_s: expected a number"},
      {"? " + huge + "\n: 1", "unknown key"},
      {"models:\n  a:\n    ? " + huge + "\n    : 1", "unknown key"},
      {"models:\n  a:\n    model: /m.gguf\n    env:\n      ? " + huge + "\n      : 1", ""},
  };
  for (const auto& c : cases) {
    const std::string label = c.yaml.substr(0, 40);
    auto r = Load(c.yaml + "\n");
    if (c.error.empty()) {
      EXPECT_TRUE(r.ok()) << label << ": " << AllErrors(r).substr(0, 500);
      continue;
    }
    ASSERT_FALSE(r.ok()) << label;
    EXPECT_THAT(AllErrors(r), HasSubstr(c.error)) << label << ": " << AllErrors(r).substr(0, 500);
    for (const auto& d : r.diagnostics) EXPECT_LT(d.ToString().size(), 1000u) << label;
  }
}

TEST(ConfigPaths, LongerThanTheSystemAllowsIsAnErrorNotAnException) {
  auto r = Load("models:\n  a:\n    model: /" + std::string(5000, 'm') + ".gguf\n");
  EXPECT_EQ(OnlyError(r), "t.yaml:3:12: error: models.a.model: path is 5006 bytes long; the system's limit is "
                          "4095 (PATH_MAX): check for a pasted value or a runaway ${VAR}");
  auto r2 = Load("models:\n  a:\n    model: ~/" + std::string(300, 'n') + "/m.gguf\n");
  EXPECT_THAT(OnlyError(r2), HasSubstr("models.a.model: path component 'nnnnnnnn"));
  EXPECT_THAT(OnlyError(r2), HasSubstr("(300 bytes)' is longer than the system's limit of 255 bytes (NAME_MAX)"));
  // Exactly at the limits is fine (a missing file is a warning, as before).
  auto r3 = Load("models:\n  a:\n    model: /tmp/" + std::string(255, 'n') + "\n");
  EXPECT_TRUE(r3.ok()) << AllErrors(r3);
  EXPECT_EQ(r3.warnings().size(), 1u);
}

TEST(ConfigPaths, StartChecksNeverThrowOnLongPaths) {
  ModelConfig m;
  m.name = "a";
  m.model = "/" + std::string(5000, 'm');
  EXPECT_EQ(CheckModelStartable(m).code(), Status::Code::kNotFound);
  m.model = "/tmp/" + std::string(300, 'n') + "/m.gguf";
  EXPECT_EQ(CheckModelStartable(m).code(), Status::Code::kNotFound);
  m.kind = ModelConfig::Kind::kCommand;
  EXPECT_EQ(CheckModelStartable(m).code(), Status::Code::kNotFound);
  EXPECT_NO_THROW(FindConfigFile(std::nullopt, [](const std::string& name) -> std::optional<std::string> {
    if (name == "XDG_CONFIG_HOME") return "/" + std::string(300, 'x');
    return std::nullopt;
  }));
}

TEST(ConfigHosts, NonLoopbackWithoutATokenIsRefused) {
  EXPECT_EQ(OnlyError(Load("gateway: {host: 0.0.0.0}\n")),
            "t.yaml:1:17: error: gateway.host: '0.0.0.0' is not a loopback address and no token is set: anyone who "
            "can reach this machine could use it; set gateway.token (e.g. token: ${LLMDESK_TOKEN}) or bind 127.0.0.1");
  EXPECT_THAT(OnlyError(Load("tool_server: {host: 192.168.1.20}\n")), HasSubstr("tool_server.host: '192.168.1.20'"));
  EXPECT_THAT(OnlyError(Load("tool_server: {host: '::', token: ''}\n")), HasSubstr("no token is set"));
  for (const char* ok : {"127.0.0.1", "127.1.2.3", "localhost", "::1"})
    EXPECT_TRUE(Load(std::string("gateway: {host: '") + ok + "'}\n").ok()) << ok;
  auto with_token = Load("gateway: {host: 0.0.0.0, token: s3cret}\ntool_server: {host: 10.0.0.2, token: t}\n");
  EXPECT_TRUE(with_token.ok()) << AllErrors(with_token);
  EXPECT_EQ(with_token.config.gateway.host, "0.0.0.0");
  EXPECT_THAT(OnlyError(Load("gateway: {host: 'a b'}\n")), HasSubstr("expected an IP address or a host name"));
}

TEST(ConfigPortRange, HandParsedLikeTheOldPattern) {
  for (const char* ok : {"10500-10999", " 1 - 2 ", "1-1", "00080-00090"}) {
    auto r = Load(std::string("ports: {range: '") + ok + "'}\n");
    EXPECT_TRUE(r.ok()) << ok << ": " << AllErrors(r);
  }
  auto r = Load("ports: {range: ' 20000 - 20010'}\n");
  EXPECT_EQ(r.config.ports.range_first, 20000);
  EXPECT_EQ(r.config.ports.range_last, 20010);
  for (const char* bad : {"1-", "-5", "a-b", "1-2-3", "123456-123457", "0-10", "10-5", "1 0-20", "+1-2", "1--2", "", "-"})
    EXPECT_THAT(OnlyError(Load(std::string("ports: {range: '") + bad + "'}\n")), HasSubstr("ports.range: expected"))
        << bad;
}

TEST(ConfigNames, HandCheckedLikeTheOldPattern) {
  EXPECT_TRUE(Load("models: {a: {}, 'B-1.x_y:z': {}}\n").ok());
  EXPECT_TRUE(Load("models: {" + std::string(64, 'n') + ": {}}\n").ok());
  for (std::string bad : {std::string(65, 'n'), std::string("_a"), std::string("a b"), std::string("a/b"), std::string("-a")})
    EXPECT_THAT(OnlyError(Load("models: {'" + bad + "': {}}\n")), HasSubstr("names start with a letter or digit")) << bad;
  EXPECT_TRUE(Load("models: {a: {hf: Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M}}\n").ok());
  for (const char* bad : {"o/", "/r", "o/r:", "o/r:a:b", "o r/x", "o/r/x"})
    EXPECT_THAT(OnlyError(Load(std::string("models: {a: {hf: '") + bad + "'}}\n")), HasSubstr("expected owner/repo"))
        << bad;
}

}  // namespace
}  // namespace llmdesk::config
