// mcp/sessions.h — the stateful protocol's sessions (2025-11-25 and older): one per `initialize` over HTTP,
// named by the `Mcp-Session-Id` header of every later request.
//
// The table is capped and sessions expire when idle (clients, the conformance suite among them, rarely
// DELETE). A full table must not let a flood of `initialize` push out sessions people are using, so when
// it is full a new session may only take the place of
//   1. an expired session (idle longer than the TTL), or
//   2. the oldest session that was never used after its initialize (no request named it since);
// and never of a session in use — one a running request holds (anyone besides the table owns a
// reference). When no session can go, Create() refuses: the server answers that initialize with
// HTTP 503 and a message saying why.
//
// Threads: SessionTable is internally locked; a Session's mutable fields are atomics or guarded by its mu.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/status.h"
#include "mcp/jsonrpc.h"

namespace llmdesk::mcp {

// One initialized (stateful) client. Shared by the transport and the requests running for it.
struct Session {
  std::string id;
  std::string protocol_version;
  json client_capabilities = json::object();
  json client_info = json::object();
  std::atomic<int> log_level{-1};  // minimum level to send; -1 = client never set one (send all)
  std::atomic<bool> initialized{false};
  std::atomic<bool> used{false};   // a request named this session after its initialize
  std::atomic<int64_t> last_used_ms{0};
  std::mutex mu;                   // guards subscriptions
  std::set<std::string> subscriptions;
};

class SessionTable {
 public:
  SessionTable(size_t capacity, std::chrono::milliseconds idle_ttl);
  // A new session with a random 128-bit id; Unavailable when the table is full of sessions that may not
  // be evicted (see above).
  Result<std::shared_ptr<Session>> Create(std::string protocol_version);
  // nullptr when unknown or expired (one a running request holds does not expire); a hit refreshes the
  // idle timer and marks the session used.
  std::shared_ptr<Session> Find(const std::string& id);
  bool Remove(const std::string& id);
  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  int64_t NowMs() const;
  // Makes room for one session if the rules allow; false when none may go.
  bool MakeRoomLocked(int64_t now_ms);
  size_t capacity_;
  std::chrono::milliseconds idle_ttl_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
};

}  // namespace llmdesk::mcp
