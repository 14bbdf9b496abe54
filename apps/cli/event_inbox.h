// apps/cli/event_inbox.h — manager events from the supervisor thread to a command's main loop (up, serve,
// rpc-worker).
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <deque>
#include <vector>

#include "common/event_bus.h"
#include "common/unique_fd.h"
#include "manager/manager.h"

namespace llmdesk::cli {

// Events from the supervisor thread to the main loop: a bounded queue (common/event_bus.h) plus an eventfd
// the loop polls. Beyond the bound, events are dropped and counted; the status table is read from the
// manager anyway, so a dropped line loses no state.
class EventInbox {
 public:
  static constexpr size_t kCapacity = 4096;
  EventInbox() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), queue_(kCapacity) {}
  int fd() const { return fd_.get(); }
  void Post(const manager::Event& e) {
    queue_.Push(e);
    uint64_t one = 1;
    [[maybe_unused]] auto n = write(fd_.get(), &one, sizeof(one));
  }
  std::deque<manager::Event> Take(uint64_t& dropped) {
    uint64_t count;
    [[maybe_unused]] auto n = read(fd_.get(), &count, sizeof(count));
    std::vector<manager::Event> items;
    queue_.PopAll(items, dropped, std::chrono::milliseconds(0));
    return {items.begin(), items.end()};
  }

 private:
  UniqueFd fd_;
  BoundedQueue<manager::Event> queue_;
};

}  // namespace llmdesk::cli
