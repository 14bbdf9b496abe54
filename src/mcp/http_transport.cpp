// Streamable HTTP transport: POST /mcp answers with JSON, or with an SSE stream when the request may
// notify or ask the client while it runs; GET /mcp is 405 (no server-initiated stream); DELETE /mcp
// ends a session. The hot path (a plain tools/call of a local tool) runs on the listener's IO thread:
// one JSON parse, one session lookup, one dump.
#include <strings.h>

#include <condition_variable>

#include <spdlog/spdlog.h>

#include "mcp/http_transport.h"
#include "net/http_policy.h"
#include "net/http_server.h"
#include "net/sse.h"

namespace llmdesk::mcp {
namespace {

using net::Request;
using net::Response;

constexpr const char* kJson = "application/json";
constexpr const char* kSse = "text/event-stream";

Response TransportError(int status, int code, const std::string& message) {
  return Response::Text(status, DumpWire(ErrorReply(nullptr, {code, message, nullptr})), kJson);
}

std::string SseEvent(const json& message) { return net::SseFrame("message", DumpWire(message)); }

bool AcceptsType(const std::string& accept, std::string_view type, std::string_view family) {
  return accept.find(type) != std::string::npos || accept.find("*/*") != std::string::npos ||
         accept.find(family) != std::string::npos;
}

std::optional<std::string> Header(const Request& req, const char* name) {
  if (!req.HasHeader(name)) return std::nullopt;
  return req.Header(name);
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
  explicit SsePeer(std::shared_ptr<net::Stream> stream) : stream_(std::move(stream)) {}
  void Send(const json& message) override { stream_->Write(SseEvent(message)); }

 private:
  std::shared_ptr<net::Stream> stream_;
};

// Runs one request with a plain reply: JSON, or SSE when it sent notifications on the way.
Response Answer(Server& server, const Incoming& in_const) {
  Incoming in = in_const;
  BufferPeer peer;
  in.peer = &peer;
  Outcome out = server.Dispatch(in);
  Response res;
  if (out.new_session) res.SetHeader("Mcp-Session-Id", out.new_session->id);
  res.status = out.http_status;
  std::string events = peer.Take();
  if (!out.reply) return res;
  if (!events.empty()) {
    res.body = events + SseEvent(*out.reply);
    res.content_type = kSse;
  } else {
    res.body = DumpWire(*out.reply);
    res.content_type = kJson;
  }
  return res;
}

}  // namespace

struct HttpServer::Impl {
  Server& server;
  HttpOptions options;
  std::unique_ptr<net::HttpServer> http;
  std::mutex mu;
  std::condition_variable cv;
  bool stop_requested = false;

  Impl(Server& s, HttpOptions o) : server(s), options(std::move(o)) {}

  Response Post(Request& req) {
    const std::string& accept = req.Header("Accept");
    bool accepts_sse = AcceptsType(accept, kSse, "text/*");
    if (!AcceptsType(accept, kJson, "application/*") || !accepts_sse) {
      return TransportError(406, rpc::kSessionRequired,
                            "Not Acceptable: the Accept header must list both application/json and text/event-stream");
    }
    if (req.Header("Content-Type").rfind(kJson, 0) != 0) {
      return TransportError(415, rpc::kSessionRequired, "Unsupported Media Type: send Content-Type: application/json");
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
      if (!in->session) return TransportError(404, -32001, "Session not found: it expired or was ended; initialize again");
      if (in->header_version && !IsStatefulVersion(*in->header_version)) {
        return TransportError(400, rpc::kSessionRequired,
                              "Bad Request: unsupported MCP-Protocol-Version '" + *in->header_version + "'");
      }
    }
    if (auto error = ParseWire(req.body, in->message)) {
      return Response::Text(400, DumpWire(ErrorReply(nullptr, *error)), kJson);
    }
    Server* srv = &server;
    if (in->message.is_array()) {
      return Response::Defer([srv, in, body = std::move(req.body)] {
        auto reply = srv->Handle(body, *in);
        Response res;
        res.status = reply ? 200 : 202;
        if (reply) res.body = std::move(*reply), res.content_type = kJson;
        return res;
      });
    }
    if (server.MayStream(in->message, in->session.get())) return Stream(in);
    if (server.MayBlock(in->message)) return Response::Defer([srv, in] { return Answer(*srv, *in); });
    return Answer(server, *in);
  }

