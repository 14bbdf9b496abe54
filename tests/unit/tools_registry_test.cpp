// tools::Registry as a home for other people's tools: the provider seam an MCP client for external servers
// uses (tools join, forward, refresh, clash, leave), safe while calls run; and the built-in names config
// accepts.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "config/config.h"
#include "tools/tools.h"

namespace llmdesk::tools {
namespace {

using nlohmann::json;

std::string Text(const ToolResult& r) {
  return r.content.size() == 1 ? r.content[0].value("text", "") : "<" + r.content.dump() + ">";
}

// The tool names config accepts are exactly the tools BuiltinTools registers: a name added on one side
// only would be accepted by config and then silently missing, or registered but never enabled.
TEST(Registry, ConfigToolNamesAreTheBuiltinTools) {
  std::vector<std::string> registered;
  for (const auto& t : BuiltinTools(BuiltinToolNames()).List()) registered.push_back(t->name);
  EXPECT_EQ(registered, BuiltinToolNames());
  EXPECT_EQ(config::ToolServerConfig{}.tools, BuiltinToolNames());
}

// A stand-in for an external MCP server behind the provider seam: its tools forward to it by the
// server's own tool name, and it records what it was asked.
class FakeProvider {
 public:
  explicit FakeProvider(std::string name) : name_(std::move(name)) {}
  Tool Remote(const std::string& tool_name) {
    Tool t;
    t.name = tool_name;
    t.description = "remote " + tool_name;
    t.input_schema = {{"type", "object"}, {"properties", {{"x", {{"type", "integer"}}}}}};
    t.run = [this, tool_name](const json& args, const CallContext&) {
      std::lock_guard lock(mu_);
      calls_.push_back(tool_name);
      return ToolResult::Text(name_ + ":" + tool_name + ":" + args.dump());
    };
    return t;
  }
  std::vector<std::string> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::string name_;
  mutable std::mutex mu_;
  std::vector<std::string> calls_;
};

std::vector<std::string> Names(const Registry& r) {
  std::vector<std::string> names;
  for (const auto& t : r.List()) names.push_back(t->name);
  return names;
}

TEST(RegistryProviders, ToolsJoinForwardRefreshAndLeave) {
  Registry r = BuiltinTools({"calculator"});
  FakeProvider fs("fs");
  uint64_t before = r.generation();
  ASSERT_TRUE(r.SetProviderTools("fs", {fs.Remote("read"), fs.Remote("calculator")}).ok());
  EXPECT_NE(r.generation(), before);
  // The clashing name gets the provider's prefix; its call still reaches the provider's own "calculator".
  EXPECT_EQ(Names(r), (std::vector<std::string>{"calculator", "read", "fs__calculator"}));
  EXPECT_EQ(r.Find("read")->provider, "fs");
  EXPECT_EQ(r.Find("calculator")->provider, "");
  auto forwarded = r.Call("fs__calculator", {{"x", 1}}, {});
  ASSERT_TRUE(forwarded.ok());
  EXPECT_EQ(Text(*forwarded), "fs:calculator:{\"x\":1}");
  EXPECT_EQ(Text(*r.Call("calculator", {{"expression", "2+2"}}, {})), "4");  // ours is untouched
  // Arguments are validated against the provider tool's schema before anything is forwarded.
  auto invalid = r.Call("read", {{"x", "one"}}, {});
  ASSERT_TRUE(invalid.ok());
  EXPECT_TRUE(invalid->is_error);
  EXPECT_EQ(fs.calls(), (std::vector<std::string>{"calculator"}));

  // A refresh replaces the whole set; a second provider's clash is prefixed with its own name.
  FakeProvider web("web");
  ASSERT_TRUE(r.SetProviderTools("web", {web.Remote("read")}).ok());
  ASSERT_TRUE(r.SetProviderTools("fs", {fs.Remote("read"), fs.Remote("write")}).ok());
  EXPECT_EQ(Names(r), (std::vector<std::string>{"calculator", "web__read", "read", "write"}));
  EXPECT_EQ(r.Find("fs__calculator"), nullptr);
  EXPECT_EQ(Text(*r.Call("web__read", json::object(), {})), "web:read:{}");

  EXPECT_TRUE(r.RemoveProvider("fs"));
  EXPECT_FALSE(r.RemoveProvider("fs"));
  EXPECT_EQ(Names(r), (std::vector<std::string>{"calculator", "web__read"}));
  EXPECT_EQ(r.Call("read", json::object(), {}).status().code(), Status::Code::kNotFound);
  // Our own tools can never be removed as a provider's.
  EXPECT_FALSE(r.RemoveProvider(""));
  EXPECT_NE(r.Find("calculator"), nullptr);
}

TEST(RegistryProviders, BadSetsChangeNothing) {
  Registry r = BuiltinTools({"calculator"});
  FakeProvider fs("fs");
  ASSERT_TRUE(r.SetProviderTools("fs", {fs.Remote("read")}).ok());
  uint64_t before = r.generation();
  Tool norun = fs.Remote("broken");
  norun.run = nullptr;
  EXPECT_EQ(r.SetProviderTools("fs", {fs.Remote("write"), norun}).code(), Status::Code::kInvalidArgument);
  // "calculator" is taken by ours and "fs__calculator" by the set itself: no name left for the second.
  Tool own_prefixed = fs.Remote("fs__calculator");
  EXPECT_EQ(r.SetProviderTools("fs", {own_prefixed, fs.Remote("calculator")}).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(r.SetProviderTools("", {fs.Remote("x")}).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Names(r), (std::vector<std::string>{"calculator", "read"}));
  EXPECT_EQ(r.generation(), before);
  // Our own tools still must not clash with a provider's.
  Tool ours = fs.Remote("read");
  EXPECT_EQ(r.Add(ours).code(), Status::Code::kAlreadyExists);
}

// Holds a running tool until the test opens it (bounded, so a failing test cannot hang).
class Gate {
 public:
  void Arrive() {
    std::lock_guard lock(mu_);
    arrived_ = true;
    cv_.notify_all();
  }
  void WaitArrived() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return arrived_; });
  }
  void WaitOpen() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return open_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool arrived_ = false, open_ = false;
};

