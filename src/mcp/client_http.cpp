// The Streamable HTTP transport of mcp::Client (contract in client.h): POST per message, JSON or SSE replies,
// session headers, resuming a dropped SSE reply with GET + Last-Event-ID.
#include <strings.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

#include "mcp/client.h"
#include "mcp/jsonrpc.h"
#include "net/http_client.h"
#include "net/sse.h"

namespace llmdesk::mcp {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kSessionLostTag = "[mcp-session-lost]";
constexpr int kMaxIdleResumes = 3;  // resumes in a row that bring no new event
constexpr int kMaxListenFailures = 3;  // failed connects in a row of the standalone stream
constexpr auto kListenOpenWait = std::chrono::seconds(5);  // Listen() waits this long for the GET's answer
constexpr size_t kMaxJsonReply = 16 * 1024 * 1024;

bool StartsWithNoCase(const std::string& text, std::string_view prefix) {
  return text.size() >= prefix.size() && strncasecmp(text.c_str(), prefix.data(), prefix.size()) == 0;
}

std::chrono::milliseconds Left(Clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(1),
                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
}

class HttpTransport : public Transport {
 public:
  HttpTransport(net::HttpClient& http, ServerSpec spec, std::function<void(const json&)> on_notification,
                ServerRequestHandler on_request)
      : http_(http), spec_(std::move(spec)), on_notification_(std::move(on_notification)),
        on_request_(std::move(on_request)) {}
  ~HttpTransport() override {
    stop_listening_.Cancel();  // wakes the listening transfer (or its wait) at once
    std::thread listener;
    {
      std::lock_guard lock(listen_mu_);  // the thread takes it too on its way out: join outside
      listener = std::move(listener_);
    }
    if (listener.joinable()) listener.join();
  }

  void Listen() override {
    std::unique_lock lock(listen_mu_);
    if (listening_) return;
    if (listener_.joinable()) listener_.join();  // a stream that gave up earlier (e.g. the session was lost)
    listening_ = true;
    listen_answered_ = false;
    listener_ = std::thread([this] {
      ListenLoop();
      std::lock_guard done(listen_mu_);  // the last use of the mutex: Listen() may join after this
      listening_ = false;
      listen_answered_ = true;
      listen_cv_.notify_all();
    });
    // Return once the server answered the GET (or the first try failed), so the stream is open before the
    // caller's next request: a server may route what belongs to that request to whichever stream it has.
    listen_cv_.wait_for(lock, kListenOpenWait, [this] { return listen_answered_; });
  }

  void SetSession(std::string session_id, std::string protocol_version) override {
    std::lock_guard lock(mu_);
    session_ = std::move(session_id);
    version_ = std::move(protocol_version);
  }
  std::string ReceivedSession() const override {
    std::lock_guard lock(mu_);
    return received_session_;
  }
  bool SessionLost(const Status& failure) const override {
    return failure.message().find(kSessionLostTag) != std::string::npos;
  }
  std::string Describe() const override { return spec_.url; }

  Status Notify(const json& notification) override {
    net::HttpRequest r = Base("POST");
    r.body = DumpWire(notification);
    r.timeout = std::chrono::seconds(10);
    auto res = http_.Send(r);
    if (!res.ok() && res.status().code() == Status::Code::kUnavailable)
      return Status::Unavailable(Name() + " could not be reached: " + res.status().message());
    if (!res.ok()) return res.status();
    if (res->status >= 300)
      return Status::Unavailable(Name() + " refused a notification: HTTP " + std::to_string(res->status));
    return Status::Ok();
  }

  Result<json> Request(const json& request, Clock::time_point deadline, const CancelToken* cancel) override {
    const json id = request.value("id", json());
    net::HttpRequest r = Base("POST");
    r.body = DumpWire(request);
    const bool had_session = !r.headers.empty() && HasSessionHeader(r);
    Exchange ex(id);
    Status sent = Send(r, deadline, cancel, ex);
    // The reply stream ended before the reply: the server closed it on purpose (SEP-1699 polling) or the
    // connection dropped. Once the server gave the stream an event id, come back after its `retry:` delay
    // with GET + Last-Event-ID for the rest; the deadline bounds the whole, kMaxIdleResumes the resumes in a
    // row that brought nothing new (a server that keeps closing empty streams).
    for (int idle = 0; !ex.reply && ex.sse && !ex.last_event_id.empty() && Resumable(sent) && idle < kMaxIdleResumes;) {
      if (Status waited = Wait(ex.retry_ms, deadline, cancel); !waited.ok()) return waited;
      net::HttpRequest get = Base("GET");
      get.headers.emplace_back("Last-Event-ID", ex.last_event_id);
      ++ex.resumes;
      ex.progressed = false;
      sent = Send(get, deadline, cancel, ex);
      idle = ex.progressed ? 0 : idle + 1;
    }
    if (!sent.ok()) return sent;
    if (ex.reply) return *ex.reply;
    if (ex.resumes > 0)
      return Status::Unavailable(
          Name() + " ended its reply stream before answering and " +
          (ex.sse ? "kept ending it without the reply (" + std::to_string(ex.resumes) + " GETs with Last-Event-ID)"
                  : "refused to resume it (GET with Last-Event-ID): HTTP " + std::to_string(ex.status)));
    if (ex.status == 404 && had_session)
      return Status::Unavailable(Name() + " no longer knows the session " + std::string(kSessionLostTag));
    if (ex.sse || ex.json_read)
      return Status::Unavailable(Name() + " ended its reply without answering the request");
    json body = json::parse(ex.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_object() && body.contains("error")) return body;  // a JSON-RPC error sent with an HTTP error
    return Status::Unavailable(Name() + " answered HTTP " + std::to_string(ex.status) +
                               (ex.content_type.empty() ? "" : " (" + ex.content_type + ")") +
                               " instead of an MCP reply: " + ex.body.substr(0, 200));
  }

