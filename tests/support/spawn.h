// tests/support/spawn.h — the one way tests and benchmarks start another program.
//
// SpawnProcess forks and execs argv (no shell; argv[0] without '/' is looked up in PATH) with:
//  - our environment plus `env` (an empty value removes the variable),
//  - stdin from /dev/null, a file, or a pipe we write; stdout and stderr each to /dev/null, a file
//    (appended), a pipe we read, or stderr merged into stdout,
//  - PR_SET_PDEATHSIG(SIGKILL): if the test process dies, the child dies with it,
//  - a pidfd for exit detection (pollable, immune to PID reuse).
// Exec failure is reported synchronously (through a close-on-exec status pipe) as an exception: a test
// that cannot start its program fails there and then. Everything returned is owned RAII-style; the
// Spawned destructor SIGKILLs and reaps a process still running.
// Not thread-safe: one test thread owns a Spawned.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace llmdesk::test {

struct Stdio {
  enum class Kind { kNull, kFile, kPipe, kMergeIntoStdout, kInherit };
  Kind kind = Kind::kNull;
  std::filesystem::path file;  // kFile: read from (stdin) or appended to (stdout/stderr)
  static Stdio Null() { return {}; }
  static Stdio File(std::filesystem::path p) { return {Kind::kFile, std::move(p)}; }
  static Stdio Pipe() { return {Kind::kPipe, {}}; }
  static Stdio Merge() { return {Kind::kMergeIntoStdout, {}}; }
  static Stdio Inherit() { return {Kind::kInherit, {}}; }
};

struct SpawnOptions {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // added to ours; "" removes the variable
  Stdio in, out, err;
};

class Spawned {
 public:
  Spawned() = default;
  Spawned(Spawned&&) noexcept;
  Spawned& operator=(Spawned&&) noexcept;
  ~Spawned();

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  UniqueFd& stdin_fd() { return in_; }    // write end (kPipe only)
  UniqueFd& stdout_fd() { return out_; }  // read end (kPipe only; carries stderr too with Merge)
  UniqueFd& stderr_fd() { return err_; }  // read end (kPipe only)

  // Exit code (128 + signal when killed) once the process has ended within `timeout`; nullopt if it
  // still runs. Reaps it.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  bool Exited() { return Wait(std::chrono::milliseconds(0)).has_value(); }
  // SIGTERM, up to `grace`, then SIGKILL; returns the exit code. Idempotent.
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  void Signal(int sig);

 private:
  friend Spawned SpawnProcess(const SpawnOptions& options);
  pid_t pid_ = -1;
  UniqueFd pidfd_, in_, out_, err_;
  std::optional<int> exit_code_;
};

// Throws std::runtime_error naming the program and errno when it cannot be started.
Spawned SpawnProcess(const SpawnOptions& options);

// Reads everything from `fd` until EOF or the deadline (non-blocking reads with poll).
std::string ReadAll(int fd, std::chrono::steady_clock::time_point deadline);

}  // namespace llmdesk::test
