// The app's own scenario end to end, as a user runs it: `llmdesk up` with the generated model that answers
// after its tool, then `llmdesk chat "What's 2+2?"` — the real llama-server asks for calculator, the real
// tool server computes 4, the answer comes from the engine; progress on stderr, the answer on stdout; the
// conversation is in the history. Also: the chat without a running stack, and a `url:` backend (the scripted
// stand-in server) asking for two tools at once; a model whose chat template has no tools (GET /props) is
// a warning on stderr and the chat goes on.
#include <gtest/gtest.h>

#include "integration/cli_manager_helpers.h"
#include "support/child_process.h"
#include "support/scripted_openai.h"
#include "support/test_support.h"

namespace llmdesk::test {
namespace {

using Json = nlohmann::json;

class ChatEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    const int base = FreePortRange(8);
    gateway_ = base;
    tool_port_ = base + 1;
    model_port_ = base + 2;
    env_ = ScratchEnv(dir_.path());
  }

  // The generated model: calls calculator {"expression":"2+2"}, then answers "The sum is <the result>".
  std::string MakeModel() { return MakeAnswerAfterToolModel(dir_.path()); }

  std::string WriteConfig(const std::string& models) {
    std::string yaml = "engine:\n  llama_server: " + LlamaServerPath().string() + "\n" +
                       "gateway: {host: 127.0.0.1, port: " + std::to_string(gateway_) + "}\n" +
                       "tool_server: {port: " + std::to_string(tool_port_) + ", tools: [calculator, get_time]}\n" +
                       "ports:\n  range: " + std::to_string(model_port_) + "-" + std::to_string(model_port_ + 5) + "\n" +
                       "models:\n" + models;
    return dir_.Write("llm_backends.yaml", yaml).string();
  }
  std::string LocalModel() {
    return "  default:\n    model: " + MakeModel() + "\n    port: " + std::to_string(model_port_) +
           "\n    args: [--ctx-size, \"1024\"]\n    startup_timeout: 120\n";
  }

  std::unique_ptr<Proc> Llmdesk(std::vector<std::string> args) {
    args.insert(args.begin(), {BinPath("llmdesk").string(), "--config", (dir_.path() / "llm_backends.yaml").string()});
    return std::make_unique<Proc>(args, env_);
  }
  // stdout and stderr apart (the chat's contract: answer on stdout, progress on stderr).
  CommandResult Chat(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"env"};  // the test's own XDG dirs for the child
    for (const auto& [k, v] : env_) argv.push_back(v.empty() ? "--unset=" + k : k + "=" + v);
    for (const auto& a : {BinPath("llmdesk").string(), std::string("--config"),
                          (dir_.path() / "llm_backends.yaml").string(), std::string("chat")})
      argv.push_back(a);
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, 180s);
  }

  TempDir dir_;
  int gateway_ = 0, tool_port_ = 0, model_port_ = 0;
  std::map<std::string, std::string> env_;
};

TEST_F(ChatEndToEnd, WhatIsTwoPlusTwoThroughUpAndTheRealEngine) {
  WriteConfig(LocalModel());
  auto up = Llmdesk({"up"});
  ASSERT_TRUE(up->WaitFor("control API at http://127\\.0\\.0\\.1:" + std::to_string(gateway_))) << up->Output();
  ASSERT_TRUE(up->WaitFor("default +starting -> ready")) << up->Output();

  auto chat = Chat({"What's 2+2?"});
  EXPECT_EQ(chat.exit_code, 0) << chat.out << chat.err << up->Output();
  EXPECT_NE(chat.out.find("The sum is 4"), std::string::npos) << "stdout: " << chat.out << "\nstderr: " << chat.err;
  EXPECT_NE(chat.err.find("calling calculator {\"expression\":\"2+2\"}"), std::string::npos) << chat.err;
  EXPECT_NE(chat.err.find("calculator → 4"), std::string::npos) << chat.err;
  EXPECT_EQ(chat.out.find("calling"), std::string::npos) << "progress belongs on stderr: " << chat.out;

  auto history = RunCommand({"env", "XDG_DATA_HOME=" + (dir_.path() / "data").string(), BinPath("llmdesk").string(),
                             "history", "list", "--json"});
  Json list = Json::parse(history.out, nullptr, false);
  ASSERT_TRUE(list.is_array() && list.size() == 1u) << history.out << history.err;
  EXPECT_EQ(list[0].value("message_count", 0), 4) << "user, tool call, tool result, answer: " << history.out;

  up->Signal(SIGINT);
  EXPECT_EQ(up->Wait(60s), 0) << up->Output();
}

