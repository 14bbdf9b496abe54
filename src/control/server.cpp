// ControlServer: the HTTP control API over a Manager (routes and threading rules in control.h).
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <httplib.h>

#include "control/control.h"
#include "net/http_policy.h"
#include "net/ports.h"

namespace llmdesk::control {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

std::string Frame(const char* event, const Json& data, uint64_t id = 0) {
  std::string f = std::string("event: ") + event + "\n";
  if (id) f += "id: " + std::to_string(id) + "\n";
  return f + "data: " + data.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
}

void SendJson(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& res, int status, const std::string& message, const std::string& code) {
  SendJson(res, status, {{"error", {{"message", message}, {"code", code}}}});
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

void SendStatus(httplib::Response& res, const Status& s) {
  SendError(res, HttpStatusFor(s), s.message(), Status::CodeName(s.code()));
}

}  // namespace

struct ControlServer::Impl {
  manager::Manager& manager;
  ServerOptions options;
  httplib::Server server;
  std::thread listener;
  int port = 0;
  std::mutex streams_mu;
  bool stopping = false;                             // guarded by streams_mu
  std::vector<std::weak_ptr<EventQueue>> streams;   // open SSE clients, closed by Stop()

  Impl(manager::Manager& m, ServerOptions o) : manager(m), options(std::move(o)) {}

  std::shared_ptr<EventQueue> OpenStream() {
    auto q = std::make_shared<EventQueue>(options.event_queue_capacity);
    std::lock_guard lock(streams_mu);
    std::erase_if(streams, [](const auto& w) { return w.expired(); });
    if (stopping) q->Close();
    streams.push_back(q);
    return q;
  }

  // Streams a queue as SSE until it is closed (Stop) or the client goes away. `keep` holds whatever
  // must live as long as the stream (the manager subscription) and is released with the response.
  static void StreamQueue(httplib::Response& res, std::shared_ptr<EventQueue> q, std::shared_ptr<void> keep) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [q](size_t, httplib::DataSink& sink) {
          std::vector<std::string> frames;
          bool open = q->PopAll(frames, 1000ms);
          // A comment line each idle second: lets clients check for cancellation and finds dead peers.
          if (frames.empty() && open) frames.emplace_back(": keep-alive\n\n");
          for (const auto& f : frames)
            if (!sink.write(f.data(), f.size())) return false;
          if (!open) sink.done();
          return true;
        },
        [keep](bool) mutable { keep.reset(); });
  }

  void Routes();
  void BackendRoutes();
};

void ControlServer::Impl::Routes() {
  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    std::string why;
    int status = net::CheckRequest(req, options.token, why);
    if (status == 0) return httplib::Server::HandlerResponse::Unhandled;
    SendError(res, status, why, status == 401 ? "unauthenticated" : "forbidden");
    return httplib::Server::HandlerResponse::Handled;
  });
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty() && res.status == 404) SendError(res, 404, "no route " + req.method + " " + req.path, "not found");
  });
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendError(res, 500, "internal error: " + what, "internal error");
  });

  server.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    SendJson(res, 200, {{"status", "ok"}, {"service", "llmdesk"}, {"version", LLMDESK_VERSION},
                        {"pid", ::getpid()}, {"config", manager.config().source}});
  });
  server.Get("/api/ports", [this](const httplib::Request&, httplib::Response& res) {
    Json out = Json::array();
    for (const auto& use : BuildPortReport(manager.config(), manager.List(), ::getpid())) out.push_back(ToJson(use));
    SendJson(res, 200, out);
  });
  server.Get("/api/events", [this](const httplib::Request&, httplib::Response& res) {
    auto q = OpenStream();
    auto sub = std::make_shared<manager::Subscription>(manager.Subscribe(
        [q](const manager::Event& e) { q->Push(Frame(KindName(e.kind), ToJson(e), e.seq)); }, /*replay_state=*/true));
    StreamQueue(res, q, sub);
  });
  BackendRoutes();
}

