// mcp/mcp.h — the Model Context Protocol server: a JSON-RPC 2.0 dispatcher over the tools registry,
// served over Streamable HTTP (POST/GET/DELETE /mcp) and stdio.
//
// Protocol versions, picked per request:
//  - 2025-11-25 (and 2025-06-18, 2025-03-26 clients): stateful. `initialize` creates a Session; over
//    HTTP its id travels in `Mcp-Session-Id` and every later request names it; `MCP-Protocol-Version`
//    must name a supported version (400 otherwise). Unknown or expired session -> HTTP 404.
//  - 2026-07-28: stateless. Every request carries `_meta["io.modelcontextprotocol/protocolVersion"]` and
//    `_meta["io.modelcontextprotocol/clientCapabilities"]`; over HTTP the `MCP-Protocol-Version`,
//    `Mcp-Method` and `Mcp-Name` headers must match the body (-32020 HeaderMismatch otherwise).
//    `server/discover` replaces `initialize`; results carry `resultType` (and `ttlMs`/`cacheScope` on list
//    and read results); server->client questions come back as `resultType: "input_required"` results.
//  An unsupported version gets -32022 with `data: {supported, requested}`.
//
// Errors: malformed JSON -32700 (also JSON nested deeper than 64 levels); not a request -32600; unknown
// method -32601; bad params or unknown tool -32602. Tool failures are results with `isError: true`, never
// protocol errors. Notifications (including notifications/cancelled, which is accepted but does not
// interrupt a running tool) get no reply.
//
// Threads: Server is immutable after construction except for its SessionTable and the table of pending
// server->client requests, both internally locked; Dispatch() may run on any number of threads at once.
// HttpServer owns its net::HttpServer (IO threads, worker pool); Run() blocks until Stop() (callable
// from any thread or a signal watcher). RunStdio() reads on the calling thread and runs requests on one worker thread it owns.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "tools/tools.h"

namespace llmdesk::mcp {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

inline constexpr const char* kVersionStateless = "2026-07-28";
inline constexpr const char* kVersionLatestStateful = "2025-11-25";
// Newest first: 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26.
const std::vector<std::string>& SupportedVersions();
bool IsStatefulVersion(std::string_view version);

// _meta keys of the stateless protocol.
inline constexpr const char* kMetaProtocolVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr const char* kMetaClientCapabilities = "io.modelcontextprotocol/clientCapabilities";
inline constexpr const char* kMetaClientInfo = "io.modelcontextprotocol/clientInfo";
inline constexpr const char* kMetaLogLevel = "io.modelcontextprotocol/logLevel";
inline constexpr const char* kMetaServerInfo = "io.modelcontextprotocol/serverInfo";

namespace rpc {
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kSessionRequired = -32000;  // transport-level "Bad Request" (no/unknown session)
inline constexpr int kHeaderMismatch = -32020;
inline constexpr int kMissingClientCapability = -32021;
inline constexpr int kUnsupportedVersion = -32022;
}  // namespace rpc

struct RpcError {
  int code = rpc::kInternalError;
  std::string message;
  json data;  // null = no "data" member
};

// {"jsonrpc":"2.0","id":id,"error":{...}}
json ErrorReply(const json& id, const RpcError& error);

// Log levels of notifications/message, least severe first ("debug" = 0 ... "emergency" = 7); -1 = unknown.
int LogLevelIndex(std::string_view level);

// One initialized (stateful) client. Shared by the transport and the requests running for it.
struct Session {
  std::string id;
  std::string protocol_version;
  json client_capabilities = json::object();
  json client_info = json::object();
  std::atomic<int> log_level{-1};  // minimum level to send; -1 = client never set one (send all)
  std::atomic<bool> initialized{false};
  std::atomic<int64_t> last_used_ms{0};
  std::mutex mu;                   // guards subscriptions
  std::set<std::string> subscriptions;
};

// Sessions are capped and expire when idle: clients (the conformance suite among them) rarely DELETE.
class SessionTable {
 public:
  SessionTable(size_t capacity, std::chrono::milliseconds idle_ttl);
  // A new session with a random 128-bit id. When full, expired sessions go first, then the least
  // recently used one.
  std::shared_ptr<Session> Create(std::string protocol_version);
  // nullptr when unknown or expired; a hit refreshes the idle timer.
  std::shared_ptr<Session> Find(const std::string& id);
  bool Remove(const std::string& id);
  size_t size() const;

 private:
  int64_t NowMs() const;
  void EvictLocked(int64_t now_ms);
  size_t capacity_;
  std::chrono::milliseconds idle_ttl_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
};

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

// What a running request may know and do besides its params. Given to fixture handlers.
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

// Extra tools, resources, prompts and completions served next to the built-in tools: the conformance
// fixture set (see MakeConformanceFixtures) implements it. Methods return the MCP result object, or an
// RpcError to send as-is.
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

// The conformance suite's fixtures (test_simple_text, test://static-text, test_simple_prompt, ...).
// Only ever enabled by a flag (`--conformance-fixtures`), never in the default tool list.
std::unique_ptr<Extension> MakeConformanceFixtures();

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
  // Registers a server->client request: fills in its id, returns the handle to wait on.
  struct Pending;
  std::shared_ptr<Pending> RegisterAsk(json& request, const Session* session);
  Result<json> WaitAsk(const std::shared_ptr<Pending>& pending, Clock::time_point deadline);

  SessionTable& sessions() { return sessions_; }
  const ServerOptions& options() const { return options_; }

  struct Impl;  // defined in server_impl.h, private to src/mcp

 private:
  std::unique_ptr<Impl> impl_;
  SessionTable sessions_;
  ServerOptions options_;
};

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8763;                           // 0 = any free port (see HttpServer::port())
  std::string token;                         // bearer token; empty = none (loopback trust only)
  size_t max_body_bytes = 4 * 1024 * 1024;   // larger bodies get 413
  size_t max_header_bytes = 16 * 1024;       // request line + headers; 431 beyond
  size_t max_streams = 256;                  // SSE replies open at once; 503 beyond
  int max_workers = 64;                      // threads for calls that may block (see Server::MayBlock)
};

// Streamable HTTP transport on net::HttpServer: POST /mcp (JSON or SSE replies), GET /mcp (405: no
// server-initiated stream), DELETE /mcp (ends the session). Checks Host/Origin (403), token (401),
// header size (431), body size (413), Accept (406), Content-Type (415), protocol header (400), session
// (404). A call of a local built-in tool is answered on the IO thread; anything that may block runs on
// the listener's worker pool, and SSE replies hold a pool thread only while their request runs.
class HttpServer {
 public:
  HttpServer(Server& server, HttpOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds (Unavailable with the reason if the port is taken). After Bind(), port() is the real port.
  Status Bind();
  // Serves until Stop(). Call Bind() first.
  Status Run();
  void Stop();
  int port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// stdio transport: one JSON-RPC message per line on `out`, nothing else on it (logs go to stderr).
// Returns when `in` reaches end of file (after the running request finished) or `stop` becomes true.
Status RunStdio(Server& server, int in_fd, int out_fd, const std::atomic<bool>* stop = nullptr);

}  // namespace llmdesk::mcp
