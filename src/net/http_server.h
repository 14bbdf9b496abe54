// net/http_server.h — the one HTTP/1.1 listener every llmdesk endpoint runs on (control API, gateway,
// MCP tool server). Built on Boost.Beast/Asio behind a pimpl: no library type appears here.
//
// What every request gets, before any handler runs:
//  - Bounded input: the request line plus headers at most `max_header_bytes` (431 beyond, which also
//    bounds the header count), the body at most `max_body_bytes` or the route's override (413 beyond;
//    a Content-Length over the limit is refused before a byte of the body is read). `Expect: 100-continue`
//    is answered once the headers passed.
//  - Policy (CheckPolicy in http_policy.h): Host must be a loopback name unless a token is set, Origin
//    absent or loopback (or in `allowed_origins`), and the bearer token when one is set (public routes
//    skip only the token). 403/401 otherwise.
//    A route's own `allowed_origins` are accepted on that route only (e.g. the gateway's CORS origins);
//    the listener's own 401 and 413 on such a route carry Access-Control-Allow-Origin for a listed Origin.
//  - Routing: method + pattern ("/health", "/api/backends/{name}/logs"; captures are percent-decoded).
//    404 for an unknown path, 405 (with Allow) for a known path and another method.
// Error bodies are {"error":{"message","code"}} unless ServerOptions::render_error says otherwise.
//
// Threads: the server owns `io_threads` IO threads, each running its own io_context (connections are
// dealt round-robin; a strand per connection), and
// an elastic worker pool (grows on demand up to `max_workers`, idle workers exit). An `inline_handler`
// route runs on an IO thread and must never block; other routes run on the pool. A handler may return
// Response::Defer (finish on the pool) or Response::Stream (chunked: the headers go out, then `start`
// runs on the pool with a Stream it may write to from any thread, keep, or hand to a subscription —
// event streams do not pin a thread). While a pool handler runs, the server keeps reading the socket:
// the client closing it cancels Request::gone (bytes it sends meanwhile are kept for the next request). At most `max_streams` streams are open at once: beyond, 503 with
// Retry-After. Sockets get TCP_NODELAY, SO_REUSEADDR (never SO_REUSEPORT); writes use MSG_NOSIGNAL, so a
// vanished peer costs an error, never a SIGPIPE, and no process-wide signal disposition is touched.
//
// Errors: Bind() returns Unavailable naming the holder of a taken port (PID, command, how to stop it).
// Stop() is idempotent, safe right after Start() and from any thread but a handler's: it stops
// accepting, ends every stream (their OnClose runs), waits for running handlers and joins all threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace llmdesk {
class CancelToken;
}

namespace llmdesk::net {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;                 // "GET", "POST", ...
  std::string target;                 // as sent: "/api/x%20y?lines=3"
  std::string path;                   // percent-decoded path: "/api/x y"
  HeaderList query;                   // decoded query parameters, in order
  HeaderList headers;                 // as sent, in order; look up with Header()
  std::string body;
  std::map<std::string, std::string> params;  // route captures, decoded: {"name": "x y"}
  std::string remote_address;         // "127.0.0.1"
  // Cancelled when the client goes away before the reply is sent (pool handlers only; an inline
  // handler's never fires). Valid while the handler runs; watch it with a CancelWatch.
  const CancelToken* gone = nullptr;

  // Case-insensitive; "" when absent. HasHeader tells absent from empty.
  const std::string& Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // First value of a query parameter; "" when absent.
  const std::string& Query(std::string_view name) const;
  bool HasQuery(std::string_view name) const;
  const std::string& Param(std::string_view name) const;
};

class Stream;

class Response {
 public:
  int status = 200;
  HeaderList headers;          // extra headers (Content-Type and Content-Length are set from the fields)
  std::string body;
  std::string content_type;    // "" = no Content-Type header

