// rpc/probe_socket.h on POSIX: BSD sockets, non-blocking, every wait bounded by poll.
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

#include "common/unique_fd.h"
#include "rpc/probe_socket.h"

namespace llmdesk::rpc {
namespace {

using Clock = std::chrono::steady_clock;

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

}  // namespace

ProbeSocket::~ProbeSocket() {
  if (socket_ >= 0) close(static_cast<int>(socket_));
}

std::string ProbeSocket::Connect(const Endpoint& worker, Clock::time_point deadline) {
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
    socket_ = fd.release();
    freeaddrinfo(found);
    return {};
  }
  freeaddrinfo(found);
  for (auto& c : why) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return why;
}

bool ProbeSocket::SendAll(const std::vector<uint8_t>& bytes, Clock::time_point deadline) {
  const int fd = static_cast<int>(socket_);
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

int ProbeSocket::ReceiveAll(uint8_t* out, size_t size, Clock::time_point deadline) {
  const int fd = static_cast<int>(socket_);
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

}  // namespace llmdesk::rpc
