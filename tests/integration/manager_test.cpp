// The Manager with real processes on 127.0.0.1: lifecycle, failures, crash restarts, the lock and the
// state file, with the stand-in engine (llmdesk-fake-engine); one test with the real llama-server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "integration/manager_fixture.h"

namespace llmdesk::manager {
namespace {

using namespace std::chrono_literals;
using namespace testing_support;
using test::BinPath;
using ::testing::HasSubstr;

TEST_F(ManagerTest, StartsReadyOnConfiguredPortAndStopsLeavingNoProcess) {
  auto m = Make(MakeOptions({Model("a", base_, {"--delay-ms", "30"})}));
  ASSERT_TRUE(m->Start("a").ok());
  auto ready = rec_.WaitState(State::kReady);
  ASSERT_TRUE(ready) << m->Get("a")->reason;
  EXPECT_EQ(ready->port, base_);
  EXPECT_GT(ready->pid, 0);
  EXPECT_EQ(HealthStatus(base_), 200);
  auto st = m->Get("a");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->state, State::kReady);
  EXPECT_EQ(st->url(), "http://127.0.0.1:" + std::to_string(base_));

  // Ordered events: stopped -> starting -> ready, with loading progress in between.
  auto events = rec_.All();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.front().old_state, State::kStopped);
  EXPECT_EQ(events.front().new_state, State::kStarting);
  EXPECT_TRUE(
      rec_.WaitFor([](const Event& e) { return e.kind == Event::Kind::kProgress && e.stage == "loading model"; }, 0ms));
  for (size_t k = 1; k < events.size(); ++k) EXPECT_GT(events[k].seq, events[k - 1].seq);

  EXPECT_FALSE(m->LogTail("a", 50).empty());
  EXPECT_EQ(m->Start("a").code(), Status::Code::kFailedPrecondition);
  ASSERT_TRUE(m->Stop("a").ok());
  ASSERT_TRUE(rec_.WaitState(State::kStopped));
  EXPECT_TRUE(ProcessGone(ready->pid, 0ms));
  EXPECT_EQ(m->Get("a")->port, 0);
}

TEST_F(ManagerTest, UnknownNameIsNotFound) {
  auto m = Make(MakeOptions({Model("a", base_)}));
  EXPECT_EQ(m->Start("nope").code(), Status::Code::kNotFound);
  EXPECT_EQ(m->Stop("a").code(), Status::Code::kFailedPrecondition);
}

TEST_F(ManagerTest, DestructorStopsRunningEngines) {
  pid_t pid = 0;
  {
    auto m = Make(MakeOptions({Model("a", base_)}));
    ASSERT_TRUE(m->Start("a").ok());
    auto ready = rec_.WaitState(State::kReady);
    ASSERT_TRUE(ready);
    pid = ready->pid;
    sub_ = Subscription();
  }
  EXPECT_TRUE(ProcessGone(pid, 0ms));
}

TEST_F(ManagerTest, KilledEngineIsRestartedWithBackoffThenFailsAfterTheLimit) {
  auto o = MakeOptions({Model("a", base_)});
  o.max_restarts = 2;
  auto m = Make(std::move(o));
  ASSERT_TRUE(m->Start("a").ok());
  auto ready = rec_.WaitState(State::kReady);
  ASSERT_TRUE(ready);
  uint64_t seq = ready->seq;
  for (int crash = 1; crash <= 2; ++crash) {
    ASSERT_EQ(kill(ready->pid, SIGKILL), 0);
    auto restarting = rec_.WaitState(State::kStarting, 20s, seq);
    ASSERT_TRUE(restarting);
    EXPECT_THAT(restarting->reason, HasSubstr("killed by signal 9"));
    EXPECT_THAT(restarting->reason, HasSubstr("restart " + std::to_string(crash) + " of 2"));
    auto again = rec_.WaitState(State::kReady, 20s, restarting->seq);
    ASSERT_TRUE(again) << m->Get("a")->reason;
    EXPECT_NE(again->pid, ready->pid);
    EXPECT_TRUE(ProcessGone(ready->pid, 0ms));
    EXPECT_EQ(m->Get("a")->restarts, crash);
    ready = again;
    seq = again->seq;
  }
  ASSERT_EQ(kill(ready->pid, SIGKILL), 0);
  auto failed = rec_.WaitState(State::kFailed, 20s, seq);
  ASSERT_TRUE(failed);
  EXPECT_THAT(failed->reason, HasSubstr("crashed 3 times"));
  // An explicit start after the failure works again.
  ASSERT_TRUE(m->Start("a").ok());
  EXPECT_TRUE(rec_.WaitState(State::kReady, 20s, failed->seq));
}

