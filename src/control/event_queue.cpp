// EventQueue: the frames waiting for one SSE client. The manager's thread pushes and never waits; when
// the client reads too slowly the newest frames are dropped and a single `event: dropped` marker
// ({"dropped":N}) takes their place, so the client knows it missed something. Thread-safe.
#include "control/control.h"
#include "net/sse.h"

namespace llmdesk::control {

EventQueue::EventQueue(size_t capacity) : capacity_(capacity) {}

void EventQueue::Push(std::string frame) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (frames_.size() >= capacity_) {
      ++dropped_;
      return;
    }
    frames_.push_back(std::move(frame));
  }
  cv_.notify_one();
}

bool EventQueue::PopAll(std::vector<std::string>& out, std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, wait, [this] { return closed_ || !frames_.empty() || dropped_ > 0; });
  for (auto& f : frames_) out.push_back(std::move(f));
  frames_.clear();
  if (dropped_ > 0) {
    out.push_back(net::SseFrame("dropped", nlohmann::json{{"dropped", dropped_}}.dump()));
    dropped_ = 0;
  }
  return !closed_;
}

void EventQueue::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

}  // namespace llmdesk::control
