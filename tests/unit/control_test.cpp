// control: the SSE queue's overflow rule, the JSON shapes, the port report and the text views.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "common/unique_fd.h"
#include "control/control.h"
#include "support/test_support.h"

namespace llmdesk::control {
namespace {

using namespace std::chrono_literals;
using manager::State;

TEST(EventQueue, OverflowDropsNewestAndMarksTheGapOnce) {
  EventQueue q(3);
  for (int i = 0; i < 10; ++i) q.Push("f" + std::to_string(i));
  std::vector<std::string> out;
  EXPECT_TRUE(q.PopAll(out, 0ms));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], "f0");
  EXPECT_EQ(out[2], "f2");
  EXPECT_EQ(out[3], "event: dropped\ndata: {\"dropped\":7}\n\n");
  out.clear();
  q.Push("f10");
  EXPECT_TRUE(q.PopAll(out, 0ms));
  EXPECT_EQ(out, std::vector<std::string>{"f10"});  // one marker per gap, then normal flow
}

TEST(EventQueue, CloseWakesAWaitingReaderAndDeliversWhatWasQueued) {
  EventQueue q(8);
  q.Push("last");
  std::vector<std::string> out;
  std::thread closer([&] { q.Close(); });
  closer.join();
  EXPECT_FALSE(q.PopAll(out, 10s));
  EXPECT_EQ(out, std::vector<std::string>{"last"});
  q.Push("after close");  // ignored, never blocks
  out.clear();
  EXPECT_FALSE(q.PopAll(out, 10s));
  EXPECT_TRUE(out.empty());
}

TEST(EventQueue, PushNeverBlocksWhenNobodyReads) {
  EventQueue q(2);
  for (int i = 0; i < 100000; ++i) q.Push("x");  // would hang if Push waited for a reader
  std::vector<std::string> out;
  q.PopAll(out, 0ms);
  EXPECT_EQ(out.size(), 3u);
}

TEST(ControlJson, BackendStatusRoundTrips) {
  manager::BackendStatus s;
  s.name = "default";
  s.state = State::kReady;
  s.configured_port = 10500;
  s.port = 10501;
  s.pid = 4242;
  s.restarts = 1;
  s.reason = "port 10500 is held by PID 42 (python3); using 10501";
  s.progress = 1;
  auto j = ToJson(s);
  EXPECT_EQ(j["state"], "ready");
  EXPECT_EQ(j["kind"], "local");
  EXPECT_EQ(j["url"], "http://127.0.0.1:10501");
  auto back = BackendStatusFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->name, "default");
  EXPECT_EQ(back->state, State::kReady);
  EXPECT_EQ(back->port, 10501);
  EXPECT_EQ(back->pid, 4242);
  EXPECT_EQ(back->reason, s.reason);
}

TEST(ControlJson, BadBackendJsonIsAnErrorNotACrash) {
  EXPECT_FALSE(BackendStatusFromJson(nlohmann::json::array()).ok());
  EXPECT_FALSE(BackendStatusFromJson({{"name", "x"}, {"state", "dancing"}}).ok());
  EXPECT_FALSE(BackendStatusFromJson({{"name", "x"}, {"state", "ready"}, {"port", "ten"}}).ok());
}

TEST(ControlJson, EventCarriesEverything) {
  manager::Event e;
  e.seq = 7;
  e.backend = "m";
  e.old_state = State::kStarting;
  e.new_state = State::kFailed;
  e.port = 10500;
  e.reason = "engine exited";
  auto j = ToJson(e);
  EXPECT_EQ(j["kind"], "state");
  EXPECT_EQ(j["old_state"], "starting");
  EXPECT_EQ(j["new_state"], "failed");
  EXPECT_EQ(j["seq"], 7);
  EXPECT_TRUE(j["time"].get<std::string>().ends_with("Z"));
}

config::Config TwoModels(int port_a, int port_b) {
  config::Config c;
  c.gateway.port = port_a;
  c.tool_server.port = 0;
  config::ModelConfig a, b, r;
  a.name = "a", a.port = port_a + 0, a.autostart = false;
  b.name = "b", b.port = port_b;
  r.name = "r", r.kind = config::ModelConfig::Kind::kRemote, r.url = "http://gpu:8000/v1";
  c.models = {a, b, r};
  return c;
}

TEST(DefaultBackends, AutostartOnesElseEverySpawnedModel) {
  auto c = TwoModels(1, 2);
  EXPECT_EQ(DefaultBackendsToStart(c), (std::vector<std::string>{"a", "b"}));
  c.models[1].autostart = true;
  EXPECT_EQ(DefaultBackendsToStart(c), (std::vector<std::string>{"b"}));
}

TEST(PortReport, NamesTheHolderAndTellsOursFromOthers) {
  // Hold a port in this process: it is "other" without a daemon, "ours" when we are the daemon.
  int held = 0;
  UniqueFd fd = test::BindLoopbackSocket(held);
  ASSERT_EQ(listen(fd.get(), 4), 0);
  int free_port = test::PickUnusedPort();

  auto c = TwoModels(held, free_port);
  auto report = BuildPortReport(c, {}, std::nullopt);
  ASSERT_EQ(report.size(), 2u);  // gateway and model a share `held`; b; the remote one has no port
  EXPECT_EQ(report[0].port, held);
  EXPECT_EQ(report[0].used_by, (std::vector<std::string>{"gateway", "model a"}));
  EXPECT_EQ(report[0].owner, PortUse::Owner::kOther);
  ASSERT_TRUE(report[0].pid.has_value());
  EXPECT_EQ(*report[0].pid, getpid());
  EXPECT_EQ(report[1].owner, PortUse::Owner::kFree);
  EXPECT_EQ(ToJson(report[1])["owner"], "free");
  EXPECT_TRUE(ToJson(report[1])["pid"].is_null());

  auto as_daemon = BuildPortReport(c, {}, getpid());
  EXPECT_EQ(as_daemon[0].owner, PortUse::Owner::kOurs);

  // A backend that fell back to another port lists that port too.
  manager::BackendStatus b;
  b.name = "b", b.state = State::kReady, b.configured_port = free_port, b.port = held, b.pid = getpid();
  auto with_backend = BuildPortReport(c, {b}, std::nullopt);
  EXPECT_EQ(with_backend[0].owner, PortUse::Owner::kOurs);
  EXPECT_EQ(with_backend[0].used_by.back(), "model b (instead of " + std::to_string(free_port) + ")");
  EXPECT_NE(FormatPortTable(with_backend).find("ours"), std::string::npos);
}

TEST(Views, StatusTableShowsConfiguredPortWhenStoppedAndReasonWhenFailed) {
  manager::BackendStatus stopped, failed;
  stopped.name = "a", stopped.configured_port = 10500;
  failed.name = "b", failed.state = State::kFailed, failed.reason = "engine exited with code 1\nlast lines...";
  std::string table = FormatStatusTable({stopped, failed});
  EXPECT_NE(table.find("(10500)"), std::string::npos) << table;
  EXPECT_NE(table.find("engine exited with code 1"), std::string::npos) << table;
  EXPECT_EQ(table.find("last lines"), std::string::npos) << table;
}

}  // namespace
}  // namespace llmdesk::control
