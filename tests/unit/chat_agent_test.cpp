// chat::Agent with a scripted model (a fixed list of replies: a stand-in, named as such) and a tool host
// of plain functions: the loop's semantics — parallel calls, step cap, bad arguments, unknown tools,
// approval, cancel — without an engine.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>

#include "chat/agent.h"

namespace llmdesk::chat {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

// Replays fixed completions in order; records the requests it got.
class ScriptedModel : public llm::Model {
 public:
  explicit ScriptedModel(std::deque<llm::Completion> replies) : replies_(std::move(replies)) {}
  Result<llm::Completion> Complete(const llm::ChatRequest& request,
                                   const std::function<void(const llm::StreamAccumulator::Delta&)>& on_delta,
                                   const CancelToken* cancel) override {
    requests.push_back(request);
    if (cancel && cancel->cancelled()) return Status::Cancelled("cancelled");
    if (replies_.empty()) return Status::Unavailable("the scripted model has no more replies");
    llm::Completion c = replies_.front();
    replies_.pop_front();
    if (!c.message.content.empty()) on_delta({c.message.content, {}});
    return c;
  }
  std::vector<llm::ChatRequest> requests;

 private:
  std::deque<llm::Completion> replies_;
};

llm::Completion Calls(std::vector<llm::ToolCall> calls) {
  llm::Completion c;
  c.message = {"assistant", "", std::move(calls), ""};
  c.finish_reason = "tool_calls";
  c.usage = {10, 2, 12};
  return c;
}
llm::Completion Answer(std::string text) {
  llm::Completion c;
  c.message = {"assistant", std::move(text), {}, ""};
  c.finish_reason = "stop";
  c.usage = {20, 3, 23};
  return c;
}

class FunctionTools : public ToolHost {
 public:
  using Fn = std::function<Result<ToolOutcome>(const Json&, CancelToken&)>;
  void Add(ToolInfo info, Fn fn) {
    fns_[info.name] = std::move(fn);
    infos_.push_back(std::move(info));
  }
  std::vector<ToolInfo> Tools() override { return infos_; }
  Result<ToolOutcome> Call(const ToolInfo& tool, const Json& args, std::chrono::steady_clock::time_point,
                           CancelToken& cancel) override {
    ++calls;
    return fns_.at(tool.name)(args, cancel);
  }
  std::atomic<int> calls{0};

 private:
  std::vector<ToolInfo> infos_;
  std::map<std::string, Fn> fns_;
};

struct Recorded {
  std::vector<Event> events;
  std::function<void(const Event&)> fn = [this](const Event& e) { events.push_back(e); };
  std::vector<Event> Of(Event::Kind k) const {
    std::vector<Event> out;
    for (const auto& e : events)
      if (e.kind == k) out.push_back(e);
    return out;
  }
};

ToolInfo Calculator(Approval a = Approval::kAuto) {
  return {"calculator", "llmdesk", "calculator", "math", {{"type", "object"}}, a, 5000ms};
}

FunctionTools::Fn Adds() {
  return [](const Json& args, CancelToken&) -> Result<ToolOutcome> {
    return ToolOutcome{args.value("expression", "") == "2+2" ? "4" : "?", false, nullptr};
  };
}

TEST(Agent, CallsTheToolThenAnswersWithItsResult) {
  ScriptedModel model({Calls({{"c1", "calculator", R"({"expression":"2+2"})"}}), Answer("2+2 is 4.")});
  FunctionTools tools;
  tools.Add(Calculator(), Adds());
  Recorded rec;
  CancelToken cancel;
  auto run = Agent(model, &tools).Run({{"user", "What's 2+2?", {}, ""}}, {.model = "m"}, rec.fn, nullptr, cancel);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->answer, "2+2 is 4.");
  EXPECT_EQ(run->steps, 2);
  EXPECT_EQ(run->usage.total_tokens, 35);
  ASSERT_EQ(model.requests.size(), 2u);
  ASSERT_EQ(model.requests[0].tools.size(), 1u);
  const auto& second = model.requests[1].messages;
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(second[2].role, "tool");
  EXPECT_EQ(second[2].content, "4");
  EXPECT_EQ(second[2].tool_call_id, "c1");
  auto results = rec.Of(Event::Kind::kToolResult);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].text, "4");
  EXPECT_EQ(results[0].server, "llmdesk");
  EXPECT_EQ(rec.Of(Event::Kind::kFinal).at(0).text, "2+2 is 4.");
  EXPECT_EQ(rec.events.front().kind, Event::Kind::kRequestSent);
}

