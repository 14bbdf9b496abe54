// manager/manager.h — supervises one inference server per configured model.
//
// What it does
//  - Spawns llama-server (or a `command:` server) per model with argv (never a shell), in its own process
//    group, with PR_SET_PDEATHSIG, stdout/stderr into a bounded ring buffer and a log file.
//  - Picks the port: before spawning it looks who holds the configured port (net::FindPortHolder);
//    ports.on_conflict=fallback takes the next free port of ports.range, `fail` refuses naming the holder.
//    If the engine exits early with "address already in use", it retries at once on the next port
//    (bounded). The port actually used is reported in BackendStatus::port and in every event.
//  - Readiness: polls GET /health fast (10 ms growing to 20 ms) and notices an early exit at once (pidfd).
//  - Health watch: a ready engine is probed every Options::health_interval; `health_failures`
//    consecutive failures, or one probe that gets no answer within `health_timeout` (a hung engine),
//    SIGKILL its group and restart it like a crash ("stopped answering /health").
//  - Crash: restarts with exponential backoff, at most `max_restarts` within `restart_window`, then failed.
//  - Stop: SIGTERM to the group, grace period (model.stop_grace_s), then SIGKILL; reaping never blocks.
//  - On demand (the gateway): Acquire(name) starts a stopped backend (one start for any number of
//    concurrent callers) and returns a Lease once it is ready; leases count requests in flight and
//    record last use. `ttl` (model.ttl_s > 0): a ready backend with no lease for ttl seconds is stopped.
//  - Records (pid, process group, start time from /proc/PID/stat, executable, port) in a state file so
//    a later manager stops what a crashed one left (the engine's children too), and never kills a
//    process that is not verifiably one of its engines (reused PID, planted record).
//  - `url:` (remote) entries are never spawned: Start probes URL/models (with the api_key): 2xx -> ready,
//    else failed. A ready remote is probed every health_interval like an engine; `health_failures`
//    failures in a row (or no answer within health_timeout) -> failed, with what it answered. A failed
//    remote is checked again every health_interval and started (-> ready) once it answers.
//  - `rpc:` workers (issue 14): before every spawn (start and crash restart) each worker must complete
//    the RPC HELLO handshake (rpc/rpc.h), checked on a helper thread; one that does not fails the backend
//    with its address and why ("RPC worker 10.0.0.5:50052 does not answer: connection refused"). The
//    engine gets `--rpc a,b`. BackendStatus::rpc_workers holds what the last check found.
//  - A model with ModelConfig::rpc_server_host (`llmdesk rpc-worker`) is a ggml-rpc-server: readiness and
//    health are the HELLO handshake instead of HTTP; a worker busy with its one client counts as healthy.
//
// Files: state_dir/KEY.lock (flock; LockFileEx on Windows; holds the manager's PID) and state_dir/KEY.state.json; logs in
// LogFilePath(config, name) = log_dir/KEY/FileNameFor(name).log (capped at 4 MiB, then .1; see LineLog). KEY is
// "defaults" or "config-<hash of the config path>". state_dir and log_dir must be directories owned by
// us, not symlinks, not writable by group/others (they are created 0700); files in them are created
// with O_NOFOLLOW (temp files with mkstemp + rename). Create refuses anything else, naming it.
//
// Failures never throw or hang: a missing model file or engine, a privileged port, a held port with
// on_conflict=fail, an exhausted range, an engine that exits while loading, or one that is not healthy
// within startup_timeout each end in `failed` with a reason that says what to do (and the engine's
// last log lines where it printed any). A state file that cannot be parsed is ignored with a note.
//
// Threads: the Manager owns one supervisor thread; all process and timer work happens there (plus one
// health-probe helper thread per backend, created when the backend first starts). Every public method
// is thread-safe; all are non-blocking except WaitUntil, Acquire and StopAllAndWait, which block the
// *caller* (never call those from a UI thread or from an event callback).
// Subscribers are called on the supervisor thread, in order, and must not block (post to your own loop).
//
// Reconfigure (a config reload): backends added to the config are registered (and started when `autostart`),
// removed ones are stopped and dropped (Get/Start then say NotFound), changed ones are restarted with their new
// settings when running (else keep them for the next start), unchanged ones are not touched (a running engine
// keeps its process). engine, ports and models.hub_url apply from the next start on. config() then returns the
// new config; references it returned before stay valid (each config is kept for the manager's lifetime).
//
// State machine per backend (one table, kTransitions in state.cpp; every change is an Event):
//   stopped -> starting -> ready -> stopping -> stopped;  starting|ready -> failed (crash limit, timeout);
//   stopped|failed -> failed (refused before anything was spawned: missing file, no port, ...);
//   failed -> starting (explicit start); starting|ready -> starting (port retry, crash restart);
//   starting -> stopping (stop while loading); failed -> stopped (stop acknowledges a failure).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/event_bus.h"
#include "common/cancel.h"
#include "common/status.h"
#include "config/config.h"

