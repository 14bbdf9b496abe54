// tests/integration/load_test.cpp — bounded load on real processes (ctest label `chaos`): 200 concurrent MCP
// sessions call the calculator on `llmdesk tool-server` for a fixed time with zero errors, twice; after each
// round the server's file descriptors and threads go back to where they were before the load (counted in
// /proc/PID/fd and /proc/PID/task; idle pool workers exit after 30 s), and the second round leaves its
// memory where the first did (no growth per round: nothing leaks per session or call).
#include <dirent.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "integration/tool_server_process.h"
#include "mcp/client.h"
#include "net/http_client.h"

namespace llmdesk::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kSessions = 200;
constexpr auto kRoundTime = 5s;

size_t CountEntries(const std::string& dir) {
  size_t n = 0;
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

size_t CountSockets(const std::string& fd_dir) {
  size_t n = 0;
  DIR* d = opendir(fd_dir.c_str());
  if (!d) return 0;
  while (dirent* e = readdir(d)) {
    char target[64] = {};
    if (e->d_name[0] != '.' && readlink((fd_dir + "/" + e->d_name).c_str(), target, sizeof target - 1) > 0)
      n += std::string_view(target).rfind("socket:", 0) == 0;
  }
  closedir(d);
  return n;
}

struct Usage {
  size_t fds = 0, sockets = 0, threads = 0, rss_kib = 0;
};

Usage UsageOf(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  Usage u{CountEntries(proc + "/fd"), CountSockets(proc + "/fd"), CountEntries(proc + "/task"), 0};
  std::ifstream status(proc + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) u.rss_kib = std::stoul(line.substr(6));
  return u;
}

// Polls (bounded) until the server's fds, sockets and threads are back to `baseline`; the last reading.
Usage SettleTo(pid_t pid, const Usage& baseline, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  auto settled = [&](const Usage& u) {
    return u.fds == baseline.fds && u.sockets == baseline.sockets && u.threads == baseline.threads;
  };
  Usage now = UsageOf(pid);
  while (!settled(now) && Clock::now() < deadline) {
    std::this_thread::sleep_for(250ms);
    now = UsageOf(pid);
  }
  return now;
}

struct RoundResult {
  int calls = 0;
  std::vector<std::string> errors;
};

// kSessions clients, each its own session, calling the calculator until the round ends.
RoundResult RunRound(int port) {
  RoundResult result;
  std::mutex mu;
  std::atomic<int> calls{0};
  {
    net::HttpClient http;
    const auto end = Clock::now() + kRoundTime;
    std::vector<std::thread> clients;
    for (int i = 0; i < kSessions; ++i)
      clients.emplace_back([&, i] {
        auto fail = [&](const std::string& what) {
          std::lock_guard lock(mu);
          if (result.errors.size() < 10) result.errors.push_back("session " + std::to_string(i) + ": " + what);
          else result.errors.emplace_back();
        };
        auto client = mcp::Client::Connect(
            {.name = "load", .url = "http://127.0.0.1:" + std::to_string(port) + "/mcp", .connect_timeout = 30s}, &http);
        if (!client.ok()) return fail(client.status().ToString());
        for (int n = 0; Clock::now() < end; ++n) {
          const int a = i, b = n;
          auto r = (*client)->CallTool("calculator", {{"expression", std::to_string(a) + "+" + std::to_string(b)}},
                                       Clock::now() + 30s);
          if (!r.ok()) return fail(r.status().ToString());
          if (mcp::ResultText(*r) != std::to_string(a + b)) return fail("wrong answer: " + r->dump());
          ++calls;
        }
      });
    for (auto& t : clients) t.join();
  }  // the HttpClient closes its connections here
  result.calls = calls;
  return result;
}

TEST(Load, TwoHundredConcurrentMcpSessionsTwiceWithoutErrorsAndNothingLeftBehind) {
  TempDir dir;
  int port = 0;
  auto server = StartToolServer(dir, port);
  // Threads: before any request. File descriptors: after one call, because the first connection creates
  // the HTTP layer's event loop (an eventfd, an epoll fd and a timerfd) once, for the server's lifetime.
  Usage baseline = UsageOf(server.pid());
  {
    net::HttpClient http;
    auto warm = mcp::Client::Connect({.name = "warm-up", .url = "http://127.0.0.1:" + std::to_string(port) + "/mcp"}, &http);
    ASSERT_TRUE(warm.ok()) << warm.status().ToString();
    ASSERT_TRUE((*warm)->CallTool("calculator", {{"expression", "1+1"}}, Clock::now() + 30s).ok());
  }
  // Once the warm-up's connection is closed (its socket gone: only the listener left), the fds are the baseline.
  Usage warm = UsageOf(server.pid());
  for (const auto until = Clock::now() + 10s; warm.sockets != baseline.sockets && Clock::now() < until;) {
    std::this_thread::sleep_for(50ms);
    warm = UsageOf(server.pid());
  }
  ASSERT_EQ(warm.sockets, baseline.sockets) << "the warm-up connection stayed open";
  baseline.fds = warm.fds;
  ASSERT_GT(baseline.fds, 0u);

  Usage after_first;
  for (int round = 0; round < 2; ++round) {
    RoundResult r = RunRound(port);
    EXPECT_TRUE(r.errors.empty()) << r.errors.size() << " errors in round " << round << ", first: " << r.errors[0];
    EXPECT_GT(r.calls, kSessions) << "round " << round;
    const Usage settled = SettleTo(server.pid(), baseline, 60s);
    EXPECT_EQ(settled.fds, baseline.fds) << "round " << round << ": file descriptors left open";
    EXPECT_EQ(settled.sockets, baseline.sockets) << "round " << round << ": connections left open";
    EXPECT_EQ(settled.threads, baseline.threads) << "round " << round << ": threads left running";
    std::cout << "round " << round << ": " << r.calls << " calls from " << kSessions << " sessions; server RSS "
              << settled.rss_kib / 1024 << " MiB (before any load " << baseline.rss_kib / 1024 << " MiB)\n";
    if (round == 0) after_first = settled;
    else EXPECT_LE(settled.rss_kib, after_first.rss_kib + 8 * 1024) << "the second round grew the server's memory";
  }
}

}  // namespace
}  // namespace llmdesk::test
