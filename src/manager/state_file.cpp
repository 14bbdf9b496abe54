// One manager per config (flock on KEY.lock, which holds the owner's PID) and the record of the engines
// it runs (KEY.state.json), so the next manager can stop what a crashed one left behind.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "manager/internal.h"

namespace llmdesk::manager::internal {
namespace {

// FNV-1a: a stable name for a config path (std::hash may differ between builds).
std::string ConfigKey(const std::string& source) {
  if (source.empty()) return "defaults";
  std::error_code ec;
  std::string path = std::filesystem::weakly_canonical(source, ec).string();
  if (ec || path.empty()) path = source;
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : path) hash = (hash ^ c) * 1099511628211ull;
  return fmt::format("config-{:016x}", hash);
}

std::string ConfigName(const std::string& source) { return source.empty() ? "the built-in defaults" : source; }

std::string ReadSmallFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Waits (bounded) for a process that is not our child to disappear.
bool WaitGone(pid_t pid, std::chrono::milliseconds limit) {
  UniqueFd pidfd = OpenPidfd(pid);
  if (!pidfd.valid()) return errno == ESRCH;
  pollfd p{pidfd.get(), POLLIN, 0};
  int n;
  do n = poll(&p, 1, static_cast<int>(limit.count()));
  while (n < 0 && errno == EINTR);
  return n > 0;
}

}  // namespace

std::filesystem::path DefaultStateDir() {
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime)
    return std::filesystem::path(runtime) / "llmdesk";
  return "/tmp/llmdesk-" + std::to_string(getuid());
}

std::filesystem::path DefaultLogDir() {
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state)
    return std::filesystem::path(state) / "llmdesk" / "logs";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : "/tmp") / ".local" / "state" / "llmdesk" / "logs";
}

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::filesystem::path& dir,
                                                     const std::string& config_source) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create the state directory " + dir.string() + ": " + ec.message());
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);

  const std::string key = ConfigKey(config_source);
  const auto lock_path = dir / (key + ".lock");
  UniqueFd fd(open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return Status::IoError("cannot open the lock file " + lock_path.string() + ": " + strerror(errno));
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return Status::IoError("cannot lock " + lock_path.string() + ": " + strerror(errno));
    std::string pid = ReadSmallFile(lock_path);
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Status::AlreadyExists("llmdesk is already running for " + ConfigName(config_source) +
                                 (pid.empty() ? " (by another process)" : " as PID " + pid) +
                                 "; use that one (its control API, or `llmdesk status`) or stop it first");
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd.get(), 0) != 0 || pwrite(fd.get(), pid.data(), pid.size(), 0) < 0)
    return Status::IoError("cannot write the lock file " + lock_path.string() + ": " + strerror(errno));

  std::unique_ptr<StateStore> store(new StateStore());
  store->config_source_ = config_source;
  store->state_path_ = dir / (key + ".state.json");
  store->lock_fd_ = std::move(fd);
  return store;
}

std::vector<std::string> StateStore::CleanStale() {
  std::vector<std::string> notes;
  std::error_code ec;
  if (!std::filesystem::exists(state_path_, ec)) return notes;
  nlohmann::json state = nlohmann::json::parse(ReadSmallFile(state_path_), nullptr, /*allow_exceptions=*/false);
  if (state.is_discarded() || !state.is_object() || !state["engines"].is_array()) {
    notes.push_back("ignored an unreadable state file " + state_path_.string());
  } else {
    for (const auto& e : state["engines"]) {
      EngineRecord r;
      r.name = e.value("name", "?");
      r.pid = e.value("pid", 0);
      r.start_time = e.value("start_time", 0ull);
      r.port = e.value("port", 0);
      if (r.pid <= 0) continue;
      auto now_start = process::ProcessStartTime(r.pid);
      if (!now_start) continue;  // gone already (PDEATHSIG did its job)
      if (*now_start != r.start_time) {
        notes.push_back(fmt::format("PID {} recorded for '{}' is now a different process; left alone", r.pid, r.name));
        continue;
      }
      kill(-r.pid, SIGKILL);
      kill(r.pid, SIGKILL);
      bool gone = WaitGone(r.pid, std::chrono::seconds(2));
      notes.push_back(fmt::format("{} stale engine '{}' (PID {}, port {}) left by a previous llmdesk",
                                  gone ? "stopped" : "sent SIGKILL to", r.name, r.pid, r.port));
    }
  }
  Write({});
  return notes;
}

void StateStore::Write(const std::vector<EngineRecord>& engines) {
  nlohmann::json state = {{"config", config_source_}, {"manager_pid", getpid()}, {"engines", nlohmann::json::array()}};
  for (const auto& e : engines)
    state["engines"].push_back({{"name", e.name}, {"pid", e.pid}, {"start_time", e.start_time}, {"port", e.port}});
  const auto temp = state_path_.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << state.dump(2) << "\n";
    if (!out) return;  // a full disk must not stop the engines; the next write tries again
  }
  std::error_code ec;
  std::filesystem::rename(temp, state_path_, ec);
}

}  // namespace llmdesk::manager::internal
