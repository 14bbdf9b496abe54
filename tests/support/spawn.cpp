#include "support/spawn.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

extern char** environ;

namespace llmdesk::test {
namespace {

UniqueFd OpenOrThrow(const std::filesystem::path& path, int flags) {
  UniqueFd fd(open(path.c_str(), flags | O_CLOEXEC, 0644));
  if (!fd.valid()) throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
  return fd;
}

// The fd the child gets for one stdio slot (`ours` receives our end of a pipe).
UniqueFd ChildEnd(const Stdio& s, bool input, UniqueFd& ours) {
  switch (s.kind) {
    case Stdio::Kind::kNull:
      return OpenOrThrow("/dev/null", input ? O_RDONLY : O_WRONLY);
    case Stdio::Kind::kFile:
      return OpenOrThrow(s.file, input ? O_RDONLY : (O_WRONLY | O_CREAT | O_APPEND));
    case Stdio::Kind::kPipe: {
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
      ours.reset(input ? fds[1] : fds[0]);
      return UniqueFd(input ? fds[0] : fds[1]);
    }
    case Stdio::Kind::kMergeIntoStdout:
    case Stdio::Kind::kInherit:
      return {};
  }
  return {};
}

}  // namespace

Spawned::Spawned(Spawned&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      pidfd_(std::move(o.pidfd_)),
      in_(std::move(o.in_)),
      out_(std::move(o.out_)),
      err_(std::move(o.err_)),
      exit_code_(o.exit_code_) {}

Spawned& Spawned::operator=(Spawned&& o) noexcept {
  if (this != &o) {
    Stop(std::chrono::milliseconds(0));
    pid_ = std::exchange(o.pid_, -1);
    pidfd_ = std::move(o.pidfd_);
    in_ = std::move(o.in_);
    out_ = std::move(o.out_);
    err_ = std::move(o.err_);
    exit_code_ = o.exit_code_;
  }
  return *this;
}

Spawned::~Spawned() { Stop(std::chrono::milliseconds(0)); }

std::optional<int> Spawned::Wait(std::chrono::milliseconds timeout) {
  if (exit_code_ || pid_ <= 0) return exit_code_;
  pollfd p{pidfd_.get(), POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int n = poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (n > 0) break;
    if (n == 0 || errno != EINTR) return std::nullopt;
  }
  int status = 0;
  if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
}

void Spawned::Signal(int sig) {
  if (pid_ > 0 && !exit_code_) kill(pid_, sig);  // safe: an unreaped child's PID cannot be reused
}

int Spawned::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (!Exited()) {
    if (grace.count() > 0) {
      Signal(SIGTERM);
      Wait(grace);
    }
    Signal(SIGKILL);
    Wait(std::chrono::seconds(30));  // the kernel completes SIGKILL promptly
  }
  return exit_code_.value_or(-1);
}

Spawned SpawnProcess(const SpawnOptions& options) {
  if (options.argv.empty()) throw std::runtime_error("SpawnProcess: empty argv");
  Spawned s;
  // Everything the child needs is prepared before fork: after fork only async-signal-safe calls.
  UniqueFd child_in = ChildEnd(options.in, true, s.in_);
  UniqueFd child_out = ChildEnd(options.out, false, s.out_);
  UniqueFd child_err = ChildEnd(options.err, false, s.err_);
  const bool merge = options.err.kind == Stdio::Kind::kMergeIntoStdout;
  const bool keep_out = options.out.kind == Stdio::Kind::kInherit;
  const bool keep_err = options.err.kind == Stdio::Kind::kInherit;

  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (auto eq = kv.find('='); eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : options.env) {
    if (v.empty()) env.erase(k);
    else env[k] = v;
  }
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  for (auto& e : env_strings) envp.push_back(e.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);

  int status_pipe[2];  // close-on-exec: EOF means exec succeeded; otherwise the child writes errno
  if (pipe2(status_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  UniqueFd status_r(status_pipe[0]), status_w(status_pipe[1]);
  const pid_t parent = getpid();
  s.pid_ = fork();
  if (s.pid_ < 0) throw std::runtime_error("fork failed");
  if (s.pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // a test may block signals; the program must not inherit that
    dup2(child_in.get(), STDIN_FILENO);
    if (!keep_out) dup2(child_out.get(), STDOUT_FILENO);
    if (merge) dup2(STDOUT_FILENO, STDERR_FILENO);
    else if (!keep_err) dup2(child_err.get(), STDERR_FILENO);
    // Only stdio reaches the program (as in Child::Spawn): an inherited copy of a stack's keep-alive socket
    // would keep it open after the stack closed it, and its peer would wait for an answer nobody sends.
    if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0)
      for (int fd = 3; fd < 4096; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);  // the status pipe is CLOEXEC already
    execvpe(argv[0], argv.data(), envp.data());
    int err = errno;
    [[maybe_unused]] ssize_t ignored = write(status_w.get(), &err, sizeof(err));
    _exit(127);
  }
  status_w.reset();
  s.pidfd_ = OpenPidfd(s.pid_);
  int child_errno = 0;
  ssize_t n;
  do n = read(status_r.get(), &child_errno, sizeof(child_errno));
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    waitpid(s.pid_, nullptr, 0);
    s.pid_ = -1;
    throw std::runtime_error("cannot execute " + options.argv[0] + ": " + std::strerror(child_errno));
  }
  if (!s.pidfd_.valid()) throw std::runtime_error("pidfd_open failed (Linux >= 5.3 needed)");
  return s;
}

std::string ReadAll(int fd, std::chrono::steady_clock::time_point deadline) {
  std::string text;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace llmdesk::test