namespace llmdesk::manager {

class Supervisor;  // src/manager/supervisor.h

enum class State { kStopped, kStarting, kReady, kStopping, kFailed };
const char* ToString(State s);
// Whether `from -> to` is in the transition table.
bool IsValidTransition(State from, State to);
// What asks for a transition. Manager::Start/Stop/Restart accept a command only where the table has a
// row for it from the current state.
enum class Trigger {
  kStart,    // stopped|failed -> starting (spawned), or -> failed (refused before spawning)
  kRetry,    // starting|ready -> starting: port retry, crash restart
  kHealthy,  // starting -> ready
  kStop,     // starting|ready -> stopping; failed -> stopped
  kExited,   // stopping -> stopped
  kFail,     // starting|ready -> failed
};
bool IsAllowed(State from, Trigger trigger);

struct Event {
  enum class Kind {
    kState,     // old_state -> new_state
    kProgress,  // loading progress while starting: progress in [0,1] (or -1 unknown) and stage text
    kLog,       // one line the engine printed (for `logs -f`); `reason` holds the line
    kWarning,   // something the user should know before using the backend; `reason` says what (e.g. a
                // model whose chat template cannot call tools while tools are on)
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

// Where a local model runs, as its engine reported it while loading (issue 15; manager/placement.cpp reads
// llama-server's log). Empty until the engine says; reset at each spawn.
struct Placement {
  std::string device;         // the GPU device holding layers ("Vulkan0", "CUDA0"), or "CPU"; empty = not known
  int layers_offloaded = -1;  // "offloaded 5/5 layers to GPU"; -1 = not reported
  int layers_total = -1;
  double device_mib = 0;      // model + KV cache + compute buffers on GPU devices, MiB
  std::string note;           // one line when it runs (partly) on the CPU although a GPU was asked for or used
};

// One llama.cpp RPC worker of a backend (a model entry's `rpc:`), as the last check before an engine
// start found it: state is rpc::ToString(rpc::WorkerState) ("unknown" until checked, "answering", "busy",
// "unreachable", "incompatible"); detail says more ("protocol 6.0.0, 1 device", "connection refused").
struct RpcWorkerStatus {
  std::string address;  // host:port
  std::string state = "unknown";
  std::string detail;
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
  std::string label;        // from the config entry (the demo model's "demo: scripted, not a language model")
  int in_flight = 0;        // leases held (requests in flight, and callers waiting for the start)
  std::optional<std::chrono::system_clock::time_point> last_used;  // when the last lease was released
  Placement placement;      // local models: device, layers offloaded, device memory (see Placement)
  std::vector<RpcWorkerStatus> rpc_workers;  // the model's `rpc:` workers, in config order (issue 14)
  std::string url() const;  // http://127.0.0.1:PORT (or the remote url)
};

// What Manager::Reconfigure did, by backend name (file order).
struct ReconfigureResult {
  std::vector<std::string> added;      // registered; started when `autostart`
  std::vector<std::string> removed;    // stopped (when running) and dropped
  std::vector<std::string> restarted;  // changed while starting or ready: restarted with the new settings
  std::vector<std::string> updated;    // changed while not running: the new settings apply at its next start
  std::vector<std::string> unchanged;  // not touched
};

// An event about `status` as it is now (backend, new_state = its state, port, pid, reason, progress, stage).
Event EventFor(const BackendStatus& status, Event::Kind kind, State old_state);

struct Options {
  config::Config config;
  std::filesystem::path llama_server;  // empty = engine::LocateLlamaServer(config.engine)
  std::filesystem::path state_dir;     // state file + lock; default $XDG_RUNTIME_DIR/llmdesk (or /tmp/llmdesk-UID);
                                       // Windows: %LOCALAPPDATA%\llmdesk\run
  std::filesystem::path log_dir;       // default $XDG_STATE_HOME/llmdesk/logs (~/.local/state/llmdesk/logs);
                                       // Windows: %LOCALAPPDATA%\llmdesk\logs
  int max_restarts = 5;
  std::chrono::seconds restart_window{60};
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{8000};
  int port_attempts = 16;              // fallback / address-in-use retries per start
  size_t log_ring_lines = 2000;
  // Health watch of ready engines (see above); tests make these small.
  std::chrono::milliseconds health_interval{5000};
  int health_failures = 3;
  std::chrono::milliseconds health_timeout{10000};
};

// RAII: unsubscribes when destroyed (common/event_bus.h).
using Subscription = llmdesk::Subscription;

// The right to send requests to a ready backend (the gateway holds one per request). Move-only; its
// destructor decrements the backend's in-flight count and records the last use (for ttl). A Lease must
// not outlive its Manager.
class Lease {
 public:
  Lease() = default;
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease();

