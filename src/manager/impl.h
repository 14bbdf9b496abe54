// manager/impl.h — the Manager's insides, private to src/manager. Split over:
//   manager.cpp    public API (any thread): queue commands, read snapshots, subscriptions
//   supervisor.cpp the supervisor thread: epoll loop over the command eventfd, pidfds, output pipes; timers
//   lifecycle.cpp  per-backend logic on the supervisor thread: start, port retry, readiness, crash, stop
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "manager/internal.h"
#include "manager/manager.h"
#include "process/process.h"

namespace llmdesk::manager {

using Clock = std::chrono::steady_clock;

// Subscribers outlive nothing: Subscription's cancel holds only a weak_ptr to this.
struct Subscribers {
  using Fn = std::function<void(const Event&)>;
  std::mutex mu;  // guards fns / active
  std::map<uint64_t, std::shared_ptr<Fn>> fns;
  std::set<uint64_t> active;  // replay delivered, live events flow
  uint64_t next_id = 1;
  std::mutex deliver_mu;  // held while callbacks run (so cancel waits for them)
  std::atomic<std::thread::id> supervisor_thread;
  void Cancel(uint64_t id);
};

// A spawned process the supervisor watches (the active engine of a backend, or one being terminated).
struct Tracked {
  std::unique_ptr<process::Child> child;
  size_t backend = 0;
  int port = 0;
  unsigned long long start_time = 0;
  std::deque<std::string> recent;  // its last lines, for failure reasons
  bool address_in_use = false;     // it printed that it could not bind
};

// Supervisor-thread-only state of one backend.
struct Backend {
  config::ModelConfig model;
  BackendStatus status;
  std::shared_ptr<process::LineLog> log;
  std::unique_ptr<internal::Prober> prober;
  uint64_t child = 0;          // serial of the active Tracked, 0 = none
  uint64_t generation = 0;     // bumps on every spawn/stop: stale probe results are ignored
  std::string port_note;       // why the port differs from the configured one
  std::set<int> failed_ports;  // could not bind during this start
  int port_attempts = 0;
  std::deque<Clock::time_point> crashes;      // within restart_window
  std::optional<Clock::time_point> spawn_at;  // restart after backoff
  std::optional<Clock::time_point> startup_deadline;
  std::optional<Clock::time_point> probe_at;
  std::chrono::milliseconds probe_interval{10};
  bool probe_in_flight = false;
  bool start_after_stop = false;  // restart requested
  std::filesystem::path engine;   // llama-server located at start
};

struct Manager::Impl {
  explicit Impl(Options o) : options(std::move(o)) {}
  ~Impl();

  Options options;
  std::unique_ptr<internal::StateStore> store;
  std::vector<std::string> notes;                       // from CleanStale
  std::map<std::string, size_t> index;                  // immutable after Create
  std::vector<std::shared_ptr<process::LineLog>> logs;  // immutable after Create (LineLog is thread-safe)

  // Snapshot for other threads.
  mutable std::mutex status_mu;
  mutable std::condition_variable status_cv;
  std::vector<BackendStatus> snapshot;

  std::shared_ptr<Subscribers> subscribers = std::make_shared<Subscribers>();

  // Command queue -> supervisor thread.
  std::mutex queue_mu;
  std::vector<std::function<void()>> queue;
  UniqueFd wake_fd;  // eventfd
  UniqueFd epoll_fd;
  std::thread thread;

  // ---- supervisor thread only ----
  std::vector<Backend> backends;
  std::map<uint64_t, Tracked> children;
  uint64_t next_serial = 1;
  uint64_t next_seq = 1;
  bool quitting = false;

  // manager.cpp
  void Post(std::function<void()> fn);
  void Emit(Event e);
  void EmitTo(const Subscribers::Fn& fn, Event e);
  void Publish(size_t i);

  // supervisor.cpp
  void Loop();
  void RunQueued();
  void Watch(uint64_t serial, Tracked tracked);
  void OnPidfd(uint64_t serial);
  void OnOutput(uint64_t serial);
  void OnLine(uint64_t serial, std::string_view line);
  void OnTimers(Clock::time_point now);
  std::optional<Clock::time_point> NextDeadline() const;
  void WriteStateFile();

  // lifecycle.cpp
  bool Transition(size_t i, State to, std::string reason);
  void DoStart(size_t i);
  void SpawnAttempt(size_t i, const std::string& retry_why);  // retry_why: why the last port failed
  void DoStop(size_t i, bool then_start);
  void StopAllForQuit();
  void OnExit(uint64_t serial, Tracked tracked);
  void OnCrash(size_t i, const std::string& what, const std::deque<std::string>& recent);
  void Fail(size_t i, std::string reason);
  void RequestProbe(size_t i);
  void OnProbeResult(size_t i, uint64_t generation, int http_status, const std::string& detail);
  void Retire(size_t i, std::chrono::milliseconds grace);  // terminate the active child, keep reaping it
};

}  // namespace llmdesk::manager
