// manager/supervisor.h — the Manager's insides (private to src/manager).
//
// The Supervisor owns the backends and the one thread that runs them: an epoll loop over a command
// eventfd and every child's pidfd and output pipe, with the backends' timers folded into the epoll
// timeout. Nothing on that thread sleeps or blocks on a child.
//
// Other threads (Manager's public methods) only: Post() a command, read the snapshot (Snapshot,
// WaitSnapshot), subscribe to the bus, and use a backend's Lease::Hold. Everything else is for the
// supervisor thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/event_bus.h"
#include "common/unique_fd.h"
#include "manager/backend.h"
#include "manager/manager.h"
#include "manager/state_store.h"

namespace llmdesk::manager {

// Commands for the supervisor thread. Shared with Leases, so a Lease released late finds it alive.
class CommandQueue {
 public:
  CommandQueue();
  void Post(std::function<void()> fn);
  std::vector<std::function<void()>> Take();
  int fd() const { return wake_fd_.get(); }  // readable when commands wait
  void ClearWake();

 private:
  std::mutex mu_;
  std::vector<std::function<void()>> queue_;
  UniqueFd wake_fd_;  // eventfd
};

// What other threads see of one backend: its status and how many starts it has had.
struct Snapshot {
  BackendStatus status;
  uint64_t start_serial = 0;
  bool removed = false;  // dropped from the config by Reconfigure (its slot stays; Find no longer names it)
};

class Supervisor final : public BackendHost {
 public:
  // Prepares directories, takes the lock, cleans up a previous manager's leftovers, starts the thread.
  static Result<std::unique_ptr<Supervisor>> Create(Options options);
  ~Supervisor() override;  // stops every backend (grace periods apply unless KillAll ran) and joins

  // ---- any thread ----
  std::optional<size_t> Find(const std::string& name) const;
  Snapshot Get(size_t i) const;  // with in_flight / last_used from the lease counter
  std::vector<BackendStatus> List() const;
  // Waits until pred(snapshot of i) or the deadline; returns the last snapshot seen and whether pred held.
  std::pair<Snapshot, bool> WaitSnapshot(size_t i, const std::function<bool(const Snapshot&)>& pred,
                                         std::chrono::steady_clock::time_point deadline) const;
  // Makes every WaitSnapshot/WaitAll look at its predicate again (e.g. a waiter's cancel token fired).
  void WakeWaiters() const;
  bool WaitAll(const std::function<bool(const BackendStatus&)>& pred,
               std::chrono::steady_clock::time_point deadline) const;
  std::shared_ptr<Lease::Hold> hold(size_t i) const;
  std::vector<std::string> LogTail(size_t i, size_t lines) const;
  Subscription Subscribe(std::function<void(const Event&)> fn, bool replay_state);
  // Runs `fn(backend)` on the supervisor thread.
  void Post(size_t i, std::function<void(Backend&)> fn);
  void PostAll(std::function<void(Backend&)> fn);
  void KillAll();
  const Options& options() const override { return options_; }  // supervisor thread (config: use config())
  const std::vector<std::string>& notes() const { return notes_; }
  const config::Config& config() const;  // the current config (kept alive for the supervisor's lifetime)
  // Applies a new config on the supervisor thread and waits for it (see Manager::Reconfigure).
  Result<ReconfigureResult> Reconfigure(config::Config config);

  // ---- BackendHost (supervisor thread) ----
  const std::string& owner_key() const override { return store_->key(); }
  bool quitting() const override { return quitting_; }
  uint64_t Watch(Backend& owner, const process::Child& child) override;
  void UnwatchOutput(const process::Child& child) override;
  void Forget(uint64_t serial, const process::Child& child) override;
  void Emit(Event e) override;
  void Publish(const Backend& backend) override;
  std::map<int, std::string> PortsInUse(const Backend& except) const override;
  void RecordsChanged() override;
  void Post(std::function<void()> fn) override { queue_->Post(std::move(fn)); }

 private:
  explicit Supervisor(Options options) : options_(std::move(options)) {}
  void Loop();
  void WriteStateFile();
  // Adds a backend slot for `model` (Create, and Reconfigure on the supervisor thread).
  void AddBackend(const config::ModelConfig& model);
  void ApplyConfig(const config::Config& next, ReconfigureResult& out);  // supervisor thread

  Options options_;
  std::unique_ptr<StateStore> store_;
  std::vector<std::string> notes_;                        // from CleanStale
  // The slots, one per backend ever configured (a removed one keeps its slot): guarded by status_mu_, grown
  // only by the supervisor thread (Create, Reconfigure).
  mutable std::mutex status_mu_;
  mutable std::condition_variable status_cv_;
  std::map<std::string, size_t> index_;                   // configured names only
  std::vector<std::shared_ptr<process::LineLog>> logs_;   // LineLog is thread-safe
  std::vector<std::shared_ptr<Lease::Hold>> holds_;
  std::vector<Snapshot> snapshot_;
  std::vector<std::unique_ptr<const config::Config>> configs_;  // every config applied; back() is current

  EventBus<Event> bus_;
  std::shared_ptr<CommandQueue> queue_ = std::make_shared<CommandQueue>();
  UniqueFd epoll_fd_;
  std::thread thread_;

  // ---- supervisor thread only ----
  std::vector<std::unique_ptr<Backend>> backends_;       // by slot
  std::map<const Backend*, size_t> slot_of_;
  std::map<uint64_t, Backend*> by_serial_;
  uint64_t next_serial_ = 1;
  uint64_t next_seq_ = 1;
  bool quitting_ = false;
};

}  // namespace llmdesk::manager
