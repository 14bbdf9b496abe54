// process/wait.h — waiting on what process/ hands out (a Child's exit_handle(), output_handle(), error_handle(),
// input_handle()) and on a WakeEvent, with one call on both systems: poll on POSIX, WaitForMultipleObjects on
// Windows. For owners that wait on one child from one thread (the stdio MCP client, RunCapture); a supervisor of
// many children keeps its own epoll / wait loop.
#pragma once

#include <chrono>
#include <vector>

#include "common/status.h"
#include "process/process.h"

namespace llmdesk::process {

struct Waitable {
  WaitHandle handle = kNoWaitHandle;  // kNoWaitHandle: never ready (a pipe already closed)
  bool writable = false;              // POSIX: wait for room to write (POLLOUT) instead of data; Windows: ignored
};

// Waits until at least one entry is ready or `timeout` passes (negative: no limit) and says which are ready, one
// flag per entry in order (all false after a timeout). Ready includes end of file and errors on a pipe: the read
// that follows reports them. Windows: handles must be process handles or manual-reset events (a ready check must
// not consume the signal); at most 64. IoError when the wait itself fails. POSIX: EINTR is retried.
Result<std::vector<bool>> WaitAny(const std::vector<Waitable>& entries, std::chrono::milliseconds timeout);

// A wake for another thread's WaitAny: after Signal(), handle() stays ready until Reset() (eventfd on POSIX, a
// manual-reset event on Windows). A consumer resets first and then takes what was posted, so a Signal() that races
// with it is never lost. Thread-safe.
class WakeEvent {
 public:
  WakeEvent();
  ~WakeEvent();
  WakeEvent(const WakeEvent&) = delete;
  WakeEvent& operator=(const WakeEvent&) = delete;
  bool valid() const { return handle_ != kNoWaitHandle; }
  WaitHandle handle() const { return handle_; }
  void Signal();
  void Reset();

 private:
  WaitHandle handle_ = kNoWaitHandle;
};

}  // namespace llmdesk::process
