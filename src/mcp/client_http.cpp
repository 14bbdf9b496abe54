// The Streamable HTTP transport of mcp::Client (contract in client.h): POST per message, JSON or SSE replies,
// session headers, resuming a dropped SSE reply with GET + Last-Event-ID.
#include <strings.h>

#include <condition_variable>
#include <mutex>
#include <optional>

#include "mcp/client.h"
#include "mcp/jsonrpc.h"
#include "net/http_client.h"
#include "net/sse.h"

namespace llmdesk::mcp {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kSessionLostTag = "[mcp-session-lost]";
constexpr int kMaxResumes = 5;
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
  HttpTransport(net::HttpClient& http, ServerSpec spec, std::function<void(const json&)> on_notification)
      : http_(http), spec_(std::move(spec)), on_notification_(std::move(on_notification)) {}

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
    for (int resume = 0; sent.ok() && !ex.reply && ex.sse && !ex.last_event_id.empty() && resume < kMaxResumes;
         ++resume) {
      // The server closed the stream before the reply: come back after its `retry:` delay for the rest.
      if (Status waited = Wait(ex.retry_ms, deadline, cancel); !waited.ok()) return waited;
      net::HttpRequest get = Base("GET");
      get.headers.emplace_back("Last-Event-ID", ex.last_event_id);
      sent = Send(get, deadline, cancel, ex);
    }
    if (!sent.ok()) return sent;
    if (ex.reply) return *ex.reply;
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
    long long retry_ms = 1000;
    std::optional<json> reply;
  };

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

  // Handles one message that arrived in an SSE reply.
  void OnMessage(const json& message, Exchange& ex) {
    if (!message.is_object()) return;
    const bool is_reply = !message.contains("method") && (message.contains("result") || message.contains("error"));
    if (is_reply) {
      if (message.value("id", json()) == ex.id) ex.reply = message;
      return;
    }
    if (message.contains("id")) {  // a request from the server: we serve ping, nothing else
      json reply = message.value("method", "") == "ping"
                       ? ResultReply(message["id"], json::object())
                       : ErrorReply(message["id"], {rpc::kMethodNotFound, "llmdesk does not offer this", nullptr});
      (void)Notify(reply);  // a second transfer on the same client: the stream waits the moment it takes
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
            if (!e.id.empty()) ex.last_event_id = e.id;
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
  mutable std::mutex mu_;  // guards the session fields
  std::string session_, version_, received_session_;
};

}  // namespace

std::unique_ptr<Transport> MakeHttpTransport(net::HttpClient& http, const ServerSpec& spec,
                                             std::function<void(const json&)> on_notification) {
  return std::make_unique<HttpTransport>(http, spec, std::move(on_notification));
}

}  // namespace llmdesk::mcp