TEST_F(ManagerTest, EngineThatExitsAtOnceFailsWithItsLastLines) {
  auto m = Make(MakeOptions({Model("a", base_, {"--exit-code", "3"})}));
  ASSERT_TRUE(m->Start("a").ok());
  auto failed = rec_.WaitState(State::kFailed);
  ASSERT_TRUE(failed);
  EXPECT_THAT(failed->reason, HasSubstr("exited with code 3"));
  EXPECT_THAT(failed->reason, HasSubstr("stand-in asked to exit"));
}

TEST_F(ManagerTest, EngineThatNeverGetsHealthyTimesOutWithLogTail) {
  auto model = Model("a", base_, {"--delay-ms", "600000"});
  model.startup_timeout_s = 0.5;
  model.stop_grace_s = 0.2;
  auto m = Make(MakeOptions({model}));
  ASSERT_TRUE(m->Start("a").ok());
  auto starting = rec_.WaitFor([](const Event& e) { return e.kind == Event::Kind::kState && e.pid > 0; });
  ASSERT_TRUE(starting);
  auto failed = rec_.WaitState(State::kFailed);
  ASSERT_TRUE(failed);
  EXPECT_THAT(failed->reason, HasSubstr("startup_timeout"));
  EXPECT_THAT(failed->reason, HasSubstr("loading model"));
  EXPECT_TRUE(ProcessGone(starting->pid, 10s));
}

TEST_F(ManagerTest, MissingModelFileAndMissingEngineFailClearly) {
  auto missing = Model("nofile", base_);
  missing.model = (dir_.path() / "absent.gguf").string();
  auto o = MakeOptions({missing, Model("noengine", base_ + 1)});
  o.llama_server = dir_.path() / "no-such-llama-server";
  auto m = Make(std::move(o));
  ASSERT_TRUE(m->Start("nofile").ok());
  ASSERT_TRUE(m->Start("noengine").ok());
  auto f1 = rec_.WaitFor([](const Event& e) { return e.new_state == State::kFailed && e.backend == "nofile"; });
  auto f2 = rec_.WaitFor([](const Event& e) { return e.new_state == State::kFailed && e.backend == "noengine"; });
  ASSERT_TRUE(f1);
  ASSERT_TRUE(f2);
  EXPECT_THAT(f1->reason, HasSubstr("absent.gguf does not exist"));
  EXPECT_THAT(f2->reason, HasSubstr("scripts/setup"));
}

TEST_F(ManagerTest, CommandEntriesGetPortAndModelMacrosAndEnv) {
  config::ModelConfig c;
  c.name = "cmd";
  c.kind = config::ModelConfig::Kind::kCommand;
  c.model = model_file_.string();
  c.command = {
      BinPath("llmdesk-fake-engine").string(), "--port", "${PORT}", "-m", "${MODEL}", "--print-env", "LLMDESK_X"};
  c.env = {{"LLMDESK_X", "42"}};
  auto m = Make(MakeOptions({c}));
  ASSERT_TRUE(m->Start("cmd").ok());
  auto ready = rec_.WaitState(State::kReady);
  ASSERT_TRUE(ready) << m->Get("cmd")->reason;
  EXPECT_EQ(ready->port, base_);
  auto tail = m->LogTail("cmd", 50);
  std::string text;
  for (const auto& l : tail) text += l + "\n";
  EXPECT_THAT(text, HasSubstr("env LLMDESK_X=42"));
  EXPECT_THAT(text, HasSubstr("loading model '" + model_file_.string() + "'"));
}

