// The supervisor thread and its services to the backends (BackendHost): the wait set's registration of
// children, events, the snapshot other threads read, the state file.
#include "manager/supervisor.h"

#include <spdlog/spdlog.h>

#include <cstdint>
#include <future>
#include <set>

#include "config/config_diff.h"
#include "manager/private_files.h"
#include "platform/user_dirs.h"

namespace llmdesk::manager {
namespace {

// wait tags: 0 = the command wake signal; a child's pidfd = serial*2, its output pipe = serial*2+1.
uint64_t PidfdTag(uint64_t serial) { return serial * 2; }
uint64_t OutputTag(uint64_t serial) { return serial * 2 + 1; }

}  // namespace

CommandQueue::CommandQueue() = default;

void CommandQueue::Post(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(fn));
  }
  wake_.Set();
}

std::vector<std::function<void()>> CommandQueue::Take() {
  std::lock_guard lock(mu_);
  return std::exchange(queue_, {});
}

std::string Supervisor::TooManyModels(size_t count) {
  return "the config has " + std::to_string(count) + " models; llmdesk on Windows supervises at most " +
         std::to_string(MaxModels()) + " (WaitForMultipleObjects waits on at most " +
         std::to_string(WaitSet::kMaxHandles) + " handles: 4 per model and 1 more)";
}

Result<std::unique_ptr<Supervisor>> Supervisor::Create(Options options) {
  if (options.state_dir.empty()) options.state_dir = DefaultStateDir();
  if (options.log_dir.empty()) options.log_dir = DefaultLogDir();
  if (options.log_ring_lines == 0) options.log_ring_lines = 1;
  if (options.port_attempts < 1) options.port_attempts = 1;
  if (options.health_failures < 1) options.health_failures = 1;
  if (options.config.models.size() > MaxModels()) return Status::FailedPrecondition(TooManyModels(options.config.models.size()));
  auto store = StateStore::Open(options.state_dir, options.config.source);
  if (!store.ok()) return store.status();
  const std::string key = (*store)->key();
  if (Status st = EnsurePrivateDir(options.log_dir, "log directory"); !st.ok()) return st;
  if (Status st = EnsurePrivateDir(options.log_dir / key, "log directory"); !st.ok()) return st;

  std::unique_ptr<Supervisor> sup(new Supervisor(std::move(options)));
  sup->store_ = std::move(store).value();
  sup->notes_ = sup->store_->CleanStale();
  if (!sup->queue_->valid() || !sup->waits_->valid())
    return Status::IoError("cannot create the supervisor's event loop");
  if (Status st = sup->waits_->Add(sup->queue_->wake_handle(), 0); !st.ok())
    return Status::IoError("cannot create the supervisor's event loop: " + st.message());

  sup->configs_.push_back(std::make_unique<const config::Config>(sup->options_.config));
  for (const auto& model : sup->options_.config.models) {
    // Indices are positions in backends_, so a skipped duplicate cannot shift later names.
    if (sup->index_.count(model.name)) {
      sup->notes_.push_back("ignored a second model named '" + model.name + "' (names must be unique)");
      continue;
    }
    sup->AddBackend(model);
  }
  Supervisor* self = sup.get();
  sup->thread_ = std::thread([self] { self->Loop(); });
  return sup;
}

Supervisor::~Supervisor() {
  queue_->Post([this] {
    quitting_ = true;
    for (auto& b : backends_) b->Stop(false, "llmdesk is exiting");
  });
  if (thread_.joinable()) thread_.join();
  backends_.clear();  // joins the probe threads; kills (last resort) a child that is somehow left
}

void Supervisor::AddBackend(const config::ModelConfig& model) {
  // As a path to the file (UTF-16 on Windows), as UTF-8 text for status and messages.
  const std::filesystem::path log_path = LogFilePath(options_.config, model.name, options_.log_dir);
  const std::string log_file = platform::PathToUtf8(log_path);
  auto log = std::make_shared<process::LineLog>(options_.log_ring_lines, log_path);
  auto hold = std::make_shared<Lease::Hold>();
  std::weak_ptr<CommandQueue> weak_queue = queue_;
  hold->wake = [weak_queue] {
    if (auto q = weak_queue.lock()) q->Post([] {});  // the loop recomputes its deadlines (ttl)
  };
  auto backend = std::make_unique<Backend>(*this, model, log_file, log, hold);
  {
    std::lock_guard lock(status_mu_);
    const size_t at = snapshot_.size();
    index_[model.name] = at;
    logs_.push_back(log);
    holds_.push_back(hold);
    snapshot_.push_back({backend->status(), 0, false});
    slot_of_[backend.get()] = at;
  }
  backends_.push_back(std::move(backend));
}

