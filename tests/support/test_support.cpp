#include "support/test_support.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "common/unique_fd.h"
#include "net/ports.h"
#include "support/spawn.h"

namespace llmdesk::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "llmdesk-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::Write(const std::string& name, const std::string& text) const {
  auto p = path_ / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

CommandResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  Spawned child = SpawnProcess({.argv = argv, .in = Stdio::Null(), .out = Stdio::Pipe(), .err = Stdio::Pipe()});
  CommandResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{child.stdout_fd().get(), POLLIN, 0}, {child.stderr_fd().get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  for (int open = 2; open > 0;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.err += "\n[test] command timed out\n";
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) sinks[i]->append(buf, static_cast<size_t>(n));
      else fds[i].fd = -1, --open;
    }
  }
  auto code = child.Wait(std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                    deadline - std::chrono::steady_clock::now())));
  if (!code) child.Stop(std::chrono::milliseconds(0));
  result.exit_code = code && *code < 128 ? *code : -1;
  return result;
}

std::string ReadFileBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  if (in) bytes << in.rdbuf();
  return std::move(bytes).str();
}

std::filesystem::path BinPath(const std::string& name) { return std::filesystem::path(LLMDESK_BIN_DIR) / name; }

std::map<std::string, std::string> ScratchEnv(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir / "run", ec);
  return {{"XDG_RUNTIME_DIR", (dir / "run").string()},
          {"XDG_STATE_HOME", (dir / "state").string()},
          {"XDG_DATA_HOME", (dir / "data").string()},
          {"XDG_CONFIG_HOME", (dir / "config").string()},
          {"LLMDESK_CONFIG", ""}};
}

std::filesystem::path LlamaServerPath() {
  return std::filesystem::path(LLMDESK_TEST_ENGINE_PREFIX) / "bin" / "llama-server";
}

UniqueFd BindLoopbackSocket(int& port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("cannot bind a loopback socket");
  port = ntohs(addr.sin_port);
  return fd;
}

int FreePortRange(int count) {
  thread_local std::mt19937 rng(std::random_device{}());
  int ephemeral_first = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_first;
  std::uniform_int_distribution<int> base_dist(10000, std::max(10001, ephemeral_first - count - 1));
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int base = base_dist(rng);
    bool free = true;
    for (const auto& l : net::ListListeners()) free = free && (l.port < base || l.port >= base + count);
    if (free) return base;
  }
  throw std::runtime_error("no range of " + std::to_string(count) + " free ports below the ephemeral range");
}

int PickUnusedPort() {
  int port = 0;
  BindLoopbackSocket(port);  // released at once
  return port;
}

}  // namespace llmdesk::test
