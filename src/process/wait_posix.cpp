// process/wait.h on POSIX: poll, and an eventfd as the wake.
#include "process/wait.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace llmdesk::process {

Result<std::vector<bool>> WaitAny(const std::vector<Waitable>& entries, std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  for (const auto& e : entries) fds.push_back({e.handle, static_cast<short>(e.writable ? POLLOUT : POLLIN), 0});
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int wait_ms = -1;
    if (timeout.count() >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      wait_ms = static_cast<int>(std::clamp<long long>(left.count(), 0, 1 << 30));
    }
    const int n = poll(fds.data(), fds.size(), wait_ms);  // fds of -1 are ignored by poll
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError(std::string("poll: ") + std::strerror(errno));
    std::vector<bool> ready(entries.size(), false);
    for (size_t i = 0; i < fds.size(); ++i) ready[i] = fds[i].fd >= 0 && fds[i].revents != 0;
    return ready;
  }
}

WakeEvent::WakeEvent() : handle_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
WakeEvent::~WakeEvent() {
  if (handle_ >= 0) close(handle_);
}
void WakeEvent::Signal() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(handle_, &one, sizeof(one));
}
void WakeEvent::Reset() {
  uint64_t count = 0;
  [[maybe_unused]] ssize_t n = read(handle_, &count, sizeof(count));  // non-blocking: nothing to take is fine
}

}  // namespace llmdesk::process
