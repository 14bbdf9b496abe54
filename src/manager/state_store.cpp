// One manager per config (flock on KEY.lock, which holds the owner's PID) and the record of the engines
// it runs (KEY.state.json), so the next manager can stop what a crashed one left behind — and only that.
#include "manager/state_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "manager/private_files.h"
#include "manager/spawn.h"

namespace llmdesk::manager {
namespace {

using nlohmann::json;
constexpr size_t kMaxStateFile = 1 << 20;

std::string ConfigName(const std::string& source) { return source.empty() ? "the built-in defaults" : source; }

// ---- /proc --------------------------------------------------------------------------------------------
struct ProcStat {
  pid_t pgid = 0;
  unsigned long long start_time = 0;
};

std::string ReadProcFile(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::string text(max_bytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(max_bytes));
  text.resize(static_cast<size_t>(std::max<std::streamsize>(0, in.gcount())));
  return text;
}

// Fields 5 (pgrp) and 22 (starttime) of /proc/PID/stat; nullopt when gone or a zombie.
std::optional<ProcStat> ReadStat(pid_t pid) {
  const std::string text = ReadProcFile("/proc/" + std::to_string(pid) + "/stat", 4096);
  const size_t paren = text.rfind(')');  // the command name may contain spaces and parentheses
  if (paren == std::string::npos) return std::nullopt;
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  std::string_view rest(text);
  rest.remove_prefix(paren + 1);
  while (!rest.empty() && fields.size() < 20) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    size_t end = rest.find(' ');
    fields.push_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end);
  }
  if (fields.size() < 20 || fields[0] == "Z" || fields[0] == "X") return std::nullopt;
  ProcStat st;
  st.pgid = static_cast<pid_t>(std::strtol(std::string(fields[2]).c_str(), nullptr, 10));
  st.start_time = std::strtoull(std::string(fields[19]).c_str(), nullptr, 10);
  return st;
}

// Our engines (and their children) carry kOwnerEnv=KEY in the environment they were started with.
bool HasOwnerMark(pid_t pid, const std::string& key) {
  const std::string env = '\0' + ReadProcFile("/proc/" + std::to_string(pid) + "/environ", 256 * 1024) + '\0';
  return env.find('\0' + std::string(kOwnerEnv) + "=" + key + '\0') != std::string::npos;
}

// The program is the one recorded: /proc/PID/exe (possibly replaced on disk since) or argv[0].
bool IsRecordedProgram(pid_t pid, const EngineRecord& r) {
  std::error_code ec;
  const std::string exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).string();
  if (!ec && !r.exe.empty() && (exe == r.exe || exe == r.exe + " (deleted)")) return true;
  const std::string cmdline = ReadProcFile("/proc/" + std::to_string(pid) + "/cmdline", 4096);
  return !r.argv0.empty() && cmdline.substr(0, cmdline.find('\0')) == r.argv0;
}

