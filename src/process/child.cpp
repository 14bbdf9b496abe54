#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "process/process.h"
#include "process/environment.h"
#include "process/line_splitter.h"

extern char** environ;

namespace llmdesk::process {
namespace {

constexpr size_t kMaxReadPerCall = 1 << 20;  // keeps one chatty child from starving the loop

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The fds a child gets as 0, 1 and 2 (-1 for stdin = /dev/null).
struct ChildStdio {
  int in = -1, out = -1, err = -1;
};

// Runs in the forked child: async-signal-safe calls only, then exec. Reports errno through `status_fd`.
[[noreturn]] void ExecChild(pid_t parent, ChildStdio stdio, int status_fd, const char* path, char* const* argv,
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
  int in = stdio.in >= 0 ? stdio.in : open("/dev/null", O_RDONLY);
  if (in >= 0) dup2(in, STDIN_FILENO);
  dup2(stdio.out, STDOUT_FILENO);
  dup2(stdio.err, STDERR_FILENO);
  if (working_dir && chdir(working_dir) != 0) {
    int e = errno;
    (void)!write(status_fd, &e, sizeof(e));
    _exit(127);
  }
  // Other threads (an HTTP server, say) may have opened fds without O_CLOEXEC: the engine must not
  // inherit them (an inherited listening socket would keep that port taken while the engine lives).
  if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0)
    for (int fd = 3; fd < max_fd; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
  execve(path, argv, envp);
  int e = errno;
  (void)!write(status_fd, &e, sizeof(e));
  _exit(127);
}

// A close-on-exec pipe: [0] read end, [1] write end.
Result<std::pair<UniqueFd, UniqueFd>> MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::IoError(std::string("pipe: ") + strerror(errno));
  return std::pair(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

std::string ExitStatus::ToString() const {
  if (signal) {
    const char* abbrev = sigabbrev_np(signal);
    return "killed by signal " + std::to_string(signal) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
  }
  return "exited with code " + std::to_string(code);
}

bool ExitStatus::abnormal() const { return signal != 0; }

WaitHandle Child::exit_handle() const { return pidfd(); }
WaitHandle Child::output_handle() const { return output_fd(); }
WaitHandle Child::error_handle() const { return stderr_fd(); }
WaitHandle Child::input_handle() const { return stdin_fd(); }

Result<std::unique_ptr<Child>> Child::Spawn(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) return Status::InvalidArgument("no program to start");
  // PATH lookup happens in the parent: between fork and exec only async-signal-safe calls are allowed.
  const char* search_path = std::getenv("PATH");
  auto found = FindProgram(spec.argv[0], search_path ? search_path : "/usr/local/bin:/usr/bin:/bin");
  if (!found) return Status::NotFound("cannot start " + spec.argv[0] + ": no such executable file");
  const std::string program = found->string();

  std::vector<std::string> argv_strings = spec.argv;
  std::vector<std::string> env_strings = BuildEnvironment(spec.env);
  auto argv = Pointers(argv_strings);
  auto envp = Pointers(env_strings);
  std::string working_dir = spec.working_dir.string();

  const bool pipes = spec.stdio == SpawnSpec::Stdio::kPipes;
  auto out = MakePipe(), exec_status = MakePipe();
  if (!out.ok()) return out.status();
  if (!exec_status.ok()) return exec_status.status();
  std::pair<UniqueFd, UniqueFd> in, err;  // kPipes only
  if (pipes) {
    auto in_pipe = MakePipe(), err_pipe = MakePipe();
    if (!in_pipe.ok()) return in_pipe.status();
    if (!err_pipe.ok()) return err_pipe.status();
    in = std::move(*in_pipe), err = std::move(*err_pipe);
  }
  const ChildStdio stdio{.in = pipes ? in.first.get() : -1,
                         .out = out->second.get(),
                         .err = pipes ? err.second.get() : out->second.get()};

  rlimit files{};
  const int max_fd =
      getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < 65536 ? static_cast<int>(files.rlim_cur) : 65536;
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return Status::IoError(std::string("fork: ") + strerror(errno));
  if (pid == 0)
    ExecChild(parent, stdio, exec_status->second.get(), program.c_str(), argv.data(), envp.data(),
              working_dir.empty() ? nullptr : working_dir.c_str(), max_fd);

  std::unique_ptr<Child> child(new Child());
  child->pid_ = pid;
  child->started_ = std::chrono::steady_clock::now();
  setpgid(pid, pid);  // also from the parent, so signalling the group works even before the child ran
  // The child's ends close here, so EOF and EPIPE happen when the child's side goes away.
  out->second.reset();
  exec_status->second.reset();
  in.first.reset();
  err.second.reset();
  // The status pipe closes on a successful exec (CLOEXEC) or carries errno when exec failed.
  int exec_errno = 0;
  ssize_t got;
  do got = read(exec_status->first.get(), &exec_errno, sizeof(exec_errno));
  while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof(exec_errno))) {
    child->TryReapBlocking();
    return Status::NotFound("cannot start " + program + ": " + strerror(exec_errno));
  }
  child->pidfd_ = OpenPidfd(pid);
  if (!child->pidfd_.valid())
    return Status::IoError(std::string("pidfd_open: ") + strerror(errno) + " (Linux 5.3 or newer is needed)");
  SetNonBlocking(out->first.get());
  child->output_pipe_.fd = std::move(out->first);
  if (pipes) {
    SetNonBlocking(err.first.get());
    SetNonBlocking(in.second.get());
    child->error_pipe_.fd = std::move(err.first);
    child->input_ = std::move(in.second);
  }
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

bool Child::ReadChunks(LinePipe& pipe, const std::function<void(std::string_view)>& on_bytes) {
  if (!pipe.fd.valid() || pipe.eof) return false;
  char buffer[64 * 1024];
  size_t total = 0;
  while (total < kMaxReadPerCall) {
    ssize_t n = read(pipe.fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      pipe.eof = true;  // the owner removes the fd from its poll set, then closes it
      return false;
    }
    total += static_cast<size_t>(n);
    on_bytes(std::string_view(buffer, static_cast<size_t>(n)));
  }
  return true;
}

bool Child::ReadLines(LinePipe& pipe, const std::function<void(std::string_view)>& on_line) {
  std::string& partial = pipe.partial;
  const bool open = ReadChunks(pipe, [&](std::string_view bytes) {
    partial.append(bytes);
    TakeLines(partial, false, on_line);
  });
  if (!open && pipe.eof) TakeLines(partial, true, on_line);
  return open;
}

bool Child::ReadOutput(const std::function<void(std::string_view)>& on_line) { return ReadLines(output_pipe_, on_line); }
void Child::CloseOutput() { output_pipe_.fd.reset(); }
bool Child::ReadErrors(const std::function<void(std::string_view)>& on_line) { return ReadLines(error_pipe_, on_line); }
bool Child::ReadOutputBytes(const std::function<void(std::string_view)>& on_bytes) {
  return ReadChunks(output_pipe_, on_bytes);
}
bool Child::ReadErrorBytes(const std::function<void(std::string_view)>& on_bytes) {
  return ReadChunks(error_pipe_, on_bytes);
}
void Child::CloseErrors() { error_pipe_.fd.reset(); }

Result<size_t> Child::WriteStdin(std::string_view data) {
  if (!input_.valid()) return Status::FailedPrecondition("this process has no stdin pipe (spawn it with Stdio::kPipes)");
  if (data.empty()) return size_t{0};
  ssize_t n = WriteNoSigpipe(input_.get(), data.data(), data.size());
  if (n >= 0) return static_cast<size_t>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
  if (errno == EPIPE) return Status::Unavailable("PID " + std::to_string(pid_) + " closed its stdin or exited");
  return Status::IoError(std::string("write to PID ") + std::to_string(pid_) + "'s stdin: " + strerror(errno));
}

void Child::CloseStdin() { input_.reset(); }

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
      unsigned long long ticks = 0;
      auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), ticks);
      if (ec != std::errc() || end != field.data() + field.size()) return std::nullopt;
      return ticks;
    }
  }
  return std::nullopt;
}

}  // namespace llmdesk::process
