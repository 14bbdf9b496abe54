// ControlServer: the HTTP control API over a Manager (routes and threading rules in control.h).
#include <unistd.h>

#include <mutex>

#include "control/control.h"
#include "control/chat_api.h"
#include "chat/mcp_host.h"
#include "control/tools_api.h"
#include "net/http_server.h"
#include "net/sse.h"

namespace llmdesk::control {
namespace {

using Json = nlohmann::json;
using net::Request;
using net::Response;

std::string Frame(const char* event, const Json& data, uint64_t id = 0) {
  return net::SseFrame(event, data.dump(-1, ' ', false, Json::error_handler_t::replace), id ? std::to_string(id) : "");
}

int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case Status::Code::kNotFound: return 404;
    case Status::Code::kFailedPrecondition: return 409;
    case Status::Code::kAlreadyExists: return 409;
    case Status::Code::kInvalidArgument: return 400;
    case Status::Code::kPermissionDenied: return 403;
    case Status::Code::kUnavailable: return 503;
    case Status::Code::kTimeout: return 504;
    default: return 500;
  }
}

Response StatusResponse(const Status& s) { return Response::Error(HttpStatusFor(s), s.message(), Status::CodeName(s.code())); }

// One SSE client: frames go through its bounded EventQueue (which drops and marks the gap when the
// client falls behind) into the stream while the stream can take them. Pump() runs on whichever thread
// produced the frame (a manager callback, or the pool thread that starts the stream); it never blocks.
struct Feed {
  std::mutex mu;  // orders frames from concurrent producers
  std::shared_ptr<net::Stream> stream;
  EventQueue queue;
  manager::Subscription sub;
  std::vector<std::string> batch;

  Feed(std::shared_ptr<net::Stream> s, size_t capacity) : stream(std::move(s)), queue(capacity) {}

  void Push(std::string frame) {
    std::lock_guard lock(mu);
    PushLocked(std::move(frame));
  }
  void PushLocked(std::string frame) {
    queue.Push(std::move(frame));
    if (!stream->WaitWritable(std::chrono::milliseconds(0))) return;  // behind: the queue holds (or drops) it
    batch.clear();
    queue.PopAll(batch, std::chrono::milliseconds(0));
    for (auto& f : batch) stream->Write(std::move(f));
  }

  // Ends the subscription when the stream ends. Not under `mu`: cancelling waits for a delivery that
  // may be inside Push.
  static void ReleaseOnClose(const std::shared_ptr<Feed>& feed) {
    feed->stream->OnClose([feed] {
      manager::Subscription gone;
      {
        std::lock_guard lock(feed->mu);
        gone = std::move(feed->sub);
      }
    });
  }
};

}  // namespace

struct ControlServer::Impl {
  manager::Manager& manager;
  ServerOptions options;
  std::unique_ptr<net::HttpServer> http;

  Impl(manager::Manager& m, ServerOptions o) : manager(m), options(std::move(o)) {}

  void Routes();
  void BackendRoutes();
  void StackRoutes();  // GET /api/stack, POST /api/config/reload
  Response Logs(Request& req);
};

void ControlServer::Impl::Routes() {
  // Public (no token): a client must be able to tell llmdesk from something else on the port before it
  // sends its token (ControlClient::VerifyPeer).
  http->Route(
      "GET", "/health",
      [this](Request&) {
        return Response::Json(200, {{"status", "ok"}, {"service", "llmdesk"}, {"version", LLMDESK_VERSION},
                                    {"pid", ::getpid()}, {"config", manager.config().source}});
      },
      {.public_route = true});
  http->Route("GET", "/api/ports", [this](Request&) {
    Json out = Json::array();
    for (const auto& use : BuildPortReport(manager.config(), manager.List(), ::getpid())) out.push_back(ToJson(use));
    return Response::Json(200, out);
  });
  http->Route("GET", "/api/events", [this](Request&) {
    return Response::Stream("text/event-stream", [this](std::shared_ptr<net::Stream> stream) {
      auto feed = std::make_shared<Feed>(std::move(stream), options.event_queue_capacity);
      std::weak_ptr<Feed> weak = feed;
      auto sub = manager.Subscribe(
          [weak](const manager::Event& e) {
            if (auto f = weak.lock()) f->Push(Frame(KindName(e.kind), ToJson(e), e.seq));
          },
          /*replay_state=*/true);
      {
        std::lock_guard lock(feed->mu);
        feed->sub = std::move(sub);
      }
      Feed::ReleaseOnClose(feed);
    });
  });
  BackendRoutes();
}

void ControlServer::Impl::BackendRoutes() {
  http->Route("GET", "/api/backends", [this](Request&) {
    Json out = Json::array();
    for (const auto& s : manager.List()) out.push_back(ToJson(s));
    return Response::Json(200, out);
  });
  http->Route("GET", "/api/backends/{name}", [this](Request& req) {
    auto s = manager.Get(req.Param("name"));
    return s.ok() ? Response::Json(200, ToJson(*s)) : StatusResponse(s.status());
  });
  for (const char* action : {"start", "stop", "restart"}) {
    http->Route("POST", std::string("/api/backends/{name}/") + action, [this, action = std::string(action)](Request& req) {
      const std::string& name = req.Param("name");
      Status done = action == "start" ? manager.Start(name) : action == "stop" ? manager.Stop(name) : manager.Restart(name);
      if (!done.ok()) return StatusResponse(done);
      auto s = manager.Get(name);
      return s.ok() ? Response::Json(202, ToJson(*s)) : StatusResponse(s.status());
    });
  }
  http->Route("GET", "/api/backends/{name}/logs", [this](Request& req) { return Logs(req); });
}

