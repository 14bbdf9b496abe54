// mcp/server_impl.h — internal to src/mcp: the Server's private state and the helpers its .cpp files share.
// Not part of the component's contract (that is server.h and jsonrpc.h).
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

#include "mcp/server.h"

namespace llmdesk::mcp {

// How one request is being served: which protocol rules apply.
struct RequestMode {
  bool stateless = false;
  std::string version;  // negotiated (stateful) or per-request (stateless)
  json id;              // the request's id (null for notifications)
};

// A method handler's answer: a result object or a JSON-RPC error.
struct MethodReply {
  json result;
  std::optional<RpcError> error;
  std::shared_ptr<Session> new_session;  // initialize only
  int http_status = 0;                   // 0: the status the error class implies
  static MethodReply Ok(json r) { return {std::move(r), std::nullopt, nullptr}; }
  static MethodReply Err(int code, std::string message, json data = nullptr) {
    return {nullptr, RpcError{code, std::move(message), std::move(data)}, nullptr};
  }
};

namespace detail {

// tools/list as served: built from the registry (and the extension) and rebuilt when the registry's
// generation changes, so provider tools that come and go are listed.
struct ToolCache {
  uint64_t generation = 0;
  json tool_entries = json::array();   // registry + extension tools/list entries
  json result_stateful;                // {"tools": [...]} shared by every unpaged tools/list
  json result_stateless;               // same + resultType/ttlMs/cacheScope
  // Tools whose arguments are mirrored into Mcp-Param-* headers: tool -> (argument, header name).
  std::map<std::string, std::vector<std::pair<std::string, std::string>>, std::less<>> header_params;
};

// A server->client question waiting for the client's reply.
struct PendingAsk {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<json> reply;
  std::string session_id;
};

struct ServerState {
  const tools::Registry& registry;
  std::unique_ptr<Extension> extension;
  ServerOptions options;
  SessionTable sessions;

  ServerState(const tools::Registry& r, std::unique_ptr<Extension> e, ServerOptions o);

  // The current tools/list cache (rebuilt first if the registry changed).
  std::shared_ptr<const ToolCache> Tools();

  // Server->client questions: Ask() sends `method` through `peer` and waits for the reply that
  // DeliverClientReply() hands over, until `deadline`.
  Result<json> Ask(Peer& peer, const Session* session, const std::string& method, json params,
                   Clock::time_point deadline);
  bool DeliverClientReply(const json& reply, const Session* session);

  // Running built-in tool calls, by (session id, request id), so notifications/cancelled can reach them.
  // Begin returns the flag the call's CallContext::cancelled reads; End forgets that flag.
  std::shared_ptr<std::atomic<bool>> BeginCall(const Session* session, const json& request_id);
  void EndCall(const Session* session, const json& request_id, const std::shared_ptr<std::atomic<bool>>& flag);
  void Cancel(const Session* session, const json& request_id);

 private:
  std::shared_ptr<const ToolCache> BuildToolCache(uint64_t generation) const;

  std::mutex tools_mu_;
  std::shared_ptr<const ToolCache> tools_;

  std::mutex pending_mu_;
  std::map<std::string, std::shared_ptr<PendingAsk>> pending_;
  std::atomic<uint64_t> next_ask_{1};

  std::mutex calls_mu_;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> calls_;
};

}  // namespace detail

json CapabilitiesFor(const detail::ServerState& state, bool stateless);
// Runs one method (the envelope is already checked).
MethodReply RunMethod(detail::ServerState& state, const RequestMode& mode, const Incoming& in,
                      const std::string& method, const json& params);

}  // namespace llmdesk::mcp
