// /api/chat over real HTTP against `llmdesk serve` (chat_serve_fixture.h): approval questions answered
// once / always / deny / not at all; the /props tool-template check of a `url:` backend, read once; and an
// attacker's bodies and ids — each a 4xx with a clear error, the server alive and the history intact after.
#include <gtest/gtest.h>

#include "integration/chat_serve_fixture.h"

namespace llmdesk::test {
namespace {

using Json = nlohmann::json;

class ChatApi : public ChatServe {
 protected:
  // Answers every approval question with `answer` through POST /api/chat/RUN/approve (at once, from the
  // stream's own thread: the question must already be open when the client reads it).
  std::function<void(const std::string&, const Json&)> Answer(const std::string& answer) {
    return [this, answer](const std::string& event, const Json& data) {
      if (event == "run") run_ = data.value("run", "");
      if (event != "approval_needed") return;
      Status s = client_->Approve(run_, data.value("call_id", ""), answer);
      EXPECT_TRUE(s.ok()) << s.ToString();
    };
  }
  static constexpr const char* kAsk = "{tools: {calculator: ask}}";
  std::string run_;
};

TEST_F(ChatApi, ApprovalOnceRunsTheToolWithTheArgumentsShown) {
  ScriptedOpenAi model({Turn::ToolCalls({{"calculator", R"({"expression":"2+2"})"}}), Turn::Text("It is 4.")});
  Serve(model.base_url(), kAsk);
  auto turn = Chat({{"prompt", "What's 2+2?"}}, Answer("once"));
  ASSERT_TRUE(turn.status.ok()) << turn.Dump();
  auto asked = turn.Of("approval_needed");
  ASSERT_EQ(asked.size(), 1u) << turn.Dump();
  EXPECT_EQ(asked[0].value("tool", ""), "calculator");
  EXPECT_EQ(asked[0]["arguments"], Json({{"expression", "2+2"}})) << turn.Dump();
  auto results = turn.Of("tool_result");
  ASSERT_EQ(results.size(), 1u) << turn.Dump();
  EXPECT_FALSE(results[0].value("is_error", true)) << turn.Dump();
  EXPECT_EQ(results[0].value("text", ""), "4");
  ASSERT_EQ(turn.Of("done").size(), 1u) << turn.Dump();
  EXPECT_EQ(turn.Of("done")[0].value("answer", ""), "It is 4.");
  EXPECT_EQ(model.requests().at(1)["messages"].back()["content"], "4") << "the real calculator answered the model";
}

TEST_F(ChatApi, ApprovalAlwaysHoldsForTheRestOfTheConversation) {
  ScriptedOpenAi model({Turn::ToolCalls({{"calculator", R"({"expression":"1+1"})"}}),
                        Turn::ToolCalls({{"calculator", R"({"expression":"2+2"})"}}), Turn::Text("2, then 4."),
                        Turn::ToolCalls({{"calculator", R"({"expression":"3+3"})"}}), Turn::Text("6.")});
  Serve(model.base_url(), kAsk);
  auto first = Chat({{"prompt", "1+1, then 2+2"}}, Answer("always"));
  ASSERT_TRUE(first.status.ok()) << first.Dump();
  EXPECT_EQ(first.Of("approval_needed").size(), 1u) << "asked once, then allowed: " << first.Dump();
  auto results = first.Of("tool_result");
  ASSERT_EQ(results.size(), 2u) << first.Dump();
  EXPECT_EQ(results[0].value("text", ""), "2");
  EXPECT_EQ(results[1].value("text", ""), "4");
  ASSERT_EQ(first.Of("conversation").size(), 1u) << first.Dump();
  const int64_t conversation = first.Of("conversation")[0].value("conversation", int64_t{0});

  // The next turn of the same conversation is not asked again; a new conversation is.
  auto second = Chat({{"prompt", "and 3+3?"}, {"conversation", conversation}}, Answer("deny"));
  ASSERT_TRUE(second.status.ok()) << second.Dump();
  EXPECT_TRUE(second.Of("approval_needed").empty()) << second.Dump();
  ASSERT_EQ(second.Of("tool_result").size(), 1u) << second.Dump();
  EXPECT_EQ(second.Of("tool_result")[0].value("text", ""), "6") << second.Dump();
}

TEST_F(ChatApi, ApprovalDenyTellsTheModelAndTheToolDoesNotRun) {
  ScriptedOpenAi model({Turn::ToolCalls({{"calculator", R"({"expression":"2+2"})"}}), Turn::Text("I may not use it.")});
  Serve(model.base_url(), kAsk);
  auto deny = Answer("deny");
  auto turn = Chat({{"prompt", "What's 2+2?"}}, [&](const std::string& event, const Json& data) {
    if (event == "approval_needed") {  // hostile answers first: refused, and the question stays open
      const std::string call = data.value("call_id", "");
      for (const std::string& body : std::vector<std::string>{"", "[]", "{\"call_id\": 5, \"answer\": \"once\"}",
                                     "{\"call_id\": \"" + call + "\", \"answer\": 1}",
                                     "{\"call_id\": \"" + call + "\", \"answer\": \"maybe\"}"}) {
        auto [status, text] = Http("POST", "/api/chat/" + run_ + "/approve", body);
        EXPECT_EQ(status, 400) << body << " -> " << text;
      }
      auto [status, text] = Http("POST", "/api/chat/" + run_ + "/approve", R"({"call_id": "nope", "answer": "once"})");
      EXPECT_EQ(status, 404) << text;
    }
    deny(event, data);
  });
  ASSERT_TRUE(turn.status.ok()) << turn.Dump();
  ASSERT_EQ(turn.Of("tool_result").size(), 1u) << turn.Dump();
  EXPECT_TRUE(turn.Of("tool_result")[0].value("is_error", false));
  EXPECT_NE(turn.Of("tool_result")[0].value("text", "").find("denied"), std::string::npos) << turn.Dump();
  const auto tool_message = model.requests().at(1)["messages"].back();
  EXPECT_EQ(tool_message["role"], "tool");
  EXPECT_NE(tool_message["content"].get<std::string>().find("denied"), std::string::npos) << tool_message.dump();
  EXPECT_EQ(tool_message["content"].get<std::string>().find("4"), std::string::npos) << "the tool ran: " << tool_message.dump();
  EXPECT_EQ(turn.Of("done").at(0).value("answer", ""), "I may not use it.");
}

TEST_F(ChatApi, NoAnswerWithinTheToolTimeoutIsDeny) {
  ScriptedOpenAi model({Turn::ToolCalls({{"calculator", R"({"expression":"2+2"})"}}), Turn::Text("Nobody let me.")});
  Serve(model.base_url(), "{tool_timeout_s: 1, tools: {calculator: ask}}");
  std::string call;
  auto turn = Chat({{"prompt", "What's 2+2?"}}, [&](const std::string& event, const Json& data) {
    if (event == "run") run_ = data.value("run", "");
    if (event == "approval_needed") call = data.value("call_id", "");
  });
  ASSERT_TRUE(turn.status.ok()) << turn.Dump();
  ASSERT_EQ(turn.Of("approval_needed").size(), 1u) << turn.Dump();
  ASSERT_EQ(turn.Of("tool_result").size(), 1u) << turn.Dump();
  EXPECT_TRUE(turn.Of("tool_result")[0].value("is_error", false));
  EXPECT_NE(turn.Of("tool_result")[0].value("text", "").find("nobody approved"), std::string::npos) << turn.Dump();
  EXPECT_NE(model.requests().at(1)["messages"].back()["content"].get<std::string>().find("did not run"), std::string::npos);
  // A late answer finds no question (and no run): refused, not applied.
  EXPECT_FALSE(client_->Approve(run_, call, "once").ok());
}

TEST_F(ChatApi, ATemplateWithoutToolsIsAWarningReadOncePerServer) {
  ScriptedOpenAi model({Turn::Text("Hello."), Turn::Text("Again.")});
  model.SetProps({{"chat_template", "{{ messages }}"},
                  {"chat_template_caps", {{"supports_tools", false}, {"supports_tool_calls", false}}}});
  Serve(model.base_url());
  for (const char* prompt : {"hi", "hi again"}) {
    auto turn = Chat({{"prompt", prompt}});
    ASSERT_TRUE(turn.status.ok()) << turn.Dump();
    auto warnings = turn.Of("warning");
    ASSERT_EQ(warnings.size(), 1u) << turn.Dump();
    EXPECT_NE(warnings[0].value("text", "").find("model remote's chat template has no tool support"), std::string::npos)
        << turn.Dump();
    EXPECT_EQ(turn.Of("done").size(), 1u) << "the chat goes on: " << turn.Dump();
  }
  EXPECT_EQ(model.props_requests(), 1) << "/props is read once per server, not per turn";
  auto no_tools = Chat({{"prompt", "hi"}, {"tools", false}});
  EXPECT_TRUE(no_tools.Of("warning").empty()) << "without tools there is nothing to warn about: " << no_tools.Dump();
}

TEST_F(ChatApi, AToolCapableTemplateOrAServerWithoutPropsIsNoWarning) {
  ScriptedOpenAi capable({Turn::Text("Hello.")});
  capable.SetProps({{"chat_template", "{% if tools %}{{ tools }}{% endif %}"},
                    {"chat_template_caps", {{"supports_tools", true}, {"supports_tool_calls", true}}}});
  Serve(capable.base_url());
  auto turn = Chat({{"prompt", "hi"}});
  ASSERT_TRUE(turn.status.ok()) << turn.Dump();
  EXPECT_TRUE(turn.Of("warning").empty()) << turn.Dump();
  EXPECT_EQ(capable.props_requests(), 1);
}

// Every hostile body is refused with a 4xx and a JSON error that says what was wrong; none crashes the
// server, and none starts a turn (the scripted model is never asked).
TEST_F(ChatApi, HostileChatBodiesAreClearErrors) {
  ScriptedOpenAi model({Turn::Text("Hello.")});
  Serve(model.base_url());
  auto ok = Chat({{"prompt", "keep me"}});
  ASSERT_TRUE(ok.status.ok()) << ok.Dump();
  const int64_t kept = ok.Of("conversation").at(0).value("conversation", int64_t{0});

  std::string nested(200000, '[');
  std::string nested_object;
  for (int i = 0; i < 100000; ++i) nested_object += "{\"a\":";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not JSON"},
      {"{", "not JSON"},
      {"[\"prompt\"]", "JSON object"},
      {"\"hi\"", "JSON object"},
      {"{}", "prompt must be a string"},
      {R"({"prompt": 42})", "prompt must be a string"},
      {R"({"prompt": null})", "prompt must be a string"},
      {R"({"prompt": ["a"]})", "prompt must be a string"},
      {R"({"prompt": ""})", "prompt is empty"},
      {R"({"prompt": "hi", "model": 7})", "model must be a string"},
      {R"({"prompt": "hi", "model": "nope"})", "no model named 'nope'"},
      {R"({"prompt": "hi", "tools": "yes"})", "tools must be true or false"},
      {R"({"prompt": "hi", "max_tokens": -1})", "max_tokens"},
      {R"({"prompt": "hi", "max_tokens": 1e300})", "max_tokens"},
      {R"({"prompt": "hi", "max_tokens": 18446744073709551615})", "max_tokens"},
      {R"({"prompt": "hi", "conversation": "1"})", "conversation must be a positive integer"},
      {R"({"prompt": "hi", "conversation": -1})", "conversation must be a positive integer"},
      {R"({"prompt": "hi", "conversation": 0})", "conversation must be a positive integer"},
      {R"({"prompt": "hi", "conversation": 1.5})", "conversation must be a positive integer"},
      {R"({"prompt": "hi", "conversation": 18446744073709551615})", "conversation must be a positive integer"},
      {R"({"prompt": "hi", "conversation": 99999999999999999999999})", "conversation must be a positive integer"},
      {R"({"prompt": "hi", "conversation": 9223372036854775807})", "no conversation 9223372036854775807"},
      {R"({"prompt": "hi", "conversation": 424242})", "no conversation 424242"},
      {R"({"prompt": "hi", "promt": "x"})", "did you mean 'prompt'"},
      {std::string("{\"prompt\": \"\xff\xfe bad \xc3\"}"), "not valid UTF-8"},
      {nested, "not JSON"},
      {nested_object, "not JSON"},
  };
  for (const auto& [body, expected] : cases) {
    auto [status, text] = Http("POST", "/api/chat", body);
    EXPECT_GE(status, 400) << body.substr(0, 80);
    EXPECT_LT(status, 500) << body.substr(0, 80) << " -> " << text;
    Json error = Json::parse(text, nullptr, false);
    ASSERT_TRUE(error.is_object()) << body.substr(0, 80) << " -> " << text;
    EXPECT_NE(text.find(expected), std::string::npos) << body.substr(0, 80) << " -> " << text;
  }
  auto [huge, huge_text] = Http("POST", "/api/chat", "{\"prompt\": \"" + std::string(5 * 1024 * 1024, 'x') + "\"}");
  EXPECT_EQ(huge, 413) << huge_text.substr(0, 200);

