// Public side of the Manager: every method here may run on any thread. Commands are queued for the
// supervisor thread; reads come from the snapshot it publishes after every change.
#include "manager/manager.h"

#include "manager/supervisor.h"

namespace llmdesk::manager {
namespace {

Status NoSuchBackend(const std::string& name) { return Status::NotFound("no backend named '" + name + "' in the config"); }

std::string PortSuffix(const BackendStatus& s) { return s.port ? " on port " + std::to_string(s.port) : ""; }


}  // namespace

std::string BackendStatus::url() const {
  if (kind == config::ModelConfig::Kind::kRemote) return remote_url;
  return port ? "http://127.0.0.1:" + std::to_string(port) : "";
}

Event EventFor(const BackendStatus& s, Event::Kind kind, State old_state) {
  Event e;
  e.kind = kind;
  e.backend = s.name;
  e.old_state = old_state;
  e.new_state = s.state;
  e.port = s.port;
  e.pid = s.pid;
  e.reason = s.reason;
  e.progress = s.progress;
  e.stage = s.stage;
  return e;
}

// ---- Lease ----------------------------------------------------------------------------------------------

Lease::Lease(Lease&& other) noexcept : hold_(std::move(other.hold_)), status_(std::move(other.status_)) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    hold_ = std::move(other.hold_);
    status_ = std::move(other.status_);
  }
  return *this;
}

Lease::~Lease() { Release(); }

void Lease::Release() {
  auto hold = std::exchange(hold_, nullptr);
  if (!hold) return;
  {
    std::lock_guard lock(hold->mu);
    --hold->in_flight;
    hold->last_used = std::chrono::system_clock::now();
    hold->last_used_steady = std::chrono::steady_clock::now();
  }
  if (hold->wake) hold->wake();
}

// ---- Manager --------------------------------------------------------------------------------------------

Result<std::unique_ptr<Manager>> Manager::Create(Options options) {
  auto sup = Supervisor::Create(std::move(options));
  if (!sup.ok()) return sup.status();
  return std::unique_ptr<Manager>(new Manager(std::move(sup).value()));
}

Manager::Manager(std::unique_ptr<Supervisor> supervisor) : sup_(std::move(supervisor)) {}

Manager::~Manager() = default;  // ~Supervisor stops every backend and joins its thread

Status Manager::Start(const std::string& name) {
  auto i = sup_->Find(name);
  if (!i) return NoSuchBackend(name);
  const BackendStatus now = sup_->Get(*i).status;
  if (!IsAllowed(now.state, Trigger::kStart))
    return Status::FailedPrecondition("'" + name + "' is " + ToString(now.state) + PortSuffix(now) +
                                      (now.state == State::kStopping ? "; use restart, or start it once it has stopped"
                                                                     : ""));
  sup_->Post(*i, [](Backend& b) { b.Start(); });
  return Status::Ok();
}

Status Manager::Stop(const std::string& name) {
  auto i = sup_->Find(name);
  if (!i) return NoSuchBackend(name);
  const State state = sup_->Get(*i).status.state;
  if (!IsAllowed(state, Trigger::kStop))
    return Status::FailedPrecondition("'" + name + "' is already " + ToString(state));
  sup_->Post(*i, [](Backend& b) { b.Stop(false, "stop requested"); });
  return Status::Ok();
}

Status Manager::Restart(const std::string& name) {
  auto i = sup_->Find(name);
  if (!i) return NoSuchBackend(name);
  const State state = sup_->Get(*i).status.state;
  if (!IsAllowed(state, Trigger::kStop) && !IsAllowed(state, Trigger::kStart) && state != State::kStopping)
    return Status::FailedPrecondition("'" + name + "' cannot be restarted while " + ToString(state));
  sup_->Post(*i, [](Backend& b) { b.Stop(true, "restart requested"); });
  return Status::Ok();
}

void Manager::StopAll() {
  sup_->PostAll([](Backend& b) { b.Stop(false, "stop requested"); });
}

Status Manager::StopAllAndWait(std::chrono::milliseconds timeout) {
  StopAll();
  const bool done = sup_->WaitAll(
      [](const BackendStatus& s) { return s.state == State::kStopped || s.state == State::kFailed; },
      std::chrono::steady_clock::now() + timeout);
  if (done) return Status::Ok();
  std::string busy;
  for (const auto& s : sup_->List())
    if (s.state != State::kStopped && s.state != State::kFailed)
      busy += (busy.empty() ? "" : ", ") + s.name + " (" + ToString(s.state) + ")";
  return Status::Timeout("not stopped after " + std::to_string(timeout.count()) + " ms: " + busy);
}

