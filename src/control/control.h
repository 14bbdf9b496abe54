// control/control.h — the control API of a running llmdesk daemon (`llmdesk serve`), its client, and
// the views the front ends share (JSON shapes, port report, event lines, status table).
//
// Server: a net::HttpServer on the gateway listener (127.0.0.1:8760 by default) over a manager::Manager.
// Every request passes the listener's policy first (Host/Origin must be loopback names, optional bearer
// token from gateway.token): 403/401 otherwise; bodies over max_body_bytes get 413 and oversized
// headers 431 before any handler runs. Routes:
//   GET  /health                          {"status":"ok","service":"llmdesk","version","pid","config"}
//   GET  /api/backends                    [BackendStatus JSON...]
//   GET  /api/backends/{name}             BackendStatus JSON; 404 unknown
//   POST /api/backends/{name}/start|stop|restart
//                                         202 + BackendStatus JSON; 404 unknown; 409 invalid transition
//   GET  /api/backends/{name}/logs?lines=N      {"name","lines":[...]}
//   GET  /api/backends/{name}/logs?follow=1     SSE: the tail, then live lines (`event: log`)
//   GET  /api/events                      SSE: the current state of every backend, then every Event
//                                         (`event: state|progress|log`, `id: seq`, data = Event JSON)
//   GET  /api/ports                       [PortUse JSON...]
//   POST /api/chat                        {prompt, model?, conversation?, tools?, max_tokens?} -> SSE: `run` {run},
//                                         then the turn's events (chat::ToJson(TurnEvent): `backend`,
//                                         `conversation`, `request_sent`, `token`, `tool_call`, `approval_needed`,
//                                         `tool_result`, `final`, `cancelled`, `error`), then `done` {answer,
//                                         conversation, steps, usage} or `failed` {message, code}. The client
//                                         going away cancels the turn (model request and running tools).
//   POST /api/chat/{run}/approve          {call_id, answer: once|always|deny}; 404 unknown run or question
//   POST /api/chat/{run}/cancel           202
//   GET  /api/history, GET|DELETE /api/history/{id}   the chat history (store::History)
//   GET  /api/mcp/servers                 [chat::ToJson(ServerState)...]: the MCP host's servers, their state
//                                         and tools (when ServerOptions::mcp is set; 404 otherwise)
//   GET  /api/stack                       {pid, version, config, listeners: [{name, url, configured_port, port}]}:
//                                         the control API's own listener ("gateway") and the others the stack
//                                         runs (ServerOptions::listeners: "tool server") with the ports they bound
//   POST /api/config/reload               re-reads and applies the config file (ServerOptions::reload; 404 without):
//                                         200 + ReloadReport JSON; 400 (InvalidArgument) with every error as
//                                         file:line:col when the file is invalid, and nothing changed
//   GET  /api/tools                       [{name, server, tool, description, input_schema, approval, timeout_ms}]
//   POST /api/tools/call                  {name, arguments} -> {text, is_error, result, duration_ms}; 403 for a
//                                         tool the config denies, 404 unknown, 502 when its server fails
// Only /health and /api/* are taken: the OpenAI gateway adds /v1 to the same server through
// ServerOptions::add_routes.
//
// Threads: the net::HttpServer's (IO threads and a worker pool for the handlers). An SSE stream holds
// no thread: manager callbacks write to it and never block on a client; each client has its own
// bounded EventQueue (common/event_bus.h) in front of its stream, and when the client does not keep up, events are dropped
// and it gets one `event: dropped` ({"dropped":N}) marker where the gap is. At most max_streams streams
// are open (503 beyond). Stop() (and the destructor) ends every SSE stream, stops listening and joins
// all threads. A vanished client costs an EPIPE on its socket, never a SIGPIPE.
//
// Errors: Start() returns Unavailable naming the holder (PID and command) when the port is taken.
// ControlClient returns Unavailable when nothing answers (no daemon), FailedPrecondition when
// something that is not llmdesk answers, PermissionDenied (and never sends the gateway token) when the
// port is held by a process that is not llmdesk, and the server's message with a matching code otherwise
// (404 NotFound, 409 FailedPrecondition, 401/403 PermissionDenied).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/event_bus.h"
#include "common/status.h"
#include "config/config.h"
#include "manager/manager.h"

namespace llmdesk::net {
class HttpServer;
class HttpClient;
}
namespace llmdesk::chat {
class ChatService;
class McpHost;
class ToolHost;
}
namespace llmdesk::store {
class History;
}

