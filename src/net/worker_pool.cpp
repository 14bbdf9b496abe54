#include "net/worker_pool.h"

namespace llmdesk::net {

WorkerPool::WorkerPool(size_t max_workers, std::chrono::milliseconds idle_exit)
    : max_workers_(std::max<size_t>(1, max_workers)), idle_exit_(idle_exit) {}

WorkerPool::~WorkerPool() { Stop(); }

bool WorkerPool::Post(std::function<void()> task) {
  std::thread finished;  // a worker that exited idle, joined outside the lock
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    tasks_.push_back(std::move(task));
    if (idle_ >= tasks_.size() || live_ >= max_workers_) {
      cv_.notify_one();
      return true;
    }
    size_t slot = 0;
    while (slot < running_.size() && running_[slot]) ++slot;
    if (slot == running_.size()) {
      running_.push_back(false);
      workers_.emplace_back();
    }
    finished = std::move(workers_[slot]);
    running_[slot] = true;
    ++live_;
    workers_[slot] = std::thread([this, slot] { Work(slot); });
  }
  if (finished.joinable()) finished.join();
  return true;
}

void WorkerPool::Work(size_t slot) {
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_;
    bool woke = cv_.wait_for(lock, idle_exit_, [this] { return stopping_ || !tasks_.empty(); });
    --idle_;
    if (!woke || tasks_.empty()) break;  // idle too long, or stopping with nothing left to run
    auto task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // release captures before taking the lock again
    lock.lock();
  }
  running_[slot] = false;
  --live_;
}

void WorkerPool::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    threads = std::move(workers_);
    workers_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads)
    if (t.joinable()) t.join();
}

}  // namespace llmdesk::net
