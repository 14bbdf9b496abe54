// net::HttpServer on Boost.Beast/Asio (the only file that includes Beast: it compiles slowly).
//
// Per connection, on its strand: read the header (bounded by header_limit) -> route + policy -> check the
// declared body size -> answer `Expect: 100-continue` -> read the body (bounded by body_limit) -> run the
// handler inline or on the pool -> write the reply -> next request (keep-alive) or close. Replies are
// serialised by hand into one gather-write. A streamed reply switches the connection to chunked output
// fed from a StreamImpl queue, with a pending read on the socket that notices the peer going away.
#include "net/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "common/cancel.h"
#include "net/http_policy.h"
#include "net/listen_options.h"
#include "net/ports.h"
#include "net/router.h"
#include "net/worker_pool.h"

namespace llmdesk::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Parser = http::request_parser<http::string_body>;

void AppendHeaderLine(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ");
  for (char c : value) out += (c == '\r' || c == '\n') ? ' ' : c;  // no header injection from handlers
  out += "\r\n";
}

// Status line and headers of `r`; `length` < 0 means chunked.
std::string SerializeHead(const Response& r, long long length, bool keep_alive, bool http10) {
  std::string head;
  head.reserve(160 + r.headers.size() * 48);
  auto reason = http::obsolete_reason(http::int_to_status(static_cast<unsigned>(r.status)));
  head.append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ").append(reason.data(), reason.size()).append("\r\n");
  if (!r.content_type.empty()) AppendHeaderLine(head, "Content-Type", r.content_type);
  for (const auto& [name, value] : r.headers) AppendHeaderLine(head, name, value);
  if (length >= 0) {
    head.append("Content-Length: ").append(std::to_string(length)).append("\r\n");
  } else {
    head.append("Transfer-Encoding: chunked\r\n");
  }
  if (!keep_alive) head.append("Connection: close\r\n");
  else if (http10) head.append("Connection: keep-alive\r\n");
  head.append("\r\n");
  return head;
}

std::string Chunk(std::string_view data) {
  char size[20];
  int n = std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  std::string out;
  out.reserve(static_cast<size_t>(n) + data.size() + 2);
  out.append(size, static_cast<size_t>(n)).append(data).append("\r\n");
  return out;
}

}  // namespace

class Connection;

// The Stream a handler writes to. Every post to the connection happens under mu_ while the stream is
// open, and Stop() ends every stream before the io_context goes: no post can reach a dead context.
class StreamImpl : public Stream, public std::enable_shared_from_this<StreamImpl> {
 public:
  StreamImpl(std::weak_ptr<Connection> conn, asio::any_io_executor strand, size_t bound,
             std::atomic<size_t>& open_count)
      : conn_(std::move(conn)), strand_(std::move(strand)), bound_(bound), open_count_(open_count) {}

  bool Write(std::string data) override {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    if (data.empty()) return true;
    queue_.push_back(Chunk(data));
    queued_bytes_ += queue_.back().size();
    KickLocked();
    return true;
  }