  static Response Json(int status, const nlohmann::json& body);  // dump(..., error_handler_t::replace)
  static Response Text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  // {"error":{"message": message, "code": code}}
  static Response Error(int status, const std::string& message, const std::string& code);
  // Finish on the worker pool: an inline handler returns this for work that may block.
  static Response Defer(std::function<Response()> work);
  // A chunked stream of `content_type` (status and headers of this Response are sent first); `start`
  // runs on the worker pool. Once the client may have seen the headers, `start` is sure to run, also
  // when the server stops meanwhile (the stream is then already closed). The connection closes when
  // the stream ends.
  static Response Stream(std::string content_type, std::function<void(std::shared_ptr<net::Stream>)> start);

  Response& SetHeader(std::string name, std::string value);

  // For the server: which kind of answer this is.
  bool deferred() const { return static_cast<bool>(defer_); }
  bool streamed() const { return static_cast<bool>(stream_); }
  std::function<Response()>& defer_work() { return defer_; }
  std::function<void(std::shared_ptr<net::Stream>)>& stream_start() { return stream_; }

 private:
  std::function<Response()> defer_;
  std::function<void(std::shared_ptr<net::Stream>)> stream_;
};

// One open chunked response. Thread-safe. Writes are queued and sent by the IO thread in order.
class Stream {
 public:
  virtual ~Stream() = default;
  // Queues `data` as one chunk. False once the stream is closed or the peer is gone (nothing is sent).
  // The queue is not capped by Write; producers that can outpace the peer call WaitWritable first.
  virtual bool Write(std::string data) = 0;
  // Waits until fewer than the bound's bytes are queued (true) or the stream closed/timeout (false).
  virtual bool WaitWritable(std::chrono::milliseconds timeout) = 0;
  // Ends the response after the queued chunks are sent. Idempotent.
  virtual void Close() = 0;
  virtual bool closed() const = 0;
  // `fn` runs exactly once when the stream ends for any reason: the peer disconnected, Close(), or the
  // server stopped; at once when it already has. It runs on an arbitrary thread and must not block.
  virtual void OnClose(std::function<void()> fn) = 0;
};

using Handler = std::function<Response(Request&)>;

struct RouteOptions {
  bool inline_handler = false;  // run on the IO thread: only for handlers that never block
  bool public_route = false;    // no bearer token needed (the Host/Origin check still applies)
  size_t max_body_bytes = 0;    // 0 = the server's limit
  std::vector<std::string> allowed_origins;  // Origins accepted on this route besides the server's
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;                                   // 0 = any free port
  std::string token;                              // bearer token; empty = loopback trust only
  std::vector<std::string> allowed_origins;       // extra Origins accepted besides loopback ones
  size_t max_body_bytes = 4 * 1024 * 1024;        // 413 beyond
  size_t max_header_bytes = 16 * 1024;            // request line + headers; 431 beyond
  size_t max_connections = 1024;                  // further connections are closed at once
  size_t max_streams = 256;                       // further streams get 503 + Retry-After
  size_t stream_queue_bytes = 1024 * 1024;        // WaitWritable's bound
  std::chrono::milliseconds idle_timeout{5000};   // keep-alive: wait this long for the next request
  std::chrono::milliseconds request_timeout{30000};  // to receive a started request / send a reply
  int io_threads = 2;
  int max_workers = 64;                           // the pool grows to this, idle workers exit
  std::string server_name = "llmdesk";            // for log lines
  // Renders errors produced by the server itself (policy, limits, routing). Default: Response::Error.
  std::function<Response(int status, const std::string& message, const std::string& code)> render_error;
};

class HttpServer {
 public:
  explicit HttpServer(ServerOptions options);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes are registered before Start(). Pattern: "/exact/path" or segments with "{capture}".
  void Route(std::string method, std::string pattern, Handler handler, RouteOptions options = {});

  // Binds and listens. Unavailable naming the port's holder when it is taken.
  Status Bind();
  // Starts the IO threads and returns at once. Bind() first.
  Status Start();
  void Stop();

  int port() const;         // the bound port (after Bind)
  std::string url() const;  // http://HOST:PORT
  size_t open_streams() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmdesk::net