TEST_F(ManagerTest, RestartGivesANewProcessAndStopDuringLoadingWorks) {
  auto m = Make(MakeOptions({Model("a", base_, {"--delay-ms", "600000"})}));
  ASSERT_TRUE(m->Start("a").ok());
  auto starting = rec_.WaitFor([](const Event& e) { return e.kind == Event::Kind::kState && e.pid > 0; });
  ASSERT_TRUE(starting);
  ASSERT_TRUE(m->Restart("a").ok());
  auto restarted = rec_.WaitFor([&](const Event& e) {
    return e.kind == Event::Kind::kState && e.new_state == State::kStarting && e.pid > 0 && e.pid != starting->pid;
  });
  ASSERT_TRUE(restarted);
  EXPECT_TRUE(ProcessGone(starting->pid, 0ms));
  ASSERT_TRUE(m->Stop("a").ok());
  ASSERT_TRUE(rec_.WaitState(State::kStopped, 20s, restarted->seq));
  EXPECT_TRUE(ProcessGone(restarted->pid, 0ms));
}

TEST_F(ManagerTest, SecondManagerOnTheSameConfigIsRefusedNamingThePid) {
  auto o = MakeOptions({Model("a", base_)});
  auto first = Make(o);
  auto second = Manager::Create(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kAlreadyExists);
  EXPECT_THAT(second.status().message(),
              HasSubstr("already running for " + o.config.source + " as PID " + std::to_string(getpid())));
  first.reset();
  EXPECT_TRUE(Manager::Create(o).ok());  // the lock goes with the manager
}

TEST_F(ManagerTest, StaleStateFileEnginesAreKilledButReusedPidsAreNot) {
  auto o = MakeOptions({Model("a", base_)});
  std::string key;
  {
    auto store = StateStore::Open(o.state_dir, o.config.source);
    ASSERT_TRUE(store.ok());
    key = (*store)->key();
  }
  // Two live processes: one started like our engines (owner mark) and recorded with its true start
  // time (a leftover engine), one recorded with a wrong start time (its PID "was reused").
  auto spawn = [&](int port) {
    auto c = process::Child::Spawn({{BinPath("llmdesk-fake-engine").string(), "--listen-only", std::to_string(port)},
                                    {{kOwnerEnv, key}}});
    if (!c.ok()) throw std::runtime_error(c.status().ToString());
    return std::move(c).value();
  };
  auto leftover = spawn(base_ + 2);
  auto unrelated = spawn(base_ + 3);
  {
    auto store = StateStore::Open(o.state_dir, o.config.source);
    ASSERT_TRUE(store.ok());
    auto t1 = process::ProcessStartTime(leftover->pid());
    auto t2 = process::ProcessStartTime(unrelated->pid());
    ASSERT_TRUE(t1 && t2);
    const std::string exe = BinPath("llmdesk-fake-engine").string();
    ASSERT_TRUE((*store)
                    ->Write({{"a", leftover->pid(), leftover->pid(), *t1, base_ + 2, exe, exe},
                             {"b", unrelated->pid(), unrelated->pid(), *t2 + 1, base_ + 3, exe, exe}})
                    .ok());
  }
  auto m = Make(o);
  EXPECT_TRUE(ProcessGone(leftover->pid(), 5s));
  EXPECT_FALSE(ProcessGone(unrelated->pid(), 0ms));
  std::string notes;
  for (const auto& n : m->startup_notes()) notes += n + "\n";
  EXPECT_THAT(notes, HasSubstr("stopped stale engine 'a' (PID " + std::to_string(leftover->pid())));
  EXPECT_THAT(notes, HasSubstr("left alone"));
}

// A record naming someone else's process (right PID, start time and even its program) must not get it
// killed: it lacks the owner mark our engines carry.
TEST_F(ManagerTest, PlantedRecordNamingAnotherProcessKillsNothing) {
  auto o = MakeOptions({Model("a", base_)});
  test::ChildProcess victim({BinPath("llmdesk-fake-engine").string(), "--listen-only", std::to_string(base_ + 2)},
                            dir_.path() / "victim.log");
  {
    auto store = StateStore::Open(o.state_dir, o.config.source);
    ASSERT_TRUE(store.ok());
    auto t = process::ProcessStartTime(victim.pid());
    ASSERT_TRUE(t);
    const std::string exe = BinPath("llmdesk-fake-engine").string();
    ASSERT_TRUE((*store)->Write({{"a", victim.pid(), victim.pid(), *t, base_ + 2, exe, exe}}).ok());
  }
  auto m = Make(o);
  EXPECT_FALSE(victim.Exited());
  std::string notes;
  for (const auto& n : m->startup_notes()) notes += n + "\n";
  EXPECT_THAT(notes, HasSubstr("not an engine this llmdesk started; left alone"));
}

