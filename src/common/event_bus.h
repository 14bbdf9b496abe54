// common/event_bus.h — one-to-many delivery of typed events (EventBus) and the bounded per-consumer
// queue a consumer on another thread drains (BoundedQueue, and EventQueue for SSE frames).
//
// EventBus<Event>
//  - Publish() is called by one owner thread (e.g. the manager's supervisor thread). Subscribers are
//    called on that thread, in subscription order, one event at a time, and must not block (post to
//    your own loop, or push into a BoundedQueue).
//  - Subscribe(fn, replay) may be called from any thread. Without `replay` the subscriber receives
//    every event published after Subscribe returns. With `replay` the subscription is pending until the
//    owner thread calls DeliverPending(): then replay() runs on the owner thread, its events reach the
//    subscriber first, and live events follow — no event is lost or duplicated in between.
//  - The returned Subscription is RAII: destroying it unsubscribes. Cancelling waits for a delivery in
//    progress (so the subscriber may free what its callback uses), unless it is called from inside a
//    callback on the owner thread (a subscriber may cancel itself or another subscriber).
//  - A subscriber that throws is logged and skipped; others still get the event.
//  - The bus may be destroyed before its Subscriptions: they then do nothing.
//
// BoundedQueue<T>: a queue one producer (which must never wait) pushes to and one consumer drains.
//  When it holds `capacity` items, new items are dropped and counted; PopAll reports the count, so the
//  consumer knows it missed something. Thread-safe.
// EventQueue: BoundedQueue of SSE frames; a drop becomes one `event: dropped` frame ({"dropped":N})
//  after the frames that were kept, where the gap is.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace llmdesk {

// RAII: runs its cancel function once, when destroyed or assigned over.
class Subscription {
 public:
  Subscription() = default;
  explicit Subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  Subscription(Subscription&& other) noexcept : cancel_(std::exchange(other.cancel_, nullptr)) {}
  Subscription& operator=(Subscription&& other) noexcept {  // cancels what it held before
    if (this != &other) {
      Reset();
      cancel_ = std::exchange(other.cancel_, nullptr);
    }
    return *this;
  }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription() { Reset(); }
  void Reset() {
    if (auto cancel = std::exchange(cancel_, nullptr)) cancel();
  }

 private:
  std::function<void()> cancel_;
};

template <typename Event>
class EventBus {
 public:
  using Fn = std::function<void(const Event&)>;
  using Replay = std::function<std::vector<Event>()>;

  EventBus() : shared_(std::make_shared<Shared>()) {}
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  Subscription Subscribe(Fn fn, Replay replay = nullptr) {
    uint64_t id;
    {
      std::lock_guard lock(shared_->mu);
      id = shared_->next_id++;
      auto& sub = shared_->subs[id];
      sub.fn = std::make_shared<Fn>(std::move(fn));
      sub.replay = std::move(replay);
      sub.active = !sub.replay;
    }
    std::weak_ptr<Shared> weak = shared_;
    return Subscription([weak, id] {
      if (auto s = weak.lock()) s->Cancel(id);
    });
  }

  // Owner thread: delivers each pending subscriber's replay, then makes it live.
  void DeliverPending() {
    std::lock_guard deliver(shared_->deliver_mu);
    DeliveringScope scope(*shared_);
    for (;;) {
      uint64_t id = 0;
      std::shared_ptr<Fn> fn;
      Replay replay;
      {
        std::lock_guard lock(shared_->mu);
        for (auto& [k, sub] : shared_->subs)
          if (!sub.active) {
            id = k, fn = sub.fn, replay = std::move(sub.replay);
            sub.active = true;  // live events after the replay (none can come in between: we are the owner)
            break;
          }
      }
      if (!fn) return;
      for (const auto& e : replay()) {
        if (!shared_->Live(id)) break;  // cancelled by its own callback
        Invoke(*fn, e);
      }
    }
  }

