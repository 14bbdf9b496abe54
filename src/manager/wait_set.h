// manager/wait_set.h — what the supervisor thread waits on (private to src/manager). One interface, chosen at
// build time (docs/WINDOWS.md): wait_set_posix.cpp (an eventfd and epoll over the children's pidfds and output
// pipes) and wait_set_win32.cpp (an event and WaitForMultipleObjects over their process handles and output
// events). Both are level-triggered: a handle stays ready until its cause is dealt with (the output read, the
// child forgotten), so nothing is lost between two waits and nothing here ever sleeps or polls.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/status.h"
#include "process/process.h"

namespace llmdesk::manager {

// Wakes the waiting supervisor from any thread (POSIX: an eventfd; Windows: a manual-reset event).
class WakeSignal {
 public:
  WakeSignal();
  ~WakeSignal();
  WakeSignal(const WakeSignal&) = delete;
  WakeSignal& operator=(const WakeSignal&) = delete;

  bool valid() const { return handle_ != process::kNoWaitHandle; }
  void Set();    // any thread
  void Clear();  // the waiting thread, before it takes what the wake was for
  process::WaitHandle handle() const { return handle_; }

 private:
  process::WaitHandle handle_ = process::kNoWaitHandle;
};

// The handles one thread waits on, each with a tag that Wait reports when it is ready. One thread uses it.
class WaitSet {
 public:
  // How many handles can be waited on at once: Windows' MAXIMUM_WAIT_OBJECTS (64); no limit on POSIX.
  static const size_t kMaxHandles;

  WaitSet();
  ~WaitSet();
  WaitSet(const WaitSet&) = delete;
  WaitSet& operator=(const WaitSet&) = delete;

  bool valid() const;
  // FailedPrecondition past kMaxHandles (the message names the limit); IoError when the OS refuses.
  Status Add(process::WaitHandle handle, uint64_t tag);
  void Remove(process::WaitHandle handle);  // a handle not in the set is ignored
  // Blocks until at least one handle is ready or `timeout` passes (nullopt: no timeout) and appends the tags of
  // the ready ones (each once) to `ready`. IoError when the wait itself fails.
  Status Wait(std::optional<std::chrono::milliseconds> timeout, std::vector<uint64_t>& ready);

 private:
  struct Impl;  // the epoll fd / the handle table (the .cpp files)
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmdesk::manager