TEST_F(ManagerTest, MalformedStateFileDoesNotStopCreate) {
  auto o = MakeOptions({Model("a", base_)});
  std::filesystem::path state_path;
  {
    auto store = StateStore::Open(o.state_dir, o.config.source);
    ASSERT_TRUE(store.ok());
    state_path = (*store)->state_path();
  }
  for (const char* text : {R"({"engines":[{"pid":"1"}]})", R"({"engines":[1]})", R"({"engines":{}})", "[1,2"}) {
    std::ofstream(state_path) << text;
    auto m = Manager::Create(o);
    ASSERT_TRUE(m.ok()) << text << ": " << m.status().ToString();
    EXPECT_FALSE((*m)->startup_notes().empty()) << text;
  }
}

// Duplicate names are rejected by the config loader; Manager::Create must still be safe on its own:
// a skipped duplicate must not shift the backends after it (it used to index one slot too far).
TEST_F(ManagerTest, DuplicateNamesDoNotShiftLaterBackends) {
  auto o = MakeOptions({Model("a", base_), Model("a", base_ + 1), Model("b", base_ + 2), Model("c", base_ + 3)});
  auto m = Make(std::move(o));
  ASSERT_EQ(m->List().size(), 3u);
  EXPECT_THAT(m->startup_notes().front(), HasSubstr("second model named 'a'"));
  ASSERT_TRUE(m->Start("c").ok());
  auto ready = m->WaitUntil("c", [](const BackendStatus& s) { return s.state == State::kReady; }, 20s);
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_EQ(ready->name, "c");
  EXPECT_EQ(ready->port, base_ + 3);
  EXPECT_EQ(m->Get("b")->state, State::kStopped);
  EXPECT_EQ(m->Get("a")->configured_port, base_);
}

// A crash while starting, with the restart backoff reaching past the first engine's startup deadline,
// must restart (the deadline belongs to the engine that crashed), not end in failed.
TEST_F(ManagerTest, CrashNearTheStartupDeadlineIsRestartedNotFailed) {
  auto model = Model("a", base_, {"--delay-ms", "300"});
  model.startup_timeout_s = 1.5;
  auto o = MakeOptions({model});
  o.backoff_initial = 2000ms;  // the restart comes after the first deadline
  o.backoff_max = 2000ms;
  auto m = Make(std::move(o));
  ASSERT_TRUE(m->Start("a").ok());
  auto starting = rec_.WaitFor([](const Event& e) { return e.kind == Event::Kind::kState && e.pid > 0; });
  ASSERT_TRUE(starting);
  ASSERT_EQ(kill(starting->pid, SIGKILL), 0);
  auto ready = rec_.WaitState(State::kReady, 20s);
  ASSERT_TRUE(ready) << m->Get("a")->reason;
  EXPECT_NE(ready->pid, starting->pid);
  EXPECT_FALSE(rec_.WaitState(State::kFailed, 0ms));
}

TEST_F(ManagerTest, ReplayDeliversCurrentStateFirst) {
  auto m = Make(MakeOptions({Model("a", base_), Model("b", 0)}));
  Recorder replay;
  auto sub = m->Subscribe([&](const Event& e) { replay.Add(e); }, /*replay_state=*/true);
  auto a = replay.WaitFor([](const Event& e) { return e.backend == "a"; });
  auto b = replay.WaitFor([](const Event& e) { return e.backend == "b"; });
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->new_state, State::kStopped);
  EXPECT_LT(a->seq, b->seq);
}

