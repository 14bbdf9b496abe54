// One backend's life, on the supervisor thread: start (checks, port, spawn), readiness, port retry,
// crash restart with backoff, stop. Every state change goes through Transition (the table in state.cpp).
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>

#include "engine/engine.h"
#include "manager/impl.h"

namespace llmdesk::manager {
namespace {

constexpr size_t kReasonLines = 12;  // log lines quoted in a failure reason
constexpr auto kProbeIntervalMax = std::chrono::milliseconds(100);

std::string LastLines(const std::deque<std::string>& recent) {
  std::string out;
  size_t skip = recent.size() > kReasonLines ? recent.size() - kReasonLines : 0;
  for (size_t k = skip; k < recent.size(); ++k) out += "\n  " + recent[k];
  return out.empty() ? " (it printed nothing)" : ":" + out;
}

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(std::max(0.0, seconds) * 1000));
}

}  // namespace

bool Manager::Impl::Transition(size_t i, State to, std::string reason) {
  auto& b = backends[i];
  const State from = b.status.state;
  if (!IsValidTransition(from, to)) {
    spdlog::error("llmdesk manager: refused transition {} -> {} for '{}' ({})", ToString(from), ToString(to),
                  b.status.name, reason);
    return false;
  }
  b.status.state = to;
  b.status.reason = std::move(reason);
  b.status.since = std::chrono::system_clock::now();
  if (to == State::kReady) b.status.progress = 1, b.status.stage.clear();
  if (to == State::kStopped || to == State::kFailed) {
    b.status.progress = -1;
    b.status.stage.clear();
    b.status.pid = 0;
    b.status.port = 0;
  }
  Publish(i);
  Event e;
  e.kind = Event::Kind::kState;
  e.backend = b.status.name;
  e.old_state = from;
  e.new_state = to;
  e.port = b.status.port;
  e.pid = b.status.pid;
  e.reason = b.status.reason;
  e.progress = b.status.progress;
  e.stage = b.status.stage;
  Emit(std::move(e));
  return true;
}

void Manager::Impl::Fail(size_t i, std::string reason) {
  auto& b = backends[i];
  b.spawn_at.reset();
  b.probe_at.reset();
  b.startup_deadline.reset();
  Retire(i, Millis(b.model.stop_grace_s));
  if (b.status.state != State::kStarting && b.status.state != State::kReady)
    Transition(i, State::kStarting, "starting");
  Transition(i, State::kFailed, std::move(reason));
}

void Manager::Impl::Retire(size_t i, std::chrono::milliseconds grace) {
  auto& b = backends[i];
  ++b.generation;
  if (!b.child) return;
  if (auto it = children.find(b.child); it != children.end()) it->second.child->Terminate(grace);
  b.child = 0;
}

void Manager::Impl::DoStart(size_t i) {
  auto& b = backends[i];
  if (quitting || (b.status.state != State::kStopped && b.status.state != State::kFailed)) return;
  b.crashes.clear();
  b.status.restarts = 0;
  b.failed_ports.clear();
  b.port_attempts = 0;
  b.port_note.clear();
  b.start_after_stop = false;

  if (b.model.kind == config::ModelConfig::Kind::kRemote) {
    ++b.generation;
    Transition(i, State::kStarting, "checking " + b.model.url);
    b.startup_deadline = Clock::now() + Millis(std::min(b.model.startup_timeout_s, 30.0));
    RequestProbe(i);
    return;
  }
  if (Status st = config::CheckModelStartable(b.model); !st.ok()) return Fail(i, st.message());
  if (b.model.kind == config::ModelConfig::Kind::kLocal) {
    if (!options.llama_server.empty()) {
      if (access(options.llama_server.c_str(), X_OK) != 0)
        return Fail(i, "the engine " + options.llama_server.string() +
                           " is not an executable file; run scripts/setup to build it");
      b.engine = options.llama_server;
    } else {
      auto located = engine::LocateLlamaServer(options.config.engine, config::ProcessEnv());
      if (!located.ok()) return Fail(i, located.status().message());
      b.engine = located->path;
    }
  }
  SpawnAttempt(i, "");
}

