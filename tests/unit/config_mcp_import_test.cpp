// `llmdesk mcp import`: a Cursor / Claude Desktop mcp.json merged into llm_backends.yaml as text — nothing
// the user wrote is lost, names already configured are kept (or replaced when asked), bad JSON is named by
// line and column, and the file is replaced atomically (issue 8 §3).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "config/mcp_import.h"
#include "support/test_support.h"

namespace llmdesk::config {
namespace {

using ::testing::HasSubstr;
using Outcome = ImportedServer::Outcome;

GetEnv Env(std::map<std::string, std::string> vars = {{"HOME", "/home/u"}}) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional(it->second);
  };
}

Result<ImportResult> Merge(const std::string& json, const std::string& yaml, bool overwrite = false,
                           std::map<std::string, std::string> env = {{"HOME", "/home/u"}}) {
  return MergeMcpJson(json, "mcp.json", yaml, "c.yaml", overwrite, Env(env));
}

std::vector<std::string> LinesOf(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Every line of `before` is in `after`, in the same order.
bool KeepsAllLines(const std::string& before, const std::string& after) {
  auto a = LinesOf(before), b = LinesOf(after);
  size_t j = 0;
  for (const auto& line : a) {
    while (j < b.size() && b[j] != line) ++j;
    if (j++ >= b.size()) return false;
  }
  return true;
}

const McpServerConfig* Find(const Config& c, const std::string& name) {
  for (const auto& s : c.mcp_servers)
    if (s.name == name) return &s;
  return nullptr;
}

const char* kClaudeJson = R"({
  "mcpServers": {
    "everything": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything", "null"],
                   "env": {"DEBUG": "yes", "TOKEN": "${env:MY_TOKEN}"}},
    "remote": {"url": "http://127.0.0.1:9000/mcp", "headers": {"Authorization": "Bearer abc"}}
  }
})";

