// On-demand use of backends (what the gateway needs): Acquire starts once for many callers, leases
// count requests in flight and hold off ttl, ttl unloads idle backends, a hung engine is restarted,
// and failures, timeouts and cancellation come back as Status. Real processes (the stand-in engine).
#include <dirent.h>
#include <signal.h>

#include <set>

#include "integration/manager_fixture.h"

namespace llmdesk::manager {
namespace {

using namespace std::chrono_literals;
using namespace testing_support;
using ::testing::HasSubstr;

size_t ThreadCount() {
  size_t n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

TEST_F(ManagerTest, AcquireFromEightThreadsStartsTheBackendOnce) {
  auto m = Make(MakeOptions({Model("a", base_, {"--delay-ms", "200"})}));
  constexpr int kCallers = 8;
  std::vector<std::optional<Result<Lease>>> results(kCallers);
  std::vector<std::thread> callers;
  for (int k = 0; k < kCallers; ++k)
    callers.emplace_back([&, k] { results[k].emplace(m->Acquire("a", 20s)); });
  for (auto& t : callers) t.join();
  std::set<int> ports;
  for (auto& r : results) {
    ASSERT_TRUE(r && r->ok()) << r->status().ToString();
    ports.insert((*r)->port());
    EXPECT_EQ((*r)->status().state, State::kReady);
  }
  EXPECT_EQ(ports.size(), 1u);
  EXPECT_EQ(m->Get("a")->in_flight, kCallers);
  std::set<pid_t> pids;
  int starts = 0;
  for (const auto& e : rec_.All()) {
    if (e.kind != Event::Kind::kState) continue;
    if (e.pid > 0) pids.insert(e.pid);
    starts += e.old_state == State::kStopped && e.new_state == State::kStarting;
  }
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(pids.size(), 1u);
  results.clear();  // releases every lease
  auto st = m->Get("a");
  EXPECT_EQ(st->in_flight, 0);
  EXPECT_TRUE(st->last_used.has_value());
}

TEST_F(ManagerTest, ALeaseInFlightHoldsOffTtlAndTheIdleBackendIsThenUnloaded) {
  auto model = Model("a", base_);
  model.ttl_s = 1;
  auto m = Make(MakeOptions({model}));
  auto lease = m->Acquire("a", 20s);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_EQ(HealthStatus(lease->port()), 200);
  // Three ttl periods with the lease held: no stop.
  EXPECT_FALSE(rec_.WaitState(State::kStopping, 3s));
  EXPECT_EQ(m->Get("a")->state, State::kReady);
  lease->Release();
  auto stopping = rec_.WaitState(State::kStopping, 10s);
  ASSERT_TRUE(stopping);
  EXPECT_EQ(stopping->reason, "idle for 1 s (ttl)");
  EXPECT_TRUE(rec_.WaitState(State::kStopped, 10s));
  // And it comes back on demand.
  auto again = m->Acquire("a", 20s);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
}

TEST_F(ManagerTest, TtlUnloadsABackendNobodyUses) {
  auto model = Model("a", base_);
  model.ttl_s = 1;
  auto m = Make(MakeOptions({model, Model("forever", base_ + 1)}));
  ASSERT_TRUE(m->Start("a").ok());
  ASSERT_TRUE(m->Start("forever").ok());
  auto ready = rec_.WaitState(State::kReady);
  ASSERT_TRUE(ready);
  auto stopped = rec_.WaitFor([](const Event& e) { return e.new_state == State::kStopped && e.backend == "a"; }, 10s);
  ASSERT_TRUE(stopped);
  EXPECT_EQ(m->Get("forever")->state, State::kReady);  // ttl 0 = never
}

TEST_F(ManagerTest, AHungReadyEngineIsKilledAndRestarted) {
  auto o = MakeOptions({Model("a", base_)});
  o.health_interval = 100ms;
  o.health_timeout = 300ms;
  auto m = Make(std::move(o));
  ASSERT_TRUE(m->Start("a").ok());
  auto ready = rec_.WaitState(State::kReady);
  ASSERT_TRUE(ready);
  ASSERT_EQ(kill(ready->pid, SIGSTOP), 0);  // still accepts connections, never answers
  auto restarting = rec_.WaitState(State::kStarting, 20s, ready->seq);
  ASSERT_TRUE(restarting);
  EXPECT_THAT(restarting->reason, HasSubstr("stopped answering /health"));
  EXPECT_THAT(restarting->reason, HasSubstr("restart 1 of"));
  auto again = rec_.WaitState(State::kReady, 20s, restarting->seq);
  ASSERT_TRUE(again) << m->Get("a")->reason;
  EXPECT_NE(again->pid, ready->pid);
  EXPECT_TRUE(ProcessGone(ready->pid, 5s));
}

TEST_F(ManagerTest, AcquireOnAFailingBackendReturnsItsReason) {
  auto m = Make(MakeOptions({Model("a", base_, {"--exit-code", "3"})}));
  auto lease = m->Acquire("a", 20s);
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(lease.status().message(), HasSubstr("exited with code 3"));
  // A second caller on the failed backend gets a fresh attempt (and its reason), not the old one. (Events reach
  // subscribers on the supervisor thread, possibly just after Acquire's caller woke: wait for them, bounded.)
  auto first_failure = rec_.WaitState(State::kFailed, 5s);
  ASSERT_TRUE(first_failure);
  lease = m->Acquire("a", 20s);
  ASSERT_FALSE(lease.ok());
  EXPECT_THAT(lease.status().message(), HasSubstr("exited with code 3"));
  EXPECT_TRUE(rec_.WaitState(State::kFailed, 5s, first_failure->seq));
  EXPECT_EQ(m->Get("a")->in_flight, 0);
  EXPECT_EQ(m->Acquire("nope", 1s).status().code(), Status::Code::kNotFound);
}

TEST_F(ManagerTest, AcquireTimesOutAndCanBeCancelled) {
  auto m = Make(MakeOptions({Model("a", base_, {"--delay-ms", "600000"})}));
  auto lease = m->Acquire("a", 300ms);
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.status().code(), Status::Code::kTimeout);
  EXPECT_THAT(lease.status().message(), HasSubstr("starting"));
  EXPECT_EQ(m->Get("a")->in_flight, 0);

  CancelToken cancel;
  std::thread canceller([&] {
    rec_.WaitFor([](const Event& e) { return e.kind == Event::Kind::kState && e.pid > 0; });
    cancel.Cancel();
  });
  lease = m->Acquire("a", 60s, &cancel);
  canceller.join();
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.status().code(), Status::Code::kCancelled);
  EXPECT_EQ(m->Get("a")->in_flight, 0);
}

TEST_F(ManagerTest, NoProbeThreadForABackendThatNeverStarted) {
  const size_t before = ThreadCount();
  auto m = Make(MakeOptions({Model("a", base_), Model("b", base_ + 1), Model("c", base_ + 2), Model("d", base_ + 3)}));
  EXPECT_EQ(ThreadCount(), before + 1);  // the supervisor only
  ASSERT_TRUE(m->Start("a").ok());
  ASSERT_TRUE(rec_.WaitState(State::kReady));
  EXPECT_EQ(ThreadCount(), before + 2);  // + a's prober
}

TEST_F(ManagerTest, KillAllEndsEnginesThatIgnoreSigtermWithoutTheGracePeriod) {
  auto model = Model("a", base_, {"--ignore-sigterm"});
  model.stop_grace_s = 60;
  auto m = Make(MakeOptions({model, Model("b", base_ + 1)}));
  ASSERT_TRUE(m->Start("a").ok());
  ASSERT_TRUE(m->Start("b").ok());
  ASSERT_TRUE(m->WaitUntil("a", [](const BackendStatus& s) { return s.state == State::kReady; }, 20s).ok());
  ASSERT_TRUE(m->WaitUntil("b", [](const BackendStatus& s) { return s.state == State::kReady; }, 20s).ok());
  const pid_t a = m->Get("a")->pid;
  // A plain stop waits for the grace period: not done within 1 s.
  EXPECT_EQ(m->StopAllAndWait(1s).code(), Status::Code::kTimeout);
  m->KillAll();
  EXPECT_TRUE(m->StopAllAndWait(10s).ok());
  EXPECT_TRUE(ProcessGone(a, 0ms));
}

}  // namespace
}  // namespace llmdesk::manager
