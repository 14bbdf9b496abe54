// manager/manager.h — supervises one inference server per configured model.
//
// What it does
//  - Spawns llama-server (or a `command:` server) per model with argv (never a shell), in its own process
//    group, with PR_SET_PDEATHSIG, stdout/stderr into a bounded ring buffer and a log file.
//  - Picks the port: before spawning it looks who holds the configured port (net::FindPortHolder);
//    ports.on_conflict=fallback takes the next free port of ports.range, `fail` refuses naming the holder.
//    If the engine exits early with "address already in use", it retries at once on the next port
//    (bounded). The port actually used is reported in BackendStatus::port and in every event.
//  - Readiness: polls GET /health fast (10 ms growing to 100 ms) and notices an early exit at once (pidfd).
//  - Crash: restarts with exponential backoff, at most `max_restarts` within `restart_window`, then failed.
//  - Stop: SIGTERM to the group, grace period (model.stop_grace_s), then SIGKILL; reaping never blocks.
//  - Records (pid, start time from /proc/PID/stat, port, config path) in a state file so a later manager
//    reclaims or stops what a crashed one left, and never kills a reused PID.
//  - `url:` (remote) entries are never spawned: Start probes URL/models once: 2xx -> ready, else failed.
//
// Files: state_dir/KEY.lock (flock, holds the manager's PID) and state_dir/KEY.state.json, KEY being
// "defaults" or "config-<hash of the config path>"; log_dir/NAME.log (capped at 4 MiB, then NAME.log.1).
//
// Failures never throw or hang: a missing model file or engine, a privileged port, a held port with
// on_conflict=fail, an exhausted range, an engine that exits while loading, or one that is not healthy
// within startup_timeout each end in `failed` with a reason that says what to do (and the engine's
// last log lines where it printed any).
//
// Threads: the Manager owns one supervisor thread; all process and timer work happens there. Every public
// method is non-blocking and thread-safe (safe to call from a UI thread): it queues a command and returns.
// Subscribers are called on the supervisor thread, in order, and must not block (post to your own loop).
//
// State machine per backend (one transition table, kTransitions in state.cpp; every change is an Event):
//   stopped -> starting -> ready -> stopping -> stopped;  starting|ready -> failed (crash limit, timeout,
//   bad config); failed -> starting (explicit start); starting|ready -> starting (crash restart);
//   starting -> stopping (stop while loading); failed -> stopped (stop acknowledges a failure).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "config/config.h"

namespace llmdesk::manager {

enum class State { kStopped, kStarting, kReady, kStopping, kFailed };
const char* ToString(State s);
// Whether `from -> to` is in the transition table.
bool IsValidTransition(State from, State to);

struct Event {
  enum class Kind {
    kState,     // old_state -> new_state
    kProgress,  // loading progress while starting: progress in [0,1] (or -1 unknown) and stage text
    kLog,       // one line the engine printed (for `logs -f`); `reason` holds the line
  };
  Kind kind = Kind::kState;
  uint64_t seq = 0;  // increasing per manager
  std::chrono::system_clock::time_point time;
  std::string backend;
  State old_state = State::kStopped;
  State new_state = State::kStopped;
  int port = 0;
  pid_t pid = 0;
  std::string reason;  // why the change happened: "port 10500 is held by PID 42 (...); using 10501", ...
  double progress = -1;
  std::string stage;   // "loading model", "warming up", ...
};

struct BackendStatus {
  std::string name;
  config::ModelConfig::Kind kind = config::ModelConfig::Kind::kLocal;
  State state = State::kStopped;
  int configured_port = 0;  // from config (0 = from range)
  int port = 0;             // actual port (0 when not running)
  pid_t pid = 0;
  int restarts = 0;         // crash restarts in the current window
  std::string reason;       // last transition's reason (for failed: what went wrong + last log lines)
  double progress = -1;
  std::optional<std::chrono::system_clock::time_point> since;  // when the current state began
  std::string remote_url;   // kRemote: the configured url
  std::string stage;        // while starting: the last load stage seen ("loading model", ...)
  std::string log_file;     // where the engine's output is written
  std::string url() const;  // http://127.0.0.1:PORT (or the remote url)
};

struct Options {
  config::Config config;
  std::filesystem::path llama_server;  // empty = engine::LocateLlamaServer(config.engine)
  std::filesystem::path state_dir;     // state file + lock; default $XDG_RUNTIME_DIR/llmdesk (or /tmp/llmdesk-UID)
  std::filesystem::path log_dir;       // default $XDG_STATE_HOME/llmdesk/logs (~/.local/state/llmdesk/logs)
  int max_restarts = 5;
  std::chrono::seconds restart_window{60};
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{8000};
  int port_attempts = 16;              // fallback / address-in-use retries per start
  size_t log_ring_lines = 2000;
};

// RAII: unsubscribes when destroyed.
class Subscription {
 public:
  Subscription() = default;
  explicit Subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  Subscription(Subscription&& other) noexcept : cancel_(std::exchange(other.cancel_, nullptr)) {}
  Subscription& operator=(Subscription&& other) noexcept {  // cancels what it held before
    if (this != &other) {
      if (cancel_) cancel_();
      cancel_ = std::exchange(other.cancel_, nullptr);
    }
    return *this;
  }
  ~Subscription() { if (cancel_) cancel_(); }
 private:
  std::function<void()> cancel_;
};

class Manager {
 public:
  // Takes the per-config lock (flock in state_dir) — AlreadyExists naming the PID that holds it — and
  // cleans up stale engines recorded in the state file by a previous manager.
  static Result<std::unique_ptr<Manager>> Create(Options options);
  ~Manager();  // stops every backend (SIGTERM, grace, SIGKILL) and joins the supervisor thread

  // Non-blocking. NotFound for an unknown name; FailedPrecondition when the transition is not allowed.
  // Start of an unstartable model (missing file, missing engine, port refused) is accepted and ends
  // in `failed` with the reason as an event.
  Status Start(const std::string& name);
  Status Stop(const std::string& name);
  Status Restart(const std::string& name);
  void StopAll();

  std::vector<BackendStatus> List() const;
  Result<BackendStatus> Get(const std::string& name) const;
  std::vector<std::string> LogTail(const std::string& name, size_t lines) const;

  // For front ends that must wait (CLI): blocks the *caller* until `pred(status)` or the timeout.
  Result<BackendStatus> WaitUntil(const std::string& name, const std::function<bool(const BackendStatus&)>& pred,
                                  std::chrono::milliseconds timeout) const;

  // Events from now on; `replay_state` first delivers one kState event per backend with its current state.
  Subscription Subscribe(std::function<void(const Event&)> on_event, bool replay_state = false);

  const config::Config& config() const;
  // What Create did about a previous manager's leftovers ("stopped stale engine 'default' (PID 42...").
  const std::vector<std::string>& startup_notes() const;

 private:
  struct Impl;
  explicit Manager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmdesk::manager
