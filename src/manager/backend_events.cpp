// Backend, part 2: a running backend — its output lines, its exit (port retry, crash restart with
// backoff), readiness and health probes, and its timers (backoff, startup deadline, probes, ttl).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "manager/backend.h"
#include "manager/engine_output.h"
#include "net/ports.h"

namespace llmdesk::manager {
namespace {

constexpr size_t kRecentLines = 40;  // per child, for failure reasons
constexpr size_t kReasonLines = 12;  // log lines quoted in a failure reason
// Readiness polls start at 10 ms and grow to this cap. A refused connection on loopback costs
// microseconds, and a 503 from a loading server about a millisecond, so polling this often is cheap
// and keeps the lag between "healthy" and "ready" small for engines that print nothing.
constexpr auto kProbeIntervalMax = std::chrono::milliseconds(20);

std::string LastLines(const std::deque<std::string>& recent) {
  std::string out;
  size_t skip = recent.size() > kReasonLines ? recent.size() - kReasonLines : 0;
  for (size_t k = skip; k < recent.size(); ++k) out += "\n  " + recent[k];
  return out.empty() ? " (it printed nothing)" : ":" + out;
}

void Consider(std::optional<Clock::time_point>& next, const std::optional<Clock::time_point>& t) {
  if (t && (!next || *t < *next)) next = t;
}

}  // namespace

void Backend::OnOutput(uint64_t serial) {
  auto it = children_.find(serial);
  if (it == children_.end()) return;
  auto& child = *it->second.child;
  if (!child.ReadOutput([&](std::string_view line) { OnLine(serial, line); }) && child.output_open()) {
    host_.UnwatchOutput(child);
    child.CloseOutput();
  }
}

void Backend::OnPidfd(uint64_t serial) {
  auto it = children_.find(serial);
  if (it == children_.end()) return;
  auto& child = *it->second.child;
  // Whatever it printed before exiting is in the pipe now; read it before judging the exit.
  if (child.output_open()) {
    child.ReadOutput([&](std::string_view line) { OnLine(serial, line); });
    host_.UnwatchOutput(child);
    child.CloseOutput();  // a grandchild may keep the pipe open: its later output is not ours to wait for
  }
  if (!child.TryReap()) return;  // not yet (cannot happen once the pidfd is readable)
  host_.Forget(serial, child);
  Tracked tracked = std::move(it->second);
  children_.erase(it);
  const bool was_active = active_ == serial;
  if (was_active) active_ = 0;
  OnExit(std::move(tracked), was_active);
  host_.RecordsChanged();
}

void Backend::OnLine(uint64_t serial, std::string_view line) {
  auto& tracked = children_.at(serial);
  log_->Add(std::string(line));
  tracked.recent.emplace_back(line);
  if (tracked.recent.size() > kRecentLines) tracked.recent.pop_front();
  if (IsAddressInUseLine(line)) tracked.address_in_use = true;
  if (active_ == serial) OnPlacementLine(line);

  if (active_ == serial && status_.state == State::kStarting) {
    if (auto p = ParseLoadLine(line)) {
      if (p->worth_probing && !probe_in_flight_) probe_at_ = Clock::now();
      if (p->stage != status_.stage || p->progress != status_.progress) {
        status_.stage = p->stage;
        status_.progress = p->progress;
        host_.Publish(*this);
        Event e;
        e.kind = Event::Kind::kProgress;
        e.backend = status_.name;
        e.old_state = e.new_state = status_.state;
        e.port = status_.port;
        e.pid = status_.pid;
        e.progress = p->progress;
        e.stage = p->stage;
        host_.Emit(std::move(e));
      }
    }
  }
  Event e;
  e.kind = Event::Kind::kLog;
  e.backend = status_.name;
  e.old_state = e.new_state = status_.state;
  e.port = tracked.port;
  e.pid = tracked.child->pid();
  e.reason = std::string(line);
  host_.Emit(std::move(e));
}

void Backend::OnExit(Tracked tracked, bool was_active) {
  const auto exit = *tracked.child->exit_status();
  const std::string what = exit.ToString();
  log_->Add(fmt::format("=== llmdesk: PID {} {}", tracked.child->pid(), what));
  if (!was_active) return;  // a retired engine finished going away
  probe_at_.reset();
  ++generation_;

  switch (status_.state) {
    case State::kStopping: {
      Transition(State::kStopping, State::kStopped, "stopped (" + what + ")");
      if (std::exchange(start_after_stop_, false)) Start();
      return;
    }
    case State::kStarting:
      if (tracked.address_in_use) {
        failed_ports_.insert(tracked.port);
        if (++port_attempts_ >= host_.options().port_attempts)
          return Fail(fmt::format("the engine could not bind a port {} times in a row (last: {}); last log lines{}",
                                  port_attempts_, tracked.port, LastLines(tracked.recent)));
        std::string why = "port " + std::to_string(tracked.port) + " was taken after llmdesk looked";
        if (auto h = net::FindPortHolder(tracked.port))
          why = "port " + std::to_string(tracked.port) + " " + h->Describe();
        return SpawnAttempt(why + " (the engine could not bind it)");
      }
      if (exit.abnormal()) return OnCrash(killed_because_.empty() ? what : killed_because_, tracked.recent);
      return Fail("the engine " + what + " while starting; last log lines" + LastLines(tracked.recent));
    case State::kReady:
      return OnCrash(killed_because_.empty() ? what : killed_because_, tracked.recent);
    case State::kStopped:
    case State::kFailed:
      return;
  }
}

void Backend::OnCrash(std::string what, const std::deque<std::string>& recent) {
  const Options& options = host_.options();
  const auto now = Clock::now();
  killed_because_.clear();
  crashes_.push_back(now);
  while (!crashes_.empty() && now - crashes_.front() > options.restart_window) crashes_.pop_front();
  const int crashes = static_cast<int>(crashes_.size());
  status_.restarts = crashes;
  if (crashes > options.max_restarts)
    return Fail(fmt::format("the engine crashed {} times within {} s (last: {}); not restarting it; last log lines{}",
                            crashes, options.restart_window.count(), what, LastLines(recent)));
  auto backoff = options.backoff_initial * (1LL << std::min(crashes - 1, 20));
  backoff = std::min<std::chrono::milliseconds>(backoff, options.backoff_max);
  spawn_at_ = now + backoff;
  // The deadline belonged to the engine that crashed; the next spawn sets its own. (Keeping it made a
  // crash shortly before the deadline end in `failed` while the restart was still waiting.)
  startup_deadline_.reset();
  failed_ports_.clear();
  port_attempts_ = 0;
  status_.pid = 0;
  Transition(status_.state, State::kStarting,
             fmt::format("the engine {}; restart {} of {} in {} ms", what, crashes, options.max_restarts,
                         backoff.count()));
}

void Backend::RequestProbe() {
  probe_at_.reset();
  probe_in_flight_ = true;
  if (!prober_)  // its thread exists only for backends that ever started
    prober_ = std::make_unique<Prober>([this, &host = host_](ProbeResult r) {
      host.Post([this, r = std::move(r)] { OnProbeResult(r); });
    });
  using std::chrono::milliseconds;
  if (!model_.rpc_server_host.empty())
    ProbeRpcServer();
  else if (is_remote())
    prober_->Probe(generation_, model_.url, {"/models"}, milliseconds(3000),
                   status_.state == State::kReady ? host_.options().health_timeout : milliseconds(5000),
                   model_.api_key.empty() ? net::HeaderList{} : net::HeaderList{{"Authorization", "Bearer " + model_.api_key}});
  else if (status_.state == State::kReady)
    prober_->Probe(generation_, "http://127.0.0.1:" + std::to_string(status_.port), {"/health", "/v1/models"},
                   milliseconds(1000), host_.options().health_timeout);
  else
    prober_->Probe(generation_, "http://127.0.0.1:" + std::to_string(status_.port), {"/health", "/v1/models"},
                   milliseconds(200), milliseconds(2000));
}

void Backend::OnProbeResult(const ProbeResult& r) {
  if (r.generation != generation_) return;
  probe_in_flight_ = false;
  if (status_.state == State::kStarting) return OnStartupProbe(r);
  if (status_.state == State::kReady) return is_remote() ? OnRemoteHealthProbe(r) : OnHealthProbe(r);
  if (status_.state == State::kFailed && is_remote()) return OnFailedRemoteProbe(r);
}

void Backend::OnStartupProbe(const ProbeResult& r) {
  if (is_remote()) {
    startup_deadline_.reset();
    if (r.http_status >= 200 && r.http_status < 300) {
      if (!Transition(State::kStarting, State::kReady, "remote server answering at " + model_.url)) return;
      health_failures_ = 0;  // from now on its health is watched like an engine's
      probe_at_ = ready_at_ + host_.options().health_interval;
    } else {
      Fail(model_.url + "/models did not answer with 200 (" +
           (r.http_status > 0 ? "HTTP " + std::to_string(r.http_status) : r.detail) + ")");
      WatchFailedRemote();
    }
    return;
  }
  if (!active_) return;
  if (r.http_status == 200) {
    startup_deadline_.reset();
    const std::string port = std::to_string(status_.port);
    if (!Transition(State::kStarting, State::kReady,
                    port_note_.empty() ? "ready on port " + port : "ready on port " + port + " (" + port_note_ + ")"))
      return;
    health_failures_ = 0;
    probe_at_ = ready_at_ + host_.options().health_interval;
    return;
  }
  probe_interval_ = std::min<std::chrono::milliseconds>(kProbeIntervalMax, probe_interval_ * 3 / 2);
  probe_at_ = Clock::now() + probe_interval_;
}

void Backend::OnHealthProbe(const ProbeResult& r) {
  const Options& options = host_.options();
  if (r.http_status == 200) {
    health_failures_ = 0;
  } else {
    ++health_failures_;
    const bool hung = r.timed_out;
    if (hung || health_failures_ >= options.health_failures) {
      auto it = children_.find(active_);
      if (it == children_.end()) return;
      killed_because_ =
          hung ? fmt::format("stopped answering /health (no answer within {} ms); llmdesk killed it",
                             options.health_timeout.count())
               : fmt::format("stopped answering /health ({} failed checks in a row, last: {}); llmdesk killed it",
                             health_failures_, r.http_status > 0 ? "HTTP " + std::to_string(r.http_status) : r.detail);
      log_->Add("=== llmdesk: " + killed_because_);
      it->second.child->Kill();  // the pidfd reports the exit; OnExit restarts it like a crash
      return;
    }
  }
  probe_at_ = Clock::now() + options.health_interval;
}

std::optional<Clock::time_point> Backend::IdleDeadline() const {
  if (status_.state != State::kReady || model_.ttl_s <= 0) return std::nullopt;
  std::lock_guard lock(hold_->mu);
  if (hold_->in_flight > 0) return std::nullopt;
  Clock::time_point idle_since = ready_at_;
  if (hold_->last_used_steady && *hold_->last_used_steady > idle_since) idle_since = *hold_->last_used_steady;
  return idle_since + std::chrono::seconds(model_.ttl_s);
}

void Backend::CheckIdle(Clock::time_point now) {
  auto due = IdleDeadline();
  if (!due || now < *due) return;
  // Acquire counts itself in under hold_->mu before it looks at the state. Deciding under the same
  // lock and marking `draining` until `stopping` is published means a lease is never granted on a
  // backend that ttl is stopping. (The stop itself runs without the lock: subscribers may call Get.)
  {
    std::lock_guard lock(hold_->mu);
    if (hold_->in_flight > 0) return;
    hold_->draining = true;
  }
  Stop(false, fmt::format("idle for {} s (ttl)", model_.ttl_s));
  std::lock_guard lock(hold_->mu);
  hold_->draining = false;
}

void Backend::OnTimers(Clock::time_point now) {
  for (auto& [serial, tracked] : children_) tracked.child->KillIfOverdue(now);
  if (spawn_at_ && now >= *spawn_at_) {
    spawn_at_.reset();
    SpawnChecked();  // a crash restart: RPC workers are checked again first
  }
  if (status_.state == State::kStarting && startup_deadline_ && now >= *startup_deadline_) {
    startup_deadline_.reset();
    std::string tail;
    if (auto it = children_.find(active_); it != children_.end())
      for (const auto& l : it->second.recent) tail += "\n  " + l;
    Fail((is_remote() ? model_.url + " did not answer" : "not healthy") + std::string(" within ") +
         fmt::format("{:g}", model_.startup_timeout_s) + " s (startup_timeout)" +
         (tail.empty() ? "" : "; last log lines:" + tail));
  }
  if (probe_at_ && now >= *probe_at_ && !probe_in_flight_) RequestProbe();
  CheckIdle(now);
}

std::optional<Clock::time_point> Backend::NextDeadline() const {
  std::optional<Clock::time_point> next;
  for (const auto& [serial, tracked] : children_) Consider(next, tracked.child->NextDeadline());
  Consider(next, spawn_at_);
  if (status_.state == State::kStarting) Consider(next, startup_deadline_);
  if (!probe_in_flight_) Consider(next, probe_at_);
  Consider(next, IdleDeadline());
  return next;
}

}  // namespace llmdesk::manager
