// manager/internal.h — private to src/manager (and its unit tests); the contract is manager.h.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "net/ports.h"
#include "process/process.h"

namespace llmdesk::manager::internal {

// ---- What the engine prints (progress.cpp) ----------------------------------------------------------
struct LoadProgress {
  std::string stage;           // "loading model", "loading tensors", "warming up", "model loaded", ...
  double progress = -1;        // a printed percentage, else a coarse estimate for the stage
  bool worth_probing = false;  // the server likely answers /health now: probe at once
};
std::optional<LoadProgress> ParseLoadLine(std::string_view line);
// llama-server: "couldn't bind HTTP server socket"; others: "address already in use", EADDRINUSE.
bool IsAddressInUseLine(std::string_view line);

// ---- Port choice (ports.cpp) ------------------------------------------------------------------------
struct PortChoice {
  int port = 0;
  std::string note;  // "port 10500 is held by PID 4242 (python3 -m http.server 10500); using 10501"
};
struct PortQuery {
  int configured = 0;  // 0 = first free port of the range
  config::PortsConfig ports;
  std::map<int, std::string> ours;  // ports our other backends use -> backend name
  std::set<int> failed;             // ports the engine could not bind during this start
  // Who listens: `find_holder` for the configured port (cheap when it is free: no /proc/*/fd scan),
  // `listeners` (one scan) only when another port of the range must be chosen. Null find_holder =
  // looked up in listeners().
  std::function<std::optional<net::PortHolder>(int)> find_holder;
  std::function<std::vector<net::PortHolder>()> listeners;
  int unprivileged_start = 1024;  // /proc/sys/net/ipv4/ip_unprivileged_port_start
  bool privileged = false;        // euid 0
};
// InvalidArgument (privileged port), Unavailable (held with on_conflict=fail; range exhausted).
Result<PortChoice> ChoosePort(const PortQuery& query);
int UnprivilegedPortStart();

// ---- Command line (spawn.cpp) -----------------------------------------------------------------------
// kLocal: llama-server -m MODEL --host 127.0.0.1 --port PORT ARGS [--jinja]; kCommand: command with
// ${PORT} and ${MODEL} substituted. model.env is added to the environment.
process::SpawnSpec BuildSpawnSpec(const config::ModelConfig& model, const std::filesystem::path& llama_server,
                                  int port);

// ---- State file and lock (state_file.cpp) -----------------------------------------------------------
struct EngineRecord {
  std::string name;
  pid_t pid = 0;
  unsigned long long start_time = 0;  // /proc/PID/stat field 22
  int port = 0;
};

class StateStore {
 public:
  // Takes the per-config lock in `dir` (created 0700). AlreadyExists names the PID holding it.
  static Result<std::unique_ptr<StateStore>> Open(const std::filesystem::path& dir, const std::string& config_source);
  // Kills (group, SIGKILL) every recorded engine that is still the same process (PID + start time),
  // waits up to 2 s for each to go, and clears the file. Returns what it did, for the user.
  std::vector<std::string> CleanStale();
  // Atomic rewrite (temp file + rename).
  void Write(const std::vector<EngineRecord>& engines);
  const std::filesystem::path& state_path() const { return state_path_; }

 private:
  StateStore() = default;
  std::string config_source_;
  std::filesystem::path state_path_;
  UniqueFd lock_fd_;
};
std::filesystem::path DefaultStateDir();
std::filesystem::path DefaultLogDir();

// ---- Health probes (prober.cpp) ---------------------------------------------------------------------
// One helper thread per backend so a slow server never stalls the supervisor loop or other backends.
// Probe() is ignored while a probe is in flight; the result goes to `on_result` on the helper thread.
class Prober {
 public:
  // http_status: the first non-404 status of `paths` tried in order, or -1 when nothing answered.
  using OnResult = std::function<void(uint64_t generation, int http_status, std::string detail)>;
  explicit Prober(OnResult on_result);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;
  // base_url: "http://127.0.0.1:10500" or a remote "http://gpu-box:8000/v1".
  void Probe(uint64_t generation, std::string base_url, std::vector<std::string> paths,
             std::chrono::milliseconds connect_timeout, std::chrono::milliseconds read_timeout);

 private:
  struct Request {
    uint64_t generation;
    std::string base_url;
    std::vector<std::string> paths;
    std::chrono::milliseconds connect_timeout, read_timeout;
  };
  void Run();
  OnResult on_result_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Request> request_;
  bool quit_ = false;
  std::thread thread_;
};

}  // namespace llmdesk::manager::internal
