// Streamable HTTP transport: POST /mcp answers with JSON, or with an SSE stream when the request may
// notify or ask the client while it runs; GET /mcp is 405 (no server-initiated stream); DELETE /mcp
// ends a session. The hot path (a plain tools/call) does one JSON parse, one session lookup, one dump.
#include <strings.h>

#include <condition_variable>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "mcp/http_transport.h"
#include "net/http_policy.h"

namespace llmdesk::mcp {
namespace {

constexpr const char* kJson = "application/json";
constexpr const char* kSse = "text/event-stream";

void TransportError(httplib::Response& res, int status, int code, const std::string& message) {
  res.status = status;
  res.set_content(DumpWire(ErrorReply(nullptr, {code, message, nullptr})), kJson);
}

std::string SseEvent(const json& message) { return "event: message\ndata: " + DumpWire(message) + "\n\n"; }

bool AcceptsType(const std::string& accept, std::string_view type, std::string_view family) {
  return accept.find(type) != std::string::npos || accept.find("*/*") != std::string::npos ||
         accept.find(family) != std::string::npos;
}

std::optional<std::string> Header(const httplib::Request& req, const char* name) {
  if (!req.has_header(name)) return std::nullopt;
  return req.get_header_value(name);
}

// Notifications collected while a request runs on a plain (non-streaming) reply.
class BufferPeer : public Peer {
 public:
  void Send(const json& message) override {
    std::lock_guard lock(mu_);
    events_ += SseEvent(message);
  }
  bool CanAsk() const override { return false; }
  std::string Take() {
    std::lock_guard lock(mu_);
    return std::move(events_);
  }

 private:
  std::mutex mu_;
  std::string events_;
};

// Writes each message as one SSE event on the open POST response.
class SsePeer : public Peer {
 public:
  explicit SsePeer(httplib::DataSink& sink) : sink_(sink) {}
  void Send(const json& message) override {
    std::string event = SseEvent(message);
    std::lock_guard lock(mu_);
    if (open_) open_ = sink_.write(event.data(), event.size());
  }

 private:
  httplib::DataSink& sink_;
  std::mutex mu_;
  bool open_ = true;
};

}  // namespace

struct HttpServer::Impl {
  Server& server;
  HttpOptions options;
  httplib::Server http;
  std::mutex mu;
  std::condition_variable cv;
  bool stop_requested = false;
  bool running = false;

  Impl(Server& s, HttpOptions o) : server(s), options(std::move(o)) {}

  // Security and content negotiation shared by every method; false when `res` already holds the answer.
  bool Admit(const httplib::Request& req, httplib::Response& res) {
    std::string why;
    if (int status = net::CheckRequest(req, options.token, why); status != 0) {
      if (status == 401) res.set_header("WWW-Authenticate", "Bearer");
      TransportError(res, status, rpc::kSessionRequired, why);
      return false;
    }
    return true;
  }

  void Post(const httplib::Request& req, httplib::Response& res) {
    if (!Admit(req, res)) return;
    const std::string& accept = req.get_header_value("Accept");
    bool accepts_sse = AcceptsType(accept, kSse, "text/*");
    if (!AcceptsType(accept, kJson, "application/*") || !accepts_sse) {
      return TransportError(res, 406, rpc::kSessionRequired,
                            "Not Acceptable: the Accept header must list both application/json and text/event-stream");
    }
    if (req.get_header_value("Content-Type").rfind(kJson, 0) != 0) {
      return TransportError(res, 415, rpc::kSessionRequired, "Unsupported Media Type: send Content-Type: application/json");
    }
    auto in = std::make_shared<Incoming>();
    in->http = true;
    in->header_version = Header(req, "MCP-Protocol-Version");
    in->header_method = Header(req, "Mcp-Method");
    in->header_name = Header(req, "Mcp-Name");
    for (const auto& [name, value] : req.headers) {
      if (name.size() > 10 && strncasecmp(name.c_str(), "mcp-param-", 10) == 0) {
        in->param_headers.emplace_back(name.substr(10), value);
      }
    }
    if (auto session_id = Header(req, "Mcp-Session-Id")) {
      in->session = server.sessions().Find(*session_id);
      if (!in->session) {
        return TransportError(res, 404, -32001, "Session not found: it expired or was ended; initialize again");
      }
      if (in->header_version && !IsStatefulVersion(*in->header_version)) {
        return TransportError(res, 400, rpc::kSessionRequired,
                              "Bad Request: unsupported MCP-Protocol-Version '" + *in->header_version + "'");
      }
    }
    if (auto error = ParseWire(req.body, in->message)) {
      res.status = 400;
      res.set_content(DumpWire(ErrorReply(nullptr, *error)), kJson);
      return;
    }
    if (in->message.is_array()) {
      auto reply = server.Handle(req.body, *in);
      res.status = reply ? 200 : 202;
      if (reply) res.set_content(*reply, kJson);
      return;
    }
    if (server.MayStream(in->message, in->session.get())) return Stream(in, res);

    BufferPeer peer;
    in->peer = &peer;
    Outcome out = server.Dispatch(*in);
    if (out.new_session) res.set_header("Mcp-Session-Id", out.new_session->id);
    res.status = out.http_status;
    std::string events = peer.Take();
    if (!out.reply) return;
    if (!events.empty()) {
      res.set_content(events + SseEvent(*out.reply), kSse);
    } else {
      res.set_content(DumpWire(*out.reply), kJson);
    }
  }

