// The HELLO handshake of ggml-rpc (see rpc.h): a plain socket, non-blocking, every wait bounded by poll.
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "common/unique_fd.h"
#include "rpc/rpc.h"

namespace llmdesk::rpc {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint8_t kCmdHello = 14;
constexpr uint8_t kCmdDeviceCount = 15;
constexpr size_t kConnCapsSize = 24;
constexpr size_t kHelloResponseSize = 4 + kConnCapsSize;

int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits for `events` on fd until the deadline: 1 ready, 0 timed out, -1 error (errno).
int WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = poll(&p, 1, MillisLeft(deadline));
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

// "connection refused" etc.: what the connect ended with. Empty when connected.
std::string Connect(const Endpoint& worker, Clock::time_point deadline, UniqueFd& out) {
  addrinfo hints{};
  hints.ai_family = AF_INET;  // as llama-server connects (gethostbyname, AF_INET)
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(worker.port);
  if (int rc = getaddrinfo(worker.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return std::string("cannot resolve the host: ") + gai_strerror(rc);
  std::string why = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    UniqueFd fd(socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd.valid()) {
      why = strerror(errno);
      continue;
    }
    if (connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      why = strerror(errno);
      continue;
    }
    int ready = WaitFor(fd.get(), POLLOUT, deadline);
    if (ready == 0) {
      why = "no connection within the timeout";
      continue;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (ready < 0 || getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      why = strerror(err);
      continue;
    }
    int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    out = std::move(fd);
    freeaddrinfo(found);
    return {};
  }
  freeaddrinfo(found);
  for (auto& c : why) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return why;
}

bool SendAll(int fd, const std::vector<uint8_t>& bytes, Clock::time_point deadline) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (WaitFor(fd, POLLOUT, deadline) <= 0) return false;
    } else {
      return false;
    }
  }
  return true;
}

// Reads exactly `size` bytes: 1 done, 0 timed out, -1 closed or failed.
int ReceiveAll(int fd, uint8_t* out, size_t size, Clock::time_point deadline) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = recv(fd, out + got, size - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n == 0) {
      return -1;
    } else if (errno == EAGAIN || errno == EINTR) {
      int ready = WaitFor(fd, POLLIN, deadline);
      if (ready <= 0) return ready;
    } else {
      return -1;
    }
  }
  return 1;
}

std::vector<uint8_t> Command(uint8_t cmd, size_t payload_size) {
  std::vector<uint8_t> bytes(1 + 8 + payload_size, 0);  // payload: zeros (no RDMA capabilities)
  bytes[0] = cmd;
  uint64_t size = payload_size;
  std::memcpy(bytes.data() + 1, &size, sizeof(size));  // little-endian on every host llama.cpp runs on
  return bytes;
}

uint64_t ReadU64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

}  // namespace

WorkerCheck CheckWorker(const Endpoint& worker, std::chrono::milliseconds connect_timeout,
                        std::chrono::milliseconds answer_timeout) {
  WorkerCheck out;
  UniqueFd fd;
  if (std::string why = Connect(worker, Clock::now() + connect_timeout, fd); !why.empty())
    return {WorkerState::kUnreachable, why};

  const auto deadline = Clock::now() + answer_timeout;
  uint8_t hello[8 + kHelloResponseSize];
  if (!SendAll(fd.get(), Command(kCmdHello, kConnCapsSize), deadline))
    return {WorkerState::kUnreachable, "the connection broke while sending HELLO"};
  int got = ReceiveAll(fd.get(), hello, sizeof(hello), deadline);
  if (got == 0)
    return {WorkerState::kBusy, fmt::format("accepts connections but gave no HELLO answer within {} ms (an "
                                            "rpc-server serves one client at a time: another engine may be using it)",
                                            answer_timeout.count())};
  if (got < 0) return {WorkerState::kIncompatible, "closed the connection instead of answering HELLO (not an rpc-server "
                                                   "of protocol " + std::to_string(kProtocolMajor) + "?)"};
  if (ReadU64(hello) != kHelloResponseSize)
    return {WorkerState::kIncompatible, "its HELLO answer has an unexpected size (not an rpc-server of protocol " +
                                            std::to_string(kProtocolMajor) + "?)"};
  const int major = hello[8], minor = hello[9], patch = hello[10];
  const std::string version = fmt::format("{}.{}.{}", major, minor, patch);
  if (major != kProtocolMajor)
    return {WorkerState::kIncompatible, "speaks RPC protocol " + version + ", the engine speaks " +
                                            std::to_string(kProtocolMajor) + ".x: use the same llama.cpp version on both"};

  uint8_t count[8 + 4];
  std::string devices;
  if (SendAll(fd.get(), Command(kCmdDeviceCount, 0), deadline) &&
      ReceiveAll(fd.get(), count, sizeof(count), deadline) == 1 && ReadU64(count) == 4) {
    uint32_t n;
    std::memcpy(&n, count + 8, sizeof(n));
    devices = fmt::format(", {} device{}", n, n == 1 ? "" : "s");
  }
  return {WorkerState::kAnswering, "protocol " + version + devices};
}

}  // namespace llmdesk::rpc
