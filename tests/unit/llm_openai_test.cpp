// llm::StreamAccumulator, ParseCompletion and the repairs, on chunks shaped like llama-server's.
#include <gtest/gtest.h>

#include "llm/openai.h"
#include "llm/props.h"

namespace llmdesk::llm {
namespace {

using Json = nlohmann::json;

Json Chunk(Json delta, Json finish = nullptr) {
  Json choice = {{"index", 0}, {"delta", delta}, {"finish_reason", finish}};
  return {{"object", "chat.completion.chunk"}, {"choices", Json::array({choice})}};
}

// A delta carrying one piece of tool call `index` (empty fields are left out, as servers do).
Json ToolDelta(Json index, std::string id, std::string name, std::string arguments) {
  Json function = Json::object();
  if (!name.empty()) function["name"] = name;
  if (!arguments.empty()) function["arguments"] = arguments;
  Json call = {{"index", index}, {"function", function}};
  if (!id.empty()) call["id"] = id;
  return {{"tool_calls", Json::array({call})}};
}

TEST(StreamAccumulator, MergesToolCallPiecesByIndex) {
  StreamAccumulator acc;
  StreamAccumulator::Delta d;
  ASSERT_TRUE(acc.Feed(Chunk({{"role", "assistant"}, {"content", nullptr}})).ok());
  ASSERT_TRUE(acc.Feed(Chunk(ToolDelta(0, "a", "calcu", "")), &d).ok());
  ASSERT_TRUE(acc.Feed(Chunk(ToolDelta(0, "", "lator", "{\"expr"))).ok());
  ASSERT_TRUE(acc.Feed(Chunk(ToolDelta(1, "", "get_time", "{}"))).ok());
  ASSERT_TRUE(acc.Feed(Chunk(ToolDelta(0, "", "", "ession\":\"2+2\"}"), "tool_calls")).ok());
  ASSERT_TRUE(acc.Feed({{"choices", Json::array()}, {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 5}}}}).ok());
  ASSERT_EQ(d.tool_pieces.size(), 1u);
  EXPECT_EQ(d.tool_pieces[0].name, "calcu");
  Completion c = acc.Finish();
  ASSERT_EQ(c.message.tool_calls.size(), 2u);
  EXPECT_EQ(c.message.tool_calls[0].id, "a");
  EXPECT_EQ(c.message.tool_calls[0].name, "calculator");
  EXPECT_EQ(c.message.tool_calls[0].arguments, "{\"expression\":\"2+2\"}");
  EXPECT_EQ(c.message.tool_calls[1].name, "get_time");
  EXPECT_FALSE(c.message.tool_calls[1].id.empty()) << "a call without an id gets one";
  EXPECT_NE(c.message.tool_calls[1].id, "a");
  EXPECT_EQ(c.finish_reason, "tool_calls");
  EXPECT_EQ(c.usage.total_tokens, 15);
}

TEST(StreamAccumulator, ContentDeltasAndServerErrors) {
  StreamAccumulator acc;
  StreamAccumulator::Delta d;
  ASSERT_TRUE(acc.Feed(Chunk({{"content", "2+2 "}}), &d).ok());
  ASSERT_TRUE(acc.Feed(Chunk({{"content", "is 4."}}, "stop"), &d).ok());
  EXPECT_EQ(d.content, "2+2 is 4.");
  Status err = acc.Feed({{"error", {{"code", 500}, {"message", "the slot crashed"}}}});
  EXPECT_EQ(err.code(), Status::Code::kUnavailable);
  EXPECT_NE(err.message().find("the slot crashed"), std::string::npos);
  Completion c = acc.Finish();
  EXPECT_EQ(c.message.content, "2+2 is 4.");
  EXPECT_EQ(c.finish_reason, "stop");
}