TEST_F(ChatEndToEnd, WithoutARunningStackTheChatRunsItsOwn) {
  WriteConfig(LocalModel());
  auto chat = Chat({"What's 2+2?"});
  EXPECT_EQ(chat.exit_code, 0) << chat.out << chat.err;
  EXPECT_NE(chat.out.find("The sum is 4"), std::string::npos) << chat.out << chat.err;
  EXPECT_NE(chat.err.find("starting default on port " + std::to_string(model_port_)), std::string::npos) << chat.err;
  // Every start the chat reported ends with its ready line (the ready event can reach the bus after
  // Acquire returned).
  EXPECT_NE(chat.err.find("default is ready on port " + std::to_string(model_port_)), std::string::npos) << chat.err;
  EXPECT_EQ(chat.err.find("warning"), std::string::npos) << "the Qwen2.5 template can do tools: " << chat.err;
  auto json = Chat({"--json", "What's 2+2?"});
  Json transcript = Json::parse(json.out, nullptr, false);
  ASSERT_TRUE(transcript.is_object()) << json.out << json.err;
  EXPECT_EQ(transcript["result"].value("answer", ""), "The sum is 4") << json.out;
}

// A chat template that renders no tools (llama.cpp's /props reports supports_tools/supports_tool_calls false).
constexpr const char* kTemplateWithoutTools =
    "{%- for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor -%}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

TEST_F(ChatEndToEnd, ATemplateWithoutToolsIsAWarningAndTheChatGoesOn) {
  const auto model = dir_.path() / "plain.gguf";
  const auto chat_template = dir_.Write("plain.jinja", kTemplateWithoutTools);
  auto made = RunCommand({BinPath("llmdesk-testmodel").string(), "--out", model.string(), "--template",
                          chat_template.string(), "--text", "Hello without tools"},
                         120s);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  WriteConfig("  default:\n    model: " + model.string() + "\n    port: " + std::to_string(model_port_) +
              "\n    args: [--ctx-size, \"1024\"]\n    startup_timeout: 120\n");
  auto chat = Chat({"hello"});
  EXPECT_EQ(chat.exit_code, 0) << chat.out << chat.err;
  EXPECT_NE(chat.out.find("Hello without tools"), std::string::npos) << "stdout: " << chat.out << "\nstderr: " << chat.err;
  EXPECT_NE(chat.err.find("warning: model default's chat template has no tool support; tools will not be called"),
            std::string::npos)
      << chat.err;
  EXPECT_EQ(chat.out.find("warning"), std::string::npos) << "warnings belong on stderr: " << chat.out;

  auto json = Chat({"--json", "hello"});
  Json transcript = Json::parse(json.out, nullptr, false);
  ASSERT_TRUE(transcript.is_object()) << json.out << json.err;
  int warnings = 0;
  for (const auto& e : transcript["events"]) warnings += e.value("event", "") == "warning";
  EXPECT_EQ(warnings, 1) << json.out;
  auto no_tools = Chat({"--no-tools", "hello"});
  EXPECT_EQ(no_tools.err.find("warning"), std::string::npos) << "no tools offered, nothing to warn about: " << no_tools.err;
}

TEST_F(ChatEndToEnd, RemoteBackendAsksForTwoToolsAtOnce) {
  ScriptedOpenAi scripted({Turn::ToolCalls({{"calculator", R"({"expression":"6*7"})"},
                                            {"get_time", R"({"timezone":"UTC"})"}}),
                           Turn::Text("6*7 is 42, and I know the time.")});
  WriteConfig("  remote:\n    url: " + scripted.base_url() + "\n");
  auto chat = Chat({"-m", "remote", "What is 6*7, and what time is it?"});
  EXPECT_EQ(chat.exit_code, 0) << chat.out << chat.err;
  EXPECT_NE(chat.out.find("6*7 is 42"), std::string::npos) << chat.out << chat.err;
  auto requests = scripted.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0]["parallel_tool_calls"], true);
  const auto& messages = requests[1]["messages"];
  ASSERT_EQ(messages.size(), 4u) << messages.dump();
  EXPECT_EQ(messages[2]["content"], "42");
  EXPECT_EQ(messages[3]["role"], "tool");
}

TEST_F(ChatEndToEnd, AServerErrorIsAClearFailure) {
  ScriptedOpenAi scripted({Turn::Error(500, "the model crashed while loading")});
  WriteConfig("  remote:\n    url: " + scripted.base_url() + "\n");
  auto chat = Chat({"-m", "remote", "hello"});
  EXPECT_EQ(chat.exit_code, 1) << chat.out << chat.err;
  EXPECT_NE(chat.err.find("the model crashed while loading"), std::string::npos) << chat.err;
}

}  // namespace
}  // namespace llmdesk::test