void Manager::KillAll() { sup_->KillAll(); }

Result<Lease> Manager::Acquire(const std::string& name, std::chrono::milliseconds timeout,
                               const CancelToken* cancel) {
  auto i = sup_->Find(name);
  if (!i) return NoSuchBackend(name);
  auto hold = sup_->hold(*i);
  {
    // Counted in before looking at the state: ttl never stops a backend someone is waiting for.
    std::lock_guard lock(hold->mu);
    ++hold->in_flight;
  }
  auto give_back = [&] {
    {
      std::lock_guard lock(hold->mu);
      --hold->in_flight;
    }
    if (hold->wake) hold->wake();
  };
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // A cancel wakes the wait at once instead of being noticed on the next state change.
  CancelWatch wake_on_cancel(cancel, [this] { sup_->WakeWaiters(); });
  std::optional<uint64_t> requested;  // the start serial we asked to move past
  for (;;) {
    auto [snap, changed] = sup_->WaitSnapshot(
        *i,
        [&](const Snapshot& s) {
          if ((cancel && cancel->cancelled()) || s.removed) return true;
          const State st = s.status.state;
          if (st == State::kReady) return true;
          if (!requested) return st == State::kStopped || st == State::kFailed;
          return s.start_serial > *requested && (st == State::kFailed || st == State::kStopped);
        },
        deadline);
    (void)changed;
    const State st = snap.status.state;
    if (st == State::kReady) {
      bool draining;
      {
        std::lock_guard lock(hold->mu);
        draining = hold->draining;
      }
      if (!draining) return Lease(hold, snap.status);
      continue;  // a ttl stop is being published: look again
    }
    if (snap.removed) {
      give_back();
      return Status::NotFound("'" + name + "' was removed from the config");
    }
    if (cancel && cancel->cancelled()) {
      give_back();
      return Status::Cancelled("gave up waiting for '" + name + "' (cancelled)");
    }
    if (requested && snap.start_serial > *requested) {
      if (st == State::kFailed) {
        give_back();
        return Status::Unavailable("'" + name + "' failed to start: " + snap.status.reason);
      }
      if (st == State::kStopped) requested.reset();  // started and stopped again meanwhile: ask again
    }
    if (!requested && (st == State::kStopped || st == State::kFailed)) {
      requested = snap.start_serial;
      sup_->Post(*i, [seen = snap.start_serial](Backend& b) { b.StartIfNotStartedSince(seen); });
      continue;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      give_back();
      return Status::Timeout("'" + name + "' is not ready after " + std::to_string(timeout.count()) + " ms (" +
                             ToString(st) + (snap.status.reason.empty() ? "" : ": " + snap.status.reason) + ")");
    }
  }
}

std::vector<BackendStatus> Manager::List() const { return sup_->List(); }

Result<BackendStatus> Manager::Get(const std::string& name) const {
  auto i = sup_->Find(name);
  if (!i) return NoSuchBackend(name);
  return sup_->Get(*i).status;
}

std::vector<std::string> Manager::LogTail(const std::string& name, size_t lines) const {
  auto i = sup_->Find(name);
  if (!i) return {};
  return sup_->LogTail(*i, lines);
}

Result<BackendStatus> Manager::WaitUntil(const std::string& name, const std::function<bool(const BackendStatus&)>& pred,
                                         std::chrono::milliseconds timeout) const {
  auto i = sup_->Find(name);
  if (!i) return NoSuchBackend(name);
  auto [snap, ok] = sup_->WaitSnapshot(
      *i, [&](const Snapshot& s) { return pred(s.status); }, std::chrono::steady_clock::now() + timeout);
  if (!ok)
    return Status::Timeout("'" + name + "' is " + ToString(snap.status.state) + " after " +
                           std::to_string(timeout.count()) + " ms" +
                           (snap.status.reason.empty() ? "" : ": " + snap.status.reason));
  return snap.status;
}

Subscription Manager::Subscribe(std::function<void(const Event&)> on_event, bool replay_state) {
  return sup_->Subscribe(std::move(on_event), replay_state);
}

const config::Config& Manager::config() const { return sup_->config(); }

Result<ReconfigureResult> Manager::Reconfigure(config::Config config) { return sup_->Reconfigure(std::move(config)); }

const std::vector<std::string>& Manager::startup_notes() const { return sup_->notes(); }

}  // namespace llmdesk::manager