TEST(McpImport, AddsToTheExistingBlockAndKeepsEveryLine) {
  const std::string yaml =
      "# my setup — hand written\n"
      "models:\n"
      "  default: {model: /m.gguf, port: 10500}   # the small one\n"
      "\n"
      "mcp_servers:\n"
      "    fs:                       # four spaces, a block entry\n"
      "      command: /bin/fs\n"
      "      args: [\"/tmp\"]\n"
      "    # a comment that belongs to the block\n"
      "\n"
      "# chat settings\n"
      "chat: {approval: ask}\n";
  auto r = Merge(kClaudeJson, yaml, false, {{"HOME", "/home/u"}, {"MY_TOKEN", "t0k"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->changed);
  EXPECT_TRUE(KeepsAllLines(yaml, r->yaml)) << r->yaml;
  ASSERT_EQ(r->servers.size(), 2u);
  EXPECT_EQ(r->servers[0].outcome, Outcome::kAdded);
  EXPECT_EQ(r->servers[1].outcome, Outcome::kAdded);
  // Inside the block, after its last entry, at its indentation — before the blank line and `chat:`.
  auto lines = LinesOf(r->yaml);
  ASSERT_EQ(lines.size(), LinesOf(yaml).size() + 2);
  EXPECT_THAT(lines[8], ::testing::StartsWith("    everything: {command: \"npx\""));
  EXPECT_THAT(lines[9], ::testing::StartsWith("    remote: {url: \"http://127.0.0.1:9000/mcp\""));
  auto loaded = LoadString(r->yaml, "c.yaml", Env({{"HOME", "/home/u"}, {"MY_TOKEN", "t0k"}}));
  ASSERT_TRUE(loaded.ok()) << r->yaml;
  ASSERT_EQ(loaded.config.mcp_servers.size(), 3u);
  const auto* everything = Find(loaded.config, "everything");
  ASSERT_NE(everything, nullptr);
  EXPECT_EQ(everything->command,
            (std::vector<std::string>{"npx", "-y", "@modelcontextprotocol/server-everything", "null"}));  // "null" stays text
  EXPECT_EQ(everything->env.at("DEBUG"), "yes");
  EXPECT_EQ(everything->env.at("TOKEN"), "t0k");  // Cursor's ${env:NAME}
  EXPECT_EQ(Find(loaded.config, "remote")->headers.at("Authorization"), "Bearer abc");
  EXPECT_EQ(loaded.config.chat.approval, Approval::kAsk);
}

TEST(McpImport, CreatesTheBlockOrTheFile) {
  auto empty = Merge(kClaudeJson, "", false, {{"MY_TOKEN", "x"}});
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_THAT(empty->yaml, ::testing::StartsWith("mcp_servers:\n  everything: {"));
  const std::string yaml = "gateway: {port: 9999}  # no mcp_servers yet\n";
  auto appended = Merge(kClaudeJson, yaml, false, {{"MY_TOKEN", "x"}});
  ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  EXPECT_THAT(appended->yaml, ::testing::StartsWith(yaml + "\nmcp_servers:\n  everything: {"));
  // `mcp_servers:` with nothing, null or {} becomes a block; its comment stays.
  for (std::string value : {"", " null", " ~", " {}"}) {
    auto r = Merge(kClaudeJson, "mcp_servers:" + value + "   # none yet\nchat: {max_tool_steps: 3}\n", false, {{"MY_TOKEN", "x"}});
    ASSERT_TRUE(r.ok()) << value << ": " << r.status().ToString();
    EXPECT_THAT(r->yaml, ::testing::StartsWith("mcp_servers:")) << r->yaml;
    EXPECT_THAT(r->yaml, HasSubstr("# none yet\n  everything: {")) << r->yaml;
    auto loaded = LoadString(r->yaml, "c.yaml", Env({{"MY_TOKEN", "x"}}));
    EXPECT_TRUE(loaded.ok()) << r->yaml;
    EXPECT_EQ(loaded.config.mcp_servers.size(), 2u);
    EXPECT_EQ(loaded.config.chat.max_tool_steps, 3);
  }
}

TEST(McpImport, AnExistingNameIsReportedAndKeptUnlessOverwriteIsAsked) {
  const std::string yaml = "mcp_servers:\n  remote:\n    url: http://old/mcp\n    headers: {X: y}\n  other: {command: o}\n";
  const std::string json = R"({"mcpServers": {"remote": {"url": "http://new/mcp"}, "fresh": {"command": "f"}}})";
  auto kept = Merge(json, yaml);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  ASSERT_EQ(kept->servers.size(), 2u);
  EXPECT_EQ(kept->servers[0].name, "remote");
  EXPECT_EQ(kept->servers[0].outcome, Outcome::kExists);
  EXPECT_THAT(kept->servers[0].note, HasSubstr("already in c.yaml (line 2); kept as it is (--overwrite replaces it)"));
  EXPECT_EQ(kept->servers[1].outcome, Outcome::kAdded);
  EXPECT_THAT(kept->yaml, HasSubstr("url: http://old/mcp"));
  EXPECT_TRUE(KeepsAllLines(yaml, kept->yaml));

  auto replaced = Merge(json, yaml, /*overwrite=*/true);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->servers[0].outcome, Outcome::kReplaced);
  EXPECT_EQ(replaced->yaml, "mcp_servers:\n  remote: {url: \"http://new/mcp\"}\n  other: {command: o}\n  fresh: {command: \"f\"}\n");

  auto nothing = Merge(R"({"mcpServers": {"other": {"command": "o2"}}})", yaml);
  ASSERT_TRUE(nothing.ok());
  EXPECT_FALSE(nothing->changed);
  EXPECT_EQ(nothing->yaml, yaml);
}

TEST(McpImport, BadJsonIsNamedByLineAndColumn) {
  auto r = Merge("{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\",}\n  }\n}\n", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("mcp.json:3:"));
  EXPECT_THAT(r.status().message(), HasSubstr(": error: not valid JSON: syntax error"));
  EXPECT_THAT(Merge("{\"mcpServers\": {\"a\": {\"command\": \"x\"}}", "").status().message(), HasSubstr("mcp.json:1:"));
  EXPECT_THAT(Merge("[1, 2]", "").status().message(), HasSubstr("mcp.json: expected an object with \"mcpServers\""));
  EXPECT_THAT(Merge(R"({"mcpServers": [1]})", "").status().message(), HasSubstr("expected an object"));
  // Comments (as Cursor's files sometimes have) are fine.
  EXPECT_TRUE(Merge("// mine\n{\"mcpServers\": {}}", "").ok());
}

TEST(McpImport, EntriesLlmdeskCannotUseAreSkippedWithTheReason) {
  const std::string json = R"({"servers": {
      "brave search": {"command": "brave", "cwd": "/x", "autoApprove": []},
      "old": {"type": "sse", "url": "http://h/sse"},
      "bad-args": {"command": "x", "args": ["a", 1]},
      "both": {"command": "x", "url": "http://h/mcp"},
      "off": {"command": "x", "disabled": true},
      "needs-var": {"command": "x", "env": {"K": "${NOT_SET}"}},
      "bad": "npx"}})";
  auto r = Merge(json, "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::map<std::string, ImportedServer> by_name;
  for (const auto& s : r->servers) by_name[s.name] = s;
  ASSERT_EQ(by_name.size(), 7u);
  EXPECT_EQ(by_name["brave-search"].outcome, Outcome::kAdded);
  EXPECT_THAT(by_name["brave-search"].note, HasSubstr("named 'brave-search' (from 'brave search'); ignored: cwd, autoApprove"));
  EXPECT_EQ(by_name["old"].outcome, Outcome::kSkipped);
  EXPECT_THAT(by_name["old"].note, HasSubstr("old HTTP+SSE transport"));
  EXPECT_THAT(by_name["bad-args"].note, HasSubstr("`args` must be a list of strings"));
  EXPECT_THAT(by_name["both"].note, HasSubstr("exactly one of `command` (stdio) or `url` (HTTP)"));
  EXPECT_THAT(by_name["off"].note, HasSubstr("disabled"));
  EXPECT_THAT(by_name["needs-var"].note, HasSubstr("environment variable NOT_SET is not set"));
  EXPECT_THAT(by_name["bad"].note, HasSubstr("expected an object"));
  EXPECT_EQ(LoadString(r->yaml, "c.yaml", Env()).config.mcp_servers.size(), 1u);
}