void Manager::Impl::SpawnAttempt(size_t i, const std::string& retry_why) {
  auto& b = backends[i];
  internal::PortQuery q;
  q.configured = b.model.port;
  q.ports = options.config.ports;
  for (size_t j = 0; j < backends.size(); ++j)
    if (j != i && backends[j].status.port) q.ours.emplace(backends[j].status.port, backends[j].status.name);
  for (const auto& [serial, t] : children)  // engines still shutting down may hold their port a moment
    q.ours.emplace(t.port, backends[t.backend].status.name);
  q.failed = b.failed_ports;
  q.find_holder = [](int port) { return net::FindPortHolder(port); };
  q.listeners = [] { return net::ListListeners(); };
  q.unprivileged_start = internal::UnprivilegedPortStart();
  q.privileged = geteuid() == 0;
  auto choice = internal::ChoosePort(q);
  if (!choice.ok()) return Fail(i, choice.status().message());
  const int port = choice->port;
  b.port_note = choice->note;  // empty when the configured port is used

  auto spec = internal::BuildSpawnSpec(b.model, b.engine, port);
  auto spawned = process::Child::Spawn(spec);
  if (!spawned.ok()) {
    std::string why = spawned.status().message();
    if (b.model.kind == config::ModelConfig::Kind::kLocal) why += "; run scripts/setup to build llama-server";
    return Fail(i, why);
  }
  std::unique_ptr<process::Child> child = std::move(spawned).value();
  std::string command;
  for (const auto& a : spec.argv) command += (command.empty() ? "" : " ") + a;
  b.log->Add(fmt::format("=== llmdesk: started PID {} on port {}: {}", child->pid(), port, command));

  Tracked t;
  t.backend = i;
  t.port = port;
  t.start_time = process::ProcessStartTime(child->pid()).value_or(0);
  t.child = std::move(child);
  const pid_t pid = t.child->pid();
  const uint64_t serial = next_serial++;
  Watch(serial, std::move(t));

  const auto now = Clock::now();
  b.child = serial;
  ++b.generation;
  b.status.pid = pid;
  b.status.port = port;
  b.status.progress = -1;
  b.status.stage.clear();
  b.probe_interval = std::chrono::milliseconds(10);
  b.probe_at = now + b.probe_interval;
  b.probe_in_flight = false;
  b.startup_deadline = now + Millis(b.model.startup_timeout_s);
  std::string reason = !retry_why.empty()     ? retry_why + "; using " + std::to_string(port)
                       : !b.port_note.empty() ? b.port_note
                                              : "starting on port " + std::to_string(port);
  Transition(i, State::kStarting, reason);
  WriteStateFile();
}

void Manager::Impl::RequestProbe(size_t i) {
  auto& b = backends[i];
  b.probe_at.reset();
  b.probe_in_flight = true;
  using std::chrono::milliseconds;
  if (b.model.kind == config::ModelConfig::Kind::kRemote)
    b.prober->Probe(b.generation, b.model.url, {"/models"}, milliseconds(3000), milliseconds(5000));
  else
    b.prober->Probe(b.generation, "http://127.0.0.1:" + std::to_string(b.status.port), {"/health", "/v1/models"},
                    milliseconds(200), milliseconds(2000));
}

void Manager::Impl::OnProbeResult(size_t i, uint64_t generation, int http_status, const std::string& detail) {
  auto& b = backends[i];
  if (generation != b.generation) return;
  b.probe_in_flight = false;
  if (b.status.state != State::kStarting) return;
  if (b.model.kind == config::ModelConfig::Kind::kRemote) {
    b.startup_deadline.reset();
    if (http_status >= 200 && http_status < 300) {
      Transition(i, State::kReady, "remote server answering at " + b.model.url);
    } else {
      Fail(i, b.model.url + "/models did not answer with 200 (" +
                  (http_status > 0 ? "HTTP " + std::to_string(http_status) : detail) + ")");
    }
    return;
  }
  if (!b.child) return;
  if (http_status == 200) {
    b.startup_deadline.reset();
    const std::string port = std::to_string(b.status.port);
    Transition(i, State::kReady,
               b.port_note.empty() ? "ready on port " + port : "ready on port " + port + " (" + b.port_note + ")");
    return;
  }
  b.probe_interval = std::min(kProbeIntervalMax, b.probe_interval * 3 / 2);
  b.probe_at = Clock::now() + b.probe_interval;
}

