// mcp/client.h — the client side of MCP: one connection to one MCP server, over Streamable HTTP or stdio.
//
// What it does
//  - Connect(): `initialize` (protocol 2025-11-25, falling back to what the server answers among the
//    versions we speak) and `notifications/initialized`. Over HTTP the session id (`Mcp-Session-Id`) and
//    `MCP-Protocol-Version` go on every later request; a 404 for a request with a session means the session
//    is gone: the client initializes again and retries the request once.
//  - HTTP replies may be JSON or an SSE stream; in a stream, notifications before the reply are passed to
//    the handler and the reply ends the request. A stream that ends before the reply — closed by the server
//    (SEP-1699 polling) or dropped — is resumed with GET + Last-Event-ID after the `retry:` delay the server
//    gave (1 s when it gave none), for as long as the deadline allows; resumes that bring no new event are
//    bounded (kMaxIdleResumes in client_http.cpp).
//  - stdio: the command is spawned with argv (never a shell) in its own process group, with PDEATHSIG;
//    one JSON-RPC message per line each way; its stderr is kept (the last lines name what went wrong when it
//    dies; each line is also logged at debug level).
//  - Requests from the server (elicitation/create, sampling/createMessage, roots/list) go to
//    ClientOptions::on_request when one is given (its capabilities are declared in initialize); without one,
//    or for a method the handler does not serve (NotFound), they get -32601. ping gets {}.
//  - ListTools() follows `nextCursor` pages; CallTool() returns the MCP result (isError results are results).
//  - Cancel: when the CancelToken fires during a request, `notifications/cancelled` goes to the server
//    and the call returns Cancelled at once.
//
// Errors, each naming the server: Unavailable (cannot connect, the process exited — with its last stderr
// lines —, an HTML or other non-MCP answer), Timeout (the deadline passed), Cancelled, InvalidArgument for a
// JSON-RPC error reply (its code and message), FailedPrecondition for a server that does not speak a protocol
// version we know.
// Threads: a Client is thread-safe; requests may run concurrently (replies are matched by id).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/cancel.h"
#include "common/status.h"

namespace llmdesk::net {
class HttpClient;
}

