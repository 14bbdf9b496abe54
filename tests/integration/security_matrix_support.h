// tests/integration/security_matrix_support.h — helpers of security_matrix_test.cpp (issue 12 item 5):
//  - ServeProcess: `llmdesk serve` as a real process with its XDG dirs in a TempDir,
//  - RawExchange / HttpText: one HTTP request written byte for byte (no client library fixes it up),
//  - Listeners of a process tree read from /proc/net/tcp{,6} and /proc/PID/fd (our own parser, on purpose:
//    the product's net::ParseTcpTable is what a bug here would hide behind),
//  - PlainListener: a listener that is not llmdesk, answering every request like llmdesk's /health and
//    recording every byte it is sent.
// Every wait is bounded; every process, fd and thread is owned RAII-style.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "integration/cli_manager_helpers.h"
#include "support/raw_http.h"
#include "support/test_support.h"

namespace llmdesk::test {

using HeaderPairs = std::vector<std::pair<std::string, std::string>>;

// ---- `llmdesk serve` ------------------------------------------------------------------------------------
class ServeProcess {
 public:
  // Writes `yaml` to dir/llm_backends.yaml and starts `llmdesk --config FILE serve` with ScratchEnv(dir).
  ServeProcess(const TempDir& dir, const std::string& yaml)
      : config_(dir.Write("llm_backends.yaml", yaml)),
        proc_(std::make_unique<Proc>(std::vector<std::string>{BinPath("llmdesk").string(), "--config", config_.string(), "serve"},
                                     ScratchEnv(dir.path()))) {}
  // Waits (bounded) for the line naming both listeners; false when serve exited or was silent.
  bool WaitUp() {
    auto m = proc_->WaitFor(R"(control API at http://[^:]+:(\d+) \(pid \d+\); MCP tool server at http://[^ ]+:(\d+)/mcp)");
    if (!m) return false;
    api_port_ = std::stoi((*m)[1]);
    tool_port_ = std::stoi((*m)[2]);
    return true;
  }
  Proc& proc() { return *proc_; }
  pid_t pid() const { return proc_->pid(); }
  int api_port() const { return api_port_; }
  int tool_port() const { return tool_port_; }
  std::string Output() { return proc_->Output(); }
  // SIGTERM and a bounded wait for the exit code.
  std::optional<int> Stop() {
    proc_->Signal(SIGTERM);
    return proc_->Wait(std::chrono::seconds(30));
  }

 private:
  std::filesystem::path config_;
  std::unique_ptr<Proc> proc_;
  int api_port_ = 0, tool_port_ = 0;
};

// ---- HTTP byte for byte ---------------------------------------------------------------------------------
// "METHOD PATH HTTP/1.1" with Host, the headers, Content-Length when there is a body (or it is a POST) and
// Connection: close, so the whole reply is what arrives until EOF.
inline std::string HttpText(const std::string& method, const std::string& path, const std::string& host,
                            const HeaderPairs& headers, const std::string& body = "") {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n";
  for (const auto& [name, value] : headers) r += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

struct Reply {
  int status = 0;      // 0 = no HTTP answer
  std::string text;    // status line, headers and body
};

// One connection: sends `request`, reads until the server closes (bounded).
inline Reply RawExchange(int port, const std::string& request) {
  Raw c(port);
  if (!c.connected()) return {0, "cannot connect to port " + std::to_string(port)};
  c.Send(request);  // the server may refuse before taking all of it
  std::string r = c.ReadUntil(std::string_view("\x01\x02 until EOF"), std::chrono::seconds(20));
  return {StatusOf(r), r};
}

// ---- Who listens where: /proc/net/tcp{,6} x /proc/PID/fd --------------------------------------------------
struct ListenSocket {
  std::string address;  // "127.0.0.1", "::1", "0.0.0.0", "::" ...
  int port = 0;
  unsigned long inode = 0;
};

// /proc/net/tcp prints each 32-bit word of the address as the native integer it is in memory: storing the
// parsed integer back gives the address bytes in network order.
inline std::string DecodeProcAddress(const std::string& hex) {
  unsigned char bytes[16] = {};
  const size_t n = hex.size() / 2;
  if (n != 4 && n != 16) return "?";
  for (size_t word = 0; word < n / 4; ++word) {
    const uint32_t host_order = static_cast<uint32_t>(std::stoul(hex.substr(word * 8, 8), nullptr, 16));
    std::memcpy(bytes + word * 4, &host_order, 4);
  }
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(n == 4 ? AF_INET : AF_INET6, bytes, text, sizeof text);
  return text;
}

inline std::vector<ListenSocket> ListenRows() {
  std::vector<ListenSocket> rows;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout;
      unsigned long inode = 0;
      if (!(f >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode)) continue;
      if (state != "0A") continue;  // LISTEN
      const size_t colon = local.find(':');
      if (colon == std::string::npos) continue;
      rows.push_back({DecodeProcAddress(local.substr(0, colon)), std::stoi(local.substr(colon + 1), nullptr, 16), inode});
    }
  }
  return rows;
}

