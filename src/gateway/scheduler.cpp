// Scheduler (contract in scheduler.h): bounded per-model queues, LRU room-making under max_loaded, tickets.
#include "gateway/scheduler.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace llmdesk::gateway {
namespace {

using Clock = std::chrono::steady_clock;
// How often a waiting request looks at its cancel token and at leases held outside the gateway (a chat
// turn of the control API), whose release does not wake us.
constexpr auto kRecheck = std::chrono::milliseconds(50);

bool Spawned(const manager::BackendStatus& s) { return s.kind != config::ModelConfig::Kind::kRemote; }

std::chrono::milliseconds Left(Clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
}

}  // namespace

Ticket::Ticket(Ticket&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), model_(std::move(other.model_)), granted_(other.granted_),
      lease_(std::move(other.lease_)) {}

Ticket& Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    Leave();
    owner_ = std::exchange(other.owner_, nullptr);
    model_ = std::move(other.model_);
    granted_ = other.granted_;
    lease_ = std::move(other.lease_);
  }
  return *this;
}

Ticket::~Ticket() { Leave(); }

void Ticket::Leave() {
  lease_.Release();  // first: a waiter that wakes up must see the manager's in-flight count drop too
  if (auto* owner = std::exchange(owner_, nullptr))
    owner->Leave(model_, std::chrono::duration<double>(Clock::now() - granted_).count());
}

Scheduler::Scheduler(manager::Manager& manager, int max_loaded, int queue_bound)
    : manager_(manager), max_loaded_(max_loaded), queue_bound_(std::max(1, queue_bound)) {}

Scheduler::Running Scheduler::RunningNow() const {
  Running out;
  for (auto& s : manager_.List())
    if (Spawned(s) && (s.state == manager::State::kStarting || s.state == manager::State::kReady)) out.emplace(s.name, s);
  return out;
}

bool Scheduler::Resident(const std::string& model, const Running& running) const {
  if (running.count(model)) return true;
  auto it = slots_.find(model);
  return it != slots_.end() && (it->second.loading || it->second.active > 0);
}

std::string Scheduler::Victim(const std::string& model, const Running& running) const {
  std::set<std::string> resident;
  for (const auto& [name, status] : running) resident.insert(name);
  for (const auto& [name, slot] : slots_)
    if (slot.loading || slot.active > 0) resident.insert(name);
  std::string best;
  Clock::time_point best_use = Clock::time_point::max();
  for (const auto& name : resident) {
    if (name == model) continue;
    auto it = slots_.find(name);
    if (it != slots_.end() && it->second.loading) continue;  // being loaded for someone right now
    const Clock::time_point used = it == slots_.end() ? Clock::time_point{} : it->second.last_used;
    if (used < best_use) best = name, best_use = used;
  }
  return best;
}