TEST(RegistryProviders, CallsRunThroughARefreshOrRemoval) {
  Registry r;
  FakeProvider fs("fs");
  Gate gate;
  Tool slow = fs.Remote("slow");
  slow.run = [&gate](const json&, const CallContext&) {
    gate.Arrive();
    gate.WaitOpen();
    return ToolResult::Text("finished");
  };
  ASSERT_TRUE(r.SetProviderTools("fs", {slow, fs.Remote("read")}).ok());
  Result<ToolResult> slow_result = Status::Internal("not run");
  std::thread running([&] { slow_result = r.Call("slow", json::object(), {}); });
  gate.WaitArrived();
  EXPECT_TRUE(r.RemoveProvider("fs"));  // the server went away while its tool was running
  gate.Open();
  running.join();
  ASSERT_TRUE(slow_result.ok()) << slow_result.status().ToString();
  EXPECT_EQ(Text(*slow_result), "finished");

  // Many callers while the provider's set is refreshed and dropped over and over: every call either
  // reaches the tool or finds it gone, nothing in between.
  std::atomic<bool> done{false};
  std::atomic<int> answered{0}, missing{0}, wrong{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      while (!done) {
        auto result = r.Call("read", {{"x", 7}}, {});
        if (!result.ok()) {
          (result.status().code() == Status::Code::kNotFound ? missing : wrong)++;
        } else {
          (Text(*result) == "fs:read:{\"x\":7}" ? answered : wrong)++;
        }
      }
    });
  }
  for (int round = 0; round < 500; ++round) {
    ASSERT_TRUE(r.SetProviderTools("fs", {fs.Remote("read"), fs.Remote("write")}).ok());
    if (round % 2) r.RemoveProvider("fs");
  }
  ASSERT_TRUE(r.SetProviderTools("fs", {fs.Remote("read")}).ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (answered == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  done = true;
  for (auto& t : callers) t.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_GT(answered, 0);
}

}  // namespace
}  // namespace llmdesk::tools