TEST(StreamAccumulator, RejectsMalformedChunksWithoutThrowing) {
  StreamAccumulator acc;
  EXPECT_EQ(acc.Feed(Json("text")).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(acc.Feed(Chunk({{"tool_calls", "x"}})).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(acc.Feed(Chunk(ToolDelta(1000000000, "", "x", ""))).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(acc.Feed(Chunk(ToolDelta(-1, "", "x", ""))).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(acc.Feed({{"choices", Json::array({1})}}).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(acc.Feed(Chunk({{"content", 42}})).ok()) << "a non-string content is ignored";
}

TEST(LeakedToolCalls, HermesBlocksInContentBecomeToolCalls) {
  std::string content =
      "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"2+2\"}}\n</tool_call>";
  auto calls = RecoverLeakedToolCalls(content);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "calculator");
  EXPECT_EQ(Json::parse(calls[0].arguments)["expression"], "2+2");
  EXPECT_EQ(content, "");

  std::string not_a_call = "see <tool_call>not json</tool_call> and <tool_call>{\"x\":1}</tool_call> end";
  EXPECT_TRUE(RecoverLeakedToolCalls(not_a_call).empty());
  EXPECT_EQ(not_a_call, "see <tool_call>not json</tool_call> and <tool_call>{\"x\":1}</tool_call> end");

  StreamAccumulator acc;
  ASSERT_TRUE(acc.Feed(Chunk({{"content", "<tool_call>{\"name\":\"get_time\",\"arguments\":{}}</tool_call>"}}, "stop")).ok());
  Completion c = acc.Finish();
  ASSERT_EQ(c.message.tool_calls.size(), 1u);
  EXPECT_EQ(c.finish_reason, "tool_calls");
  EXPECT_FALSE(c.message.tool_calls[0].id.empty());
}

TEST(ParseCompletion, WholeAnswersAndErrors) {
  Json call = {{"id", ""}, {"type", "function"},
               {"function", {{"name", "calculator"}, {"arguments", {{"expression", "1+1"}}}}}};
  Json message = {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", Json::array({call})}};
  Json body = {{"choices", Json::array({{{"message", message}, {"finish_reason", "tool_calls"}}})},
               {"usage", {{"prompt_tokens", 3}, {"completion_tokens", 4}, {"total_tokens", 7}}},
               {"timings", {{"predicted_ms", 12.5}}}};
  auto c = ParseCompletion(body);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->message.tool_calls.size(), 1u);
  EXPECT_EQ(c->message.tool_calls[0].id, "call_0");
  EXPECT_EQ(Json::parse(c->message.tool_calls[0].arguments)["expression"], "1+1");
  EXPECT_EQ(c->usage.total_tokens, 7);
  EXPECT_EQ(c->timings["predicted_ms"], 12.5);

  auto err = ParseCompletion({{"error", {{"message", "model not loaded"}, {"type", "unavailable_error"}}}});
  EXPECT_EQ(err.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(err.status().message().find("model not loaded"), std::string::npos);
  EXPECT_EQ(ParseCompletion(Json::array()).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseCompletion({{"choices", Json::array()}}).status().code(), Status::Code::kInvalidArgument);
}

TEST(ChatRequestJson, ParallelToolCallsAndToolMessages) {
  ChatRequest r;
  r.model = "default";
  r.messages = {{"user", "What's 2+2?", {}, ""},
                {"assistant", "", {{"call_0", "calculator", "{\"expression\":\"2+2\"}"}}, ""},
                {"tool", "4", {}, "call_0"}};
  r.tools = {FromMcpTool({{"name", "calculator"}, {"description", "math"}, {"inputSchema", {{"type", "object"}}}}),
             FromMcpTool({{"name", "get_time"}})};
  Json body = ToJson(r);
  EXPECT_EQ(body["parallel_tool_calls"], true);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
  EXPECT_EQ(body["tools"][0]["function"]["name"], "calculator");
  EXPECT_EQ(body["tools"][1]["function"]["parameters"]["type"], "object");
  EXPECT_TRUE(body["messages"][1]["content"].is_null());
  EXPECT_EQ(body["messages"][1]["tool_calls"][0]["function"]["arguments"], "{\"expression\":\"2+2\"}");
  EXPECT_EQ(body["messages"][2]["tool_call_id"], "call_0");
  r.tools.pop_back();
  EXPECT_FALSE(ToJson(r).contains("parallel_tool_calls"));
}

TEST(StreamAccumulator, ACallWithAnIdButNoNameIsKeptForTheLoopToReport) {
  StreamAccumulator acc;
  ASSERT_TRUE(acc.Feed(Chunk(ToolDelta(0, "call_x", "", ""))).ok());
  ASSERT_TRUE(acc.Feed(Chunk(Json::object(), "tool_calls")).ok());
  auto done = acc.Finish();
  ASSERT_EQ(done.message.tool_calls.size(), 1u) << "dropping it would turn a broken call into an empty answer";
  EXPECT_EQ(done.message.tool_calls[0].id, "call_x");
  EXPECT_EQ(done.message.tool_calls[0].name, "");
}

TEST(ToolTemplateWarning, CapsDecideThenTheTemplateText) {
  ServerProps none{.chat_template = "{{ messages }}", .supports_tools = false, .supports_tool_calls = false};
  auto w = ToolTemplateWarning(none, "m");
  ASSERT_TRUE(w);
  EXPECT_NE(w->find("model m's chat template has no tool support; tools will not be called"), std::string::npos) << *w;
  EXPECT_NE(w->find("--chat-template-file"), std::string::npos) << *w;

  ServerProps capable{.chat_template = "{{ tools }}", .supports_tools = true, .supports_tool_calls = true};
  EXPECT_FALSE(ToolTemplateWarning(capable, "m"));
  ServerProps undescribed{.chat_template = "x", .supports_tools = false, .supports_tool_calls = true};
  auto fallback = ToolTemplateWarning(undescribed, "m");
  ASSERT_TRUE(fallback);
  EXPECT_NE(fallback->find("does not describe tools"), std::string::npos) << *fallback;

  // An older llama.cpp without caps: the template text decides.
  EXPECT_TRUE(ToolTemplateWarning({.chat_template = "{% for m in messages %}{{ m.content }}{% endfor %}"}, "m"));
  EXPECT_FALSE(ToolTemplateWarning({.chat_template = "{% if tools %}{{ tools }}{% endif %}"}, "m"));
  EXPECT_FALSE(ToolTemplateWarning({}, "m")) << "nothing known, nothing to warn about";
}

}  // namespace
}  // namespace llmdesk::llm