 private:
  // What one request's exchange has seen so far (across a resumed stream).
  struct Exchange {
    explicit Exchange(json i) : id(std::move(i)) {}
    json id;
    int status = 0;
    std::string content_type, body;
    bool sse = false;
    bool json_read = false;  // a JSON reply (or batch) was read and handled
    std::string last_event_id;
    bool progressed = false;
    int resumes = 0;
    std::function<void()> on_headers;  // called when a response's headers are in  // a new event id arrived since the last resume
    long long retry_ms = 1000;
    std::optional<json> reply;
  };

  // A stream that ended (Ok) or whose connection failed can be resumed; a timeout, a cancel or a stream
  // we rejected (malformed, too large) cannot.
  static bool Resumable(const Status& s) {
    return s.ok() || s.code() == Status::Code::kUnavailable;
  }

  std::string Name() const { return "MCP server '" + spec_.name + "' (" + spec_.url + ")"; }

  static bool HasSessionHeader(const net::HttpRequest& r) {
    for (const auto& [k, v] : r.headers)
      if (k == "Mcp-Session-Id") return true;
    return false;
  }

  net::HttpRequest Base(const char* method) const {
    net::HttpRequest r;
    r.method = method;
    r.url = spec_.url;
    r.connect_timeout = std::chrono::milliseconds(5000);
    r.headers = {{"Accept", std::string(method) == "GET" ? "text/event-stream" : "application/json, text/event-stream"}};
    if (std::string(method) == "POST") r.headers.emplace_back("Content-Type", "application/json");
    for (const auto& [k, v] : spec_.headers) r.headers.emplace_back(k, v);
    std::lock_guard lock(mu_);
    if (!version_.empty()) r.headers.emplace_back("MCP-Protocol-Version", version_);
    if (!session_.empty()) r.headers.emplace_back("Mcp-Session-Id", session_);
    return r;
  }

  Status Wait(long long ms, Clock::time_point deadline, const CancelToken* cancel) {
    auto until = std::min(deadline, Clock::now() + std::chrono::milliseconds(std::clamp(ms, 0LL, 30000LL)));
    std::mutex m;
    std::condition_variable cv;
    uint64_t id = cancel ? cancel->OnCancel([&] {
      std::lock_guard lock(m);
      cv.notify_all();
    }) : 0;
    {
      std::unique_lock lock(m);
      cv.wait_until(lock, until, [&] { return cancel && cancel->cancelled(); });
    }
    if (cancel) cancel->Forget(id);
    if (cancel && cancel->cancelled()) return Status::Cancelled("cancelled");
    if (Clock::now() >= deadline) return Status::Timeout(Name() + " did not answer in time");
    return Status::Ok();
  }

  // The standalone stream: GET, handle what arrives (OnMessage), and when it ends come back after `retry:`
  // with Last-Event-ID. Ends when the server offers no stream, after kMaxListenFailures failed connects in
  // a row, or when the transport goes away.
  void ListenLoop() {
    constexpr auto kOneStream = std::chrono::hours(24);
    Exchange ex(json("llmdesk-listen"));  // no request of ours has this id: replies here are dropped
    ex.on_headers = [this] { ListenAnswered(); };
    for (int failures = 0; !stop_listening_.cancelled() && failures < kMaxListenFailures;) {
      net::HttpRequest get = Base("GET");
      if (!ex.last_event_id.empty()) get.headers.emplace_back("Last-Event-ID", ex.last_event_id);
      ex.status = 0;
      Status s = Send(get, Clock::now() + kOneStream, &stop_listening_, ex);
      ListenAnswered();
      if (stop_listening_.cancelled()) return;
      if (s.ok() && !ex.sse) {
        spdlog::debug("{} offers no standalone event stream (HTTP {})", Name(), ex.status);
        return;
      }
      failures = s.ok() ? 0 : failures + 1;
      if (!s.ok()) spdlog::debug("{}: its event stream failed: {}", Name(), s.message());
      if (!Wait(ex.retry_ms, Clock::now() + kOneStream, &stop_listening_).ok()) return;
    }
  }

