// process/process.h's RunCapture on Windows: a Child (kMergedOutput: its own Job Object, so a timeout kills the
// command and all it started) whose output is read until it closes, waiting only on its handles (process/wait.h).
#include "process/process.h"
#include "process/wait.h"

namespace llmdesk::process {

Result<RunOutput> RunCapture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                             size_t max_output, const std::map<std::string, std::string>& env) {
  if (argv.empty() || argv[0].empty()) return Status::InvalidArgument("no command to run");
  auto spawned = Child::Spawn({.argv = argv, .env = env});
  if (!spawned.ok()) return spawned.status();  // NotFound names the program
  Child& child = **spawned;
  RunOutput out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto keep = [&](std::string_view bytes) {
    const size_t room = max_output > out.output.size() ? max_output - out.output.size() : 0;
    out.output.append(bytes.substr(0, room));
  };
  // Until the output is closed and the process has exited (either may come first), bounded by the deadline.
  while (child.output_open() || !child.TryReap()) {
    if (child.output_open() && !child.ReadOutputBytes(keep)) child.CloseOutput();
    if (!child.output_open() && child.TryReap()) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      child.Kill();  // TerminateJobObject: the command and whatever it started
      return Status::Timeout(argv[0] + " did not finish within " + std::to_string(timeout.count()) + " ms");
    }
    // The exit handle stays signalled once the process ended: only waited on until then.
    auto ready = WaitAny({{child.exited() ? kNoWaitHandle : child.exit_handle()}, {child.output_handle()}}, left);
    if (!ready.ok()) return ready.status();
  }
  out.exit_code = child.exit_status()->abnormal() ? -1 : child.exit_status()->code;
  return out;
}

}  // namespace llmdesk::process