TEST(Agent, RunsSeveralCallsOfOneTurnInParallel) {
  ScriptedModel model({Calls({{"a", "slow", "{}"}, {"b", "slow", "{}"}}), Answer("done")});
  FunctionTools tools;
  std::mutex mu;
  std::condition_variable cv;
  int inside = 0;
  bool both = false;
  tools.Add({"slow", "s", "slow", "", {{"type", "object"}}, Approval::kAuto, 5000ms},
            [&](const Json&, CancelToken&) -> Result<ToolOutcome> {
              std::unique_lock lock(mu);
              ++inside;
              cv.notify_all();
              // Each call waits until the other one is running too: only parallel calls get past this.
              both = cv.wait_for(lock, 5s, [&] { return inside == 2; });
              return ToolOutcome{both ? "together" : "alone", false, nullptr};
            });
  Recorded rec;
  CancelToken cancel;
  auto run = Agent(model, &tools).Run({{"user", "go", {}, ""}}, {.model = "m"}, rec.fn, nullptr, cancel);
  ASSERT_TRUE(run.ok());
  EXPECT_TRUE(both);
  EXPECT_EQ(model.requests[1].messages[2].tool_call_id, "a") << "results keep the order of the calls";
  EXPECT_EQ(model.requests[1].messages[3].tool_call_id, "b");
}

TEST(Agent, BadArgumentsAndUnknownToolsAreErrorsTheModelReads) {
  ScriptedModel model({Calls({{"a", "calculator", "{not json"}, {"b", "nope", "{}"}}), Answer("sorry")});
  FunctionTools tools;
  tools.Add(Calculator(), Adds());
  Recorded rec;
  CancelToken cancel;
  auto run = Agent(model, &tools).Run({{"user", "x", {}, ""}}, {.model = "m"}, rec.fn, nullptr, cancel);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(tools.calls, 0);
  const auto& msgs = model.requests[1].messages;
  EXPECT_NE(msgs[2].content.find("must be a JSON object"), std::string::npos) << msgs[2].content;
  EXPECT_NE(msgs[3].content.find("no tool named 'nope'"), std::string::npos) << msgs[3].content;
  EXPECT_NE(msgs[3].content.find("calculator"), std::string::npos) << "names what exists";
  for (const auto& e : rec.Of(Event::Kind::kToolResult)) EXPECT_TRUE(e.is_error);
}

TEST(Agent, StepCapEndsARunawayLoop) {
  std::deque<llm::Completion> forever;
  for (int i = 0; i < 10; ++i) forever.push_back(Calls({{"c" + std::to_string(i), "calculator", R"({"expression":"2+2"})"}}));
  ScriptedModel model(forever);
  FunctionTools tools;
  tools.Add(Calculator(), Adds());
  Recorded rec;
  CancelToken cancel;
  Transcript partial;
  auto run = Agent(model, &tools).Run({{"user", "x", {}, ""}}, {.model = "m", .max_tool_steps = 3}, rec.fn, nullptr,
                                      cancel, &partial);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(run.status().message().find("max_tool_steps"), std::string::npos);
  EXPECT_EQ(tools.calls, 3);
  EXPECT_EQ(rec.Of(Event::Kind::kError).size(), 1u);
  EXPECT_FALSE(partial.messages.empty());
}

