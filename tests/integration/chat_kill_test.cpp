// History survives kill -9 of `llmdesk chat` in the middle of a streamed answer: the chat runs the stack
// in-process, its model a `url:` backend (the scripted stand-in, streaming slowly); once part of the answer
// is on stdout the chat gets SIGKILL. Afterwards `llmdesk history show ID --json` (another process, the
// same db) has the user's message and the partial answer, marked incomplete.
#include <gtest/gtest.h>

#include <csignal>

#include "integration/cli_manager_helpers.h"
#include "support/scripted_openai.h"
#include "support/test_support.h"

namespace llmdesk::test {
namespace {

using Json = nlohmann::json;

TEST(ChatKill, HistorySurvivesKillDashNineMidAnswer) {
  TempDir dir;
  const std::string answer = "one two three four five six seven eight nine ten eleven twelve";
  Turn slow = Turn::Text(answer, 12);
  slow.pause = std::chrono::milliseconds(150);  // a slow model, as scripted
  ScriptedOpenAi model({Turn::Text("Hello there."), slow});
  const int base = FreePortRange(2);
  const auto config = dir.Write("llm_backends.yaml", "gateway: {host: 127.0.0.1, port: " + std::to_string(base) + "}\n" +
                                                         "tool_server: {port: " + std::to_string(base + 1) + "}\n" +
                                                         "models:\n  remote:\n    url: " + model.base_url() + "\n");
  const std::map<std::string, std::string> env = {{"XDG_RUNTIME_DIR", (dir.path() / "run").string()},
                                                  {"XDG_STATE_HOME", (dir.path() / "state").string()},
                                                  {"XDG_DATA_HOME", (dir.path() / "data").string()},
                                                  {"LLMDESK_CONFIG", ""}};
  std::filesystem::create_directories(dir.path() / "run");
  auto llmdesk = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"env"};
    for (const auto& [k, v] : env) argv.push_back(k + "=" + v);
    argv.push_back(BinPath("llmdesk").string());
    argv.push_back("--config");
    argv.push_back(config.string());
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, 60s);
  };

  // An earlier, finished conversation: committed, so it must survive too.
  auto earlier = llmdesk({"chat", "hi"});
  ASSERT_EQ(earlier.exit_code, 0) << earlier.out << earlier.err;

  Proc chat({BinPath("llmdesk").string(), "--config", config.string(), "chat", "count to twelve"}, env);
  ASSERT_TRUE(chat.WaitFor("four", 30s)) << chat.Output();
  chat.Signal(SIGKILL);
  ASSERT_EQ(chat.Wait(10s), 128 + SIGKILL) << chat.Output();

  auto list = llmdesk({"history", "list", "--json"});
  Json conversations = Json::parse(list.out, nullptr, false);
  ASSERT_TRUE(conversations.is_array() && conversations.size() == 2u) << list.out << list.err;
  for (const auto& c : conversations) {
    const bool killed = c.value("title", "") == "count to twelve";
    auto show = llmdesk({"history", "show", std::to_string(c.value("id", int64_t{0})), "--json"});
    ASSERT_EQ(show.exit_code, 0) << show.err;
    Json saved = Json::parse(show.out, nullptr, false);
    ASSERT_TRUE(saved.is_object()) << show.out;
    const auto& messages = saved["messages"];
    ASSERT_EQ(messages.size(), 2u) << saved.dump(1);
    EXPECT_EQ(messages[0]["role"], "user");
    EXPECT_EQ(messages[0]["status"], "complete");
    EXPECT_EQ(messages[1]["role"], "assistant");
    if (!killed) {
      EXPECT_EQ(messages[0]["content"], "hi");
      EXPECT_EQ(messages[1]["content"], "Hello there.");
      EXPECT_EQ(messages[1]["status"], "complete");
      continue;
    }
    EXPECT_EQ(messages[0]["content"], "count to twelve");
    EXPECT_EQ(messages[1]["status"], "incomplete") << saved.dump(1);
    const std::string partial = messages[1].value("content", "");
    EXPECT_FALSE(partial.empty()) << saved.dump(1);
    EXPECT_LT(partial.size(), answer.size()) << "the answer was cut, not finished: " << partial;
    EXPECT_EQ(answer.rfind(partial, 0), 0u) << "a prefix of what was streamed: " << partial;
    // The first piece is committed the moment it arrives (later ones at most every 100 ms).
    EXPECT_GE(partial.size(), 5u) << partial;
  }
}

}  // namespace
}  // namespace llmdesk::test