TEST_F(ManagerTest, RemoteEntriesAreProbedNeverSpawned) {
  const int port = base_ + 4;
  test::ChildProcess server({BinPath("llmdesk-fake-engine").string(), "--port", std::to_string(port)},
                            dir_.path() / "remote.log");
  ASSERT_TRUE(test::WaitForHttp200(port, "/health", 20s, &server));
  config::ModelConfig up, down;
  up.name = "up";
  up.kind = down.kind = config::ModelConfig::Kind::kRemote;
  up.url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  down.name = "down";
  down.url = "http://127.0.0.1:" + std::to_string(base_ + 5) + "/v1";  // nothing listens there
  auto m = Make(MakeOptions({up, down}));
  ASSERT_TRUE(m->Start("up").ok());
  ASSERT_TRUE(m->Start("down").ok());
  auto ready = m->WaitUntil(
      "up", [](const BackendStatus& s) { return s.state == State::kReady; }, 20s);
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_EQ(ready->url(), up.url);
  EXPECT_EQ(ready->pid, 0);
  auto failed = m->WaitUntil(
      "down", [](const BackendStatus& s) { return s.state == State::kFailed; }, 20s);
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_THAT(failed->reason, HasSubstr(down.url));
  ASSERT_TRUE(m->Stop("up").ok());
  EXPECT_TRUE(m->WaitUntil(
                   "up", [](const BackendStatus& s) { return s.state == State::kStopped; }, 20s)
                  .ok());
  EXPECT_FALSE(server.Exited());
}

TEST_F(ManagerTest, KilledManagerLeavesNoEngineAndTheNextOneStartsClean) {
  auto o = MakeOptions({Model("a", base_)});
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  // A manager in a forked process (only this thread is copied; nothing else runs in the test yet).
  pid_t manager_pid = fork();
  ASSERT_GE(manager_pid, 0);
  if (manager_pid == 0) {
    close(report[0]);
    auto m = Manager::Create(o);
    if (!m.ok()) _exit(2);
    (void)(*m)->Start("a");
    auto st = (*m)->WaitUntil(
        "a", [](const BackendStatus& s) { return s.state == State::kReady; }, 20s);
    pid_t engine = st.ok() ? st->pid : 0;
    (void)!write(report[1], &engine, sizeof(engine));
    for (;;) pause();
  }
  close(report[1]);
  UniqueFd report_r(report[0]);
  pid_t engine = 0;
  ASSERT_TRUE(WaitReadable(report_r.get(), 30s));
  ASSERT_EQ(read(report_r.get(), &engine, sizeof(engine)), static_cast<ssize_t>(sizeof(engine)));
  kill(manager_pid, SIGKILL);
  int status = 0;
  waitpid(manager_pid, &status, 0);
  ASSERT_GT(engine, 0);
  EXPECT_TRUE(ProcessGone(engine, 5s));  // PR_SET_PDEATHSIG
  auto next = Manager::Create(o);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_TRUE((*next)->startup_notes().empty());
  ASSERT_TRUE((*next)->Start("a").ok());
  auto ready = (*next)->WaitUntil(
      "a", [](const BackendStatus& s) { return s.state == State::kReady; }, 20s);
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_EQ(ready->port, base_);
}

TEST_F(ManagerTest, RealLlamaServerWithGeneratedModelBecomesHealthy) {
  const auto testmodel = BinPath("llmdesk-testmodel");
  ASSERT_TRUE(std::filesystem::exists(testmodel)) << testmodel << " is not built (build the llmdesk-testmodel target)";
  ASSERT_TRUE(std::filesystem::exists(test::LlamaServerPath())) << "run scripts/setup";
  const auto gguf = dir_.path() / "m.gguf";
  auto gen = test::RunCommand({testmodel.string(), "--out", gguf.string()}, 120s);
  ASSERT_EQ(gen.exit_code, 0) << gen.out << gen.err;
  auto model = Model("real", base_);
  model.model = gguf.string();
  model.startup_timeout_s = 120;
  auto o = MakeOptions({model});
  o.llama_server = test::LlamaServerPath();
  auto m = Make(std::move(o));
  ASSERT_TRUE(m->Start("real").ok());
  auto ready = rec_.WaitState(State::kReady, 150s);
  ASSERT_TRUE(ready) << m->Get("real")->reason;
  EXPECT_EQ(HealthStatus(ready->port), 200);
  EXPECT_TRUE(rec_.WaitFor([](const Event& e) { return e.kind == Event::Kind::kProgress; }, 0ms));
  ASSERT_TRUE(m->Stop("real").ok());
  ASSERT_TRUE(rec_.WaitState(State::kStopped, 30s));
  EXPECT_TRUE(ProcessGone(ready->pid, 0ms));
}

}  // namespace
}  // namespace llmdesk::manager