  bool WaitWritable(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return closed_ || queued_bytes_ < bound_; });
    return !closed_ && queued_bytes_ < bound_;
  }

  void Close() override {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    final_queued_ = true;
    queue_.push_back("0\r\n\r\n");
    KickLocked();
    cv_.notify_all();
  }

  bool closed() const override {
    std::lock_guard lock(mu_);
    return closed_;
  }

  void OnClose(std::function<void()> fn) override {
    {
      std::lock_guard lock(mu_);
      if (!ended_) return on_close_.push_back(std::move(fn));
    }
    fn();
  }

  // The stream is over (peer gone, final chunk sent, server stopping): drop what is queued, run OnClose.
  void End() {
    std::vector<std::function<void()>> callbacks;
    asio::any_io_executor strand;  // released here, while the io_context lives (see below)
    {
      std::lock_guard lock(mu_);
      if (ended_) return;
      ended_ = closed_ = true;
      queue_.clear();
      queued_bytes_ = 0;
      callbacks.swap(on_close_);
      open_count_.fetch_sub(1);
      // A handler may keep its Stream after the server is gone; the strand it would still hold reaches into
      // the io_context's strand service when destroyed (UBSan caught it). Nothing posts after End (closed_).
      strand = std::move(strand_);
      strand_ = asio::any_io_executor();
    }
    cv_.notify_all();
    for (auto& fn : callbacks) fn();
  }

  // Called on the strand: moves the queued chunks into `out`. `last` is set when the final chunk is in it.
  void TakeBatch(std::vector<std::string>& out, bool& last) {
    std::lock_guard lock(mu_);
    flush_posted_ = false;
    for (auto& c : queue_) out.push_back(std::move(c));
    queue_.clear();
    last = final_queued_ && !out.empty() && out.back() == "0\r\n\r\n";
  }
  void Sent(size_t chunk_bytes) {
    {
      std::lock_guard lock(mu_);
      queued_bytes_ = chunk_bytes > queued_bytes_ ? 0 : queued_bytes_ - chunk_bytes;
    }
    cv_.notify_all();
  }
  bool ended() const {
    std::lock_guard lock(mu_);
    return ended_;
  }

 private:
  void KickLocked();

  std::weak_ptr<Connection> conn_;
  asio::any_io_executor strand_;
  const size_t bound_;
  std::atomic<size_t>& open_count_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool closed_ = false, ended_ = false, final_queued_ = false, flush_posted_ = false, head_sent_ = false;
  std::vector<std::function<void()>> on_close_;
  friend class Connection;
};

struct HttpServer::Impl {
  ServerOptions options;
  Policy policy;
  Router router;
  WorkerPool pool;
  std::atomic<size_t> connections{0};
  std::atomic<size_t> streams{0};
  std::atomic<bool> stopping{false};
  std::mutex mu;  // guards the two registries and `started`
  std::vector<std::weak_ptr<Connection>> live_connections;
  std::vector<std::weak_ptr<StreamImpl>> live_streams;
  bool started = false, stopped = false;
  std::once_flag stop_once;
  int port = 0;
  std::vector<std::thread> io_threads;
  // Declared after everything a Connection touches: handlers still queued in the io_context (holding
  // connections) are destroyed with it, while the state above is still alive.
  // One io_context per IO thread (connections are dealt round-robin), so no handler of one connection
  // waits behind another thread's queue; contexts[0] also runs the acceptor.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  size_t next_context = 0;  // touched by the accept handler only
  std::optional<tcp::acceptor> acceptor;

  explicit Impl(ServerOptions o)
      : options(std::move(o)), policy{options.token, options.allowed_origins},
        pool(static_cast<size_t>(std::max(1, options.max_workers))) {
    for (int i = 0; i < std::max(1, options.io_threads); ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
    acceptor.emplace(*contexts[0]);
  }

  Response ErrorResponse(int status, const std::string& message, const std::string& code) const {
    return options.render_error ? options.render_error(status, message, code) : Response::Error(status, message, code);
  }

  void Accept();
  // False once Stop() began: the caller closes what it was about to register.
  bool Register(const std::shared_ptr<Connection>& c);
  bool Register(const std::shared_ptr<StreamImpl>& s);
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpServer::Impl& srv, tcp::socket socket) : srv_(srv), stream_(std::move(socket)) {
    srv_.connections.fetch_add(1);
    beast::error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = remote.address().to_string();
  }
  ~Connection() {
    if (stream_impl_) stream_impl_->End();
    srv_.connections.fetch_sub(1);
  }

  void Start() { ReadHeader(); }

