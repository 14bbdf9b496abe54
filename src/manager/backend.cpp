// Backend, part 1: the state machine step and the commands — start (checks, port, spawn), stop, kill.
// Part 2 (backend_events.cpp): what happens to a running backend — output, exits, probes, timers.
#include "manager/backend.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/engine.h"
#include "manager/host_os.h"
#include "manager/port_choice.h"
#include "manager/spawn.h"
#include "platform/user_dirs.h"

namespace llmdesk::manager {
namespace {

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(std::max(0.0, seconds) * 1000));
}

}  // namespace

Backend::Backend(BackendHost& host, config::ModelConfig model, std::string log_file,
                 std::shared_ptr<process::LineLog> log, std::shared_ptr<Lease::Hold> hold)
    : host_(host), model_(std::move(model)), log_(std::move(log)), hold_(std::move(hold)) {
  status_.name = model_.name;
  status_.kind = model_.kind;
  status_.configured_port = model_.port;
  status_.remote_url = model_.url;
  status_.label = model_.label;
  status_.log_file = std::move(log_file);
  status_.since = std::chrono::system_clock::now();
  for (const auto& worker : model_.rpc) status_.rpc_workers.push_back({worker, "unknown", "not checked yet"});
}

Backend::~Backend() {
  prober_.reset();  // joins the helper before anything it reports to goes away
}

bool Backend::Transition(State expected, State to, std::string reason) {
  const State from = status_.state;
  if (from != expected || !IsValidTransition(from, to)) {
    spdlog::error("llmdesk manager: refused transition {} -> {} for '{}' (it is {}): {}", ToString(expected),
                  ToString(to), status_.name, ToString(from), reason);
    return false;
  }
  status_.state = to;
  status_.reason = std::move(reason);
  status_.since = std::chrono::system_clock::now();
  if (to == State::kReady) status_.progress = 1, status_.stage.clear(), ready_at_ = Clock::now();
  if (to == State::kStopped || to == State::kFailed) {
    status_.progress = -1;
    status_.stage.clear();
    status_.pid = 0;
    status_.port = 0;
  }
  host_.Publish(*this);
  host_.Emit(EventFor(status_, Event::Kind::kState, from));
  return true;
}

void Backend::Fail(std::string reason) {
  spawn_at_.reset();
  probe_at_.reset();
  startup_deadline_.reset();
  Retire(Millis(model_.stop_grace_s));
  Transition(status_.state, State::kFailed, std::move(reason));
}

void Backend::Retire(std::chrono::milliseconds grace) {
  ++generation_;
  if (!active_) return;
  if (auto it = children_.find(active_); it != children_.end()) it->second.child->Terminate(grace);
  active_ = 0;
}

void Backend::StartIfNotStartedSince(uint64_t seen_start_serial) {
  if (start_serial_ == seen_start_serial) Start();
}

void Backend::Start() {
  if (removed_ || host_.quitting() || !IsAllowed(status_.state, Trigger::kStart)) return;
  ++start_serial_;
  crashes_.clear();
  status_.restarts = 0;
  failed_ports_.clear();
  port_attempts_ = 0;
  port_note_.clear();
  start_after_stop_ = false;
  if (is_remote()) {
    ++generation_;
    Transition(status_.state, State::kStarting, "checking " + model_.url);
    startup_deadline_ = Clock::now() + Millis(std::min(model_.startup_timeout_s, 30.0));
    RequestProbe();
    return;
  }
  if (Status st = config::CheckModelStartable(model_); !st.ok()) return Fail(st.message());
  if (Status st = ResolveModelFile(); !st.ok()) return Fail(st.message());
  WarnIfNoToolSupport();
  if (model_.kind == config::ModelConfig::Kind::kLocal) {
    const auto& configured = host_.options().llama_server;
    if (!configured.empty()) {
      if (!IsExecutableFile(configured))
        return Fail("the engine " + platform::PathToUtf8(configured) + " is not an executable file; run scripts/setup to build it");
      engine_ = configured;
    } else {
      auto located = engine::LocateLlamaServer(host_.options().config.engine, config::ProcessEnv());
      if (!located.ok()) return Fail(located.status().message());
      engine_ = located->path;
    }
    if (Status st = ChooseDevicePlacement(); !st.ok()) return Fail(st.message());
  }
  SpawnChecked();
}