TEST(Agent, ApprovalAskDenyAndAlways) {
  ScriptedModel model({Calls({{"a", "calculator", R"({"expression":"2+2"})"}}),
                       Calls({{"b", "calculator", R"({"expression":"2+2"})"}}),
                       Calls({{"c", "calculator", R"({"expression":"2+2"})"}}), Answer("ok")});
  FunctionTools tools;
  tools.Add(Calculator(Approval::kAsk), Adds());
  int asked = 0;
  AskFn ask = [&](const ToolInfo&, const std::string& id, const Json& args, CancelToken&) {
    ++asked;
    EXPECT_EQ(args["expression"], "2+2");
    return id == "a" ? ApprovalAnswer::kDeny : ApprovalAnswer::kAllowAlways;
  };
  Recorded rec;
  CancelToken cancel;
  auto run = Agent(model, &tools).Run({{"user", "x", {}, ""}}, {.model = "m"}, rec.fn, ask, cancel);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(asked, 2) << "'always' is remembered for the rest of the run";
  EXPECT_EQ(tools.calls, 2);
  EXPECT_NE(model.requests[1].messages.back().content.find("denied"), std::string::npos);
  EXPECT_EQ(rec.Of(Event::Kind::kApprovalNeeded).size(), 2u);
}

TEST(Agent, DenyPolicyAndNoAnswerNeverRunTheTool) {
  ScriptedModel model({Calls({{"a", "calculator", "{}"}}), Answer("ok")});
  FunctionTools tools;
  tools.Add(Calculator(Approval::kAsk), Adds());
  CancelToken cancel;
  Recorded rec;
  ASSERT_TRUE(Agent(model, &tools).Run({{"user", "x", {}, ""}}, {.model = "m"}, rec.fn, nullptr, cancel).ok());
  EXPECT_EQ(tools.calls, 0) << "ask without anyone to answer counts as deny";
}

TEST(Agent, NoAnswerInTimeIsDenyAndSaysSo) {
  ScriptedModel model({Calls({{"a", "calculator", R"({"expression":"2+2"})"}}), Answer("ok")});
  FunctionTools tools;
  tools.Add(Calculator(Approval::kAsk), Adds());
  AskFn ask = [](const ToolInfo&, const std::string&, const Json&, CancelToken&) { return ApprovalAnswer::kNoAnswer; };
  CancelToken cancel;
  Recorded rec;
  ASSERT_TRUE(Agent(model, &tools).Run({{"user", "x", {}, ""}}, {.model = "m"}, rec.fn, ask, cancel).ok());
  EXPECT_EQ(tools.calls, 0);
  EXPECT_NE(model.requests[1].messages.back().content.find("nobody approved this call of calculator in time"),
            std::string::npos)
      << model.requests[1].messages.back().content;
}

TEST(Agent, AlwaysFromEarlierInTheConversationIsNotAskedAgain) {
  ScriptedModel model({Calls({{"a", "calculator", R"({"expression":"2+2"})"}}), Answer("4")});
  FunctionTools tools;
  tools.Add(Calculator(Approval::kAsk), Adds());
  int asked = 0;
  AskFn ask = [&](const ToolInfo&, const std::string&, const Json&, CancelToken&) {
    ++asked;
    return ApprovalAnswer::kDeny;
  };
  CancelToken cancel;
  Recorded rec;
  RunOptions options{.model = "m"};
  options.always_allowed = {"calculator"};
  auto run = Agent(model, &tools).Run({{"user", "x", {}, ""}}, options, rec.fn, ask, cancel);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(asked, 0);
  EXPECT_EQ(tools.calls, 1);
  EXPECT_EQ(run->always_allowed, std::set<std::string>{"calculator"}) << "handed back for the next turn";
}

TEST(Agent, ACallNamingNoFunctionIsAnErrorTheModelReads) {
  ScriptedModel model({Calls({{"a", "", "{}"}}), Answer("sorry")});
  FunctionTools tools;
  tools.Add(Calculator(), Adds());
  CancelToken cancel;
  Recorded rec;
  ASSERT_TRUE(Agent(model, &tools).Run({{"user", "x", {}, ""}}, {.model = "m"}, rec.fn, nullptr, cancel).ok());
  EXPECT_EQ(tools.calls, 0);
  EXPECT_NE(model.requests[1].messages.back().content.find("names no function; call one of: calculator"), std::string::npos)
      << model.requests[1].messages.back().content;
}