  // On the strand.
  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    if (stream_impl_) stream_impl_->End();
  }
  asio::any_io_executor executor() { return stream_.get_executor(); }

  void Flush();  // on the strand: sends what the stream queued

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(srv_.options.max_header_bytes));
    // The body limit depends on the route, known only after the header: checked in OnHeader.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(srv_.options.idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      return Fail(431, "the request's headers exceed " + std::to_string(srv_.options.max_header_bytes) + " bytes",
                  "headers too large");
    }
    if (ec) {
      bool malformed = ec.category() == http::make_error_code(http::error::bad_method).category() &&
                       ec != http::error::end_of_stream && ec != http::error::partial_message;
      if (malformed) return Fail(400, "malformed HTTP request: " + ec.message(), "bad request");
      return Close();
    }
    auto& msg = parser_->get();
    req_ = Request{};
    req_.method = std::string(msg.method_string());
    req_.target = std::string(msg.target());
    req_.remote_address = remote_;
    req_.headers.reserve(16);
    for (const auto& field : msg) req_.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    ParseTarget(req_.target, req_.path, req_.query);
    keep_alive_ = msg.keep_alive();
    http10_ = msg.version() == 10;

    auto match = srv_.router.Find(req_);
    route_ = match.route;
    gone_ = std::make_shared<CancelToken>();
    req_.gone = gone_.get();
    if (Status allowed = CheckPolicy(req_, srv_.policy, route_ && route_->options.public_route,
                                     route_ ? &route_->options.allowed_origins : nullptr); !allowed.ok()) {
      bool unauthenticated = allowed.code() == Status::Code::kFailedPrecondition;
      Response r = srv_.ErrorResponse(unauthenticated ? 401 : 403, allowed.message(),
                                      unauthenticated ? "unauthenticated" : "forbidden");
      if (unauthenticated) r.SetHeader("WWW-Authenticate", "Bearer");
      return Reject(WithRouteOrigin(std::move(r)));
    }
    if (!route_) {
      if (!match.allow.empty()) {
        Response r = srv_.ErrorResponse(405, "method " + req_.method + " is not allowed on " + req_.path, "method not allowed");
        return Reject(std::move(r.SetHeader("Allow", match.allow)));
      }
      return Reject(srv_.ErrorResponse(404, "no route " + req_.method + " " + req_.path, "not found"));
    }
    size_t limit = route_->options.max_body_bytes ? route_->options.max_body_bytes : srv_.options.max_body_bytes;
    if (auto length = parser_->content_length(); length && *length > limit) return BodyTooLarge(limit);
    parser_->body_limit(limit);
    if (beast::iequals(msg[http::field::expect], "100-continue") && !parser_->is_done()) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(srv_.options.request_timeout);
      return asio::async_write(stream_, asio::buffer(kContinue), [self = shared_from_this()](beast::error_code e, size_t) {
        e ? self->Close() : self->ReadBody();
      });
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return OnBody({});
    stream_.expires_after(srv_.options.request_timeout);
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return BodyTooLarge(route_->options.max_body_bytes ? route_->options.max_body_bytes : srv_.options.max_body_bytes);
    }
    if (ec) return Close();
    req_.body = std::move(parser_->get().body());
    stream_.expires_never();
    if (route_->options.inline_handler) return Finish(Invoke([this] { return route_->handler(req_); }));
    bool posted = srv_.pool.Post([self = shared_from_this()] {
      Response r = self->Invoke([&] { return self->route_->handler(self->req_); });
      asio::post(self->executor(), [self, r = std::move(r)]() mutable { self->Finish(std::move(r)); });
    });
    if (posted) WatchWhileHandling();
  }

  // While a pool handler runs: a read whose failure (the peer closed or reset) cancels `gone_`. What the
  // client sends meanwhile (a pipelined request) goes into buffer_ for the next ReadHeader. Finish waits
  // for this read to end before it replies, so there is never more than one read on the socket.
  void WatchWhileHandling() {
    constexpr size_t kMaxPipelined = 64 * 1024;  // beyond, stop reading until the reply is out
    if (buffer_.size() >= kMaxPipelined) return;
    watching_ = true;
    stream_.socket().async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->watching_ = false;
      self->buffer_.commit(n);
      if (self->parked_) {  // the handler is done: reply now
        Response r = std::move(*self->parked_);
        self->parked_.reset();
        return self->Finish(std::move(r));
      }
      if (ec) return self->gone_->Cancel();  // the client went away: the handler may stop its work
      self->WatchWhileHandling();
    });
  }

  template <typename Fn>
  Response Invoke(Fn&& fn) {
    try {
      return fn();
    } catch (const std::exception& e) {
      spdlog::error("{}: handler for {} {} threw: {}", srv_.options.server_name, req_.method, req_.path, e.what());
      return srv_.ErrorResponse(500, std::string("internal error: ") + e.what(), "internal error");
    } catch (...) {
      return srv_.ErrorResponse(500, "internal error", "internal error");
    }
  }

  void BodyTooLarge(size_t limit) {
    Fail(WithRouteOrigin(srv_.ErrorResponse(413, "the request body exceeds the limit of " + std::to_string(limit) + " bytes",
                                            "payload too large")));
  }
  // The listener's own refusals (401, 413) on a route with cross-origin callers carry that caller's
  // Access-Control-Allow-Origin, as the route's handler would: without it a browser shows its client a
  // CORS failure instead of "token missing" or "body too large". (431 comes before any header is known.)
  Response WithRouteOrigin(Response r) const {
    if (!route_) return r;
    const auto& listed = route_->options.allowed_origins;
    std::string origin = req_.Header("Origin");
    if (!origin.empty() && std::find(listed.begin(), listed.end(), origin) != listed.end())
      r.SetHeader("Access-Control-Allow-Origin", origin).SetHeader("Vary", "Origin");
    return r;
  }
  // An answer before the body was read: the connection cannot be reused.
  void Reject(Response r) {
    if (!parser_->is_done()) keep_alive_ = false, linger_ = true;
    Write(std::move(r));
  }
  void Fail(int status, const std::string& message, const std::string& code) {
    Fail(srv_.ErrorResponse(status, message, code));
  }
  void Fail(Response r) {
    keep_alive_ = false;
    linger_ = true;
    Write(std::move(r));
  }

  // After an early error reply, the client may still be sending: closing at once would reset the
  // connection and could destroy the reply in the client's kernel. So stop sending, read and discard
  // (bounded in bytes and time), then close.
  void Linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    stream_.expires_after(std::chrono::seconds(2));
    drain_.resize(16384);
    Drain(0);
  }
  void Drain(size_t so_far) {
    stream_.async_read_some(asio::buffer(drain_), [self = shared_from_this(), so_far](beast::error_code ec, size_t n) {
      if (ec || so_far + n > (8u << 20)) return self->Close();
      self->Drain(so_far + n);
    });
  }

  // On the strand: what a handler answered.
  void Finish(Response r) {
    if (watching_) {  // end the watch first (its handler calls Finish again): one read at a time
      parked_.emplace(std::move(r));
      beast::error_code ignored;
      stream_.socket().cancel(ignored);
      return;
    }
    if (r.deferred()) {
      auto work = std::move(r.defer_work());
      bool posted = srv_.pool.Post([self = shared_from_this(), work = std::move(work)] {
        Response out = self->Invoke(work);
        asio::post(self->executor(), [self, out = std::move(out)]() mutable { self->Finish(std::move(out)); });
      });
      if (!posted) return Close();
      WatchWhileHandling();
      return;
    }
    if (r.streamed()) return StartStream(std::move(r));
    Write(std::move(r));
  }

  void Write(Response r) {
    if (srv_.stopping) keep_alive_ = false;
    head_ = SerializeHead(r, static_cast<long long>(r.body.size()), keep_alive_, http10_);
    body_ = std::move(r.body);
    stream_.expires_after(srv_.options.request_timeout);
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body_)};
    asio::async_write(stream_, buffers, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec && self->linger_ && !self->srv_.stopping) return self->Linger();
      if (ec || !self->keep_alive_ || self->srv_.stopping) return self->Close();
      self->ReadHeader();
    });
  }

  void StartStream(Response r) {
    if (srv_.streams.fetch_add(1) >= srv_.options.max_streams || srv_.stopping) {
      srv_.streams.fetch_sub(1);
      keep_alive_ = false;
      Response busy = srv_.ErrorResponse(503, "too many open streams (" + std::to_string(srv_.options.max_streams) +
                                                  "); try again shortly", "unavailable");
      return Write(std::move(busy.SetHeader("Retry-After", "1")));
    }
    auto start = std::move(r.stream_start());
    r.SetHeader("Cache-Control", "no-cache");
    r.SetHeader("X-Accel-Buffering", "no");
    stream_impl_ = std::make_shared<StreamImpl>(weak_from_this(), executor(), srv_.options.stream_queue_bytes, srv_.streams);
    if (!srv_.Register(stream_impl_)) {  // the server is stopping
      stream_impl_->End();
      return Close();
    }
    keep_alive_ = false;
    writing_ = true;  // the head goes first; chunks queued meanwhile wait for it
    // Queue `start` before the head can reach the client: a Stop() that follows the client's first byte
    // then still runs it (with the stream already closed), so a start function always runs.
    std::shared_ptr<Stream> s = stream_impl_;
    bool posted = srv_.pool.Post([s, start = std::move(start), name = srv_.options.server_name] {
      try {
        start(s);
      } catch (const std::exception& e) {
        spdlog::error("{}: stream handler threw: {}", name, e.what());
        s->Close();
      }
    });
    if (!posted) return Close();  // stopping: Close() ends the stream
    head_ = SerializeHead(r, -1, false, http10_);
    stream_.expires_after(srv_.options.request_timeout);
    asio::async_write(stream_, asio::buffer(head_), [self = shared_from_this()](beast::error_code ec, size_t) {
      self->writing_ = false;
      if (ec) return self->Close();
      self->stream_.expires_never();
      self->WatchPeer();
      self->Flush();
    });
  }

  // A read that only ever completes when the peer closes (or sends something, which is discarded).
  void WatchPeer() {
    stream_.socket().async_read_some(asio::buffer(discard_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      self->WatchPeer();
    });
  }

  HttpServer::Impl& srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  Request req_;
  const Route* route_ = nullptr;
  bool keep_alive_ = true, http10_ = false, writing_ = false, linger_ = false, watching_ = false;
  std::shared_ptr<CancelToken> gone_;  // Request::gone of the request being handled
  std::optional<Response> parked_;     // a handler's reply waiting for the watch read to end
  std::string remote_, head_, body_;
  std::shared_ptr<StreamImpl> stream_impl_;
  std::vector<std::string> out_chunks_;
  std::array<char, 512> discard_{};
  std::vector<char> drain_;
};