  EXPECT_EQ(model.requests().size(), 1u) << "no hostile body reached the model";
  ASSERT_TRUE(client_->Health().ok()) << serve_->Output();
  auto [status, text] = Http("GET", "/api/history/" + std::to_string(kept));
  EXPECT_EQ(status, 200) << text;
}

TEST_F(ChatApi, HostileHistoryIdsAreClearErrors) {
  ScriptedOpenAi model({Turn::Text("Hello.")});
  Serve(model.base_url());
  auto ok = Chat({{"prompt", "keep me"}});
  ASSERT_TRUE(ok.status.ok()) << ok.Dump();
  const int64_t kept = ok.Of("conversation").at(0).value("conversation", int64_t{0});

  for (const std::string& id : std::vector<std::string>{"abc", "-1", "0", "1abc", "+1", "%20" "1", "1.0", "0x10", "99999999999999999999",
                               "9223372036854775808", "1%3B%20DROP%20TABLE%20messages", "1'%20OR%20'1'%3D'1",
                               "%00", "%FF%FE", std::string(300, '9')}) {
    for (const char* method : {"GET", "DELETE"}) {
      auto [status, text] = Http(method, "/api/history/" + id);
      EXPECT_EQ(status, 400) << method << " " << id << " -> " << text;
      EXPECT_NE(text.find("a conversation id is a positive integer"), std::string::npos) << id << " -> " << text;
    }
  }
  for (const char* method : {"GET", "DELETE"}) {
    auto [status, text] = Http(method, "/api/history/9223372036854775807");
    EXPECT_EQ(status, 404) << text;
  }
  for (const char* body : {"", "[]", R"({"call_id": 5, "answer": "once"})", R"({"call_id": "x", "answer": 1})",
                                 R"({"call_id": "x", "answer": "maybe"})"}) {
    auto [status, text] = Http("POST", "/api/chat/run-1/approve", body);
    EXPECT_EQ(status, 404) << "no such run: " << body << " -> " << text;
  }
  ASSERT_TRUE(client_->Health().ok()) << serve_->Output();
  auto [status, text] = Http("GET", "/api/history/" + std::to_string(kept));
  EXPECT_EQ(status, 200) << "the SQL-looking ids did nothing: " << text;
  Json c = Json::parse(text, nullptr, false);
  EXPECT_EQ(c["messages"].size(), 2u) << text;
}

}  // namespace
}  // namespace llmdesk::test
