#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "process/process.h"

extern char** environ;

namespace llmdesk::process {
namespace {

constexpr size_t kMaxLineBytes = 16 * 1024;  // a longer "line" (progress dots) is cut into pieces
constexpr size_t kMaxReadPerCall = 1 << 20;  // keeps one chatty child from starving the loop

bool IsExecutableFile(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec) && access(path.c_str(), X_OK) == 0;
}

// PATH lookup happens in the parent: between fork and exec only async-signal-safe calls are allowed.
std::optional<std::string> ResolveProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return IsExecutableFile(name) ? std::optional(name) : std::nullopt;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (IsExecutableFile(candidate)) return candidate;
  }
  return std::nullopt;
}

std::vector<std::string> BuildEnvironment(const std::map<std::string, std::string>& additions) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string_view::npos && additions.count(std::string(entry.substr(0, eq)))) continue;
    env.emplace_back(entry);
  }
  for (const auto& [key, value] : additions) env.push_back(key + "=" + value);
  return env;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Runs in the forked child: async-signal-safe calls only, then exec. Reports errno through `err_fd`.
[[noreturn]] void ExecChild(pid_t parent, int out_fd, int err_fd, const char* path, char* const* argv,
                            char* const* envp, const char* working_dir, int max_fd) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent thread died before prctl took effect
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);  // ignored signals survive exec
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  dup2(out_fd, STDOUT_FILENO);
  dup2(out_fd, STDERR_FILENO);
  if (working_dir && chdir(working_dir) != 0) {
    int e = errno;
    (void)!write(err_fd, &e, sizeof(e));
    _exit(127);
  }
  // Other threads (an HTTP server, say) may have opened fds without O_CLOEXEC: the engine must not
  // inherit them (an inherited listening socket would keep that port taken while the engine lives).
  if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0)
    for (int fd = 3; fd < max_fd; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
  execve(path, argv, envp);
  int e = errno;
  (void)!write(err_fd, &e, sizeof(e));
  _exit(127);
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (signal) {
    const char* abbrev = sigabbrev_np(signal);
    return "killed by signal " + std::to_string(signal) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
  }
  return "exited with code " + std::to_string(code);
}

Result<std::unique_ptr<Child>> Child::Spawn(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) return Status::InvalidArgument("no program to start");
  auto program = ResolveProgram(spec.argv[0]);
  if (!program) return Status::NotFound("cannot start " + spec.argv[0] + ": no such executable file");

  std::vector<std::string> argv_strings = spec.argv;
  std::vector<std::string> env_strings = BuildEnvironment(spec.env);
  auto argv = Pointers(argv_strings);
  auto envp = Pointers(env_strings);
  std::string working_dir = spec.working_dir.string();

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Status::IoError(std::string("pipe: ") + strerror(errno));
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return Status::IoError(std::string("pipe: ") + strerror(errno));
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);

  rlimit files{};
  const int max_fd =
      getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < 65536 ? static_cast<int>(files.rlim_cur) : 65536;
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return Status::IoError(std::string("fork: ") + strerror(errno));
  if (pid == 0)
    ExecChild(parent, out_w.get(), err_w.get(), program->c_str(), argv.data(), envp.data(),
              working_dir.empty() ? nullptr : working_dir.c_str(), max_fd);

  std::unique_ptr<Child> child(new Child());
  child->pid_ = pid;
  child->started_ = std::chrono::steady_clock::now();
  setpgid(pid, pid);  // also from the parent, so signalling the group works even before the child ran
  out_w.reset();
  err_w.reset();
  // The error pipe closes on a successful exec (CLOEXEC) or carries errno when exec failed.
  int exec_errno = 0;
  ssize_t got;
  do got = read(err_r.get(), &exec_errno, sizeof(exec_errno));
  while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof(exec_errno))) {
    child->TryReapBlocking();
    return Status::NotFound("cannot start " + *program + ": " + strerror(exec_errno));
  }
  child->pidfd_ = OpenPidfd(pid);
  if (!child->pidfd_.valid())
    return Status::IoError(std::string("pidfd_open: ") + strerror(errno) + " (Linux 5.3 or newer is needed)");
  fcntl(out_r.get(), F_SETFL, fcntl(out_r.get(), F_GETFL) | O_NONBLOCK);
  child->output_ = std::move(out_r);
  return child;
}