namespace llmdesk::mcp {

struct ServerSpec {
  std::string name;                             // how llmdesk calls it ("llmdesk", "filesystem", ...)
  std::vector<std::string> command;             // stdio: argv
  std::map<std::string, std::string> env;       // stdio: added to our environment
  std::string url;                              // HTTP: the MCP endpoint, e.g. http://127.0.0.1:8763/mcp
  std::map<std::string, std::string> headers;   // HTTP: e.g. Authorization
  std::chrono::milliseconds connect_timeout{10000};  // spawn/connect + initialize
};

// Answers a request the server sent: the result object, or a non-ok Status sent back as a JSON-RPC error
// (NotFound → -32601, InvalidArgument → -32602, others → -32603). Runs on the thread that read the request
// (the reply stream's or the stdio reader's), so it must answer promptly.
using ServerRequestHandler =
    std::function<Result<nlohmann::json>(const std::string& method, const nlohmann::json& params)>;

// Called once, on the transport's own thread, when a stdio server exits on its own (never when the
// client closes it): `why` names the exit status and the server's last stderr lines. It must not destroy
// the Client (that joins the thread it runs on); it may note the loss and wake whoever reconnects.
using ClosedFn = std::function<void(const std::string& why)>;

struct ClientOptions {
  // Declared in initialize, e.g. {"elicitation": {"form": {}}}; only what on_request really serves.
  nlohmann::json capabilities = nlohmann::json::object();
  ServerRequestHandler on_request;  // empty: every server request but ping gets -32601
  // HTTP: after initialize, keep the server's standalone SSE stream (GET) open for requests and
  // notifications not tied to one of ours (servers that send elicitation that way); see Transport::Listen.
  bool listen = false;
  // stdio: see ClosedFn; a server that dies during Connect may call it before Connect returns its failure.
  ClosedFn on_closed;
};

// The JSON-RPC reply to a request the server sent (`request` has "id" and "method"): ping → {}, else
// `handler`'s answer (see ServerRequestHandler), -32601 without a handler. For the transports.
nlohmann::json AnswerServerRequest(const nlohmann::json& request, const ServerRequestHandler& handler);

// An elicitation/create answer for a client that cannot ask a person: accepts a form request with the
// `default` of every property of its requestedSchema (SEP-1034) — {"action":"accept","content":{...}} —
// and declines when a required property has no default or the request is not a form (URL mode).
nlohmann::json AcceptElicitationWithDefaults(const nlohmann::json& params);

// How messages travel; one implementation per transport (client_http.cpp, client_stdio.cpp).
class Transport {
 public:
  virtual ~Transport() = default;
  // Sends a request and waits for the reply with the same id (notifications in between go to the
  // client's notification handler). The reply object as received (with "result" or "error").
  virtual Result<nlohmann::json> Request(const nlohmann::json& request, std::chrono::steady_clock::time_point deadline,
                                         const CancelToken* cancel) = 0;
  virtual Status Notify(const nlohmann::json& notification) = 0;
  // HTTP: the session id to send (empty: none) and the protocol version header; stdio ignores them.
  virtual void SetSession(std::string session_id, std::string protocol_version) = 0;
  // The session id the last initialize reply carried (HTTP), "" otherwise.
  virtual std::string ReceivedSession() const = 0;
  // Whether the last failure means "the session is gone: initialize again".
  virtual bool SessionLost(const Status& failure) const = 0;
  virtual std::string Describe() const = 0;  // "stdio: npx -y ..." / "http://..."
  // HTTP: opens the server's standalone SSE stream (GET) on a thread the transport owns; what arrives goes to
  // the notification and request handlers. Reopened with Last-Event-ID after the server's `retry:` delay when
  // it ends; given up when the server offers none (e.g. 405) or after 3 failed connects in a row. Returns once
  // the server answered the GET (at most 5 s), so the stream is open before the next request. Idempotent
  // while the stream runs (called again after a re-initialize). stdio always listens: nothing to do.
  virtual void Listen() {}
};

std::unique_ptr<Transport> MakeHttpTransport(net::HttpClient& http, const ServerSpec& spec,
                                             std::function<void(const nlohmann::json&)> on_notification,
                                             ServerRequestHandler on_request = nullptr);
Result<std::unique_ptr<Transport>> MakeStdioTransport(const ServerSpec& spec,
                                                      std::function<void(const nlohmann::json&)> on_notification,
                                                      ServerRequestHandler on_request = nullptr,
                                                      ClosedFn on_closed = {});

class Client {
 public:
  // Connects (spawns for stdio) and initializes. `http` must outlive the client (HTTP servers only).
  static Result<std::unique_ptr<Client>> Connect(const ServerSpec& spec, net::HttpClient* http,
                                                 ClientOptions options = {});
  // The same over a transport the caller makes: `make` gets the client's notification handler (logs
  // notifications/message) and returns the transport. Connect uses it with the HTTP and stdio transports;
  // tests and the MCP-client fuzz target use it with a scripted server.
  using NotificationFn = std::function<void(const nlohmann::json&)>;
  using TransportFactory = std::function<Result<std::unique_ptr<Transport>>(NotificationFn on_notification)>;
  static Result<std::unique_ptr<Client>> ConnectOver(const ServerSpec& spec, const TransportFactory& make,
                                                     ClientOptions options = {});
  ~Client();

  Result<std::vector<nlohmann::json>> ListTools(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // The tools/call result object ({content, structuredContent?, isError?}).
  Result<nlohmann::json> CallTool(const std::string& name, const nlohmann::json& arguments,
                                  std::chrono::steady_clock::time_point deadline, const CancelToken* cancel = nullptr);
  Status Ping(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  const ServerSpec& spec() const { return spec_; }
  const nlohmann::json& server_info() const { return server_info_; }
  const std::string& protocol_version() const { return protocol_version_; }

 private:
  Client(ServerSpec spec, std::unique_ptr<Transport> transport, nlohmann::json capabilities, bool listen);
  Status Initialize(std::chrono::steady_clock::time_point deadline);
  // One request with the session-loss retry; the "result" member of the reply.
  Result<nlohmann::json> Call(const std::string& method, nlohmann::json params,
                              std::chrono::steady_clock::time_point deadline, const CancelToken* cancel);

  ServerSpec spec_;
  std::unique_ptr<Transport> transport_;
  const nlohmann::json capabilities_;  // what initialize declares
  const bool listen_;                  // ClientOptions::listen
  std::mutex init_mu_;  // one re-initialize at a time
  std::atomic<int64_t> next_id_{1};
  nlohmann::json server_info_;
  std::string protocol_version_;
};

// The text a model should read from a tools/call result: the text blocks joined (other blocks named by type).
std::string ResultText(const nlohmann::json& result);

}  // namespace llmdesk::mcp
