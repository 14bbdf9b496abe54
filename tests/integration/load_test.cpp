// tests/integration/load_test.cpp — bounded load on real processes (ctest label `chaos`):
//  - 200 concurrent MCP sessions call the calculator on `llmdesk tool-server` for a fixed time with zero
//    errors, twice; after each round the server's file descriptors and threads go back to where they were
//    before the load (counted in /proc/PID/fd and /proc/PID/task; idle pool workers exit after 30 s), and the
//    second round leaves its memory where the first did (no growth per round: nothing leaks per session or call);
//  - 50 concurrent streamed chat completions through the gateway of `llmdesk serve`, three rounds, the model
//    being the SCRIPTED OpenAI stand-in (support/scripted_openai.h): zero errors, every stream whole; after
//    it the gateway process is back to its baseline — threads exactly, file descriptors exactly but for the
//    upstream client's idle transfer handles, whose bound is net/http_client_pool.h's — and its memory too,
//    within a bound (see the test).
#include <dirent.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <thread>

#include "integration/cli_manager_helpers.h"
#include "integration/tool_server_process.h"
#include "mcp/client.h"
#include "net/http_client.h"
#include "net/http_client_pool.h"
#include "support/scripted_openai.h"

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

// Polls (bounded) until `done(usage)`; the last reading.
Usage WaitForUsage(pid_t pid, const std::function<bool(const Usage&)>& done, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  Usage now = UsageOf(pid);
  while (!done(now) && Clock::now() < deadline) {
    std::this_thread::sleep_for(250ms);
    now = UsageOf(pid);
  }
  return now;
}

// Polls (bounded) until the server's fds, sockets and threads are back to `baseline` or below (a descriptor
// open at the baseline, e.g. an idle worker's, may be gone since: fewer is not a leak); the last reading.
Usage SettleTo(pid_t pid, const Usage& baseline, std::chrono::seconds limit) {
  return WaitForUsage(pid, [&](const Usage& u) {
    return u.fds <= baseline.fds && u.sockets <= baseline.sockets && u.threads <= baseline.threads;
  }, limit);
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
    EXPECT_LE(settled.fds, baseline.fds) << "round " << round << ": file descriptors left open";
    EXPECT_LE(settled.sockets, baseline.sockets) << "round " << round << ": connections left open";
    EXPECT_LE(settled.threads, baseline.threads) << "round " << round << ": threads left running";
    std::cout << "round " << round << ": " << r.calls << " calls from " << kSessions << " sessions; server RSS "
              << settled.rss_kib / 1024 << " MiB (before any load " << baseline.rss_kib / 1024 << " MiB)\n";
    if (round == 0) {
      after_first = settled;
    } else if (kMemoryIsMeasurable) {
      EXPECT_LE(settled.rss_kib, after_first.rss_kib + 8 * 1024) << "the second round grew the server's memory";
    }
  }
}

// ---- 50 concurrent gateway streams ----------------------------------------------------------------------

constexpr int kStreams = 50;
constexpr int kStreamRounds = 3;

// What every scripted stream says: 64 KiB in 16 pieces, 20 ms apart, so the 50 streams of a round overlap
// (and a leak of what passed through would be megabytes per round).
constexpr size_t kStreamBytes = 64 * 1024;
const std::string& StreamText() {
  static const std::string text = [] {
    std::string t;
    for (int i = 0; t.size() < kStreamBytes; ++i) t += "word" + std::to_string(i) + " ";
    return t;
  }();
  return text;
}

Turn StreamTurn() {
  Turn t = Turn::Text(StreamText(), 16);
  t.pause = 20ms;
  return t;
}

// One streamed chat completion through the gateway: "" when it came back whole (status 200, every delta,
// [DONE], no error event), else what was wrong.
std::string StreamOnce(net::HttpClient& http, const std::string& url) {
  net::HttpRequest q{.method = "POST", .url = url, .headers = {{"Content-Type", "application/json"}},
                     .body = R"({"model":"remote","stream":true,"messages":[{"role":"user","content":"Talk."}]})",
                     .timeout = 60s};
  int status = 0;
  std::string body;
  Status s = http.Stream(
      q, [&](int st, const net::HeaderList&) { return (status = st), true; },
      [&](std::string_view chunk) { return body.append(chunk), true; });
  if (!s.ok()) return s.ToString();
  if (status != 200) return "HTTP " + std::to_string(status) + ": " + body.substr(0, 300);
  std::string text;
  bool done = false;
  for (size_t pos = 0; (pos = body.find("data: ", pos)) != std::string::npos;) {
    const size_t end = body.find("\n\n", pos);
    const std::string data = body.substr(pos + 6, end == std::string::npos ? std::string::npos : end - pos - 6);
    pos = end == std::string::npos ? body.size() : end + 2;
    if (data == "[DONE]") {
      done = true;
      continue;
    }
    const nlohmann::json e = nlohmann::json::parse(data, nullptr, false);
    if (!e.is_object() || e.contains("error")) return "a bad or error event: " + data.substr(0, 300);
    if (e.contains("choices") && e["choices"].is_array() && !e["choices"].empty() &&
        e["choices"][0]["delta"].contains("content") && e["choices"][0]["delta"]["content"].is_string())
      text += e["choices"][0]["delta"]["content"].get<std::string>();
  }
  if (!done) return "no [DONE]";
  if (text != StreamText()) return "the text came back different (" + std::to_string(text.size()) + " bytes)";
  return "";
}

