// Starting models through the CLI (issue 11): the offline first run runs the built-in demo model (labelled
// as what it is) and answers "What's 2+2?" through the calculator; an `hf:` entry is pulled from the hub
// stand-in before its start; a model whose chat template has no tool support gets the warning while tools
// are on. Real `llmdesk serve`, real llama-server, real sockets.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_manager_helpers.h"
#include "models/library.h"
#include "support/hub_standin.h"
#include "support/test_support.h"

namespace llmdesk::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A home of its own for each test: data, config, state and runtime dirs inside it, and a config that sets
// free ports (the `models:` section is the test's, or absent: then the built-in `default` applies).
class ModelsStart : public testing::Test {
 protected:
  void SetUp() override {
    base_ = FreePortRange(24);
    for (const char* d : {"data", "config", "state", "run", "cache"}) fs::create_directories(home_.path() / d);
    fs::permissions(home_.path() / "run", fs::perms::owner_all, fs::perm_options::replace);
  }
  fs::path WriteConfig(const std::string& models_section) {
    return home_.Write("llm_backends.yaml", "gateway: {port: " + std::to_string(base_) + "}\n" +
                                                "tool_server: {port: " + std::to_string(base_ + 1) + "}\n" +
                                                "ports: {range: \"" + std::to_string(base_ + 2) + "-" +
                                                std::to_string(base_ + 23) + "\"}\n" + models_section);
  }
  std::map<std::string, std::string> Env(const std::string& hub_url) const {
    const std::string h = home_.path().string();
    return {{"HOME", h}, {"XDG_DATA_HOME", h + "/data"}, {"XDG_CONFIG_HOME", h + "/config"},
            {"XDG_STATE_HOME", h + "/state"}, {"XDG_RUNTIME_DIR", h + "/run"}, {"XDG_CACHE_HOME", h + "/cache"},
            {"LLMDESK_CONFIG", h + "/llm_backends.yaml"}, {"HF_ENDPOINT", hub_url}, {"HF_TOKEN", ""},
            {"HF_HOME", ""}, {"HF_HUB_CACHE", ""}, {"LLAMA_CACHE", ""}};
  }
  CommandResult Cli(const std::map<std::string, std::string>& env, std::vector<std::string> args) const {
    std::vector<std::string> argv = {"env"};
    for (const auto& [k, v] : env) argv.push_back(k + "=" + v);
    argv.push_back(BinPath("llmdesk").string());
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, 180s);
  }
  static std::string Unreachable() { return "http://127.0.0.1:" + std::to_string(PickUnusedPort()); }

  TempDir home_;
  int base_ = 0;
};

TEST_F(ModelsStart, OfflineFirstRunRunsTheLabelledDemoModelAndAnswersThroughTheTool) {
  WriteConfig("");  // no models: the built-in `default` (hf: Qwen/...), which cannot be pulled here
  auto env = Env(Unreachable());
  Proc serve({BinPath("llmdesk").string(), "serve"}, env);
  auto said = serve.WaitFor("llmdesk: the default model \\(([^)]*)\\) is not here and cannot be pulled[^\n]*\n", 60s);
  ASSERT_TRUE(said) << serve.Output();
  const std::string line = (*said)[0];
  EXPECT_EQ((*said)[1], config::kDefaultHfModel);
  EXPECT_NE(line.find("`llmdesk pull " + std::string(config::kDefaultHfModel) + "`"), std::string::npos) << line;
  EXPECT_NE(line.find("`model: /path/to/model.gguf`"), std::string::npos) << line;
  EXPECT_NE(line.find(models::kDemoLabel), std::string::npos) << line;
  ASSERT_TRUE(serve.WaitFor("ready at http://127.0.0.1:", 120s)) << serve.Output();
  EXPECT_EQ(serve.Output().find("no tool support"), std::string::npos) << serve.Output();  // the demo can call tools

  auto chat = Cli(env, {"chat", "What's 2+2?"});
  EXPECT_EQ(chat.exit_code, 0) << chat.err;
  EXPECT_NE(chat.out.find("2+2 = 4"), std::string::npos) << chat.out << chat.err;
  EXPECT_NE(chat.err.find("calling calculator"), std::string::npos) << chat.err;

  auto status = Cli(env, {"status"});
  EXPECT_NE(status.out.find(models::kDemoLabel), std::string::npos) << status.out << status.err;
  auto listed = Cli(env, {"models", "--json"});
  auto list = json::parse(listed.out, nullptr, false);
  ASSERT_TRUE(list.is_array() && list.size() == 1) << listed.out;
  EXPECT_EQ(list[0].value("label", ""), models::kDemoLabel);
  EXPECT_EQ(list[0].value("tools", false), true);

  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(60s), 0) << serve.Output();
  // Made once: the second run reuses the file.
  EXPECT_TRUE(fs::exists(home_.path() / "data/llmdesk/models/llmdesk-demo/tool-then-answer.gguf"));
}

TEST_F(ModelsStart, HfEntryIsPulledBeforeItsStartAndItsMissingTemplateToolsAreWarnedAbout) {
  // A model whose chat template (Gemma 2's) renders no tools, served by the hub stand-in.
  auto model = home_.path() / "plain.gguf";
  auto made = RunCommand({BinPath("llmdesk-testmodel").string(), "--out", model.string(), "--template",
                          (fs::path(LLMDESK_TEST_ENGINE_PREFIX) / "share/llama.cpp/models/templates/google-gemma-2-2b-it.jinja").string()},
                         120s);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  HubStandin hub;
  hub.AddFile("tester/Plain-GGUF", "plain-Q4_K_M.gguf", ReadFileBytes(model));
  WriteConfig("models:\n  plain: {hf: \"tester/Plain-GGUF:Q4_K_M\"}\n");
  auto env = Env(hub.url());

  Proc serve({BinPath("llmdesk").string(), "serve"}, env);
  ASSERT_TRUE(serve.WaitFor("pulling tester/Plain-GGUF:Q4_K_M for model 'plain'", 60s)) << serve.Output();
  ASSERT_TRUE(serve.WaitFor("warning: the chat template of plain-Q4_K_M.gguf has no tool support[^\n]*--no-tools", 120s))
      << serve.Output();
  ASSERT_TRUE(serve.WaitFor("ready at http://127.0.0.1:", 120s)) << serve.Output();
  EXPECT_TRUE(fs::exists(home_.path() / "data/llmdesk/models/tester/Plain-GGUF/plain-Q4_K_M.gguf"));
  EXPECT_EQ(serve.Output().find("demo"), std::string::npos) << serve.Output();  // a user's model never turns into the demo
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(60s), 0) << serve.Output();

  // Offline now: the pulled file is found locally, nothing is fetched again.
  const uint64_t served = hub.body_bytes_served();
  Proc again({BinPath("llmdesk").string(), "serve"}, Env(Unreachable()));
  ASSERT_TRUE(again.WaitFor("ready at http://127.0.0.1:", 120s)) << again.Output();
  EXPECT_EQ(again.Output().find("pulling"), std::string::npos) << again.Output();
  EXPECT_EQ(hub.body_bytes_served(), served);
}

TEST_F(ModelsStart, UserHfModelThatCannotBePulledStartsNothing) {
  HubStandin hub;  // knows no repo: 404
  WriteConfig("models:\n  mine: {hf: \"tester/Absent-GGUF:Q4_K_M\"}\n");
  auto r = Cli(Env(hub.url()), {"up"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("model 'mine' (hf: tester/Absent-GGUF:Q4_K_M)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was started"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("demo"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace llmdesk::test
