// tests/support/child_process.h — a long-running child process for tests (e.g. the real
// llama-server), owned RAII-style, and a bounded wait for an HTTP endpoint to answer 200.
//
// ChildProcess
//  - Spawns argv (no shell; argv[0] is a path) with stdin /dev/null and stdout+stderr appended to a
//    log file, so a failing test can print what the child said.
//  - The child gets PR_SET_PDEATHSIG(SIGKILL): if the test process dies, the child dies with it.
//  - Exit is detected through a pidfd (pollable, immune to PID reuse).
//  - Stop(): SIGTERM, wait up to `grace` on the pidfd, then SIGKILL; always reaps (waitpid).
//    The destructor calls Stop(), so every child a test starts is stopped when it goes out of scope.
//  Not thread-safe: one test thread owns a ChildProcess.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace llmdesk::test {

class ChildProcess {
 public:
  // Throws std::runtime_error (with the reason) when argv[0] cannot be executed.
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log_file);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  const std::filesystem::path& log_file() const { return log_file_; }

  // True once the process has exited (non-blocking; reaps it, hence the mutable status below).
  bool Exited() const;
  // "running", "exited with code N" or "killed by signal N".
  std::string Describe() const;
  // Stops the process (see above) and returns how it ended. Idempotent.
  std::string Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // The last `max_bytes` of the log file.
  std::string LogTail(size_t max_bytes = 4000) const;

 private:
  bool WaitExit(std::chrono::milliseconds timeout) const;  // polls the pidfd, then reaps

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::filesystem::path log_file_;
  mutable std::optional<int> wait_status_;  // set once reaped
};

// Polls GET http://127.0.0.1:port/path until it answers 200, at most `timeout`. Waits between
// attempts grow from 10 ms to 100 ms; they are waits on the child's pidfd, so an exiting child
// ends the wait at once and fails the result with its exit status and log tail.
testing::AssertionResult WaitForHttp200(int port, const std::string& path, std::chrono::milliseconds timeout,
                                        const ChildProcess* child = nullptr);

}  // namespace llmdesk::test