TEST(Load, FiftyConcurrentGatewayStreamsThreeRoundsWithoutErrorsAndNothingLeftBehind) {
  TempDir dir;
  const int base = FreePortRange(2);
  const int gateway = base, tool_port = base + 1;
  ScriptedOpenAi model({});
  for (int i = 0; i < 1 + kStreams * kStreamRounds; ++i) model.Push(StreamTurn());
  const auto config = dir.Write("llm_backends.yaml", "gateway: {host: 127.0.0.1, port: " + std::to_string(gateway) +
                                                         "}\ntool_server: {port: " + std::to_string(tool_port) +
                                                         ", tools: [calculator]}\nmodels:\n  remote:\n    url: " +
                                                         model.base_url() + "\n");
  Proc serve({BinPath("llmdesk").string(), "--config", config.string(), "serve"}, ScratchEnv(dir.path()));
  ASSERT_TRUE(serve.WaitFor("control API at http://127\\.0\\.0\\.1:" + std::to_string(gateway))) << serve.Output();
  const std::string url = "http://127.0.0.1:" + std::to_string(gateway) + "/v1/chat/completions";
  const pid_t pid = serve.pid();

  // The baseline: after one stream (the first request loads libcurl, makes the gateway's first transfer
  // handle and the HTTP layer's event loops), once the worker thread it started has exited (idle for 30 s).
  {
    net::HttpClient http;
    ASSERT_EQ(StreamOnce(http, url), "");
  }
  const Usage warm = UsageOf(pid);
  const Usage baseline = WaitForUsage(pid, [&](const Usage& u) { return u.threads < warm.threads; }, 40s);

  std::vector<std::string> errors;
  std::vector<size_t> rss_after_round;
  std::mutex mu;
  for (int round = 0; round < kStreamRounds; ++round) {
    net::HttpClient http;  // gone after each round: no client connection is left for the gateway to hold
    std::vector<std::thread> clients;
    for (int i = 0; i < kStreams; ++i)
      clients.emplace_back([&, i] {
        std::string e = StreamOnce(http, url);
        std::lock_guard lock(mu);
        if (!e.empty()) errors.push_back("round " + std::to_string(round) + ", stream " + std::to_string(i) + ": " + e);
      });
    for (auto& t : clients) t.join();
    rss_after_round.push_back(UsageOf(pid).rss_kib);
  }
  EXPECT_TRUE(errors.empty()) << errors.size() << " of " << kStreams * kStreamRounds << " streams failed; first: " << errors[0];
  EXPECT_EQ(model.requests().size(), size_t{1 + kStreams * kStreamRounds});

  // What may stay: the gateway's upstream HttpClient keeps up to kMaxIdleTransfers transfer handles for
  // reuse, each with its wakeup socket pair and at most one cached connection (net/http_client_pool.h);
  // nothing else. Pool workers idle for 30 s exit: threads come back to the baseline exactly.
  const size_t pool = net::kMaxIdleTransfers * net::kMaxSocketsPerIdleTransfer;
  auto settled = [&](const Usage& u) {
    return u.threads <= baseline.threads && u.sockets <= baseline.sockets + pool &&
           u.fds - u.sockets <= baseline.fds - baseline.sockets;
  };
  const Usage after = WaitForUsage(pid, settled, 60s);
  std::cout << "baseline: fds " << baseline.fds << ", sockets " << baseline.sockets << ", threads " << baseline.threads
            << ", RSS " << baseline.rss_kib << " KiB; after " << kStreams * kStreamRounds << " streams (" << kStreams
            << " at once): fds " << after.fds << ", sockets " << after.sockets << ", threads " << after.threads << ", RSS "
            << after.rss_kib << " KiB; RSS after each round:";
  for (size_t r : rss_after_round) std::cout << " " << r;
  std::cout << " KiB\n";
  EXPECT_EQ(after.fds - after.sockets, baseline.fds - baseline.sockets) << "file descriptors (not sockets) left open";
  EXPECT_LE(after.sockets, baseline.sockets + pool) << "sockets left open beyond the idle transfer handles' bound";
  EXPECT_LE(after.threads, baseline.threads) << "threads left running";
  // Memory: later rounds do not grow it (rounds 2 and 3 passed 100 streams of 64 KiB: keeping what passed
  // through would add over 6 MiB), and what the first round added is bounded: glibc keeps the malloc arenas
  // (up to 8 per core) the 50 concurrent workers used, with some of their freed memory, after the threads exit.
  ASSERT_EQ(rss_after_round.size(), size_t{kStreamRounds});
  if (!kMemoryIsMeasurable) {
    std::cout << "RSS bounds not checked here (AddressSanitizer build); the release tree checks them\n";
    return;
  }
  EXPECT_LE(rss_after_round.back(), rss_after_round.front() + 4 * 1024) << "later rounds grew the gateway's memory";
  EXPECT_LE(after.rss_kib, baseline.rss_kib + 32 * 1024) << "the gateway kept more memory than its arenas explain";
}

}  // namespace
}  // namespace llmdesk::test