void Manager::Impl::DoStop(size_t i, bool then_start) {
  auto& b = backends[i];
  switch (b.status.state) {
    case State::kStopped:
      if (then_start) DoStart(i);
      return;
    case State::kFailed:
      Transition(i, State::kStopped, "stopped");
      if (then_start) DoStart(i);
      return;
    case State::kStopping:
      b.start_after_stop = b.start_after_stop || then_start;
      return;
    case State::kStarting:
    case State::kReady:
      break;
  }
  b.start_after_stop = then_start && !quitting;
  b.spawn_at.reset();
  b.probe_at.reset();
  b.startup_deadline.reset();
  ++b.generation;
  Transition(i, State::kStopping,
             then_start ? "restart requested"
             : quitting ? "llmdesk is exiting"
                        : "stop requested");
  if (auto it = children.find(b.child); b.child && it != children.end()) {
    it->second.child->Terminate(Millis(b.model.stop_grace_s));
    return;  // OnExit finishes the stop
  }
  b.child = 0;
  Transition(i, State::kStopped, "stopped");
  if (b.start_after_stop) DoStart(i);
}

void Manager::Impl::StopAllForQuit() {
  for (size_t i = 0; i < backends.size(); ++i) DoStop(i, false);
}

void Manager::Impl::OnExit(uint64_t serial, Tracked tracked) {
  const size_t i = tracked.backend;
  auto& b = backends[i];
  const auto exit = *tracked.child->exit_status();
  const std::string what = exit.ToString();
  b.log->Add(fmt::format("=== llmdesk: PID {} {}", tracked.child->pid(), what));
  if (b.child != serial) return;  // a retired engine finished going away
  b.child = 0;
  b.probe_at.reset();
  ++b.generation;

  switch (b.status.state) {
    case State::kStopping: {
      Transition(i, State::kStopped, "stopped (" + what + ")");
      bool again = b.start_after_stop;
      b.start_after_stop = false;
      if (again) DoStart(i);
      return;
    }
    case State::kStarting:
      if (tracked.address_in_use) {
        b.failed_ports.insert(tracked.port);
        if (++b.port_attempts >= options.port_attempts)
          return Fail(i, fmt::format("the engine could not bind a port {} times in a row (last: {}); last log lines{}",
                                     b.port_attempts, tracked.port, LastLines(tracked.recent)));
        std::string why = "port " + std::to_string(tracked.port) + " was taken after llmdesk looked";
        if (auto h = net::FindPortHolder(tracked.port))
          why = "port " + std::to_string(tracked.port) + " " + h->Describe();
        return SpawnAttempt(i, why + " (the engine could not bind it)");
      }
      if (exit.signal) return OnCrash(i, what, tracked.recent);
      return Fail(i, "the engine " + what + " while starting; last log lines" + LastLines(tracked.recent));
    case State::kReady:
      return OnCrash(i, what, tracked.recent);
    case State::kStopped:
    case State::kFailed:
      return;
  }
}

void Manager::Impl::OnCrash(size_t i, const std::string& what, const std::deque<std::string>& recent) {
  auto& b = backends[i];
  const auto now = Clock::now();
  b.crashes.push_back(now);
  while (!b.crashes.empty() && now - b.crashes.front() > options.restart_window) b.crashes.pop_front();
  const int crashes = static_cast<int>(b.crashes.size());
  b.status.restarts = crashes;
  if (crashes > options.max_restarts)
    return Fail(i,
                fmt::format("the engine crashed {} times within {} s (last: {}); not restarting it; last log lines{}",
                            crashes, options.restart_window.count(), what, LastLines(recent)));
  auto backoff = options.backoff_initial * (1LL << std::min(crashes - 1, 20));
  backoff = std::min<std::chrono::milliseconds>(backoff, options.backoff_max);
  b.spawn_at = now + backoff;
  b.failed_ports.clear();
  b.port_attempts = 0;
  b.status.pid = 0;
  Transition(
      i, State::kStarting,
      fmt::format("the engine {}; restart {} of {} in {} ms", what, crashes, options.max_restarts, backoff.count()));
}

}  // namespace llmdesk::manager