Child::~Child() {
  if (pid_ <= 0) return;
  if (!exit_) {
    SignalGroup(SIGKILL);
    TryReapBlocking();
  } else {
    kill(-pid_, SIGKILL);  // stragglers the leader left in its group (the group id cannot be reused meanwhile)
  }
}

void Child::TryReapBlocking() {
  int status = 0;
  pid_t r;
  do r = waitpid(pid_, &status, 0);
  while (r < 0 && errno == EINTR);
  if (r == pid_)
    exit_ = ExitStatus{WIFEXITED(status) ? WEXITSTATUS(status) : -1, WIFSIGNALED(status) ? WTERMSIG(status) : 0};
  else
    exit_ = ExitStatus{};
}

bool Child::ReadOutput(const std::function<void(std::string_view)>& on_line) {
  if (!output_.valid() || output_eof_) return false;
  char buffer[64 * 1024];
  size_t total = 0;
  auto flush_lines = [&](bool at_eof) {
    size_t start = 0;
    for (size_t i = 0; i < partial_.size(); ++i) {
      if (partial_[i] != '\n' && partial_[i] != '\r') continue;
      if (i > start) on_line(std::string_view(partial_).substr(start, i - start));
      start = i + 1;
    }
    partial_.erase(0, start);
    while (partial_.size() >= kMaxLineBytes) {
      on_line(std::string_view(partial_).substr(0, kMaxLineBytes));
      partial_.erase(0, kMaxLineBytes);
    }
    if (at_eof && !partial_.empty()) on_line(partial_), partial_.clear();
  };
  while (total < kMaxReadPerCall) {
    ssize_t n = read(output_.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      flush_lines(true);
      output_eof_ = true;  // the owner removes the fd from its poll set, then calls CloseOutput()
      return false;
    }
    partial_.append(buffer, static_cast<size_t>(n));
    total += static_cast<size_t>(n);
    flush_lines(false);
  }
  return true;
}

void Child::CloseOutput() { output_.reset(); }

std::optional<ExitStatus> Child::TryReap() {
  if (exit_) return exit_;
  int status = 0;
  pid_t r;
  do r = waitpid(pid_, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == pid_) {
    exit_ = ExitStatus{WIFEXITED(status) ? WEXITSTATUS(status) : -1, WIFSIGNALED(status) ? WTERMSIG(status) : 0};
    kill_at_.reset();
  } else if (r < 0 && errno == ECHILD) {
    exit_ = ExitStatus{};  // someone else reaped it (should not happen): treat as gone
  }
  return exit_;
}

void Child::SignalGroup(int sig) {
  if (pid_ <= 0 || exit_) return;
  if (kill(-pid_, sig) != 0) kill(pid_, sig);
}

void Child::Terminate(std::chrono::milliseconds grace) {
  if (exit_) return;
  if (grace.count() <= 0) return Kill();
  SignalGroup(SIGTERM);
  auto due = std::chrono::steady_clock::now() + grace;
  if (!kill_at_ || due < *kill_at_) kill_at_ = due;
}

void Child::Kill() {
  SignalGroup(SIGKILL);
  kill_at_.reset();
}

std::optional<std::chrono::steady_clock::time_point> Child::NextDeadline() const {
  return exit_ ? std::nullopt : kill_at_;
}

void Child::KillIfOverdue(std::chrono::steady_clock::time_point now) {
  if (kill_at_ && now >= *kill_at_) Kill();
}

std::optional<unsigned long long> ProcessStartTime(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto paren = stat.rfind(')');  // the command name may itself contain spaces and parentheses
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 1));
  std::string field;
  for (int index = 3; index <= 22 && fields >> field; ++index) {
    if (index == 3 && (field == "Z" || field == "X")) return std::nullopt;  // exited, only not reaped yet
    if (index == 22) {
      try {
        return std::stoull(field);
      } catch (...) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

}  // namespace llmdesk::process
