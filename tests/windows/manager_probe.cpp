// llmdesk-win-manager-probe.exe — the manager's Windows seams, driven by tests/windows/manager_under_wine.sh:
//   lock DIR            Manager::Create on DIR (state) and holds the one-instance lock until stdin ends. Prints
//                       "locked PID"; a second holder prints the refusal and exits 3 (AlreadyExists), 1 otherwise.
//   supervise DIR PROBE  runs PROBE (llmdesk-win-probe.exe) as `command:` models under a Manager: one that prints a
//                       line and exits (the supervisor must see the output and the exit: the backend fails with
//                       the exit as its reason, the line in its log), and one that prints a line and waits forever:
//                       the line must be seen while it runs, then it is stopped and its exit must be seen. Every wait is bounded (60 s); exit 0 = PASS.
#include <windows.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <iostream>
#include <string>

#include "config/config.h"
#include "manager/manager.h"
#include "platform/user_dirs.h"

using namespace llmdesk;

namespace {

constexpr auto kBound = std::chrono::seconds(60);

manager::Options OptionsFor(const std::string& dir) {
  manager::Options o;
  o.state_dir = platform::PathFromUtf8(dir) / "state";
  o.log_dir = platform::PathFromUtf8(dir) / "logs";
  o.max_restarts = 0;  // a child's exit fails the backend at once, with the exit as its reason
  return o;
}

int Lock(const std::string& dir) {
  auto mgr = manager::Manager::Create(OptionsFor(dir));
  if (!mgr.ok()) {
    std::printf("refused: %s\n", mgr.status().message().c_str());
    return mgr.status().code() == Status::Code::kAlreadyExists ? 3 : 1;
  }
  std::printf("locked %lu\n", static_cast<unsigned long>(GetCurrentProcessId()));
  std::fflush(stdout);
  for (std::string line; std::getline(std::cin, line);) {}
  return 0;
}

config::ModelConfig CommandModel(const std::string& name, std::vector<std::string> argv) {
  config::ModelConfig m;
  m.name = name;
  m.kind = config::ModelConfig::Kind::kCommand;
  m.command = std::move(argv);
  m.stop_grace_s = 1;
  m.startup_timeout_s = 120;
  return m;
}

bool LogHas(manager::Manager& mgr, const std::string& name, const std::string& text) {
  for (const auto& line : mgr.LogTail(name, 100))
    if (line.find(text) != std::string::npos) return true;
  return false;
}

int Fail(manager::Manager& mgr, const std::string& name, const std::string& why) {
  std::printf("FAIL: %s\nlog of %s:\n", why.c_str(), name.c_str());
  for (const auto& line : mgr.LogTail(name, 50)) std::printf("  %s\n", line.c_str());
  return 1;
}

int Supervise(const std::string& dir, const std::string& probe) {
  manager::Options o = OptionsFor(dir);
  o.config.models.push_back(CommandModel("exits", {probe, "echo-args", "hello from the child"}));
  o.config.models.push_back(CommandModel("waits", {probe, "child"}));
  auto created = manager::Manager::Create(std::move(o));
  if (!created.ok()) {
    std::printf("FAIL: Manager::Create: %s\n", created.status().message().c_str());
    return 1;
  }
  manager::Manager& mgr = **created;

  // 1. A child that prints and exits: seen through its output event and its process handle.
  if (Status st = mgr.Start("exits"); !st.ok()) return Fail(mgr, "exits", "Start: " + st.message());
  auto failed = mgr.WaitUntil("exits", [](const manager::BackendStatus& s) { return s.state == manager::State::kFailed; },
                              kBound);
  if (!failed.ok()) return Fail(mgr, "exits", "the exit of the child was not seen within 60 s: " + failed.status().message());
  std::printf("exits: failed: %s\n", failed->reason.c_str());
  if (failed->reason.find("exited with code 0") == std::string::npos)
    return Fail(mgr, "exits", "the reason does not name the exit");
  if (!LogHas(mgr, "exits", "arg[0]=hello from the child"))
    return Fail(mgr, "exits", "the child's output line is not in the backend's log");
  std::printf("exits: output line seen\n");

  // 2. A child that prints a line and then waits forever: the line must arrive while it runs (only its output
  // event can wake the supervisor for it: nothing else happens), then it is stopped (Ctrl+Break, or at once
  // TerminateJobObject without a console) and its exit seen.
  std::mutex mu;
  std::condition_variable cv;
  bool line_seen = false;
  auto sub = mgr.Subscribe([&](const manager::Event& e) {
    if (e.kind != manager::Event::Kind::kLog || e.backend != "waits" || e.reason.rfind("child ready", 0) != 0) return;
    std::lock_guard lock(mu);
    line_seen = true;
    cv.notify_all();
  });
  if (Status st = mgr.Start("waits"); !st.ok()) return Fail(mgr, "waits", "Start: " + st.message());
  {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, kBound, [&] { return line_seen; }))
      return Fail(mgr, "waits", "the running child's output line was not seen within 60 s");
  }
  auto started = mgr.Get("waits");
  if (!started.ok() || started->pid <= 0 || started->state != manager::State::kStarting)
    return Fail(mgr, "waits", "the child is not running after its line");
  std::printf("waits: output line seen while it runs\n");
  if (Status st = mgr.Stop("waits"); !st.ok()) return Fail(mgr, "waits", "Stop: " + st.message());
  auto stopped = mgr.WaitUntil("waits", [](const manager::BackendStatus& s) { return s.state == manager::State::kStopped; },
                               kBound);
  if (!stopped.ok()) return Fail(mgr, "waits", "the stopped child's exit was not seen within 60 s: " + stopped.status().message());
  std::printf("waits: stopped (PID %d)\n", static_cast<int>(started->pid));
  std::printf("PASS\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "lock" && argc == 3) return Lock(argv[2]);
  if (mode == "supervise" && argc == 4) return Supervise(argv[2], argv[3]);
  std::fprintf(stderr, "usage: llmdesk-win-manager-probe lock DIR | supervise DIR PROBE_EXE\n");
  return 2;
}