void ControlServer::Impl::BackendRoutes() {
  server.Get("/api/backends", [this](const httplib::Request&, httplib::Response& res) {
    Json out = Json::array();
    for (const auto& s : manager.List()) out.push_back(ToJson(s));
    SendJson(res, 200, out);
  });
  server.Get(R"(/api/backends/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = manager.Get(req.matches[1]);
    s.ok() ? SendJson(res, 200, ToJson(*s)) : SendStatus(res, s.status());
  });
  server.Post(R"(/api/backends/([^/]+)/(start|stop|restart))", [this](const httplib::Request& req,
                                                                    httplib::Response& res) {
    const std::string name = req.matches[1], action = req.matches[2];
    Status done = action == "start" ? manager.Start(name) : action == "stop" ? manager.Stop(name) : manager.Restart(name);
    if (!done.ok()) return SendStatus(res, done);
    auto s = manager.Get(name);
    s.ok() ? SendJson(res, 202, ToJson(*s)) : SendStatus(res, s.status());
  });
  server.Get(R"(/api/backends/([^/]+)/logs)", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    if (auto s = manager.Get(name); !s.ok()) return SendStatus(res, s.status());
    size_t lines = 100;
    if (req.has_param("lines")) {
      try {
        lines = std::stoul(req.get_param_value("lines"));
      } catch (const std::exception&) {
        return SendError(res, 400, "lines must be a non-negative number", "invalid argument");
      }
    }
    const std::string follow = req.get_param_value("follow");
    if (follow.empty() || follow == "0" || follow == "false") {
      return SendJson(res, 200, {{"name", name}, {"lines", manager.LogTail(name, lines)}});
    }
    // Subscribe before reading the tail so no line falls between them; lines that arrive meanwhile are
    // held back and the ones already in the tail are skipped.
    struct Follow {
      std::mutex mu;
      bool tail_sent = false;
      std::vector<std::string> pending;
      manager::Subscription sub;
    };
    auto q = OpenStream();
    auto f = std::make_shared<Follow>();
    std::weak_ptr<Follow> weak = f;
    f->sub = manager.Subscribe([q, weak, name](const manager::Event& e) {
      if (e.kind != manager::Event::Kind::kLog || e.backend != name) return;
      auto follow_state = weak.lock();
      if (!follow_state) return;
      std::lock_guard lock(follow_state->mu);
      if (!follow_state->tail_sent) return follow_state->pending.push_back(e.reason);
      q->Push(Frame("log", {{"backend", name}, {"line", e.reason}}, e.seq));
    });
    auto tail = manager.LogTail(name, lines);
    for (const auto& line : tail) q->Push(Frame("log", {{"backend", name}, {"line", line}}));
    {
      std::lock_guard lock(f->mu);
      size_t skip = 0;  // pending lines already at the end of the tail
      for (size_t n = std::min(f->pending.size(), tail.size()); n > 0; --n) {
        if (std::equal(f->pending.begin(), f->pending.begin() + n, tail.end() - n)) {
          skip = n;
          break;
        }
      }
      for (size_t i = skip; i < f->pending.size(); ++i) q->Push(Frame("log", {{"backend", name}, {"line", f->pending[i]}}));
      f->pending.clear();
      f->tail_sent = true;
    }
    StreamQueue(res, q, f);
  });
}

Result<std::unique_ptr<ControlServer>> ControlServer::Start(manager::Manager& manager, ServerOptions options) {
  // A client that disconnects mid-write must cost an EPIPE, not the daemon.
  ::signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<Impl>(manager, std::move(options));
  auto& svr = impl->server;
  net::ConfigureServer(svr);
  const int threads = std::max(4, impl->options.threads);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  svr.set_keep_alive_timeout(2);  // idle keep-alive connections hold a thread (and Stop) at most this long
  impl->Routes();
  if (impl->options.add_routes) impl->options.add_routes(svr);

  const auto& host = impl->options.host;
  int want = impl->options.port;
  int bound = want == 0 ? svr.bind_to_any_port(host) : (svr.bind_to_port(host, want) ? want : -1);
  if (bound <= 0) {
    std::string msg = "cannot listen on " + host + ":" + std::to_string(want) + " for the control API";
    if (auto holder = want ? net::FindPortHolder(want) : std::nullopt) {
      msg += ": port " + std::to_string(want) + " " + holder->Describe() + "; " + holder->HowToFree();
    }
    return Status::Unavailable(msg + " (or set gateway.port in the config)");
  }
  impl->port = bound;
  impl->listener = std::thread([&svr] { svr.listen_after_bind(); });
  // httplib's stop() is a no-op until the listen loop runs; wait for it (bounded) so Stop() always works.
  for (int i = 0; i < 5000 && !svr.is_running(); ++i) std::this_thread::sleep_for(1ms);
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlServer::~ControlServer() { Stop(); }

void ControlServer::Stop() {
  {
    std::lock_guard lock(impl_->streams_mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
    for (auto& w : impl_->streams)
      if (auto q = w.lock()) q->Close();
  }
  impl_->server.stop();
  if (impl_->listener.joinable()) impl_->listener.join();
}

int ControlServer::port() const { return impl_->port; }

std::string ControlServer::url() const {
  const std::string& h = impl_->options.host;
  std::string host = h.find(':') != std::string::npos ? "[" + h + "]" : h;
  return "http://" + host + ":" + std::to_string(impl_->port);
}

}  // namespace llmdesk::control