TEST(Agent, AHugeToolResultIsCutForTheModelWithANote) {
  ScriptedModel model({Calls({{"a", "dump", "{}"}}), Answer("long")});
  FunctionTools tools;
  tools.Add({"dump", "test", "dump", "", {{"type", "object"}}, Approval::kAuto, 5000ms},
            [](const Json&, CancelToken&) -> Result<ToolOutcome> {
              std::string text;
              while (text.size() < 1000000) text += "\xc3\xa9";  // "é": two bytes, so a cut can fall inside one
              return ToolOutcome{text, false, nullptr};
            });
  CancelToken cancel;
  Recorded rec;
  RunOptions options{.model = "m"};
  options.max_tool_result_bytes = 1001;
  ASSERT_TRUE(Agent(model, &tools).Run({{"user", "x", {}, ""}}, options, rec.fn, nullptr, cancel).ok());
  const std::string& seen = model.requests[1].messages.back().content;
  std::string kept;
  for (int i = 0; i < 500; ++i) kept += "\xc3\xa9";
  EXPECT_EQ(seen.substr(0, 1000), kept) << "cut before the character the limit splits";
  EXPECT_EQ(seen.substr(1000), "\n[llmdesk: the tool result was 1000000 bytes; only the first 1000 are shown]");
  ASSERT_EQ(rec.Of(Event::Kind::kToolResult).size(), 1u);
  EXPECT_EQ(rec.Of(Event::Kind::kToolResult)[0].text, seen);
  EXPECT_EQ(BoundToolResult("short", 10), "short");
}

TEST(Agent, CancelReachesARunningToolAndEndsTheRun) {
  ScriptedModel model({Calls({{"a", "wait", "{}"}}), Answer("never")});
  FunctionTools tools;
  CancelToken cancel;
  std::mutex mu;
  std::condition_variable cv;
  bool started = false, tool_saw_cancel = false;
  tools.Add({"wait", "s", "wait", "", {{"type", "object"}}, Approval::kAuto, 5000ms},
            [&](const Json&, CancelToken& c) -> Result<ToolOutcome> {
              uint64_t id = c.OnCancel([&] {
                std::lock_guard lock(mu);
                cv.notify_all();
              });
              std::unique_lock lock(mu);
              started = true;
              cv.notify_all();
              tool_saw_cancel = cv.wait_for(lock, 5s, [&] { return c.cancelled(); });
              lock.unlock();
              c.Forget(id);
              return Status::Cancelled("the call was cancelled");
            });
  std::thread canceller([&] {  // a person pressing Stop while the tool runs
    std::unique_lock lock(mu);
    cv.wait_for(lock, 5s, [&] { return started; });
    lock.unlock();
    cancel.Cancel();
  });
  Recorded rec;
  auto run = Agent(model, &tools).Run({{"user", "x", {}, ""}}, {.model = "m"}, rec.fn, nullptr, cancel);
  canceller.join();
  EXPECT_TRUE(tool_saw_cancel);
  EXPECT_EQ(run.status().code(), Status::Code::kCancelled);
  EXPECT_EQ(model.requests.size(), 1u) << "no model turn after cancel";
  EXPECT_EQ(rec.Of(Event::Kind::kCancelled).size(), 1u);
}

TEST(Agent, ModelErrorsAreSurfacedWithTheirMessage) {
  ScriptedModel model({});
  CancelToken cancel;
  Recorded rec;
  auto run = Agent(model, nullptr).Run({{"user", "x", {}, ""}}, {.model = "m"}, rec.fn, nullptr, cancel);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("no more replies"), std::string::npos);
  ASSERT_EQ(rec.Of(Event::Kind::kError).size(), 1u);
  EXPECT_TRUE(model.requests.at(0).tools.empty());
}

}  // namespace
}  // namespace llmdesk::chat
