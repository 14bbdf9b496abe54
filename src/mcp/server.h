// mcp/server.h — the Model Context Protocol server: a JSON-RPC 2.0 dispatcher over the tools registry
// (and an optional Extension), independent of any transport. The transports (http_transport.h,
// stdio_transport.h) hand it one message at a time; the wire format is jsonrpc.h, sessions sessions.h.
//
// Protocol versions, picked per request:
//  - 2025-11-25 (and 2025-06-18, 2025-03-26 clients): stateful. `initialize` creates a Session; over
//    HTTP its id travels in `Mcp-Session-Id` and every later request names it; `MCP-Protocol-Version`
//    must name a supported version (400 otherwise). Unknown or expired session -> HTTP 404. When the
//    session table is full of sessions in use, `initialize` gets -32000 with HTTP 503 (see sessions.h).
//  - 2026-07-28: stateless. Every request carries `_meta["io.modelcontextprotocol/protocolVersion"]` and
//    `_meta["io.modelcontextprotocol/clientCapabilities"]`; over HTTP the `MCP-Protocol-Version`,
//    `Mcp-Method` and `Mcp-Name` headers must match the body (-32020 HeaderMismatch otherwise).
//    `server/discover` replaces `initialize`; results carry `resultType` (and `ttlMs`/`cacheScope` on list
//    and read results); server->client questions come back as `resultType: "input_required"` results.
//  An unsupported version gets -32022 with `data: {supported, requested}`.
//
// Errors: malformed JSON -32700 (also JSON nested deeper than 64 levels); not a request -32600; unknown
// method -32601; bad params or unknown tool -32602. Tool failures are results with `isError: true`, never
// protocol errors. Notifications get no reply; `notifications/cancelled` sets the cancelled flag a running
// built-in tool sees in its CallContext (tools check it in their long loops).
//
// Threads: Dispatch() may run on any number of threads at once. The Server's mutable state (the session
// table, the pending server->client questions, the running calls, the tools/list cache that follows
// registry changes) is internally locked.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "mcp/jsonrpc.h"
#include "mcp/sessions.h"
#include "tools/tools.h"

namespace llmdesk::mcp {

namespace detail {
struct ServerState;  // server_impl.h, private to src/mcp
}

// The way back to the client while one request runs: notifications (progress, logging) and
// server->client requests (sampling, elicitation; the Server matches their replies). Implemented by each
// transport.
class Peer {
 public:
  virtual ~Peer() = default;
  virtual void Send(const json& message) = 0;
  // False when the client cannot answer on this channel (e.g. a plain JSON HTTP reply).
  virtual bool CanAsk() const { return true; }
};

// What a running request may know and do besides its params. Given to Extension handlers.
struct CallEnv {
  Peer* peer = nullptr;               // null: notifications are dropped and ask() fails
  Session* session = nullptr;         // null for stateless requests
  bool stateless = false;
  json client_capabilities = json::object();
  int log_level = -1;                 // -1: send all (stateful default); -2: send none (stateless without logLevel)
  json progress_token;                // null when the client asked for no progress
  Clock::time_point deadline = Clock::time_point::max();
  // A server->client request (sampling/createMessage, elicitation/create): waits for the client's
  // result until the deadline. Unavailable when the channel cannot carry it (stateless, plain JSON).
  std::function<Result<json>(const std::string& method, json params)> ask;
  void Log(const std::string& level, const json& data) const;
  void Progress(double progress, std::optional<double> total, const std::string& message = {}) const;
};

// Extra tools, resources, prompts and completions served next to the registry's tools: the conformance
// fixture set (mcp/fixtures/fixtures.h, a separate library) implements it. Methods return the MCP result
// object, or an RpcError to send as-is.
class Extension {
 public:
  struct Reply {
    json result;
    std::optional<RpcError> error;
  };
  virtual ~Extension() = default;
  virtual json Tools() const = 0;                                // tools/list entries
  virtual bool HasTool(std::string_view name) const = 0;
  virtual bool ToolStreams(std::string_view name) const = 0;     // may notify/ask while running
  virtual Reply CallTool(const std::string& name, const json& params, CallEnv& env) const = 0;
  virtual json Resources() const = 0;
  virtual json ResourceTemplates() const = 0;
  virtual Reply ReadResource(const json& params, CallEnv& env) const = 0;
  virtual json Prompts() const = 0;
  virtual Reply GetPrompt(const json& params, CallEnv& env) const = 0;
  virtual Reply Complete(const json& params) const = 0;
};

struct ServerOptions {
  std::string name = "llmdesk";
  std::string version = LLMDESK_VERSION;
  size_t max_sessions = 1024;
  std::chrono::milliseconds session_idle_ttl{30 * 60 * 1000};
  std::chrono::milliseconds call_timeout{60 * 1000};   // per tools/call (and per server->client question)
  size_t tools_page_size = 0;                          // 0 = no pagination
};

// One inbound JSON-RPC message as a transport saw it.
struct Incoming {
  json message;
  std::shared_ptr<Session> session;          // the session the transport matched (null: none)
  bool http = false;
  std::optional<std::string> header_version;  // MCP-Protocol-Version (HTTP only)
  std::optional<std::string> header_method;   // Mcp-Method
  std::optional<std::string> header_name;    // Mcp-Name
  // Mcp-Param-<Name> headers (SEP-2243), name without the prefix; checked against x-mcp-header arguments.
  std::vector<std::pair<std::string, std::string>> param_headers;
  Peer* peer = nullptr;
};

struct Outcome {
  std::optional<json> reply;                 // none for notifications and client replies
  int http_status = 200;                     // 202 when there is no reply
  std::shared_ptr<Session> new_session;      // set by a successful initialize
};

class Server {
 public:
  // `registry` must outlive the Server; tools it gains or loses later (providers) show in tools/list.
  Server(const tools::Registry& registry, std::unique_ptr<Extension> extension = nullptr,
         ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Parses and dispatches one message; nullopt when there is nothing to answer (a notification or
  // a client's reply). Batches (arrays) are answered per the session's version: 2025-03-26 runs them,
  // later versions reject them with -32600.
  std::optional<std::string> Handle(std::string_view text, Incoming& context);
  Outcome Dispatch(const Incoming& in);

  // Whether this request may send notifications or ask the client while it runs (the HTTP transport
  // then answers with an SSE stream).
  bool MayStream(const json& message, const Session* session) const;
  // Whether this request may take long: anything but a call of a built-in tool that stays on this
  // machine (openWorldHint false). The HTTP transport answers the others off its IO threads.
  bool MayBlock(const json& message) const;

  // A reply from the client to a server->client request; false when nobody waits for that id.
  bool DeliverClientReply(const json& reply, const Session* session);

  SessionTable& sessions();
  const ServerOptions& options() const;

 private:
  std::unique_ptr<detail::ServerState> state_;
};

}  // namespace llmdesk::mcp