Response ControlServer::Impl::Logs(Request& req) {
  const std::string name = req.Param("name");
  if (auto s = manager.Get(name); !s.ok()) return StatusResponse(s.status());
  size_t lines = 100;
  if (req.HasQuery("lines")) {
    const std::string& text = req.Query("lines");
    if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
      return Response::Error(400, "lines must be a non-negative number", "invalid argument");
    lines = std::stoul(text);
  }
  const std::string& follow = req.Query("follow");
  if (follow.empty() || follow == "0" || follow == "false") {
    return Response::Json(200, {{"name", name}, {"lines", manager.LogTail(name, lines)}});
  }
  return Response::Stream("text/event-stream", [this, name, lines](std::shared_ptr<net::Stream> stream) {
    // Subscribe before reading the tail so no line falls between them; lines that arrive meanwhile are
    // held back and the ones already in the tail are skipped.
    struct Follow : Feed {
      using Feed::Feed;
      bool tail_sent = false;  // guarded by Feed::mu
      std::vector<std::string> pending;
    };
    auto f = std::make_shared<Follow>(std::move(stream), options.event_queue_capacity);
    std::weak_ptr<Follow> weak = f;
    auto sub = manager.Subscribe([weak, name](const manager::Event& e) {
      if (e.kind != manager::Event::Kind::kLog || e.backend != name) return;
      auto state = weak.lock();
      if (!state) return;
      {
        std::lock_guard lock(state->mu);
        if (!state->tail_sent) return state->pending.push_back(e.reason);
      }
      state->Push(Frame("log", {{"backend", name}, {"line", e.reason}}, e.seq));
    });
    auto tail = manager.LogTail(name, lines);
    for (const auto& line : tail) f->Push(Frame("log", {{"backend", name}, {"line", line}}));
    {
      std::lock_guard lock(f->mu);
      size_t skip = 0;  // pending lines already at the end of the tail
      for (size_t n = std::min(f->pending.size(), tail.size()); n > 0; --n) {
        if (std::equal(f->pending.begin(), f->pending.begin() + n, tail.end() - n)) {
          skip = n;
          break;
        }
      }
      for (size_t i = skip; i < f->pending.size(); ++i)
        f->PushLocked(Frame("log", {{"backend", name}, {"line", f->pending[i]}}));
      f->pending.clear();
      f->tail_sent = true;
      f->sub = std::move(sub);
    }
    Feed::ReleaseOnClose(f);
  });
}

void ControlServer::Impl::StackRoutes() {
  http->Route("GET", "/api/stack", [this](Request&) {
    Json listeners = Json::array();
    listeners.push_back({{"name", "gateway"}, {"url", http->url()},
                         {"configured_port", options.configured_port ? options.configured_port : options.port},
                         {"port", http->port()}});
    for (const auto& l : options.listeners)
      listeners.push_back({{"name", l.name}, {"url", l.url}, {"configured_port", l.configured_port}, {"port", l.port}});
    return Response::Json(200, {{"pid", ::getpid()}, {"version", LLMDESK_VERSION},
                                {"config", manager.config().source}, {"listeners", listeners}});
  });
  if (!options.reload) return;
  http->Route("POST", "/api/config/reload", [this](Request&) {
    auto report = options.reload();
    return report.ok() ? Response::Json(200, ToJson(*report)) : StatusResponse(report.status());
  });
}

Result<std::unique_ptr<ControlServer>> ControlServer::Start(manager::Manager& manager, ServerOptions options) {
  auto impl = std::make_unique<Impl>(manager, std::move(options));
  const ServerOptions& o = impl->options;
  net::ServerOptions http;
  http.host = o.host;
  http.port = o.port;
  http.token = o.token;
  http.max_body_bytes = o.max_body_bytes;
  http.max_streams = o.max_streams;
  http.server_name = "control API";
  // Errors the listener itself produces (policy 401/403, 413, 431, 404/405) in OpenAI's shape, which adds
  // `type` to ours: the /v1 gateway shares this listener and its clients parse {"error":{message,type,code}}.
  http.render_error = [](int status, const std::string& message, const std::string& code) {
    const char* type = status == 401 ? "authentication_error" : status == 403 ? "permission_error"
                     : status >= 500 ? "server_error" : "invalid_request_error";
    return Response::Json(status, {{"error", {{"message", message}, {"type", type}, {"code", code}}}});
  };
  impl->http = std::make_unique<net::HttpServer>(std::move(http));
  impl->Routes();
  if (o.chat) RegisterChatRoutes(*impl->http, *o.chat, o.history, MakeChatRuns());
  if (o.mcp) {
    impl->http->Route("GET", "/api/mcp/servers", [mcp = o.mcp](Request&) {
      Json out = Json::array();
      for (const auto& s : mcp->Servers()) out.push_back(chat::ToJson(s));
      return Response::Json(200, out);
    });
  }
  if (o.tools) RegisterToolRoutes(*impl->http, *o.tools);
  impl->StackRoutes();
  if (o.add_routes) o.add_routes(*impl->http);
  if (Status bound = impl->http->Bind(); !bound.ok()) {
    return Status::Unavailable("cannot start the control API: " + bound.message() + " (or set gateway.port in the config)");
  }
  if (Status started = impl->http->Start(); !started.ok()) return started;
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlServer::~ControlServer() { Stop(); }

void ControlServer::Stop() { impl_->http->Stop(); }

int ControlServer::port() const { return impl_->http->port(); }

std::string ControlServer::url() const { return impl_->http->url(); }

}  // namespace llmdesk::control