void StreamImpl::KickLocked() {
  if (flush_posted_) return;
  flush_posted_ = true;
  asio::post(strand_, [weak = conn_] {
    if (auto c = weak.lock()) c->Flush();
  });
}

void Connection::Flush() {
  if (writing_ || !stream_impl_ || stream_impl_->ended()) return;
  out_chunks_.clear();
  bool last = false;
  stream_impl_->TakeBatch(out_chunks_, last);
  if (out_chunks_.empty()) return;
  std::vector<asio::const_buffer> buffers;
  size_t bytes = 0;
  for (const auto& c : out_chunks_) buffers.push_back(asio::buffer(c)), bytes += c.size();
  writing_ = true;
  stream_.expires_after(srv_.options.request_timeout);
  asio::async_write(stream_, buffers, [self = shared_from_this(), bytes, last](beast::error_code ec, size_t) {
    self->writing_ = false;
    self->stream_.expires_never();
    self->stream_impl_->Sent(bytes);
    if (ec || last) return self->Close();
    self->Flush();
  });
}

bool HttpServer::Impl::Register(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(mu);
  if (stopped) return false;
  if (live_connections.size() >= 64 && live_connections.size() % 64 == 0)
    std::erase_if(live_connections, [](const auto& w) { return w.expired(); });
  live_connections.push_back(c);
  return true;
}