namespace llmdesk::control {

// ---- JSON shapes (shared by the server, the client, the CLI and the GUI) ----------------------------
// BackendStatus: {name, kind, state, configured_port, port, pid, restarts, reason, progress, url,
//                 log_file, since, [label], [rpc_workers: [{address, state, detail}]],
//                 [placement: {device, layers_offloaded, layers_total, device_mib, note}]}
nlohmann::json ToJson(const manager::BackendStatus& status);
Result<manager::BackendStatus> BackendStatusFromJson(const nlohmann::json& j);
// Where a model runs, in words: "on Vulkan0: 5/5 layers, 110 MiB on the device"; "" before the engine said.
// The CPU-fallback line is Placement::note, shown apart.
std::string FormatPlacement(const manager::Placement& placement);
// Event: {seq, time, time_ms, kind: state|progress|log, backend, old_state, new_state, port, pid,
//         reason, progress, stage}
nlohmann::json ToJson(const manager::Event& event);
const char* KindName(manager::Event::Kind kind);
std::optional<manager::State> StateFromString(const std::string& text);

// ---- Config reload (POST /api/config/reload, `llmdesk config reload`, SIGHUP on up/serve) --------------------
struct ReloadReport {
  std::string file;                        // the file that was re-read
  manager::ReconfigureResult backends;     // added, removed, restarted, updated, unchanged
  std::vector<std::string> applied;        // other settings now in force: "ports.range: 10500-10999 -> ..."
  std::vector<std::string> needs_restart;  // changed in the file, NOT applied: "gateway.port: 8760 -> 8761"
  std::vector<std::string> warnings;       // the config's warnings (file:line:col: warning: ...)
};
// {file, added, removed, restarted, updated, unchanged, applied, needs_restart, warnings}
nlohmann::json ToJson(const ReloadReport& report);
// What a person reads about a reload, from that JSON (the CLI and the desktop app print the same):
// "reloaded FILE", "added: a, b", ..., "needs a restart of the stack: gateway.port: 8760 -> 8761".
std::vector<std::string> ReloadReportLines(const nlohmann::json& report);

// ---- Status of HTTP replies (the ControlClient and the desktop app's asynchronous client) ------------------
// The Status for a non-2xx reply: the server's {"error":{"message"}} (else "WHAT: HTTP N: body...") with the
// code that matches the HTTP status (400 InvalidArgument, 401/403 PermissionDenied, 404 NotFound, 409
// FailedPrecondition, 503 Unavailable, 504 Timeout, others Internal).
Status StatusFromHttp(int http_status, const std::string& body, const std::string& what);

// Whether the process listening on `port` is llmdesk (its /proc/PID/exe is the running program, or its name starts
// with "llmdesk"): the gateway token goes to nothing else. Unavailable when nothing listens there; PermissionDenied
// naming the holder otherwise. Reads /proc: call it off a UI thread.
Status VerifyLlmdeskListener(int port);

// ---- Server -------------------------------------------------------------------------------------------
// A listener of the stack other than the control API's own, for GET /api/stack.
struct ListenerStatus {
  std::string name;         // "tool server"
  std::string url;          // http://127.0.0.1:8763/mcp
  int configured_port = 0;  // from the config
  int port = 0;             // bound (differs after a fallback)
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8760;                      // 0 = any free port (tests)
  std::string token;                    // empty = no bearer token (loopback checks still apply)
  size_t event_queue_capacity = 1024;   // per SSE client
  size_t max_body_bytes = 1024 * 1024;  // the control API's requests have no bodies to speak of; 413 beyond
  size_t max_streams = 256;             // open SSE streams; 503 beyond
  std::function<void(net::HttpServer&)> add_routes;  // e.g. the /v1 gateway, registered before listening
  chat::ChatService* chat = nullptr;    // serves /api/chat when set (must outlive the server)
  store::History* history = nullptr;    // serves /api/history when set
  chat::McpHost* mcp = nullptr;         // serves /api/mcp/servers when set (must outlive the server)
  chat::ToolHost* tools = nullptr;      // serves /api/tools when set (must outlive the server)
  int configured_port = 0;              // the config's gateway.port, for GET /api/stack (0 = `port`)
  std::vector<ListenerStatus> listeners;  // the stack's other listeners, for GET /api/stack
  // Serves POST /api/config/reload when set (called on a worker thread, one request at a time by the caller).
  std::function<Result<ReloadReport>()> reload;
};

class ControlServer {
 public:
  // Binds and starts serving on its own thread; the Manager must outlive the server.
  static Result<std::unique_ptr<ControlServer>> Start(manager::Manager& manager, ServerOptions options);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  void Stop();              // idempotent
  int port() const;         // the bound port
  std::string url() const;  // http://HOST:PORT

  struct Impl;

 private:
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- Client -------------------------------------------------------------------------------------------
class ControlClient {
 public:
  // Connects to gateway.host:gateway.port (0.0.0.0/:: mean 127.0.0.1) with gateway.token.
  explicit ControlClient(const config::ListenerConfig& gateway);
  ControlClient(std::string host, int port, std::string token = {});
  ~ControlClient();

