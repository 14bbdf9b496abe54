// The HELLO handshake of ggml-rpc (see rpc.h) over a ProbeSocket (rpc/probe_socket.h: non-blocking, every wait bounded).
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "rpc/probe_socket.h"
#include "rpc/rpc.h"

namespace llmdesk::rpc {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint8_t kCmdHello = 14;
constexpr uint8_t kCmdDeviceCount = 15;
constexpr size_t kConnCapsSize = 24;
constexpr size_t kHelloResponseSize = 4 + kConnCapsSize;

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
  ProbeSocket socket;
  if (std::string why = socket.Connect(worker, Clock::now() + connect_timeout); !why.empty())
    return {WorkerState::kUnreachable, why};

  const auto deadline = Clock::now() + answer_timeout;
  uint8_t hello[8 + kHelloResponseSize];
  if (!socket.SendAll(Command(kCmdHello, kConnCapsSize), deadline))
    return {WorkerState::kUnreachable, "the connection broke while sending HELLO"};
  int got = socket.ReceiveAll(hello, sizeof(hello), deadline);
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
  if (socket.SendAll(Command(kCmdDeviceCount, 0), deadline) &&
      socket.ReceiveAll(count, sizeof(count), deadline) == 1 && ReadU64(count) == 4) {
    uint32_t n;
    std::memcpy(&n, count + 8, sizeof(n));
    devices = fmt::format(", {} device{}", n, n == 1 ? "" : "s");
  }
  return {WorkerState::kAnswering, "protocol " + version + devices};
}

}  // namespace llmdesk::rpc
