// `llmdesk --version`, `config check`, `config show`, `doctor` — the real binary, real files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "support/test_support.h"

namespace llmdesk {
namespace {

using ::testing::HasSubstr;
using test::BinPath;
using test::RunCommand;

std::string Llmdesk() { return BinPath("llmdesk").string(); }

TEST(CliConfig, Version) {
  auto r = RunCommand({Llmdesk(), "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("llmdesk " LLMDESK_VERSION));
}

TEST(CliConfig, ExampleConfigIsValid) {
  auto r = RunCommand({Llmdesk(), "config", "check", std::string(LLMDESK_SOURCE_DIR) + "/examples/llm_backends.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(": ok ("));
}

TEST(CliConfig, TypoStringPortAndDuplicatePortGiveThreeLocatedErrors) {
  test::TempDir dir;
  auto file = dir.Write("bad.yaml",
                        "models:\n"
                        "  default:\n"
                        "    port: 10500\n"
                        "    autostrat: true\n"      // typo'd key
                        "  phi4_assistant:\n"
                        "    port: \"10501\"\n"      // string port
                        "  third:\n"
                        "    port: 10500\n");        // duplicate port
  auto r = RunCommand({Llmdesk(), "config", "check", file.string()});
  EXPECT_EQ(r.exit_code, 2);
  const std::regex located(file.string() + R"(:\d+:\d+: error: )");
  auto count = std::distance(std::sregex_iterator(r.err.begin(), r.err.end(), located), std::sregex_iterator());
  EXPECT_EQ(count, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr(file.string() + ":4:5: error: models.default.autostrat: unknown key; did you mean 'autostart'?"));
  EXPECT_THAT(r.err, HasSubstr(file.string() + ":6:11: error: models.phi4_assistant.port: expected an integer"));
  EXPECT_THAT(r.err, HasSubstr(file.string() + ":8:11: error: models.third.port: port 10500 is already used by "
                               "models.default.port (" + file.string() + ":3:11)"));
}

TEST(CliConfig, BadConfigStopsEveryCommandWithExit2) {
  test::TempDir dir;
  auto file = dir.Write("bad.yaml", "gateway: {port: nope}\n");
  EXPECT_EQ(RunCommand({Llmdesk(), "--config", file.string(), "config", "show"}).exit_code, 2);
  EXPECT_EQ(RunCommand({Llmdesk(), "--config", file.string(), "doctor"}).exit_code, 2);
  EXPECT_EQ(RunCommand({Llmdesk(), "config", "check", (dir.path() / "missing.yaml").string()}).exit_code, 2);
}

TEST(CliConfig, ShowJsonIsTheEffectiveConfig) {
  test::TempDir dir;
  auto file = dir.Write("c.yaml", "tool_server: {port: 9999}\nmodels:\n  m: {model: /x.gguf}\n");
  auto r = RunCommand({Llmdesk(), "--config", file.string(), "config", "show", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tool_server"]["port"], 9999);
  EXPECT_EQ(j["gateway"]["port"], 8760);  // default kept
  EXPECT_EQ(j["models"]["m"]["model"], "/x.gguf");
  EXPECT_EQ(j["models"]["m"]["port"], "auto");
}

TEST(CliConfig, DoctorFindsTheEngine) {
  test::TempDir dir;
  auto file = dir.Write("c.yaml", "engine: {llama_server: " + test::LlamaServerPath().string() + "}\n");
  auto r = RunCommand({Llmdesk(), "--config", file.string(), "doctor"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("ok    engine: " + test::LlamaServerPath().string()));
  EXPECT_THAT(r.out, HasSubstr("version: "));
}

TEST(CliConfig, DoctorExplainsAMissingEngine) {
  test::TempDir dir;
  auto file = dir.Write("c.yaml", "engine: {llama_server: /nonexistent/llama-server}\n");
  auto r = RunCommand({Llmdesk(), "--config", file.string(), "doctor"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("FAIL  engine: engine.llama_server is /nonexistent/llama-server"));
}

}  // namespace
}  // namespace llmdesk
