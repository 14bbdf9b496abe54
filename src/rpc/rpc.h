// rpc/rpc.h — llama.cpp RPC workers (ggml-rpc-server, issue 14): their addresses, and whether one answers.
//
// llmdesk builds no distribution of its own: llama-server's `--rpc host:port,...` splits a model's layers
// over ggml-rpc-server workers. What llmdesk needs of the protocol is only its handshake, to tell before
// an engine starts whether each worker is there:
//   request : | cmd = RPC_CMD_HELLO (14), 1 byte | size = 24, u64 LE | conn_caps, 24 bytes (zeros = plain TCP) |
//   response: | size = 28, u64 LE | major, minor, patch, pad (1 byte each) | conn_caps, 24 bytes |
// then RPC_CMD_DEVICE_COUNT (15, empty request) -> | size = 4 | u32 device count |.
// (ggml/src/ggml-rpc/ggml-rpc.cpp of the llama.cpp the engine is built from; protocol major 6.)
// An rpc-server serves ONE client at a time: while an engine is connected, a further connection is
// accepted by the kernel but gets no answer until that engine lets go — that is kBusy, not a failure.
//
// Errors: ParseEndpoint says what is wrong with the text. CheckWorker never fails as a call: the
// outcome is the state plus a detail fit for a failure reason. It blocks the caller for at most
// connect_timeout + answer_timeout (plus name resolution): call it on a helper thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace llmdesk::rpc {

inline constexpr int kDefaultPort = 50052;   // rpc-server's own default
inline constexpr int kProtocolMajor = 6;     // RPC_PROTO_MAJOR_VERSION of the engine's llama.cpp
inline constexpr size_t kMaxWorkers = 16;    // GGML_RPC_MAX_SERVERS

struct Endpoint {
  std::string host;  // an IPv4 address or a host name (llama.cpp's RPC client and server are IPv4 only)
  int port = 0;
  std::string ToString() const;  // "host:port", as llama-server's --rpc takes it
};

// "host:port"; port 1-65535; host letters, digits, '.', '-'. IPv6 is refused, saying why.
Result<Endpoint> ParseEndpoint(std::string_view text);

enum class WorkerState {
  kUnknown,       // not checked yet
  kAnswering,     // completed the HELLO handshake: ready for an engine
  kBusy,          // accepts connections but does not answer: serving another client (one at a time)
  kUnreachable,   // no connection (refused, timed out, name not resolved)
  kIncompatible,  // answered something that is not this protocol version
};
const char* ToString(WorkerState state);  // "unknown", "answering", "busy", "unreachable", "incompatible"

struct WorkerCheck {
  WorkerState state = WorkerState::kUnknown;
  std::string detail;  // "protocol 6.0.0, 1 device" / "connection refused" / ...
  bool ok() const { return state == WorkerState::kAnswering; }
};

WorkerCheck CheckWorker(const Endpoint& worker, std::chrono::milliseconds connect_timeout,
                        std::chrono::milliseconds answer_timeout);

}  // namespace llmdesk::rpc
