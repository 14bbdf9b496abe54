// JSON from another process with members of the wrong type: each case here threw nlohmann::type_error
// (`j.value("name", "")` on {"name": 5}) before common/json_read.h, which on a supervisor or worker
// thread ends the whole process. Found by reading for the fuzz targets fuzz_openai and fuzz_mcp_client.
#include <gtest/gtest.h>

#include <deque>
#include <nlohmann/json.hpp>

#include "common/json_read.h"
#include "llm/openai.h"
#include "manager/state_store.h"
#include "mcp/client.h"

namespace llmdesk {
namespace {

using nlohmann::json;

TEST(JsonRead, WrongTypesAndMissingMembersGiveTheFallback) {
  const json j = {{"s", "text"}, {"i", 7}, {"u", 18446744073709551615ull}, {"f", 1.5}, {"b", true}, {"n", nullptr}};
  EXPECT_EQ(JsonString(j, "s"), "text");
  EXPECT_EQ(JsonString(j, "i", "fb"), "fb");
  EXPECT_EQ(JsonString(json::array(), "s", "fb"), "fb");
  EXPECT_EQ(JsonInt(j, "i"), 7);
  EXPECT_EQ(JsonInt(j, "u", -1), -1);  // beyond int64_t
  EXPECT_EQ(JsonInt(j, "f", -1), -1);  // not an integer
  EXPECT_EQ(JsonInt(j, "s", -1), -1);
  EXPECT_DOUBLE_EQ(JsonNumber(j, "f"), 1.5);
  EXPECT_DOUBLE_EQ(JsonNumber(j, "i"), 7.0);
  EXPECT_DOUBLE_EQ(JsonNumber(j, "b", 2.0), 2.0);
  EXPECT_TRUE(JsonBool(j, "b"));
  EXPECT_TRUE(JsonBool(j, "n", true));
  EXPECT_FALSE(JsonBool("not an object", "b"));
}

TEST(UntrustedJson, ACompletionWithNumbersForNamesAndIdsParses) {
  const json body = {{"choices", {{{"message", {{"content", "hi"},
                                                 {"tool_calls", {{{"id", 5}, {"function", {{"name", 6}}}}}}}}}}},
                     {"usage", {{"prompt_tokens", "many"}, {"completion_tokens", 2}}}};
  auto c = llm::ParseCompletion(body);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->message.tool_calls.size(), 1u);
  EXPECT_EQ(c->message.tool_calls[0].name, "");
  EXPECT_FALSE(c->message.tool_calls[0].id.empty());  // one is assigned
  EXPECT_EQ(c->usage.prompt_tokens, 0);
  EXPECT_EQ(c->usage.completion_tokens, 2);
}

TEST(UntrustedJson, AnMcpToolWhoseNameIsANumberHasNoName) {
  EXPECT_EQ(llm::FromMcpTool({{"name", 5}, {"description", "d"}}).name, "");
  EXPECT_EQ(mcp::ResultText({{"content", {{{"type", 5}}, {{"type", "text"}, {"text", "4"}}}}}), "[content]\n4");
}

TEST(UntrustedJson, AStateFileOfWrongTypesGivesNoRecordsToActOn) {
  std::vector<std::string> notes;
  auto records = manager::ParseStateFile(
      R"({"engines":[{"pid":1,"start_time":0},{"pid":"4300","start_time":1},{"pid":4300,"pgid":0,"start_time":1},)"
      R"({"pid":4300,"start_time":1.5},[],null,{"pid":4300,"start_time":7,"name":5,"port":10500}]})",
      "test.state.json", notes);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].pid, 4300);
  EXPECT_EQ(records[0].pgid, 4300);
  EXPECT_EQ(records[0].name, "?");
  EXPECT_EQ(notes.size(), 6u);
  notes.clear();
  EXPECT_TRUE(manager::ParseStateFile("[1,2]", "x", notes).empty());
  EXPECT_EQ(notes.size(), 1u);
}

// A scripted MCP server (the fuzz target's transport, reduced): replies in order, ids filled in.
class Scripted : public mcp::Transport {
 public:
  explicit Scripted(std::deque<json> replies) : replies_(std::move(replies)) {}
  Result<json> Request(const json& request, std::chrono::steady_clock::time_point, const CancelToken*) override {
    if (replies_.empty()) return Status::Unavailable("script ended");
    json r = std::move(replies_.front());
    replies_.pop_front();
    r["id"] = request["id"];
    return r;
  }
  Status Notify(const json&) override { return Status::Ok(); }
  void SetSession(std::string, std::string) override {}
  std::string ReceivedSession() const override { return ""; }
  bool SessionLost(const Status&) const override { return false; }
  std::string Describe() const override { return "script"; }

 private:
  std::deque<json> replies_;
};

Result<std::unique_ptr<mcp::Client>> ConnectScripted(std::deque<json> replies) {
  mcp::ServerSpec spec;
  spec.name = "scripted";
  return mcp::Client::ConnectOver(spec, [&](mcp::Client::NotificationFn) -> Result<std::unique_ptr<mcp::Transport>> {
    return std::unique_ptr<mcp::Transport>(new Scripted(std::move(replies)));
  });
}

TEST(UntrustedJson, AnInitializeReplyWithANumberForItsVersionIsRefusedNotThrown) {
  auto client = ConnectScripted({{{"result", {{"protocolVersion", 20250618}}}}});
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.status().message().find("protocol version ''"), std::string::npos) << client.status().ToString();
}

TEST(UntrustedJson, AnErrorReplyWithWrongTypesIsAnErrorNotAThrow) {
  auto client = ConnectScripted({{{"result", {{"protocolVersion", "2025-06-18"}, {"serverInfo", "not an object"}}}},
                                 {{"error", {{"code", "minus one"}, {"message", 17}}}}});
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_TRUE((*client)->server_info().is_object());
  auto tools = (*client)->ListTools();
  ASSERT_FALSE(tools.ok());
  EXPECT_NE(tools.status().message().find("error 0"), std::string::npos) << tools.status().ToString();
}

}  // namespace
}  // namespace llmdesk
