// tests/support/child_process.h — a long-running child process for tests (e.g. the real
// llama-server), owned RAII-style, and a bounded wait for an HTTP endpoint to answer 200.
//
// ChildProcess
//  - Spawned through test::SpawnProcess (support/spawn.h: no shell, PDEATHSIG, pidfd) with stdin
//    /dev/null and stdout+stderr appended to a log file, so a failing test can print what the child said.
//  - Stop(): SIGTERM, wait up to `grace` on the pidfd, then SIGKILL; always reaps.
//    The destructor calls Stop(), so every child a test starts is stopped when it goes out of scope.
//  Not thread-safe: one test thread owns a ChildProcess.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "support/spawn.h"

namespace llmdesk::test {

class ChildProcess {
 public:
  // Throws std::runtime_error (with the reason) when argv[0] cannot be executed.
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log_file);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return process_.pid(); }
  int pidfd() const { return process_.pidfd(); }
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
  std::filesystem::path log_file_;
  mutable Spawned process_;  // mutable: reaping on a const query (Exited) records the exit code
};

// Polls GET http://127.0.0.1:port/path until it answers 200, at most `timeout`. Waits between
// attempts grow from 10 ms to 100 ms; they are waits on the child's pidfd, so an exiting child
// ends the wait at once and fails the result with its exit status and log tail.
testing::AssertionResult WaitForHttp200(int port, const std::string& path, std::chrono::milliseconds timeout,
                                        const ChildProcess* child = nullptr);

// A foreign process holding `port` (llmdesk-fake-engine --listen-only), returned once /proc lists its
// listening socket (bounded: 20 s; the wait is on its pidfd, so a holder that exits ends it at once).
// Adds a test failure when it does not come up.
std::unique_ptr<ChildProcess> HoldPort(const std::filesystem::path& log_dir, int port);

// Generates dir/answer.gguf with llmdesk-testmodel: calls calculator {"expression":"2+2"}, then answers
// "The sum is <the tool's result>". Returns its path ("" with a test failure when generation failed).
std::string MakeAnswerAfterToolModel(const std::filesystem::path& dir);

}  // namespace llmdesk::test