Result<Ticket> Scheduler::Enter(const std::string& model, std::chrono::milliseconds timeout, const CancelToken* cancel) {
  const auto deadline = Clock::now() + timeout;
  std::unique_lock lock(mu_);
  Slot& slot = slots_[model];
  if (slot.waiting >= queue_bound_) {
    ++slot.rejected;
    return Status::FailedPrecondition("the queue for '" + model + "' is full (" + std::to_string(slot.waiting) +
                                      " requests waiting, gateway.queue: " + std::to_string(queue_bound_) +
                                      "); retry later");
  }
  ++slot.waiting;
  std::string draining;  // the model this request wants stopped (counted in its drainers)
  auto undrain = [&] {
    if (draining.empty()) return;
    --slots_[draining].drainers;
    draining.clear();
    changed_.notify_all();
  };
  auto give_up = [&](Status why) -> Result<Ticket> {
    undrain();
    --slot.waiting;
    changed_.notify_all();
    return why;
  };
  bool loading_here = false;
  for (;;) {
    if (cancel && cancel->cancelled()) return give_up(Status::Cancelled("gave up waiting for '" + model + "' (cancelled)"));
    if (Clock::now() >= deadline)
      return give_up(Status::Timeout("waited " + std::to_string(timeout.count()) + " ms for room to load '" + model +
                                     "' (gateway.max_loaded: " + std::to_string(max_loaded_) + ", every loaded model busy)"));
    const Running running = RunningNow();
    if (slot.drainers == 0 && !slot.stopping) {
      const bool resident = Resident(model, running);
      int others = 0;
      std::set<std::string> counted;
      for (const auto& [name, s] : running) counted.insert(name);
      for (const auto& [name, s] : slots_)
        if (s.loading || s.active > 0 || s.stopping) counted.insert(name);  // a model still stopping holds its memory
      for (const auto& name : counted) others += name != model;
      if (max_loaded_ == 0 || resident || others < max_loaded_) {
        if (!resident) {
          slot.loading = loading_here = true;
          slot.start_began = Clock::now();
          ++slot.loads;
        }
        break;
      }
      if (std::string victim = Victim(model, running); !victim.empty()) {
        if (draining != victim) {
          undrain();
          draining = victim;
          ++slots_[victim].drainers;
        }
        Slot& v = slots_[victim];
        auto held = running.find(victim);
        const int lease_holders = held == running.end() ? 0 : held->second.in_flight;
        if (v.active == 0 && lease_holders == 0 && !v.stopping) {
          // Idle: stop it (outside the lock; the manager's stop grace bounds the wait) and look again.
          v.stopping = true;
          lock.unlock();
          const auto* cfg = manager_.config().FindModel(victim);
          const auto grace = std::chrono::milliseconds(static_cast<int64_t>(((cfg ? cfg->stop_grace_s : 10) + 5) * 1000));
          if (manager_.Stop(victim).ok())
            (void)manager_.WaitUntil(victim, [](const manager::BackendStatus& s) {
              return s.state == manager::State::kStopped || s.state == manager::State::kFailed;
            }, std::min(grace, Left(deadline)));
          lock.lock();
          v.stopping = false;
          ++v.unloads;
          undrain();
          changed_.notify_all();
          continue;
        }
      }
    }
    changed_.wait_until(lock, std::min(deadline, Clock::now() + kRecheck));
  }
  undrain();
  lock.unlock();
  auto lease = manager_.Acquire(model, Left(deadline), cancel);
  lock.lock();
  --slot.waiting;
  if (loading_here) {
    slot.loading = false;
    if (lease.ok()) slot.last_start_s = std::chrono::duration<double>(Clock::now() - slot.start_began).count();
  }
  changed_.notify_all();
  if (!lease.ok()) return lease.status();
  return Grant(slot, model, std::move(lease).value());
}

std::optional<Ticket> Scheduler::TryEnter(const std::string& model) {
  std::lock_guard lock(mu_);
  auto it = slots_.find(model);
  if (it == slots_.end()) return std::nullopt;  // never entered: Enter sets the model up
  Slot& slot = it->second;
  if (slot.waiting > 0 || slot.drainers > 0 || slot.stopping || slot.loading) return std::nullopt;
  auto now = manager_.Get(model);
  if (!now.ok() || now->state != manager::State::kReady) return std::nullopt;
  auto lease = manager_.Acquire(model, std::chrono::milliseconds(0), nullptr);  // ready: no wait
  if (!lease.ok()) return std::nullopt;
  return Grant(slot, model, std::move(lease).value());
}

Ticket Scheduler::Grant(Slot& slot, const std::string& model, manager::Lease lease) {
  ++slot.active;
  Ticket ticket;
  ticket.owner_ = this;
  ticket.model_ = model;
  ticket.granted_ = Clock::now();
  ticket.lease_ = std::move(lease);
  return ticket;
}

void Scheduler::Leave(const std::string& model, double held_s) {
  std::lock_guard lock(mu_);
  Slot& slot = slots_[model];
  --slot.active;
  slot.last_used = Clock::now();
  slot.mean_request_s = slot.mean_request_s == 0 ? held_s : 0.8 * slot.mean_request_s + 0.2 * held_s;
  changed_.notify_all();
}

int Scheduler::RetryAfterSeconds(const std::string& model) const {
  std::lock_guard lock(mu_);
  auto it = slots_.find(model);
  if (it == slots_.end()) return 1;
  const Slot& slot = it->second;
  double wait = slot.mean_request_s;
  if (slot.loading) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - slot.start_began).count();
    wait += slot.last_start_s > 0 ? std::max(0.0, slot.last_start_s - elapsed) : elapsed;
  }
  return static_cast<int>(std::clamp(std::ceil(wait), 1.0, 60.0));
}

std::map<std::string, ModelLoad> Scheduler::Loads() const {
  std::lock_guard lock(mu_);
  std::map<std::string, ModelLoad> out;
  for (const auto& [name, slot] : slots_) out[name] = slot;
  return out;
}

}  // namespace llmdesk::gateway
