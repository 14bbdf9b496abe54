// The supervisor's waiting on POSIX: an eventfd to wake it, epoll over pidfds and output pipes (wait_set.h).
#include "manager/wait_set.h"

#include "common/unique_fd.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

namespace llmdesk::manager {

WakeSignal::WakeSignal() : handle_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
WakeSignal::~WakeSignal() {
  if (handle_ >= 0) close(handle_);
}

void WakeSignal::Set() {
  uint64_t one = 1;
  (void)!write(handle_, &one, sizeof(one));
}

void WakeSignal::Clear() {
  uint64_t count;
  (void)!read(handle_, &count, sizeof(count));
}

const size_t WaitSet::kMaxHandles = std::numeric_limits<size_t>::max();

struct WaitSet::Impl {
  UniqueFd epoll_fd{epoll_create1(EPOLL_CLOEXEC)};
};

WaitSet::WaitSet() : impl_(std::make_unique<Impl>()) {}
WaitSet::~WaitSet() = default;

bool WaitSet::valid() const { return impl_->epoll_fd.valid(); }

Status WaitSet::Add(process::WaitHandle handle, uint64_t tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  if (epoll_ctl(impl_->epoll_fd.get(), EPOLL_CTL_ADD, handle, &ev) != 0)
    return Status::IoError(std::string("cannot watch a child: ") + strerror(errno));
  return Status::Ok();
}

void WaitSet::Remove(process::WaitHandle handle) {
  if (handle >= 0) epoll_ctl(impl_->epoll_fd.get(), EPOLL_CTL_DEL, handle, nullptr);
}

Status WaitSet::Wait(std::optional<std::chrono::milliseconds> timeout, std::vector<uint64_t>& ready) {
  epoll_event events[32];
  const int timeout_ms = timeout ? static_cast<int>(timeout->count()) : -1;
  const int n = epoll_wait(impl_->epoll_fd.get(), events, 32, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return Status::Ok();
    return Status::IoError(std::string("epoll_wait failed: ") + strerror(errno));
  }
  for (int k = 0; k < n; ++k) {
    const uint64_t tag = events[k].data.u64;  // a copy: epoll_event is packed, so no reference may bind to it
    ready.push_back(tag);
  }
  return Status::Ok();
}

}  // namespace llmdesk::manager
