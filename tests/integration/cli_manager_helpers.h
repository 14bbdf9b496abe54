// tests/integration/cli_manager_helpers.h — child processes with live output, SSE readers and configs
// for the `llmdesk up/serve/status/ports` tests. Every helper is RAII and every wait is bounded.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/unique_fd.h"
#include "support/spawn.h"
#include "support/test_support.h"

namespace llmdesk::test {

using namespace std::chrono_literals;

// A process whose stdout+stderr are collected while it runs; SIGKILLed and reaped on destruction.
class Proc {
 public:
  Proc(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {})
      : process_(SpawnProcess({.argv = argv, .env = env, .in = Stdio::Null(), .out = Stdio::Pipe(), .err = Stdio::Merge()})) {
    reader_ = std::thread([this, fd = std::move(process_.stdout_fd())] {
      char buf[4096];
      for (;;) {
        ssize_t n = read(fd.get(), buf, sizeof(buf));
        if (n <= 0) break;
        std::lock_guard lock(mu_);
        out_.append(buf, n);
        cv_.notify_all();
      }
      std::lock_guard lock(mu_);
      eof_ = true;
      cv_.notify_all();
    });
  }
  ~Proc() {
    process_.Stop(0ms);
    if (reader_.joinable()) reader_.join();
  }
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;

  pid_t pid() const { return process_.pid(); }
  std::string Output() {
    std::lock_guard lock(mu_);
    return out_;
  }
  // The groups of the first match of `pattern` in the output ([0] = whole match), waiting up to `timeout`.
  std::optional<std::vector<std::string>> WaitFor(const std::string& pattern, std::chrono::milliseconds timeout = 60s) {
    std::regex re(pattern);
    std::unique_lock lock(mu_);
    std::optional<std::vector<std::string>> found;
    cv_.wait_for(lock, timeout, [&] {
      std::smatch m;
      if (std::regex_search(out_, m, re)) found = std::vector<std::string>(m.begin(), m.end());
      return found.has_value() || eof_;
    });
    return found;
  }
  void Signal(int sig) { process_.Signal(sig); }
  // Exit code (128+signal when killed), or nullopt if it is still running after `timeout`.
  std::optional<int> Wait(std::chrono::milliseconds timeout) {
    auto code = process_.Wait(timeout);
    if (!code) return code;
    // The reader thread may not have drained the pipe yet: wait (bounded) for its EOF so Output() is complete.
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 5s, [this] { return eof_; });
    return code;
  }

 private:
  Spawned process_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string out_;
  bool eof_ = false;
};

// Alive = exists and is not a finished zombie. A multithreaded process (llama-server) killed by a
// signal shows its leader as a zombie while other threads are still exiting and still hold its fds
// (a listening socket included), so a zombie counts as gone only once its other threads are.
inline bool ProcessAlive(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream stat(dir + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return false;
  if (line[close + 2] != 'Z') return true;
  std::error_code ec;
  auto threads = std::distance(std::filesystem::directory_iterator(dir + "/task", ec), std::filesystem::directory_iterator());
  return !ec && threads > 1;
}

// Polls /proc until `pid` is gone, at most `limit` (the bound is the assertion's subject here).
inline bool GoneWithin(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (ProcessAlive(pid)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Reads /api/events (SSE) on its own thread; tests wait for the events they expect.
class EventReader {
 public:
  explicit EventReader(int port, httplib::Headers headers = {}) {
    thread_ = std::thread([this, port, headers] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(10s);
      std::string buf;
      auto res = c.Get("/api/events", headers, [&](const char* d, size_t n) {
        buf.append(d, n);
        size_t end;
        while ((end = buf.find("\n\n")) != std::string::npos) {
          std::string block = buf.substr(0, end);
          buf.erase(0, end + 2);
          auto data = block.find("data: ");
          if (data == std::string::npos) continue;
          auto j = nlohmann::json::parse(block.substr(data + 6, block.find('\n', data) - data - 6), nullptr, false);
          std::lock_guard lock(mu_);
          events_.push_back(j);
          cv_.notify_all();
        }
        return !stop_.load();
      });
      std::lock_guard lock(mu_);
      ended_ = true;
      cv_.notify_all();
    });
  }
  ~EventReader() {
    stop_ = true;
    thread_.join();
  }
  // Waits for a state event of `backend` entering `state` after the first `from` events.
  std::optional<nlohmann::json> WaitState(const std::string& backend, const std::string& state, size_t from = 0,
                                          std::chrono::milliseconds timeout = 60s) {
    std::unique_lock lock(mu_);
    std::optional<nlohmann::json> hit;
    cv_.wait_for(lock, timeout, [&] {
      for (size_t i = from; i < events_.size(); ++i) {
        const auto& e = events_[i];
        if (e.is_object() && e.value("kind", "") == "state" && e.value("backend", "") == backend &&
            e.value("new_state", "") == state)
          return (hit = e), true;
      }
      return ended_;
    });
    return hit;
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return events_.size();
  }
  bool ended() {
    std::lock_guard lock(mu_);
    return ended_;
  }
  bool WaitEnded(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return ended_; });
  }

 private:
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<nlohmann::json> events_;
  bool ended_ = false;
};

}  // namespace llmdesk::test
