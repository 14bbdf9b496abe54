// rpc/probe_socket.h — the TCP client CheckWorker talks through (private to src/rpc): non-blocking, every wait
// bounded by a deadline. One implementation per system: probe_socket_posix.cpp (BSD sockets, poll),
// probe_socket_win32.cpp (Winsock, select). IPv4 only, as llama.cpp's RPC client.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rpc/rpc.h"

namespace llmdesk::rpc {

class ProbeSocket {
 public:
  using Clock = std::chrono::steady_clock;
  ProbeSocket() = default;
  ~ProbeSocket();
  ProbeSocket(const ProbeSocket&) = delete;
  ProbeSocket& operator=(const ProbeSocket&) = delete;

  // Empty when connected, else what the attempt ended with, lower case ("connection refused", ...).
  std::string Connect(const Endpoint& worker, Clock::time_point deadline);
  bool SendAll(const std::vector<uint8_t>& bytes, Clock::time_point deadline);
  // Reads exactly `size` bytes: 1 done, 0 timed out, -1 closed or failed.
  int ReceiveAll(uint8_t* out, size_t size, Clock::time_point deadline);

 private:
  intptr_t socket_ = -1;  // an fd on POSIX, a SOCKET on Windows
};

}  // namespace llmdesk::rpc