  // Runs the request on the pool with the open SSE stream as its peer, so its notifications and
  // questions reach the client while it runs; the final reply is the last event.
  Response Stream(std::shared_ptr<Incoming> in) {
    Server* srv = &server;
    return Response::Stream(kSse, [srv, in](std::shared_ptr<net::Stream> stream) {
      SsePeer peer(stream);
      in->peer = &peer;
      Outcome out = srv->Dispatch(*in);
      in->peer = nullptr;
      if (out.reply) peer.Send(*out.reply);
      stream->Close();
    });
  }

  Response Delete(Request& req) {
    auto session_id = Header(req, "Mcp-Session-Id");
    if (!session_id) return TransportError(400, rpc::kSessionRequired, "Bad Request: no Mcp-Session-Id header");
    if (!server.sessions().Remove(*session_id)) {
      return TransportError(404, -32001, "Session not found: it expired or was already ended");
    }
    return Response::Text(200, "", "");
  }
};

HttpServer::HttpServer(Server& server, HttpOptions options)
    : impl_(std::make_unique<Impl>(server, std::move(options))) {
  const HttpOptions& o = impl_->options;
  net::ServerOptions http;
  http.host = o.host;
  http.port = o.port;
  http.token = o.token;
  http.max_body_bytes = o.max_body_bytes;
  http.max_header_bytes = o.max_header_bytes;
  http.max_streams = o.max_streams;
  http.max_workers = o.max_workers;
  http.server_name = "MCP tool server";
  http.render_error = [](int status, const std::string& message, const std::string&) {
    return TransportError(status, status >= 500 ? rpc::kInternalError : rpc::kSessionRequired, message);
  };
  impl_->http = std::make_unique<net::HttpServer>(std::move(http));
  Impl* impl = impl_.get();
  impl->http->Route("POST", "/mcp", [impl](Request& req) { return impl->Post(req); }, {.inline_handler = true});
  impl->http->Route("DELETE", "/mcp", [impl](Request& req) { return impl->Delete(req); }, {.inline_handler = true});
  impl->http->Route("GET", "/mcp", [](Request&) {
    Response res = TransportError(405, rpc::kSessionRequired,
                                  "Method Not Allowed: this server sends no server-initiated stream; POST requests to /mcp");
    res.SetHeader("Allow", "POST, DELETE");
    return res;
  }, {.inline_handler = true});
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Bind() {
  const auto& o = impl_->options;
  if (!net::IsLoopbackAddress(o.host) && o.token.empty()) {
    spdlog::warn("!!! tool server bound to non-loopback address {} WITHOUT a token: anyone who can reach this "
                 "machine can call its tools. Set tool_server.token (or --token) or bind 127.0.0.1. !!!",
                 o.host);
  }
  if (Status s = impl_->http->Bind(); !s.ok()) return s;
  port_ = impl_->http->port();
  return Status::Ok();
}

Status HttpServer::Run() {
  std::unique_lock lock(impl_->mu);
  if (impl_->stop_requested) return Status::Ok();
  if (Status s = impl_->http->Start(); !s.ok()) return s;
  impl_->cv.wait(lock, [this] { return impl_->stop_requested; });
  lock.unlock();
  impl_->http->Stop();
  return Status::Ok();
}

void HttpServer::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop_requested = true;
  }
  impl_->cv.notify_all();
  impl_->http->Stop();  // idempotent; also ends a server that never ran
}

}  // namespace llmdesk::mcp
