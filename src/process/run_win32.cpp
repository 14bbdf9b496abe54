// RunCapture on Windows: a Child (kMergedOutput: CreateProcessW, its own Job Object) waited on with
// WaitForMultipleObjects over its output event and process handle until both are done or the deadline passes;
// on timeout the job is terminated (the child and all it started), as POSIX kills the process group.
#include <windows.h>

#include <algorithm>
#include <string>

#include "process/process.h"

namespace llmdesk::process {

Result<RunOutput> RunCapture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                             size_t max_output, const std::map<std::string, std::string>& env) {
  if (argv.empty() || argv[0].empty()) return Status::InvalidArgument("no command to run");
  SpawnSpec spec;
  spec.argv = argv;
  spec.env = env;
  auto spawned = Child::Spawn(spec);
  if (!spawned.ok()) return spawned.status();
  Child& child = **spawned;
  RunOutput out;
  const auto on_line = [&](std::string_view line) {
    const size_t room = max_output > out.output.size() ? max_output - out.output.size() : 0;
    out.output.append(line.substr(0, room));
    if (out.output.size() < max_output) out.output += '\n';
  };
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  while (child.output_open() || !child.TryReap()) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    HANDLE handles[2];
    DWORD count = 0;
    if (child.output_open()) handles[count++] = child.output_handle();
    if (!child.exited()) handles[count++] = child.exit_handle();
    if (count == 0) break;
    const DWORD r = WaitForMultipleObjects(count, handles, FALSE, static_cast<DWORD>(left.count()));
    if (r == WAIT_FAILED) return Status::IoError("cannot wait for " + argv[0]);
    if (child.output_open() && !child.ReadOutput(on_line)) child.CloseOutput();
    // A grandchild may keep the pipe open after the child exits: its output is not waited for.
    if (child.TryReap() && child.output_open()) {
      child.ReadOutput(on_line);
      child.CloseOutput();
    }
  }
  if (timed_out) {
    child.Kill();
    return Status::Timeout(argv[0] + " did not finish within " + std::to_string(timeout.count()) + " ms");
  }
  out.exit_code = child.exit_status() && !child.exit_status()->abnormal() ? child.exit_status()->code : -1;
  return out;
}

}  // namespace llmdesk::process