  // Owner thread.
  void Publish(const Event& e) {
    std::lock_guard deliver(shared_->deliver_mu);
    DeliveringScope scope(*shared_);
    std::vector<std::pair<uint64_t, std::shared_ptr<Fn>>> targets;
    {
      std::lock_guard lock(shared_->mu);
      for (const auto& [id, sub] : shared_->subs)
        if (sub.active) targets.emplace_back(id, sub.fn);
    }
    for (const auto& [id, fn] : targets)
      if (shared_->Live(id)) Invoke(*fn, e);  // skips one cancelled by an earlier callback of this event
  }

  size_t subscriber_count() const {
    std::lock_guard lock(shared_->mu);
    return shared_->subs.size();
  }

 private:
  struct Sub {
    std::shared_ptr<Fn> fn;
    Replay replay;
    bool active = false;
  };
  struct Shared {
    mutable std::mutex mu;  // guards subs / next_id
    std::map<uint64_t, Sub> subs;
    uint64_t next_id = 1;
    std::mutex deliver_mu;  // held while callbacks run, so Cancel can wait for them
    std::atomic<std::thread::id> delivering{};
    bool Live(uint64_t id) const {
      std::lock_guard lock(mu);
      return subs.count(id) > 0;
    }
    void Cancel(uint64_t id) {
      {
        std::lock_guard lock(mu);
        subs.erase(id);
      }
      if (delivering.load() != std::this_thread::get_id()) std::lock_guard wait(deliver_mu);
    }
  };
  struct DeliveringScope {
    explicit DeliveringScope(Shared& s) : s_(s) { s_.delivering = std::this_thread::get_id(); }
    ~DeliveringScope() { s_.delivering = std::thread::id(); }
    Shared& s_;
  };
  // Called without `mu` held: a callback may subscribe or cancel.
  static void Invoke(const Fn& fn, const Event& e) {
    try {
      fn(e);
    } catch (const std::exception& ex) {
      spdlog::error("llmdesk: an event subscriber threw: {}", ex.what());
    } catch (...) {
      spdlog::error("llmdesk: an event subscriber threw");
    }
  }

  std::shared_ptr<Shared> shared_;
};

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  // Never waits. Returns false when the item was dropped (full or closed).
  bool Push(T item) {
    {
      std::lock_guard lock(mu_);
      if (closed_) return false;
      if (items_.size() >= capacity_) {
        ++dropped_;
        return false;
      }
      items_.push_back(std::move(item));
    }
    cv_.notify_one();
    return true;
  }

  // Moves every queued item into `out`, waiting up to `wait` for the first one (or a drop); `dropped`
  // gets the number of items dropped since the last PopAll (and the count restarts). Returns false once
  // the queue is closed (items queued before Close() are still handed out).
  bool PopAll(std::vector<T>& out, uint64_t& dropped, std::chrono::milliseconds wait) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [this] { return closed_ || !items_.empty() || dropped_ > 0; });
    for (auto& item : items_) out.push_back(std::move(item));
    items_.clear();
    dropped = std::exchange(dropped_, 0);
    return !closed_;
  }

  void Close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> items_;
  const size_t capacity_;
  uint64_t dropped_ = 0;
  bool closed_ = false;
};

class EventQueue {
 public:
  explicit EventQueue(size_t capacity) : queue_(capacity) {}
  void Push(std::string frame) { queue_.Push(std::move(frame)); }
  bool PopAll(std::vector<std::string>& out, std::chrono::milliseconds wait) {
    uint64_t dropped = 0;
    bool open = queue_.PopAll(out, dropped, wait);
    if (dropped > 0) out.push_back("event: dropped\ndata: {\"dropped\":" + std::to_string(dropped) + "}\n\n");
    return open;
  }
  void Close() { queue_.Close(); }

 private:
  BoundedQueue<std::string> queue_;
};

}  // namespace llmdesk