inline std::set<unsigned long> SocketInodesOf(pid_t pid) {
  std::set<unsigned long> inodes;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    auto target = std::filesystem::read_symlink(e.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0) inodes.insert(std::stoul(target.substr(8)));
  }
  return inodes;
}

// `root` and every process below it (by the parent PID field of /proc/PID/stat).
inline std::vector<pid_t> ProcessTree(pid_t root) {
  std::vector<std::pair<pid_t, pid_t>> parent_of;  // (pid, ppid)
  DIR* d = opendir("/proc");
  if (!d) return {root};
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string stat = ReadFileBytes(std::string("/proc/") + e->d_name + "/stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream f(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    if (f >> state >> ppid) parent_of.emplace_back(std::atoi(e->d_name), ppid);
  }
  closedir(d);
  std::vector<pid_t> tree{root};
  for (size_t i = 0; i < tree.size(); ++i)
    for (const auto& [pid, ppid] : parent_of)
      if (ppid == tree[i]) tree.push_back(pid);
  return tree;
}

// The listening sockets held by `root`'s process tree.
inline std::vector<ListenSocket> ListenersOfTree(pid_t root) {
  std::set<unsigned long> inodes;
  for (pid_t pid : ProcessTree(root))
    for (unsigned long inode : SocketInodesOf(pid)) inodes.insert(inode);
  std::vector<ListenSocket> out;
  for (const auto& row : ListenRows())
    if (inodes.count(row.inode)) out.push_back(row);
  return out;
}

inline bool IsLoopbackText(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address.rfind("::ffff:127.", 0) == 0;
}

// ---- A listener that is not llmdesk ----------------------------------------------------------------------
// Accepts on 127.0.0.1:port, reads each request (headers and a Content-Length body, bounded), answers it
// with llmdesk's /health JSON (it impersonates the daemon as well as it can) and records every byte.
class PlainListener {
 public:
  explicit PlainListener(int port) : listen_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)), wake_(eventfd(0, EFD_CLOEXEC)) {
    int one = 1;
    setsockopt(listen_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    listening_ = ::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(listen_.get(), 64) == 0;
    if (listening_) thread_ = std::thread([this] { Loop(); });
  }
  ~PlainListener() {
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    if (thread_.joinable()) thread_.join();
  }
  bool listening() const { return listening_; }
  std::string Received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  int requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void Loop() {
    for (;;) {
      pollfd p[2] = {{listen_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
      if (::poll(p, 2, -1) < 0 && errno != EINTR) return;
      if (p[1].revents) return;
      if (p[0].revents & POLLIN) {
        UniqueFd c(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (c.valid()) Serve(c.get());
      }
    }
  }
  void Serve(int fd) {
    std::string in;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    size_t want = std::string::npos;  // total bytes of headers + body, once the headers are in
    while (in.size() < (want == std::string::npos ? 1 << 20 : want) && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) {
        if (want != std::string::npos) break;
        continue;
      }
      char buf[8192];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
      const size_t end = in.find("\r\n\r\n");
      if (want == std::string::npos && end != std::string::npos) {
        size_t length = 0;
        std::string lower = in.substr(0, end);
        for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (auto at = lower.find("content-length:"); at != std::string::npos) length = std::strtoul(lower.c_str() + at + 15, nullptr, 10);
        want = end + 4 + std::min<size_t>(length, 1 << 20);
      }
    }
    const std::string body = R"({"status":"ok","service":"llmdesk","pid":1,"version":"0.1.0"})";
    const std::string reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    (void)!::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    std::lock_guard lock(mu_);
    received_ += in;
    ++requests_;
  }

  UniqueFd listen_, wake_;
  bool listening_ = false;
  std::thread thread_;
  std::mutex mu_;
  std::string received_;
  int requests_ = 0;
};

}  // namespace llmdesk::test