void Backend::SpawnAttempt(const std::string& retry_why) {
  const Options& options = host_.options();
  PortQuery q;
  q.configured = model_.port;
  q.ports = options.config.ports;
  q.ours = host_.PortsInUse(*this);
  for (const auto& [serial, t] : children_)  // our engines still shutting down may hold their port a moment
    q.ours.emplace(t.port, status_.name);
  q.failed = failed_ports_;
  q.find_holder = [](int port) { return net::FindPortHolder(port); };
  q.listeners = [] { return net::ListListeners(); };
  q.unprivileged_start = UnprivilegedPortStart();
  q.privileged = MayBindPrivilegedPorts();
  auto choice = ChoosePort(q);
  if (!choice.ok()) return Fail(choice.status().message());
  const int port = choice->port;
  port_note_ = choice->note;  // empty when the configured port is used

  auto spec = BuildSpawnSpec(SpawnModel(), engine_, port, host_.owner_key());
  auto spawned = process::Child::Spawn(spec);
  if (!spawned.ok()) {
    std::string why = spawned.status().message();
    if (model_.kind == config::ModelConfig::Kind::kLocal) why += "; run scripts/setup to build llama-server";
    return Fail(why);
  }
  std::unique_ptr<process::Child> child = std::move(spawned).value();
  std::string command;
  for (const auto& a : spec.argv) command += (command.empty() ? "" : " ") + a;
  log_->Add(fmt::format("=== llmdesk: started PID {} on port {}: {}", child->pid(), port, command));

  const pid_t pid = child->pid();
  Tracked t;
  t.port = port;
  t.start_time = process::ProcessStartTime(pid).value_or(0);
  t.exe = ProcessImagePath(pid);  // Spawn returns after the exec
  t.argv0 = spec.argv[0];
  const uint64_t serial = host_.Watch(*this, *child);
  t.child = std::move(child);
  children_.emplace(serial, std::move(t));

  const auto now = Clock::now();
  active_ = serial;
  ++generation_;
  status_.pid = pid;
  status_.port = port;
  status_.progress = -1;
  status_.stage.clear();
  status_.placement = {};
  if (!cpu_fallback_.empty()) status_.placement = {.device = "CPU", .note = cpu_fallback_};
  probe_interval_ = std::chrono::milliseconds(10);
  probe_at_ = now + probe_interval_;
  probe_in_flight_ = false;
  killed_because_.clear();
  startup_deadline_ = now + Millis(model_.startup_timeout_s);
  std::string reason = !retry_why.empty()   ? retry_why + "; using " + std::to_string(port)
                       : !port_note_.empty() ? port_note_
                                             : "starting on port " + std::to_string(port);
  Transition(status_.state, State::kStarting, reason);
  host_.RecordsChanged();
}

void Backend::Stop(bool then_start, const std::string& why) {
  switch (status_.state) {
    case State::kStopped:
      if (then_start) Start();
      return;
    case State::kFailed:
      probe_at_.reset();  // a failed remote's watch (WatchFailedRemote) ends with the stop
      Transition(State::kFailed, State::kStopped, "stopped");
      if (then_start) Start();
      return;
    case State::kStopping:
      start_after_stop_ = start_after_stop_ || then_start;
      return;
    case State::kStarting:
    case State::kReady:
      break;
  }
  start_after_stop_ = then_start && !host_.quitting();
  spawn_at_.reset();
  probe_at_.reset();
  startup_deadline_.reset();
  ++generation_;
  if (!Transition(status_.state, State::kStopping, why)) return;
  if (auto it = children_.find(active_); active_ && it != children_.end()) {
    it->second.child->Terminate(Millis(model_.stop_grace_s));
    return;  // OnExit finishes the stop
  }
  active_ = 0;
  Transition(State::kStopping, State::kStopped, "stopped");
  if (std::exchange(start_after_stop_, false)) Start();
}

bool Backend::Reconfigure(config::ModelConfig model) {
  model_ = std::move(model);
  model_file_.clear();
  status_.kind = model_.kind;
  status_.configured_port = model_.port;
  status_.remote_url = model_.url;
  status_.label = model_.label;
  host_.Publish(*this);
  if (status_.state != State::kStarting && status_.state != State::kReady) return false;
  Stop(/*then_start=*/true, "the config changed: restarting with the new settings");
  return true;
}

void Backend::Remove(const std::string& why) {
  removed_ = true;
  start_after_stop_ = false;
  if (status_.state != State::kStopped && status_.state != State::kStopping) Stop(false, why);
}

void Backend::KillNow() {
  start_after_stop_ = false;
  Stop(false, "killed (llmdesk was interrupted twice)");
  for (auto& [serial, t] : children_) t.child->Kill();
}

void Backend::AddRecords(std::vector<EngineRecord>& out) const {
  for (const auto& [serial, t] : children_)
    out.push_back({status_.name, t.child->pid(), t.child->pid(), t.start_time, t.port, t.exe, t.argv0});
}

}  // namespace llmdesk::manager
