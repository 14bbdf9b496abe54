// The POSIX side of state_store.h: the instance lock (flock) and CleanStale, which finds what a previous
// manager left through /proc and kills it by process group.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>

#include "common/unique_fd.h"
#include "manager/private_files.h"
#include "manager/spawn.h"
#include "manager/state_store.h"

namespace llmdesk::manager {
namespace {

constexpr size_t kMaxStateFile = 1 << 20;

class FlockLock final : public InstanceLock {
 public:
  explicit FlockLock(UniqueFd fd) : fd_(std::move(fd)) {}

 private:
  UniqueFd fd_;  // closing it releases the lock
};

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

}  // namespace

Result<std::unique_ptr<InstanceLock>> InstanceLock::Take(const std::filesystem::path& lock_path, std::string& holder) {
  auto fd = OpenNoFollow(lock_path, O_RDWR | O_CREAT);
  if (!fd.ok()) return Status::IoError("cannot open the lock file: " + fd.status().message());
  if (flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return Status::IoError("cannot lock " + lock_path.string() + ": " + strerror(errno));
    auto held_by = ReadPrivateFile(lock_path, 64);
    holder = held_by.ok() ? *held_by : "";
    return Status::AlreadyExists("held by another process");
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd->get(), 0) != 0 || pwrite(fd->get(), pid.data(), pid.size(), 0) < 0)
    return Status::IoError("cannot write the lock file " + lock_path.string() + ": " + strerror(errno));
  return std::unique_ptr<InstanceLock>(new FlockLock(std::move(fd).value()));
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

}  // namespace llmdesk::manager
