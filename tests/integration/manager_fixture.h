// tests/integration/manager_fixture.h — shared by the Manager integration tests: a Manager over the
// stand-in engine (llmdesk-fake-engine) with state/log dirs in a TempDir and a small free port range,
// an event recorder that waits on a condition variable, and a foreign port holder process.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "common/unique_fd.h"
#include "manager/manager.h"
#include "manager/spawn.h"
#include "manager/state_store.h"
#include "net/ports.h"
#include "process/process.h"
#include "support/child_process.h"
#include "support/test_support.h"

namespace llmdesk::manager::testing_support {

using namespace std::chrono_literals;
using test::BinPath;
using test::TempDir;
using ::testing::HasSubstr;

// `count` consecutive ports no one listens on right now (racy by nature; the manager handles a lost race).
// Drawn below the kernel's ephemeral range: there, any outgoing connection of a parallel test may hold
// the port as its local port, and a stand-in engine or port holder could not bind it.
inline int FreeRange(int count) {
  thread_local std::mt19937 rng(std::random_device{}());
  int ephemeral_first = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_first;
  std::uniform_int_distribution<int> base_dist(10000, std::max(10001, ephemeral_first - count - 1));
  for (int attempt = 0; attempt < 200; ++attempt) {
    int base = base_dist(rng);
    bool free = true;
    for (const auto& l : net::ListListeners()) free = free && (l.port < base || l.port >= base + count);
    if (free) return base;
  }
  throw std::runtime_error("no free port range");
}

// Collects events; waits on a condition variable for the one a test expects.
class Recorder {
 public:
  void Add(const Event& e) {
    std::lock_guard lock(mu_);
    if (e.kind == Event::Kind::kLog) return;
    events_.push_back(e);
    cv_.notify_all();
  }
  // The first recorded state event (from the start) matching pred, waiting up to `timeout`.
  std::optional<Event> WaitFor(const std::function<bool(const Event&)>& pred, std::chrono::milliseconds timeout = 20s) {
    std::unique_lock lock(mu_);
    std::optional<Event> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& e : events_)
        if (pred(e)) return found = e, true;
      return false;
    });
    return found;
  }
  std::optional<Event> WaitState(State to, std::chrono::milliseconds timeout = 20s, uint64_t after_seq = 0) {
    return WaitFor(
        [&](const Event& e) { return e.kind == Event::Kind::kState && e.new_state == to && e.seq > after_seq; },
        timeout);
  }
  std::vector<Event> All() {
    std::lock_guard lock(mu_);
    return {events_.begin(), events_.end()};
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;
};

inline bool ProcessGone(pid_t pid, std::chrono::milliseconds timeout = 5s) {
  UniqueFd fd = OpenPidfd(pid);
  if (!fd.valid()) return true;
  pollfd p{fd.get(), POLLIN, 0};
  return poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

inline bool WaitReadable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

inline int HealthStatus(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2s);
  auto res = client.Get("/health");
  return res ? res->status : -1;
}

// A foreign process holding `port` (the stand-in's --listen-only mode); waits until /proc shows it.
inline std::unique_ptr<test::ChildProcess> HoldPort(const TempDir& dir, int port) {
  auto holder = std::make_unique<test::ChildProcess>(
      std::vector<std::string>{BinPath("llmdesk-fake-engine").string(), "--listen-only", std::to_string(port)},
      dir.path() / ("holder-" + std::to_string(port) + ".log"));
  // Bounded: until /proc shows the listener, the holder exits (its pidfd wakes us), or 20 s pass.
  for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
    auto h = net::FindPortHolder(port);
    if (h && h->pid == holder->pid()) return holder;
    if (WaitReadable(holder->pidfd(), 2ms)) break;
  }
  ADD_FAILURE() << "the port holder did not come up: " << holder->Describe();
  return holder;
}

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = FreeRange(6);
    model_file_ = dir_.Write("model.gguf", "stand-in model file");
  }

  config::ModelConfig Model(const std::string& name, int port, std::vector<std::string> args = {}) {
    config::ModelConfig m;
    m.name = name;
    m.kind = config::ModelConfig::Kind::kLocal;
    m.model = model_file_.string();
    m.port = port;
    m.args = std::move(args);
    m.stop_grace_s = 5;
    m.startup_timeout_s = 30;
    return m;
  }

  Options MakeOptions(std::vector<config::ModelConfig> models) {
    Options o;
    o.config.source = (dir_.path() / "llm_backends.yaml").string();
    o.config.ports.range_first = base_;
    o.config.ports.range_last = base_ + 5;
    o.config.models = std::move(models);
    o.llama_server = BinPath("llmdesk-fake-engine");
    o.state_dir = dir_.path() / "state";
    o.log_dir = dir_.path() / "logs";
    o.backoff_initial = 20ms;
    o.backoff_max = 200ms;
    return o;
  }

  std::unique_ptr<Manager> Make(Options o) {
    auto m = Manager::Create(std::move(o));
    if (!m.ok()) throw std::runtime_error(m.status().ToString());
    sub_ = m.value()->Subscribe([this](const Event& e) { rec_.Add(e); });
    return std::move(m).value();
  }

  TempDir dir_;
  int base_ = 0;
  std::filesystem::path model_file_;
  Recorder rec_;
  Subscription sub_;
};

}  // namespace llmdesk::manager::testing_support