  Result<nlohmann::json> Health();                         // Unavailable: no daemon answers
  Result<nlohmann::json> Backends();
  Result<nlohmann::json> Backend(const std::string& name);
  // action: "start" | "stop" | "restart"
  Result<nlohmann::json> Action(const std::string& name, const std::string& action);
  Result<nlohmann::json> Logs(const std::string& name, size_t lines);
  Result<nlohmann::json> Ports();
  Result<nlohmann::json> McpServers();  // GET /api/mcp/servers
  Result<nlohmann::json> StackStatus();  // GET /api/stack
  Result<nlohmann::json> ReloadConfig();  // POST /api/config/reload: the ReloadReport JSON
  // SSE streams: calls on_data(event_name, data_json) per event until it returns false, the stream
  // ends or `cancel` becomes true (noticed within 50 ms).
  Status FollowLogs(const std::string& name, size_t lines,
                    const std::function<bool(const std::string&, const nlohmann::json&)>& on_data,
                    const std::atomic<bool>* cancel = nullptr);
  Status FollowEvents(const std::function<bool(const std::string&, const nlohmann::json&)>& on_data,
                      const std::atomic<bool>* cancel = nullptr);
  // POST /api/chat: streams the turn's events to on_data until the stream ends (see the server's routes).
  Status Chat(const nlohmann::json& request,
              const std::function<bool(const std::string&, const nlohmann::json&)>& on_data,
              const std::atomic<bool>* cancel = nullptr);
  // answer: "once" | "always" | "deny"
  Status Approve(const std::string& run, const std::string& call_id, const std::string& answer);

  std::string url() const;

 private:
  Result<nlohmann::json> Request(const std::string& method, const std::string& path, bool with_token = true);
  // The token goes only to llmdesk: before the first request that carries it, the process holding the port
  // must be this llmdesk program (its /proc/PID/exe is ours, or named llmdesk). PermissionDenied otherwise.
  Status VerifyPeer();
  // The Authorization header to send: none without a token, or when the peer is not verified (see above).
  Result<std::string> AuthHeader();
  Status Stream(const std::string& method, const std::string& path, const std::string& body,
                const std::function<bool(const std::string&, const nlohmann::json&)>& on_data,
                const std::atomic<bool>* cancel);
  std::string host_;
  int port_;
  std::string token_;
  bool peer_verified_ = false;
  std::unique_ptr<net::HttpClient> http_;  // keeps its connection between calls
};

// ---- Ports report (`llmdesk ports`, GET /api/ports) -----------------------------------------------------
struct PortUse {
  int port = 0;
  enum class Owner { kFree, kOurs, kOther } owner = Owner::kFree;
  std::optional<pid_t> pid;            // holder, when visible
  std::string command;                 // holder's command line
  std::vector<std::string> used_by;    // "gateway", "tool server", "model default", "model x (fallback for 10500)"
};
// Every configured port (gateway, tool server, each spawned model's port) plus the actual ports the
// daemon's backends use. `ours` is the daemon's status list (empty when none runs); a port is ours
// when its holder is the daemon (`daemon_pid`) or one of its backends.
std::vector<PortUse> BuildPortReport(const config::Config& config, const std::vector<manager::BackendStatus>& ours,
                                     std::optional<pid_t> daemon_pid);
nlohmann::json ToJson(const PortUse& use);  // {port, owner: free|ours|other, pid, command, used_by}
std::string FormatPortTable(const std::vector<PortUse>& uses);

// ---- Front-end views -------------------------------------------------------------------------------------
// Which backends `llmdesk up`/`serve` start without names: the autostart ones; when none is marked
// autostart, every spawned (local or command) model. Remote models are never started.
std::vector<std::string> DefaultBackendsToStart(const config::Config& config);
// "12:00:01.234  default  starting -> ready  port 10501  pid 4242  (reason)"
std::string FormatEvent(const manager::Event& event);
// Fixed-width table: NAME STATE PORT PID RESTARTS URL/REASON.
std::string FormatStatusTable(const std::vector<manager::BackendStatus>& statuses);

// ---- Chat event lines (chat_view.cpp) -----------------------------------------------------------------------
// The one-line progress text for a /api/chat SSE event (`event` name, `data` JSON), as the CLI prints it and
// the desktop app shows it: "starting default on port 10500", "default: loading model", "calling calculator
// {\"expression\":\"2+2\"}", "calculator → 4 (3 ms)", "warning: ...", "error: ..."; "" for events that are not progress
// (tokens, the final answer, run ids). Same wording as chat::ProgressLine, which works on typed events.
std::string ChatEventLine(const std::string& event, const nlohmann::json& data);
// True while the line describes something still under way (a backend starting or loading, a tool running),
// so a front end may show it with an ellipsis or a busy indicator.
bool ChatEventIsOngoing(const std::string& event, const nlohmann::json& data);

}  // namespace llmdesk::control