  // Runs the request inside the response's content provider so its notifications and questions reach
  // the client while it runs; the final reply is the last event.
  void Stream(std::shared_ptr<Incoming> in, httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    Server* srv = &server;
    res.set_chunked_content_provider(kSse, [srv, in](size_t, httplib::DataSink& sink) {
      SsePeer peer(sink);
      in->peer = &peer;
      Outcome out = srv->Dispatch(*in);
      in->peer = nullptr;
      if (out.reply) peer.Send(*out.reply);
      sink.done();
      return true;
    });
  }

  void Delete(const httplib::Request& req, httplib::Response& res) {
    if (!Admit(req, res)) return;
    auto session_id = Header(req, "Mcp-Session-Id");
    if (!session_id) return TransportError(res, 400, rpc::kSessionRequired, "Bad Request: no Mcp-Session-Id header");
    if (!server.sessions().Remove(*session_id)) {
      return TransportError(res, 404, -32001, "Session not found: it expired or was already ended");
    }
    res.status = 200;
  }

  void Get(const httplib::Request& req, httplib::Response& res) {
    if (!Admit(req, res)) return;
    res.set_header("Allow", "POST, DELETE");
    TransportError(res, 405, rpc::kSessionRequired,
                   "Method Not Allowed: this server sends no server-initiated stream; POST requests to /mcp");
  }
};

HttpServer::HttpServer(Server& server, HttpOptions options)
    : impl_(std::make_unique<Impl>(server, std::move(options))) {
  auto& http = impl_->http;
  net::ConfigureServer(http);
  http.set_payload_max_length(impl_->options.max_body_bytes);
  http.set_keep_alive_max_count(1u << 20);  // the default (5) would reconnect every 5th request
  http.set_keep_alive_timeout(5);
  int threads = std::max(4, impl_->options.threads);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  Impl* impl = impl_.get();
  http.Post("/mcp", [impl](const httplib::Request& req, httplib::Response& res) { impl->Post(req, res); });
  http.Get("/mcp", [impl](const httplib::Request& req, httplib::Response& res) { impl->Get(req, res); });
  http.Delete("/mcp", [impl](const httplib::Request& req, httplib::Response& res) { impl->Delete(req, res); });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    TransportError(res, 500, rpc::kInternalError, "Internal error");
  });
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Bind() {
  const auto& o = impl_->options;
  if (!net::IsLoopbackAddress(o.host) && o.token.empty()) {
    spdlog::warn("!!! tool server bound to non-loopback address {} WITHOUT a token: anyone who can reach this "
                 "machine can call its tools. Set tool_server.token (or --token) or bind 127.0.0.1. !!!",
                 o.host);
  }
  if (o.port == 0) {
    int port = impl_->http.bind_to_any_port(o.host);
    if (port <= 0) return Status::Unavailable("cannot bind " + o.host + " to any port");
    port_ = port;
  } else {
    if (!impl_->http.bind_to_port(o.host, o.port)) {
      return Status::Unavailable(fmt::format("cannot listen on {}:{} (in use or not permitted)", o.host, o.port));
    }
    port_ = o.port;
  }
  return Status::Ok();
}

Status HttpServer::Run() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stop_requested) return Status::Ok();
    impl_->running = true;
  }
  bool ok = impl_->http.listen_after_bind();
  {
    std::lock_guard lock(impl_->mu);
    impl_->running = false;
  }
  impl_->cv.notify_all();
  return ok || impl_->stop_requested ? Status::Ok() : Status::IoError("the tool server's listener failed");
}

void HttpServer::Stop() {
  std::unique_lock lock(impl_->mu);
  impl_->stop_requested = true;
  // httplib's stop() only takes effect once its accept loop runs; repeat it until Run() has returned.
  while (impl_->running) {
    impl_->http.stop();
    impl_->cv.wait_for(lock, std::chrono::milliseconds(10));
  }
  impl_->http.stop();
}

}  // namespace llmdesk::mcp
