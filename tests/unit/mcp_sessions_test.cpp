// The session table under pressure: capacity, expiry, and a flood of initialize requests that must
// neither push out sessions in use nor recently active ones (a full table refuses with 503 instead).
#include <gtest/gtest.h>

#include "mcp/server.h"
#include "mcp_test_util.h"
#include "tools/tools.h"

namespace llmdesk::mcp {
namespace {

using test::InitializeMessage;
using test::PostHttp;

TEST(McpSessionTable, CapsAndExpires) {
  SessionTable table(2, std::chrono::minutes(30));
  // Ids only: a held Session counts as in use (a request running), which is never evicted.
  auto create = [&table] {
    auto session = table.Create("2025-11-25");
    EXPECT_TRUE(session.ok()) << session.status().ToString();
    return session.ok() ? (*session)->id : std::string();
  };
  std::string a = create(), b = create();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 32u);
  table.Find(a);  // a is used after its initialize; b never is
  std::string c = create();
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.Find(b), nullptr);
  EXPECT_NE(table.Find(a), nullptr);
  EXPECT_TRUE(table.Remove(c));
  EXPECT_EQ(table.Find(c), nullptr);

  SessionTable expiring(8, std::chrono::milliseconds(-1));  // everything is already idle too long
  std::string d = (*expiring.Create("2025-11-25"))->id;
  EXPECT_EQ(expiring.Find(d), nullptr);
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

TEST(McpSessionFlood, LiveAndBusySessionsSurviveAFloodOfInitialize) {
  tools::Registry registry = tools::BuiltinTools({"calculator"});
  Server server(registry);
  const size_t capacity = server.options().max_sessions;

  Outcome live_init = PostHttp(server, InitializeMessage(1));
  ASSERT_TRUE(live_init.new_session);
  const std::string live_id = live_init.new_session->id;
  live_init = {};
  json call = {{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/call"},
               {"params", {{"name", "calculator"}, {"arguments", {{"expression", "2+2"}}}}}};
  Outcome first = PostHttp(server, call, server.sessions().Find(live_id));
  ASSERT_TRUE(first.reply && first.reply->contains("result")) << first.reply.value_or(json());
  // Used a second ago: recently active, but older than every session the flood makes.
  server.sessions().Find(live_id)->last_used_ms = NowMs() - 1000;

  // Another client's request is running right now: the request holds its session.
  Outcome busy_init = PostHttp(server, InitializeMessage(3));
  ASSERT_TRUE(busy_init.new_session);
  std::shared_ptr<Session> busy = server.sessions().Find(busy_init.new_session->id);
  busy_init = {};
  busy->last_used_ms = NowMs() - 1000;

  for (size_t i = 0; i < capacity + 200; ++i) {
    Outcome flood = PostHttp(server, InitializeMessage(100));
    ASSERT_TRUE(flood.new_session) << "initialize #" << i << " refused: " << flood.reply.value_or(json());
  }
  EXPECT_LE(server.sessions().size(), capacity);

  std::shared_ptr<Session> live = server.sessions().Find(live_id);
  ASSERT_NE(live, nullptr) << "the flood evicted a session in active use";
  Outcome again = PostHttp(server, call, live);
  ASSERT_TRUE(again.reply);
  EXPECT_EQ((*again.reply)["result"]["content"][0]["text"], "4");
  EXPECT_NE(server.sessions().Find(busy->id), nullptr) << "the flood evicted a session with a running request";
}

TEST(McpSessionFlood, FullOfActiveSessionsRefusesInitializeWith503) {
  tools::Registry registry = tools::BuiltinTools({"calculator"});
  ServerOptions options;
  options.max_sessions = 4;
  Server server(registry, nullptr, options);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    Outcome out = PostHttp(server, InitializeMessage(i));
    ASSERT_TRUE(out.new_session);
    ids.push_back(out.new_session->id);
    out = {};
    ASSERT_TRUE(PostHttp(server, {{"jsonrpc", "2.0"}, {"id", 9}, {"method", "ping"}}, server.sessions().Find(ids.back())).reply);
  }
  Outcome refused = PostHttp(server, InitializeMessage(5));
  EXPECT_FALSE(refused.new_session);
  EXPECT_EQ(refused.http_status, 503);
  ASSERT_TRUE(refused.reply && refused.reply->contains("error")) << refused.reply.value_or(json());
  EXPECT_NE((*refused.reply)["error"]["message"].get<std::string>().find("sessions"), std::string::npos);
  for (const auto& id : ids) EXPECT_NE(server.sessions().Find(id), nullptr);
}

TEST(McpSessionTable, ExpiredSessionWithARunningRequestIsKept) {
  SessionTable table(2, std::chrono::milliseconds(-1));  // everything is already idle too long
  std::shared_ptr<Session> running = *table.Create("2025-11-25");  // held: its request still runs
  std::string idle_id = (*table.Create("2025-11-25"))->id;
  auto third = table.Create("2025-11-25");  // the table is full: the idle session makes room
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  std::string third_id = (*third)->id;
  EXPECT_NE(table.Find(running->id), nullptr) << "expired while a request was running";
  EXPECT_TRUE(table.Remove(running->id)) << "evicted while a request was running";
  EXPECT_FALSE(table.Remove(idle_id));
  EXPECT_TRUE(table.Remove(third_id));
}

}  // namespace
}  // namespace llmdesk::mcp
