#include "support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <httplib.h>

extern char** environ;

namespace llmdesk::test {

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log_file)
    : log_file_(log_file) {
  if (argv.empty()) throw std::runtime_error("ChildProcess: empty argv");
  // Everything the child needs is prepared before fork: after fork only async-signal-safe calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  UniqueFd log(open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  UniqueFd null_in(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!log.valid() || !null_in.valid()) throw std::runtime_error("ChildProcess: cannot open " + log_file.string());
  int status_pipe[2];  // CLOEXEC: EOF means exec succeeded; otherwise the child writes errno
  if (pipe2(status_pipe, O_CLOEXEC) != 0) throw std::runtime_error("ChildProcess: pipe failed");
  UniqueFd status_r(status_pipe[0]), status_w(status_pipe[1]);
  const pid_t parent = getpid();

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("ChildProcess: fork failed");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    dup2(null_in.get(), STDIN_FILENO);
    dup2(log.get(), STDOUT_FILENO);
    dup2(log.get(), STDERR_FILENO);
    execve(args[0], args.data(), environ);
    int err = errno;
    ssize_t ignored = write(status_w.get(), &err, sizeof(err));
    (void)ignored;
    _exit(127);
  }
  status_w.reset();
  pidfd_ = OpenPidfd(pid_);
  int child_errno = 0;
  ssize_t n;
  do n = read(status_r.get(), &child_errno, sizeof(child_errno));
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    WaitExit(std::chrono::seconds(5));
    throw std::runtime_error("ChildProcess: cannot execute " + argv[0] + ": " + std::strerror(child_errno));
  }
  if (!pidfd_.valid()) {  // cannot supervise it: kill it now
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    throw std::runtime_error("ChildProcess: pidfd_open failed (Linux >= 5.3 needed)");
  }
}

ChildProcess::~ChildProcess() { Stop(); }

bool ChildProcess::WaitExit(std::chrono::milliseconds timeout) const {
  if (wait_status_) return true;
  pollfd pfd{pidfd_.get(), POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool exited = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int ready = poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    exited = ready > 0;
    if (exited || left.count() <= 0 || (ready < 0 && errno != EINTR)) break;
  }
  if (!exited) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, 0);  // does not block: the pidfd said it is gone
  if (r == pid_) wait_status_ = status;
  return wait_status_.has_value();
}

bool ChildProcess::Exited() const { return WaitExit(std::chrono::milliseconds(0)); }

std::string ChildProcess::Describe() const {
  if (!Exited()) return "running";
  int s = *wait_status_;
  if (WIFEXITED(s)) return "exited with code " + std::to_string(WEXITSTATUS(s));
  if (WIFSIGNALED(s)) return "killed by signal " + std::to_string(WTERMSIG(s));
  return "ended";
}

std::string ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return "never started";
  if (!Exited()) {
    kill(pid_, SIGTERM);  // safe: an unreaped child's PID cannot be reused
    if (!WaitExit(grace)) {
      kill(pid_, SIGKILL);
      WaitExit(std::chrono::seconds(30));  // the kernel completes SIGKILL promptly
    }
  }
  return Describe();
}

std::string ChildProcess::LogTail(size_t max_bytes) const {
  std::ifstream in(log_file_, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > max_bytes ? "…" + text.substr(text.size() - max_bytes) : text;
}

testing::AssertionResult WaitForHttp200(int port, const std::string& path, std::chrono::milliseconds timeout,
                                        const ChildProcess* child) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::milliseconds(200));
  client.set_read_timeout(std::chrono::seconds(2));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto interval = std::chrono::milliseconds(10);
  std::string last = "no answer";
  for (;;) {
    if (child && child->Exited())
      return testing::AssertionFailure() << "the child " << child->Describe() << " before GET " << path
                                         << " answered 200; its log:\n" << child->LogTail();
    if (auto res = client.Get(path)) {
      if (res->status == 200) return testing::AssertionSuccess();
      last = "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 200);
    } else {
      last = httplib::to_string(res.error());
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    auto wait = std::min(interval, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    pollfd pfd{child ? child->pidfd() : -1, POLLIN, 0};  // fd -1 is ignored by poll: a plain timed wait
    poll(&pfd, 1, static_cast<int>(wait.count()));
    interval = std::min(interval * 2, std::chrono::milliseconds(100));
  }
  auto failure = testing::AssertionFailure() << "GET 127.0.0.1:" << port << path << " gave no 200 within "
                                             << timeout.count() << " ms (last: " << last << ")";
  if (child) failure << "; the child is " << child->Describe() << "; its log:\n" << child->LogTail();
  return failure;
}

}  // namespace llmdesk::test
