// manager/supervisor.h — the Manager's insides (private to src/manager).
//
// The Supervisor owns the backends and the one thread that runs them: a loop waiting (WaitSet: epoll on
// POSIX, WaitForMultipleObjects on Windows) on a command wake signal and every child's exit and output
// handles, with the backends' timers folded into the wait's timeout. Nothing on that thread sleeps or blocks
// on a child. Windows: WaitForMultipleObjects takes 64 handles, so a config there may have at most
// MaxModels() = 15 models (Create refuses more and Reconfigure leaves the rest out, naming the limit).
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
#include "manager/backend.h"
#include "manager/manager.h"
#include "manager/state_store.h"
#include "manager/wait_set.h"

namespace llmdesk::manager {

// Commands for the supervisor thread. Shared with Leases, so a Lease released late finds it alive.
class CommandQueue {
 public:
  CommandQueue();
  void Post(std::function<void()> fn);
  std::vector<std::function<void()>> Take();
  process::WaitHandle wake_handle() const { return wake_.handle(); }  // ready when commands wait
  bool valid() const { return wake_.valid(); }
  void ClearWake() { wake_.Clear(); }

 private:
  std::mutex mu_;
  std::vector<std::function<void()>> queue_;
  WakeSignal wake_;
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
  // The most models one supervisor runs: each may have two children at once (one stopping, its successor
  // starting), each child two handles, plus the wake signal. Unlimited on POSIX.
  static size_t MaxModels() { return WaitSet::kMaxHandles == SIZE_MAX ? SIZE_MAX : (WaitSet::kMaxHandles - 1) / 4; }
  static std::string TooManyModels(size_t count);
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
  std::unique_ptr<WaitSet> waits_ = std::make_unique<WaitSet>();
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
