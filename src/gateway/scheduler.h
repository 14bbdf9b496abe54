// gateway/scheduler.h — private to src/gateway: who may use which spawned model, and when.
//
// Every gateway request for a spawned (local or command) model enters here and leaves with a Ticket: a
// manager::Lease (the backend is ready; the manager's ttl never stops it while held) plus the gateway's own
// count of requests in flight per model.
//  - Queue: requests waiting for their model (its start, or room under max_loaded) are bounded per model
//    by `queue`; one more is refused at once (FailedPrecondition -> 429 with Retry-After).
//  - max_loaded (0 = no bound): loading a model beyond the bound first stops the least recently used other
//    running model — only once it has no request in flight (ours or any other lease holder's), so a swap
//    never aborts a running stream. While a waiting request wants a model gone, new requests for that model
//    wait too (they would otherwise keep it busy forever); they get it back once it is their turn.
//  - One start per model: the manager's Acquire starts a stopped model once for any number of waiters.
//  - Retry-After for a 429 (RetryAfterSeconds): the queue empties when the model is ready and the requests
//    ahead have run, so: what is left of a start under way (the model's last start took this long; with no
//    start seen yet, as long again as this one has run) plus the mean time a request held this model
//    (moving average), rounded up, 1..60 s.
// Errors of Enter: FailedPrecondition (queue full), the manager's Acquire errors (Unavailable with the
// start failure's reason — the port holder when that was it —, Timeout, NotFound), Cancelled.
// Threads: thread-safe; Enter blocks its caller (a server worker) until the model is ready or it gives up.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "common/status.h"
#include "manager/manager.h"

namespace llmdesk::gateway {

class Scheduler;

// The right to send one request to a ready model. Move-only; leaving (destructor) wakes waiters.
class Ticket {
 public:
  Ticket() = default;
  Ticket(Ticket&& other) noexcept;
  Ticket& operator=(Ticket&& other) noexcept;
  ~Ticket();
  const manager::Lease& lease() const { return lease_; }
  std::string base_url() const { return lease_.url() + "/v1"; }

 private:
  friend class Scheduler;
  void Leave();
  Scheduler* owner_ = nullptr;
  std::string model_;
  std::chrono::steady_clock::time_point granted_{};
  manager::Lease lease_;
};

// Per-model figures for /metrics.
struct ModelLoad {
  int waiting = 0;     // queued requests (the queue depth)
  int active = 0;      // requests in flight
  uint64_t loads = 0;  // starts this gateway asked for (a stopped model acquired)
  uint64_t unloads = 0;  // models stopped to make room (max_loaded)
  uint64_t rejected = 0;  // requests refused with 429
};

class Scheduler {
 public:
  Scheduler(manager::Manager& manager, int max_loaded, int queue_bound);
  Result<Ticket> Enter(const std::string& model, std::chrono::milliseconds timeout, const CancelToken* cancel);
  // A ticket at once when `model` is ready and no request waits for it (no start, swap or queue ahead);
  // nullopt otherwise (then Enter). Never waits: callable from an IO thread.
  std::optional<Ticket> TryEnter(const std::string& model);
  std::map<std::string, ModelLoad> Loads() const;
  // When a request refused with 429 for `model` should come back (see above).
  int RetryAfterSeconds(const std::string& model) const;

 private:
  friend class Ticket;
  struct Slot : ModelLoad {
    int drainers = 0;     // waiting requests that want this model stopped to make room
    bool loading = false;  // a request is acquiring it (counts as running)
    bool stopping = false;  // a waiter is stopping it right now
    std::chrono::steady_clock::time_point last_used{};
    std::chrono::steady_clock::time_point start_began{};  // while `loading`
    double last_start_s = 0;   // how long the last start this gateway waited for took; 0 = none seen
    double mean_request_s = 0;  // moving average of how long a ticket was held; 0 = none yet
  };
  using Running = std::map<std::string, manager::BackendStatus>;
  Running RunningNow() const;  // spawned backends that are starting or ready (manager's view)
  bool Resident(const std::string& model, const Running& running) const;  // under mu_
  // The least recently used resident model other than `model` that may be stopped; "" when none.
  std::string Victim(const std::string& model, const Running& running) const;  // under mu_
  void Leave(const std::string& model, double held_s);
  // The ticket for a granted `lease` on `model`, counted as active in `slot` (under mu_).
  Ticket Grant(Slot& slot, const std::string& model, manager::Lease lease);

  manager::Manager& manager_;
  const int max_loaded_;
  const int queue_bound_;
  mutable std::mutex mu_;
  std::condition_variable changed_;  // a ticket left, a model stopped, a waiter gave up
  std::map<std::string, Slot> slots_;
};

}  // namespace llmdesk::gateway
