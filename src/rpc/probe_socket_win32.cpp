// rpc/probe_socket.h on Windows: Winsock, non-blocking (FIONBIO), every wait bounded by select.
#include <winsock2.h>
#include <ws2tcpip.h>

#include <cctype>
#include <mutex>

#include "platform/utf16.h"
#include "rpc/probe_socket.h"

namespace llmdesk::rpc {
namespace {

using Clock = std::chrono::steady_clock;

void EnsureWinsock() {  // once per process, never undone (threads may still close sockets at exit)
  static std::once_flag once;
  std::call_once(once, [] {
    WSADATA data;
    WSAStartup(MAKEWORD(2, 2), &data);
  });
}

int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits until s can be written (`write`) or read, or has failed, until the deadline: 1 ready, 0 timed out, -1 error.
// select, not WSAPoll: WSAPoll does not report a refused connect on Windows before 10 2004.
int WaitFor(SOCKET s, bool write, Clock::time_point deadline) {
  fd_set ready, failed;
  FD_ZERO(&ready);
  FD_ZERO(&failed);
  FD_SET(s, &ready);
  FD_SET(s, &failed);  // a failed connect is reported here
  const int ms = MillisLeft(deadline);
  timeval timeout{ms / 1000, (ms % 1000) * 1000};
  const int n = select(0, write ? nullptr : &ready, write ? &ready : nullptr, &failed, &timeout);
  return n < 0 ? -1 : (n > 0 ? 1 : 0);
}

std::string Lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!text.empty() && (text.back() == '.' || text.back() == ' ' || text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  return text;
}

}  // namespace

ProbeSocket::~ProbeSocket() {
  if (socket_ != -1) closesocket(static_cast<SOCKET>(socket_));
}

std::string ProbeSocket::Connect(const Endpoint& worker, Clock::time_point deadline) {
  EnsureWinsock();
  addrinfo hints{};
  hints.ai_family = AF_INET;  // as llama-server connects (IPv4)
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(worker.port);
  if (int rc = getaddrinfo(worker.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return "cannot resolve the host: " + Lower(platform::ErrorText(static_cast<unsigned long>(rc)));
  std::string why = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    // Not inheritable (WSA_FLAG_NO_HANDLE_INHERIT): an engine started meanwhile must not hold the connection.
    SOCKET s = WSASocketW(a->ai_family, a->ai_socktype, a->ai_protocol, nullptr, 0, WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET) {
      why = Lower(platform::ErrorText(WSAGetLastError()));
      continue;
    }
    u_long nonblocking = 1;
    ioctlsocket(s, FIONBIO, &nonblocking);
    if (connect(s, a->ai_addr, static_cast<int>(a->ai_addrlen)) != 0 && WSAGetLastError() != WSAEWOULDBLOCK) {
      why = Lower(platform::ErrorText(WSAGetLastError()));
      closesocket(s);
      continue;
    }
    const int ready = WaitFor(s, /*write=*/true, deadline);
    if (ready == 0) {
      why = "no connection within the timeout";
      closesocket(s);
      continue;
    }
    int err = 0;
    int len = sizeof(err);
    if (ready < 0 || getsockopt(s, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&err), &len) != 0)
      err = WSAGetLastError();
    if (err != 0) {
      why = Lower(platform::ErrorText(static_cast<unsigned long>(err)));
      closesocket(s);
      continue;
    }
    BOOL one = TRUE;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one), sizeof(one));
    socket_ = static_cast<intptr_t>(s);
    freeaddrinfo(found);
    return {};
  }
  freeaddrinfo(found);
  return why;
}

bool ProbeSocket::SendAll(const std::vector<uint8_t>& bytes, Clock::time_point deadline) {
  const SOCKET s = static_cast<SOCKET>(socket_);
  size_t sent = 0;
  while (sent < bytes.size()) {
    const int n = send(s, reinterpret_cast<const char*>(bytes.data() + sent), static_cast<int>(bytes.size() - sent), 0);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && WSAGetLastError() == WSAEWOULDBLOCK) {
      if (WaitFor(s, /*write=*/true, deadline) <= 0) return false;
    } else {
      return false;
    }
  }
  return true;
}

int ProbeSocket::ReceiveAll(uint8_t* out, size_t size, Clock::time_point deadline) {
  const SOCKET s = static_cast<SOCKET>(socket_);
  size_t got = 0;
  while (got < size) {
    const int n = recv(s, reinterpret_cast<char*>(out + got), static_cast<int>(size - got), 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n == 0) {
      return -1;
    } else if (WSAGetLastError() == WSAEWOULDBLOCK) {
      const int ready = WaitFor(s, /*write=*/false, deadline);
      if (ready <= 0) return ready;
    } else {
      return -1;
    }
  }
  return 1;
}

}  // namespace llmdesk::rpc