// Living members of process group `pgid` that started no earlier than its recorded leader.
std::vector<pid_t> GroupMembers(pid_t pgid, unsigned long long not_before) {
  std::vector<pid_t> out;
  DIR* dir = opendir("/proc");
  if (!dir) return out;
  while (dirent* entry = readdir(dir)) {  // a process may exit mid-scan: its files just fail to read
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    auto st = ReadStat(static_cast<pid_t>(pid));
    if (st && st->pgid == pgid && st->start_time >= not_before) out.push_back(static_cast<pid_t>(pid));
  }
  closedir(dir);
  return out;
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

// ---- records --------------------------------------------------------------------------------------------
std::optional<long long> Integer(const json& obj, const char* key, long long lo, long long hi) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  long long v;
  if (it->is_number_unsigned()) {
    auto u = it->get<unsigned long long>();
    if (u > static_cast<unsigned long long>(LLONG_MAX)) return std::nullopt;
    v = static_cast<long long>(u);
  } else if (it->is_number_integer()) {
    v = it->get<long long>();
  } else {
    return std::nullopt;
  }
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

std::string Text(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

// nullopt for anything that is not a usable record (wrong types, missing or out-of-range pid).
std::optional<EngineRecord> ParseRecord(const json& e) {
  if (!e.is_object()) return std::nullopt;
  auto pid = Integer(e, "pid", 2, INT_MAX);  // never 0 or 1 (kill(-1) would signal everything)
  auto start = Integer(e, "start_time", 0, LLONG_MAX);
  if (!pid || !start) return std::nullopt;
  EngineRecord r;
  r.name = Text(e, "name");
  if (r.name.empty()) r.name = "?";
  r.pid = static_cast<pid_t>(*pid);
  r.pgid = e.contains("pgid") ? static_cast<pid_t>(Integer(e, "pgid", 2, INT_MAX).value_or(0)) : r.pid;
  r.start_time = static_cast<unsigned long long>(*start);
  r.port = static_cast<int>(Integer(e, "port", 0, 65535).value_or(0));
  r.exe = Text(e, "exe");
  r.argv0 = Text(e, "argv0");
  if (r.pgid < 2) return std::nullopt;
  return r;
}

}  // namespace

std::vector<EngineRecord> ParseStateFile(std::string_view text, const std::string& source,
                                         std::vector<std::string>& notes) {
  std::vector<EngineRecord> out;
  const json state = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (state.is_discarded() || !state.is_object() || !state.contains("engines") || !state["engines"].is_array()) {
    notes.push_back("ignored an unreadable state file " + source);
    return out;
  }
  for (const auto& e : state["engines"]) {
    if (auto r = ParseRecord(e)) out.push_back(std::move(*r));
    else notes.push_back("ignored a malformed record in " + source);
  }
  return out;
}

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::filesystem::path& dir,
                                                     const std::string& config_source) {
  if (Status st = EnsurePrivateDir(dir, "state directory"); !st.ok()) return st;
  const std::string key = ConfigKey(config_source);
  const auto lock_path = dir / (key + ".lock");
  auto fd = OpenNoFollow(lock_path, O_RDWR | O_CREAT);
  if (!fd.ok()) return Status::IoError("cannot open the lock file: " + fd.status().message());
  if (flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return Status::IoError("cannot lock " + lock_path.string() + ": " + strerror(errno));
    auto held_by = ReadPrivateFile(lock_path, 64);
    std::string pid = held_by.ok() ? *held_by : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Status::AlreadyExists("llmdesk is already running for " + ConfigName(config_source) +
                                 (pid.empty() ? " (by another process)" : " as PID " + pid) +
                                 "; use that one (its control API, or `llmdesk status`) or stop it first");
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd->get(), 0) != 0 || pwrite(fd->get(), pid.data(), pid.size(), 0) < 0)
    return Status::IoError("cannot write the lock file " + lock_path.string() + ": " + strerror(errno));

  std::unique_ptr<StateStore> store(new StateStore());
  store->config_source_ = config_source;
  store->key_ = key;
  store->state_path_ = dir / (key + ".state.json");
  store->lock_fd_ = std::move(fd).value();
  return store;
}

std::vector<std::string> StateStore::CleanStale() {
  std::vector<std::string> notes;
  auto text = ReadPrivateFile(state_path_, kMaxStateFile);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) return notes;
    notes.push_back("ignored the state file: " + text.status().message());
  } else {
    const pid_t own_group = getpgrp();
    for (const EngineRecord& r : ParseStateFile(*text, state_path_.string(), notes)) {
      if (r.pgid == own_group || r.pid == getpid()) continue;
      auto leader = ReadStat(r.pid);
      if (leader && leader->start_time != r.start_time) {
        notes.push_back(fmt::format("PID {} recorded for '{}' is now a different process; left alone", r.pid, r.name));
        continue;
      }
      if (leader) {
        if (leader->pgid != r.pgid || !IsRecordedProgram(r.pid, r) || !HasOwnerMark(r.pid, key_)) {
          notes.push_back(fmt::format("PID {} recorded for '{}' is not an engine this llmdesk started; left alone",
                                      r.pid, r.name));
          continue;
        }
        kill(-r.pgid, SIGKILL);
        bool gone = WaitGone(r.pid, std::chrono::seconds(2));
        notes.push_back(fmt::format("{} stale engine '{}' (PID {}, port {}) left by a previous llmdesk",
                                    gone ? "stopped" : "sent SIGKILL to", r.name, r.pid, r.port));
        continue;
      }
      // The leader is gone; its children may not be (they kept the group). A group id is not reused
      // while any member lives, so members that started after the leader and carry our mark are its own.
      std::vector<pid_t> members;
      for (pid_t m : GroupMembers(r.pgid, r.start_time))
        if (HasOwnerMark(m, key_)) members.push_back(m);
      if (members.empty()) continue;  // gone already (PDEATHSIG did its job)
      kill(-r.pgid, SIGKILL);
      for (pid_t m : members) WaitGone(m, std::chrono::seconds(2));
      notes.push_back(fmt::format("stopped {} leftover process(es) of stale engine '{}' (process group {}) left by a "
                                  "previous llmdesk",
                                  members.size(), r.name, r.pgid));
    }
  }
  if (Status st = Write({}); !st.ok()) notes.push_back(st.message());
  return notes;
}

Status StateStore::Write(const std::vector<EngineRecord>& engines) {
  json state = {{"config", config_source_}, {"manager_pid", getpid()}, {"engines", json::array()}};
  for (const auto& e : engines)
    state["engines"].push_back({{"name", e.name},
                                {"pid", e.pid},
                                {"pgid", e.pgid},
                                {"start_time", e.start_time},
                                {"port", e.port},
                                {"exe", e.exe},
                                {"argv0", e.argv0}});
  Status st = ReplaceFile(state_path_, state.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  if (!st.ok()) return Status::IoError("cannot record the running engines (" + st.message() + ")");
  return st;
}

}  // namespace llmdesk::manager
