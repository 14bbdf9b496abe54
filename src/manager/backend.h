// manager/backend.h — one configured model's life (private to src/manager).
//
// A Backend owns everything about one model: its state, its engine process (plus ones still being
// terminated), its health prober, its timers (restart backoff, startup deadline, next probe, ttl) and
// its lease counter. Every state change goes through Transition(expected, to, reason): a compare-and-
// swap against the current state, checked against the one table (state.cpp), published to the
// supervisor's snapshot and emitted as an event. Refused transitions return false and are logged.
//
// Threads: all methods run on the supervisor thread, except the Lease::Hold, which callers of
// Manager::Acquire and Lease destructors use under its own mutex. What a Backend needs from the
// supervisor (epoll, events, the snapshot, the state file, other backends' ports) is BackendHost.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "manager/manager.h"
#include "manager/prober.h"
#include "manager/rpc_check.h"
#include "manager/state_store.h"
#include "process/process.h"

namespace llmdesk::manager {

using Clock = std::chrono::steady_clock;

// The lease counter of one backend, shared by the Backend and its Leases (any thread, under `mu`).
struct Lease::Hold {
  std::mutex mu;
  int in_flight = 0;                                             // leases held + callers waiting
  std::optional<std::chrono::system_clock::time_point> last_used;  // for status
  std::optional<Clock::time_point> last_used_steady;               // for ttl
  bool draining = false;       // a ttl stop is under way: Acquire must not grant a lease on it
  std::function<void()> wake;  // wakes the supervisor (ttl may be due); safe after it is gone
};

class Backend;

class BackendHost {
 public:
  virtual ~BackendHost() = default;
  virtual const Options& options() const = 0;
  virtual const std::string& owner_key() const = 0;  // the config KEY, marks our engines
  virtual bool quitting() const = 0;
  // Watches the child's pidfd and output pipe; returns its serial (OnPidfd/OnOutput get it back).
  virtual uint64_t Watch(Backend& owner, const process::Child& child) = 0;
  virtual void UnwatchOutput(const process::Child& child) = 0;
  virtual void Forget(uint64_t serial, const process::Child& child) = 0;  // after the child is reaped
  virtual void Emit(Event e) = 0;  // fills seq and time
  virtual void Publish(const Backend& backend) = 0;
  virtual std::map<int, std::string> PortsInUse(const Backend& except) const = 0;
  virtual void RecordsChanged() = 0;                // our children changed: rewrite the state file
  virtual void Post(std::function<void()> fn) = 0;  // any thread -> supervisor thread
};

class Backend {
 public:
  Backend(BackendHost& host, config::ModelConfig model, std::string log_file, std::shared_ptr<process::LineLog> log,
          std::shared_ptr<Lease::Hold> hold);
  ~Backend();  // SIGKILLs and reaps any child left (the last-resort path of process::Child)
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const std::string& name() const { return status_.name; }
  State state() const { return status_.state; }
  const BackendStatus& status() const { return status_; }
  uint64_t start_serial() const { return start_serial_; }  // counts starts (explicit and on demand)
  const std::shared_ptr<Lease::Hold>& hold() const { return hold_; }
  const config::ModelConfig& model() const { return model_; }
  bool removed() const { return removed_; }

  // A config reload (Supervisor::ApplyConfig). Reconfigure takes new settings: a starting or ready backend is
  // restarted with them (true), any other keeps them for its next start (false). Remove stops a running backend
  // for good: it never starts again (its slot stays until the manager goes).
  bool Reconfigure(config::ModelConfig model);
  void Remove(const std::string& why);

  // The CAS step of the state machine; see the header comment.
  bool Transition(State expected, State to, std::string reason);

  // Commands (from Manager). Start is a no-op unless the table allows a start from the current state.
  void Start();
  void StartIfNotStartedSince(uint64_t seen_start_serial);  // Acquire: one start for many callers
  void Stop(bool then_start, const std::string& why);
  void KillNow();  // SIGKILL every child's group now (stopping first, so nothing restarts)

  // Supervisor loop.
  void OnOutput(uint64_t serial);
  void OnPidfd(uint64_t serial);
  void OnTimers(Clock::time_point now);
  std::optional<Clock::time_point> NextDeadline() const;
  bool has_children() const { return !children_.empty(); }
  void AddRecords(std::vector<EngineRecord>& out) const;

