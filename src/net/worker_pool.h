// net/worker_pool.h — an elastic thread pool for handlers that may block (internal to net).
//
// Post() never blocks: a task goes to an idle worker, or a new worker is started while fewer than
// `max_workers` run; beyond that, tasks wait in order. Workers idle for `idle_exit` end. Stop() runs
// what is queued, then joins every worker; Post() after Stop() drops the task.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace llmdesk::net {

class WorkerPool {
 public:
  explicit WorkerPool(size_t max_workers, std::chrono::milliseconds idle_exit = std::chrono::seconds(30));
  ~WorkerPool();  // Stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the pool is stopped (the task is dropped).
  bool Post(std::function<void()> task);
  void Stop();

 private:
  void Work(size_t slot);

  const size_t max_workers_;
  const std::chrono::milliseconds idle_exit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> workers_;     // slot -> thread; a finished slot is joined on reuse or Stop
  std::vector<bool> running_;            // slot is live (not yet returned)
  size_t idle_ = 0;
  size_t live_ = 0;
  bool stopping_ = false;
};

}  // namespace llmdesk::net
