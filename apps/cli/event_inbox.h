// apps/cli/event_inbox.h — manager events from the supervisor thread to a command's main loop (up, serve,
// rpc-worker).
#pragma once

#include <deque>
#include <vector>

#include "common/event_bus.h"
#include "manager/manager.h"
#include "process/wait.h"

namespace llmdesk::cli {

// Events from the supervisor thread to the main loop: a bounded queue (common/event_bus.h) plus a wake the loop
// waits on (process/wait.h: an eventfd on POSIX, an event on Windows). Beyond the bound, events are dropped and
// counted; the status table is read from the manager anyway, so a dropped line loses no state.
class EventInbox {
 public:
  static constexpr size_t kCapacity = 4096;
  EventInbox() : queue_(kCapacity) {}
  process::WaitHandle wait_handle() const { return wake_.handle(); }  // ready while events wait
  void Post(const manager::Event& e) {
    queue_.Push(e);
    wake_.Signal();
  }
  std::deque<manager::Event> Take(uint64_t& dropped) {
    wake_.Reset();  // first: an event posted from here on signals again
    std::vector<manager::Event> items;
    queue_.PopAll(items, dropped, std::chrono::milliseconds(0));
    return {items.begin(), items.end()};
  }

 private:
  process::WakeEvent wake_;
  BoundedQueue<manager::Event> queue_;
};

}  // namespace llmdesk::cli