TEST(McpImport, RefusesWhatItCannotEditSafely) {
  auto broken = Merge(kClaudeJson, "models: {a: {port: x}}\n");
  EXPECT_THAT(broken.status().message(), HasSubstr("does not load as it is; fix it first (nothing was changed)"));
  EXPECT_THAT(broken.status().message(), HasSubstr("c.yaml:1:20: error: models.a.port"));
  auto flow = Merge(kClaudeJson, "mcp_servers: {fs: {command: x}}\n", false, {{"MY_TOKEN", "x"}});
  EXPECT_THAT(flow.status().message(), HasSubstr("c.yaml:1: mcp_servers is written in flow style"));
  auto root_flow = Merge(kClaudeJson, "{chat: {approval: ask}}\n", false, {{"MY_TOKEN", "x"}});
  EXPECT_THAT(root_flow.status().message(), HasSubstr("written as one flow map"));
}

std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(McpImport, FilesAreReplacedAtomicallyKeepingModeAndLinks) {
  test::TempDir dir;
  auto json = dir.Write("mcp.json", R"({"mcpServers": {"a": {"command": "x"}}})");
  // No config yet: created with its directories, private (it may hold tokens).
  auto fresh = dir.path() / "xdg" / "llmdesk" / "llm_backends.yaml";
  auto made = ImportMcpJsonFile(json, fresh, false, Env());
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(ReadText(fresh), "mcp_servers:\n  a: {command: \"x\"}\n");
  struct stat st{};
  ASSERT_EQ(stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // An existing file keeps its mode; a symlinked one keeps its link and gets its target replaced.
  auto real = dir.Write("real.yaml", "chat: {approval: deny}\n");
  ASSERT_EQ(chmod(real.c_str(), 0640), 0);
  auto link = dir.path() / "link.yaml";
  std::filesystem::create_symlink(real, link);
  auto linked = ImportMcpJsonFile(json, link, false, Env());
  ASSERT_TRUE(linked.ok()) << linked.status().ToString();
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(ReadText(real), "chat: {approval: deny}\n\nmcp_servers:\n  a: {command: \"x\"}\n");
  ASSERT_EQ(stat(real.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  // Nothing to add: the file is not rewritten (same inode).
  struct stat before{}, after{};
  ASSERT_EQ(stat(real.c_str(), &before), 0);
  auto again = ImportMcpJsonFile(json, real, false, Env());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  ASSERT_EQ(stat(real.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  // No temporary files are left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 4);  // mcp.json, xdg/, real.yaml, link.yaml and nothing else
  EXPECT_EQ(ImportMcpJsonFile(dir.path() / "missing.json", real, false, Env()).status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace llmdesk::config