  bool valid() const { return static_cast<bool>(hold_); }
  const BackendStatus& status() const { return status_; }  // as it was when the lease was granted
  std::string url() const { return status_.url(); }
  int port() const { return status_.port; }
  void Release();  // what the destructor does, earlier

  struct Hold;  // src/manager: the backend's lease counter

 private:
  friend class Manager;
  Lease(std::shared_ptr<Hold> hold, BackendStatus status) : hold_(std::move(hold)), status_(std::move(status)) {}
  std::shared_ptr<Hold> hold_;
  BackendStatus status_;
};

// The file name (no directory) used for `backend_name`'s files: every character but [A-Za-z0-9_-] and
// a non-leading '.' is percent-encoded, so names with ':' or '/' are safe and two names never collide.
std::string FileNameFor(const std::string& backend_name);
// Where the manager for `config` writes `backend_name`'s log: log_dir/KEY/FileNameFor(name).log
// (log_dir empty = the default, $XDG_STATE_HOME/llmdesk/logs).
std::filesystem::path LogFilePath(const config::Config& config, const std::string& backend_name,
                                  const std::filesystem::path& log_dir = {});
// The last `lines` lines of a log file (without newlines), reading only the end of a large file.
// NotFound when it does not exist; a symlink is refused.
Result<std::vector<std::string>> TailLogFile(const std::filesystem::path& path, size_t lines);
// Calls on_text with what is appended to the log file from now on (inotify; Windows: a change notification on
// its folder; no polling) until on_text returns false, the cancel token fires, or the file is removed or rotated
// away. Blocks the caller.
Status FollowLogFile(const std::filesystem::path& path, const std::function<bool(std::string_view)>& on_text,
                     const CancelToken* cancel = nullptr);

class Manager {
 public:
  // Takes the per-config lock (flock in state_dir; LockFileEx on Windows) — AlreadyExists naming the PID that
  // holds it — and cleans up stale engines recorded in the state file by a previous manager. Windows: more than
  // 15 models is FailedPrecondition (WaitForMultipleObjects' 64 handles; docs/WINDOWS.md).
  static Result<std::unique_ptr<Manager>> Create(Options options);
  ~Manager();  // stops every backend (SIGTERM, grace, SIGKILL) and joins the supervisor thread

  // Non-blocking. NotFound for an unknown name; FailedPrecondition when the transition is not allowed.
  // Start of an unstartable model (missing file, missing engine, port refused) is accepted and ends
  // in `failed` with the reason as an event.
  Status Start(const std::string& name);
  Status Stop(const std::string& name);
  Status Restart(const std::string& name);
  void StopAll();
  // Stops every backend and blocks the caller until all are stopped or failed (Timeout otherwise).
  Status StopAllAndWait(std::chrono::milliseconds timeout);
  // SIGKILL every engine's process group now (a second Ctrl-C); the destructor then does not wait
  // for any stop grace period.
  void KillAll();

  // Blocks the caller until `name` is ready and returns a lease on it. A stopped or failed backend is
  // started (one start however many callers wait). Errors: NotFound; the backend's failure reason
  // (Unavailable) when its start fails; Timeout; Cancelled once the token fires (noticed within 20 ms).
  Result<Lease> Acquire(const std::string& name, std::chrono::milliseconds timeout,
                        const CancelToken* cancel = nullptr);

  std::vector<BackendStatus> List() const;
  Result<BackendStatus> Get(const std::string& name) const;
  std::vector<std::string> LogTail(const std::string& name, size_t lines) const;

  // For front ends that must wait (CLI): blocks the *caller* until `pred(status)` or the timeout.
  Result<BackendStatus> WaitUntil(const std::string& name, const std::function<bool(const BackendStatus&)>& pred,
                                  std::chrono::milliseconds timeout) const;

  // Events from now on; `replay_state` first delivers one kState event per backend with its current state.
  Subscription Subscribe(std::function<void(const Event&)> on_event, bool replay_state = false);

  // Applies `config` (see the header comment). InvalidArgument when it comes from another file than the
  // manager's (its lock and state file belong to that file). Blocks the caller until the supervisor thread has
  // applied it (not until restarts are done).
  Result<ReconfigureResult> Reconfigure(config::Config config);

  const config::Config& config() const;
  // What Create did about a previous manager's leftovers ("stopped stale engine 'default' (PID 42...").
  const std::vector<std::string>& startup_notes() const;

 private:
  explicit Manager(std::unique_ptr<Supervisor> supervisor);
  std::unique_ptr<Supervisor> sup_;
};

}  // namespace llmdesk::manager