  void ListenAnswered() {
    std::lock_guard lock(listen_mu_);
    listen_answered_ = true;
    listen_cv_.notify_all();
  }

  // Handles one message that arrived in an SSE reply.
  void OnMessage(const json& message, Exchange& ex) {
    if (!message.is_object()) return;
    const bool is_reply = !message.contains("method") && (message.contains("result") || message.contains("error"));
    if (is_reply) {
      if (message.value("id", json()) == ex.id) ex.reply = message;
      return;
    }
    if (message.contains("id")) {  // a request from the server (elicitation, sampling, roots, ping)
      // Answered by a second transfer on the same client: the stream waits the moment it takes.
      (void)Notify(AnswerServerRequest(message, on_request_));
      return;
    }
    if (on_notification_) on_notification_(message);
  }

  Status Send(net::HttpRequest r, Clock::time_point deadline, const CancelToken* cancel, Exchange& ex) {
    r.timeout = Left(deadline);
    r.cancel = cancel;
    net::SseParser parser;
    std::vector<net::SseEvent> events;
    Status bad;
    ex.body.clear();
    Status s = http_.Stream(
        r,
        [&](int status, const net::HeaderList& headers) {
          ex.status = status;
          ex.content_type.clear();
          for (const auto& [k, v] : headers) {
            if (strcasecmp(k.c_str(), "content-type") == 0) ex.content_type = v;
            if (strcasecmp(k.c_str(), "mcp-session-id") == 0) {
              std::lock_guard lock(mu_);
              received_session_ = v;
            }
          }
          ex.sse = status == 200 && StartsWithNoCase(ex.content_type, "text/event-stream");
          if (ex.on_headers) ex.on_headers();
          return true;
        },
        [&](std::string_view chunk) {
          if (!ex.sse) {
            if (ex.body.size() + chunk.size() > kMaxJsonReply) {
              bad = Status::IoError(Name() + " sent a reply larger than 16 MiB");
              return false;
            }
            ex.body.append(chunk);
            return true;
          }
          events.clear();
          if (Status fed = parser.Feed(chunk, events); !fed.ok()) return (bad = fed), false;
          for (const auto& e : events) {
            if (!e.id.empty() && e.id != ex.last_event_id) {
              ex.last_event_id = e.id;
              ex.progressed = true;
            }
            if (e.retry) ex.retry_ms = *e.retry;
            if (e.data.empty()) continue;
            json message;
            if (ParseWire(e.data, message)) continue;  // not JSON: skip it, as the spec's clients do
            OnMessage(message, ex);
            if (ex.reply) return false;
          }
          return true;
        });
    if (!bad.ok()) return bad;
    if (!s.ok() && !ex.reply) {
      if (s.code() == Status::Code::kTimeout) return Status::Timeout(Name() + " did not answer in time");
      // Named, as client.h promises: the chat shows this to the user and the model (e.g. the server is down).
      if (s.code() == Status::Code::kUnavailable) return Status::Unavailable(Name() + " could not be reached: " + s.message());
      return s;
    }
    if (!ex.sse && ex.status == 200 && StartsWithNoCase(ex.content_type, "application/json")) {
      json body;
      if (auto error = ParseWire(ex.body, body))
        return Status::Unavailable(Name() + " sent a reply that is not JSON: " + error->message);
      if (body.is_array()) {
        for (const auto& m : body) OnMessage(m, ex);
      } else {
        OnMessage(body, ex);
      }
      ex.json_read = true;
    }
    return Status::Ok();
  }

  net::HttpClient& http_;
  const ServerSpec spec_;
  std::function<void(const json&)> on_notification_;
  ServerRequestHandler on_request_;
  mutable std::mutex mu_;  // guards the session fields
  CancelToken stop_listening_;
  std::mutex listen_mu_;  // guards listener_, listening_, listen_answered_
  std::condition_variable listen_cv_;
  bool listen_answered_ = false;
  std::thread listener_;
  bool listening_ = false;
  std::string session_, version_, received_session_;
};

}  // namespace

std::unique_ptr<Transport> MakeHttpTransport(net::HttpClient& http, const ServerSpec& spec,
                                             std::function<void(const json&)> on_notification,
                                             ServerRequestHandler on_request) {
  return std::make_unique<HttpTransport>(http, spec, std::move(on_notification), std::move(on_request));
}

}  // namespace llmdesk::mcp
