// bench/bench_util.h — small helpers private to the benchmarks: samples, temp dirs, engines, sockets.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <httplib.h>

#include "common/unique_fd.h"
#include "support/spawn.h"
#include "support/test_support.h"

namespace llmdesk::bench {

using Samples = std::vector<double>;

[[noreturn]] inline void Die(const std::string& why) {
  std::fprintf(stderr, "bench: %s\n", why.c_str());
  std::exit(1);
}

inline double Percentile(Samples v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

inline double Mean(const Samples& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

inline void PrintRow(const char* what, const Samples& v) {
  std::printf("  %-46s n=%3zu  p50 %8.1f  mean %8.1f  max %8.1f\n", what, v.size(), Percentile(v, 50), Mean(v),
              v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()));
}

using test::TempDir;  // tests/support: removed with its contents when it goes away

inline sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// The kernel's pick of a free port (released again).
inline int FreePort() { return test::PickUnusedPort(); }

// A foreign listener on `port` (this process holds it while the fd lives). SO_REUSEADDR because the
// engine that just used the port leaves TIME_WAIT connections behind.
inline UniqueFd Listen(int port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int yes = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  sockaddr_in addr = Loopback(port);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd.get(), 16) != 0)
    Die("cannot hold port " + std::to_string(port));
  return fd;
}

// The seed's check: can we bind with SO_REUSEADDR? (Racy: the answer is stale as soon as it is given.)
inline bool BindProbeReuseAddr(int port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int yes = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  sockaddr_in addr = Loopback(port);
  return bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

inline bool HealthOk(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_tcp_nodelay(true);
  c.set_connection_timeout(std::chrono::milliseconds(200));
  c.set_read_timeout(std::chrono::seconds(2));
  auto r = c.Get("/health");
  return r && r->status == 200;
}

// A directly spawned engine (baselines), SIGKILLed and reaped when it goes away.
using Engine = test::Spawned;

inline Engine SpawnEngine(const std::filesystem::path& exe, int port, const std::map<std::string, std::string>& env,
                          const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {exe.string(), "--host", "127.0.0.1", "--port", std::to_string(port)};
  args.insert(args.end(), extra.begin(), extra.end());
  try {
    return test::SpawnProcess({.argv = args, .env = env});  // stdin, stdout, stderr: /dev/null
  } catch (const std::exception& e) {
    Die(e.what());
  }
}

// Config text shared by the benchmarks: the given engine, free gateway/tool ports, a range after `port`.
inline std::string BaseYaml(const std::filesystem::path& engine, int port) {
  return "engine:\n  llama_server: " + engine.string() + "\ngateway: {port: " + std::to_string(FreePort()) +
         "}\ntool_server: {port: " + std::to_string(FreePort()) + "}\nports:\n  on_conflict: fallback\n  range: " +
         std::to_string(port) + "-" + std::to_string(port + 100) + "\n";
}

}  // namespace llmdesk::bench
