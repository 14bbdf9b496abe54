// What Child does the same way on both systems (child.cpp is the POSIX side, child_win32.cpp the Windows side):
// the stop's deadline, which Terminate() sets and the owner's wait honours.
#include "process/process.h"

namespace llmdesk::process {

std::optional<std::chrono::steady_clock::time_point> Child::NextDeadline() const {
  return exit_ ? std::nullopt : kill_at_;
}

void Child::KillIfOverdue(std::chrono::steady_clock::time_point now) {
  if (kill_at_ && now >= *kill_at_) Kill();
}

}  // namespace llmdesk::process