 private:
  struct Tracked {
    std::unique_ptr<process::Child> child;
    int port = 0;
    unsigned long long start_time = 0;
    std::string exe, argv0;
    std::deque<std::string> recent;  // its last lines, for failure reasons
    bool address_in_use = false;     // it printed that it could not bind
  };

  void SpawnAttempt(const std::string& retry_why);
  void Fail(std::string reason);
  void Retire(std::chrono::milliseconds grace);  // terminate the active child, keep reaping it
  void RequestProbe();
  void OnProbeResult(const ProbeResult& r);
  void OnStartupProbe(const ProbeResult& r);
  void OnHealthProbe(const ProbeResult& r);
  void OnLine(uint64_t serial, std::string_view line);
  void OnExit(Tracked tracked, bool was_active);
  void OnCrash(std::string what, const std::deque<std::string>& recent);  // by value: may be killed_because_
  void CheckIdle(Clock::time_point now);
  std::optional<Clock::time_point> IdleDeadline() const;
  bool is_remote() const { return model_.kind == config::ModelConfig::Kind::kRemote; }
  // Model file checks before a spawn (model_checks.cpp): an `hf:` entry's local file (models/library.h;
  // the manager never downloads: `llmdesk pull`, or the front end before the start, does), and a kWarning
  // event when tools are on and the model's chat template cannot call them.
  Status ResolveModelFile();
  void WarnIfNoToolSupport();
  config::ModelConfig SpawnModel() const;  // model_ with the resolved file and the device choice
  // `device:` on this machine (backend_placement.cpp): a missing device fails the start naming the ones that
  // exist; a device whose backend has no device here (no driver) runs the model on the CPU with one warning.
  // Costs one `llama-server --list-devices` on the supervisor thread, only for models that name a GPU device.
  Status ChooseDevicePlacement();
  void OnPlacementLine(std::string_view line);
  // RPC workers (rpc_workers.cpp, issue 14): every spawn but a port retry goes through SpawnChecked,
  // which first has each `rpc:` worker checked on a helper thread; OnRpcCheck spawns or fails.
  void SpawnChecked();
  void OnRpcCheck(uint64_t generation, std::vector<RpcWorkerStatus> workers);
  void ProbeRpcServer();  // readiness/health of an `llmdesk rpc-worker` backend: the HELLO handshake
  void OnRemoteHealthProbe(const ProbeResult& r);
  void WatchFailedRemote();
  void OnFailedRemoteProbe(const ProbeResult& r);


  BackendHost& host_;
  config::ModelConfig model_;      // replaced only by Reconfigure
  bool removed_ = false;
  std::string model_file_;         // ResolveModelFile(): the GGUF for an `hf:` entry
  BackendStatus status_;
  std::shared_ptr<process::LineLog> log_;
  std::shared_ptr<Lease::Hold> hold_;
  std::unique_ptr<Prober> prober_;  // created on the first start
  std::map<uint64_t, Tracked> children_;
  uint64_t active_ = 0;            // serial of the active child, 0 = none
  uint64_t generation_ = 0;        // bumps on every spawn/stop: stale probe results are ignored
  uint64_t start_serial_ = 0;
  std::string port_note_;          // why the port differs from the configured one
  std::set<int> failed_ports_;     // could not bind during this start
  int port_attempts_ = 0;
  std::deque<Clock::time_point> crashes_;  // within restart_window
  std::optional<Clock::time_point> spawn_at_;  // restart after backoff
  std::optional<Clock::time_point> startup_deadline_;
  std::optional<Clock::time_point> probe_at_;
  std::chrono::milliseconds probe_interval_{10};
  bool probe_in_flight_ = false;
  int health_failures_ = 0;        // consecutive, while ready
  std::string killed_because_;     // set when we SIGKILLed a hung engine: the crash reason
  Clock::time_point ready_at_{};
  bool start_after_stop_ = false;  // restart requested
  std::filesystem::path engine_;   // llama-server located at start
  std::string cpu_fallback_;        // ChooseDevicePlacement: why a model that names a GPU runs on the CPU
  std::map<std::string, std::string> device_env_;  // what the engine needs to see the device (software Vulkan)
  std::vector<std::unique_ptr<RpcWorkerCheck>> rpc_checks_;  // running or finished (reaped at the next)
};

}  // namespace llmdesk::manager