bool HttpServer::Impl::Register(const std::shared_ptr<StreamImpl>& s) {
  std::lock_guard lock(mu);
  if (stopped) return false;
  std::erase_if(live_streams, [](const auto& w) { return w.expired(); });
  live_streams.push_back(s);
  return true;
}

void HttpServer::Impl::Accept() {
  auto& context = *contexts[next_context++ % contexts.size()];
  acceptor->async_accept(asio::make_strand(context), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (!ec) {
      if (connections.load() >= options.max_connections || stopping) {
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        socket.set_option(tcp::no_delay(true), ec);
        auto c = std::make_shared<Connection>(*this, std::move(socket));
        if (Register(c)) asio::dispatch(c->executor(), [c] { c->Start(); });
      }
    }
    Accept();
  });
}

static void StopOnce(HttpServer::Impl& s);

HttpServer::HttpServer(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

namespace {

// The platform's listener option (listen_options.h) as an Asio SettableSocketOption, switched on.
class PlatformListenerOption {
 public:
  template <typename Protocol> int level(const Protocol&) const { return option_.level; }
  template <typename Protocol> int name(const Protocol&) const { return option_.name; }
  template <typename Protocol> const void* data(const Protocol&) const { return &on_; }
  template <typename Protocol> std::size_t size(const Protocol&) const { return sizeof(on_); }

 private:
  SocketOption option_ = ListenerAddressOption();
  int on_ = 1;
};

}  // namespace

void HttpServer::Route(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  impl_->router.Add(std::move(method), pattern, std::move(handler), options);
}

Status HttpServer::Bind() {
  const auto& o = impl_->options;
  beast::error_code ec;
  std::string host = o.host == "localhost" ? "127.0.0.1" : o.host;
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  auto address = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("cannot listen on '" + o.host + "': not an IP address (" + ec.message() + ")");
  tcp::endpoint endpoint(address, static_cast<unsigned short>(o.port));
  auto& acceptor = *impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  // SO_REUSEADDR on POSIX (TIME_WAIT; never SO_REUSEPORT), SO_EXCLUSIVEADDRUSE on Windows: listen_options.h
  if (!ec) acceptor.set_option(PlatformListenerOption(), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    acceptor.close(ignored);
    std::string msg = "cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " + ec.message();
    if (ec == asio::error::address_in_use && o.port != 0) {
      if (auto holder = FindPortHolder(o.port))
        msg = "cannot listen on " + o.host + ":" + std::to_string(o.port) + ": port " + std::to_string(o.port) + " " +
              holder->Describe() + "; " + holder->HowToFree();
    }
    return Status::Unavailable(msg);
  }
  impl_->port = acceptor.local_endpoint(ec).port();
  return Status::Ok();
}

Status HttpServer::Start() {
  std::lock_guard lock(impl_->mu);
  if (!impl_->acceptor->is_open()) return Status::FailedPrecondition("HttpServer::Start() before a successful Bind()");
  if (impl_->started || impl_->stopped) return Status::FailedPrecondition("HttpServer started twice or after Stop()");
  impl_->started = true;
  for (auto& context : impl_->contexts) impl_->guards.push_back(asio::make_work_guard(*context));
  impl_->Accept();
  for (auto& context : impl_->contexts) impl_->io_threads.emplace_back([c = context.get()] { c->run(); });
  return Status::Ok();
}

void HttpServer::Stop() {
  // call_once: a concurrent second caller returns only once the first has finished stopping.
  std::call_once(impl_->stop_once, [this] { StopOnce(*impl_); });
}

static void StopOnce(HttpServer::Impl& s) {
  std::vector<std::weak_ptr<Connection>> connections;
  std::vector<std::weak_ptr<StreamImpl>> streams;
  {
    std::lock_guard lock(s.mu);
    s.stopped = true;
    s.stopping = true;
    connections.swap(s.live_connections);
    streams.swap(s.live_streams);
  }
  asio::post(*s.contexts[0], [&s] {
    beast::error_code ignored;
    s.acceptor->close(ignored);
  });
  for (auto& w : streams)
    if (auto st = w.lock()) st->End();  // OnClose callbacks run here; no more writes reach the context
  for (auto& w : connections)
    if (auto c = w.lock()) asio::post(c->executor(), [c] { c->Close(); });
  s.pool.Stop();  // running handlers finish; their replies find closed connections
  // Everything is closed now, so the IO threads run out of work and return.
  for (auto& g : s.guards) g.reset();
  for (auto& t : s.io_threads) t.join();
  s.io_threads.clear();
}

int HttpServer::port() const { return impl_->port; }

std::string HttpServer::url() const {
  const std::string& h = impl_->options.host;
  std::string host = h.find(':') != std::string::npos && h.front() != '[' ? "[" + h + "]" : h;
  return "http://" + host + ":" + std::to_string(impl_->port);
}

size_t HttpServer::open_streams() const { return impl_->streams.load(); }

}  // namespace llmdesk::net