const config::Config& Supervisor::config() const {
  std::lock_guard lock(status_mu_);
  return *configs_.back();
}

Result<ReconfigureResult> Supervisor::Reconfigure(config::Config next) {
  const std::string source = config().source;
  if (next.source != source)
    return Status::InvalidArgument("a running manager applies only its own config file (" +
                                   (source.empty() ? std::string("the built-in defaults") : source) + "), not " +
                                   (next.source.empty() ? std::string("the built-in defaults") : next.source));
  auto done = std::make_shared<std::promise<ReconfigureResult>>();
  auto result = done->get_future();
  queue_->Post([this, next = std::move(next), done] {
    ReconfigureResult r;
    ApplyConfig(next, r);
    done->set_value(std::move(r));
  });
  if (result.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
    return Status::Timeout("the manager did not apply the new config within 30 s (is it stopping?)");
  return result.get();
}

void Supervisor::ApplyConfig(const config::Config& next, ReconfigureResult& out) {
  for (size_t i = 0; i < backends_.size(); ++i) {
    Backend& b = *backends_[i];
    if (b.removed() || next.FindModel(b.name())) continue;
    const std::string name = b.name();
    b.Remove("removed from the config");
    {
      std::lock_guard lock(status_mu_);
      index_.erase(name);
      snapshot_[i].removed = true;
    }
    out.removed.push_back(name);
  }
  std::set<std::string> seen;
  for (const auto& model : next.models) {
    if (!seen.insert(model.name).second) continue;  // a duplicate name: the first entry counts (as in Create)
    auto i = Find(model.name);
    if (!i) {
      if (backends_.size() >= MaxModels()) {  // Windows only (MaxModels is unlimited on POSIX)
        spdlog::error("llmdesk manager: '{}' not added: {}", model.name, TooManyModels(backends_.size() + 1));
        continue;
      }
      AddBackend(model);
      out.added.push_back(model.name);
      if (model.autostart) backends_.back()->Start();
      continue;
    }
    Backend& b = *backends_[*i];
    if (config::SameModelSettings(b.model(), model)) out.unchanged.push_back(model.name);
    else (b.Reconfigure(model) ? out.restarted : out.updated).push_back(model.name);
  }
  options_.config = next;  // engine, ports, hub: read at the next start
  {
    std::lock_guard lock(status_mu_);
    configs_.push_back(std::make_unique<const config::Config>(next));
  }
  status_cv_.notify_all();  // waiters on a removed backend look again
}

void Supervisor::Loop() {
  std::vector<uint64_t> ready;
  for (;;) {
    for (auto& fn : queue_->Take()) fn();
    bus_.DeliverPending();
    std::optional<Clock::time_point> next;
    bool children = false;
    const auto now = Clock::now();
    for (auto& b : backends_) {
      b->OnTimers(now);
      children = children || b->has_children();
      if (auto d = b->NextDeadline(); d && (!next || *d < *next)) next = d;
    }
    if (quitting_ && !children) break;
    std::optional<std::chrono::milliseconds> timeout;
    if (next) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now()).count();
      timeout = std::chrono::milliseconds(std::clamp<long long>(left, 0, 60'000));
    }
    ready.clear();
    if (Status st = waits_->Wait(timeout, ready); !st.ok()) {
      spdlog::error("llmdesk manager: {}", st.message());
      break;
    }
    for (const uint64_t tag : ready) {
      if (tag == 0) {
        queue_->ClearWake();
        continue;
      }
      auto it = by_serial_.find(tag / 2);
      if (it == by_serial_.end()) continue;
      if (tag % 2 == 1)
        it->second->OnOutput(tag / 2);
      else
        it->second->OnPidfd(tag / 2);
    }
  }
  // Only reached when quitting with no children left, or when the wait itself broke: then the Child
  // destructors (with the backends) SIGKILL and reap whatever remains.
  WriteStateFile();
}

uint64_t Supervisor::Watch(Backend& owner, const process::Child& child) {
  const uint64_t serial = next_serial_++;
  // Cannot fail within MaxModels() on Windows; on POSIX only if the kernel is out of memory. Logged, as before.
  for (Status st : {waits_->Add(child.exit_handle(), PidfdTag(serial)), waits_->Add(child.output_handle(), OutputTag(serial))})
    if (!st.ok()) spdlog::error("llmdesk manager: PID {}: {}", child.pid(), st.message());
  by_serial_[serial] = &owner;
  return serial;
}

void Supervisor::UnwatchOutput(const process::Child& child) {
  if (child.output_open()) waits_->Remove(child.output_handle());
}

void Supervisor::Forget(uint64_t serial, const process::Child& child) {
  waits_->Remove(child.exit_handle());
  by_serial_.erase(serial);
}

void Supervisor::Emit(Event e) {
  e.seq = next_seq_++;
  e.time = std::chrono::system_clock::now();
  bus_.Publish(e);
}

void Supervisor::Publish(const Backend& backend) {
  {
    std::lock_guard lock(status_mu_);
    auto& entry = snapshot_[slot_of_.at(&backend)];
    entry.status = backend.status();
    entry.start_serial = backend.start_serial();
  }
  status_cv_.notify_all();
}

std::map<int, std::string> Supervisor::PortsInUse(const Backend& except) const {
  std::map<int, std::string> ports;
  for (const auto& b : backends_)
    if (b.get() != &except && b->status().port) ports.emplace(b->status().port, b->name());
  return ports;
}

void Supervisor::RecordsChanged() { WriteStateFile(); }

void Supervisor::WriteStateFile() {
  std::vector<EngineRecord> records;
  for (const auto& b : backends_) b->AddRecords(records);
  // A full disk must not stop the engines: say so and go on (the next change writes again).
  if (Status st = store_->Write(records); !st.ok()) spdlog::warn("llmdesk manager: {}", st.message());
}

std::optional<size_t> Supervisor::Find(const std::string& name) const {
  std::lock_guard lock(status_mu_);
  auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

Snapshot Supervisor::Get(size_t i) const {
  Snapshot s;
  std::shared_ptr<Lease::Hold> h;
  {
    std::lock_guard lock(status_mu_);
    s = snapshot_[i];
    h = holds_[i];
  }
  std::lock_guard lock(h->mu);
  s.status.in_flight = h->in_flight;
  s.status.last_used = h->last_used;
  return s;
}

std::shared_ptr<Lease::Hold> Supervisor::hold(size_t i) const {
  std::lock_guard lock(status_mu_);
  return holds_[i];
}

std::vector<std::string> Supervisor::LogTail(size_t i, size_t lines) const {
  std::shared_ptr<process::LineLog> log;
  {
    std::lock_guard lock(status_mu_);
    log = logs_[i];
  }
  return log->Tail(lines);
}

std::vector<BackendStatus> Supervisor::List() const {
  size_t slots;
  {
    std::lock_guard lock(status_mu_);
    slots = snapshot_.size();
  }
  std::vector<BackendStatus> out;
  for (size_t i = 0; i < slots; ++i) {
    Snapshot s = Get(i);
    if (!s.removed) out.push_back(std::move(s.status));
  }
  return out;
}

std::pair<Snapshot, bool> Supervisor::WaitSnapshot(size_t i, const std::function<bool(const Snapshot&)>& pred,
                                                   std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(status_mu_);
  bool ok = status_cv_.wait_until(lock, deadline, [&] { return pred(snapshot_[i]); });
  return {snapshot_[i], ok};
}

void Supervisor::WakeWaiters() const {
  // Taking the lock orders this after a waiter's predicate check, so the wake-up cannot be lost.
  { std::lock_guard lock(status_mu_); }
  status_cv_.notify_all();
}

bool Supervisor::WaitAll(const std::function<bool(const BackendStatus&)>& pred,
                         std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(status_mu_);
  return status_cv_.wait_until(lock, deadline, [&] {
    for (const auto& s : snapshot_)
      if (!pred(s.status)) return false;
    return true;
  });
}

Subscription Supervisor::Subscribe(std::function<void(const Event&)> fn, bool replay_state) {
  if (!replay_state) return bus_.Subscribe(std::move(fn));
  // The replay runs on the supervisor thread (DeliverPending in the loop), before any live event.
  auto sub = bus_.Subscribe(std::move(fn), [this] {
    std::vector<Event> replay;
    for (const auto& b : backends_) {
      if (b->removed()) continue;
      const auto& s = b->status();
      Event e = EventFor(s, Event::Kind::kState, s.state);
      e.seq = next_seq_++;
      e.time = std::chrono::system_clock::now();
      replay.push_back(std::move(e));
    }
    return replay;
  });
  queue_->Post([] {});  // wake the loop
  return sub;
}

void Supervisor::Post(size_t i, std::function<void(Backend&)> fn) {
  queue_->Post([this, i, fn = std::move(fn)] { fn(*backends_[i]); });
}

void Supervisor::PostAll(std::function<void(Backend&)> fn) {
  queue_->Post([this, fn = std::move(fn)] {
    for (auto& b : backends_) fn(*b);
  });
}

void Supervisor::KillAll() {
  PostAll([](Backend& b) { b.KillNow(); });
}

}  // namespace llmdesk::manager
