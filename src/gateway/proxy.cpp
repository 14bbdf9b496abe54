// Forwarding (contract in gateway.h): a /v1 request to its upstream, whole or streamed as it arrives.
#include <algorithm>

#include "gateway/impl.h"
#include "llm/openai.h"
#include "manager/manager.h"

namespace llmdesk::gateway {
namespace {

using Json = nlohmann::json;
constexpr size_t kMaxErrorBody = 64 * 1024;  // an upstream error body kept for the error event
constexpr size_t kMaxEventKept = 256 * 1024;  // the last SSE event kept to read its usage
constexpr auto kWritableSlice = std::chrono::milliseconds(100);

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

// Follows the SSE bytes passed through without re-framing them: where events end (so an error event after
// a cut-off stream starts on a clean line), how many carried data, and the last one (its usage).
class SseTally {
 public:
  void Feed(std::string_view bytes) {
    for (char c : bytes) {
      if (c == '\n' && prev_ == '\n') {
        if (!current_.empty()) Complete();
      } else if (c != '\n' || !current_.empty()) {
        if (current_.size() < kMaxEventKept) current_ += c;
      }
      prev_ = c;
    }
  }
  bool at_boundary() const { return current_.empty(); }
  bool saw_done() const { return saw_done_; }
  int64_t events() const { return events_; }
  // usage from the last data event that had one ({prompt_tokens, completion_tokens}), if any.
  std::optional<std::pair<int64_t, int64_t>> usage() const { return usage_; }

 private:
  void Complete() {
    ++events_;
    while (!current_.empty() && (current_.back() == '\n' || current_.back() == '\r')) current_.pop_back();
    if (current_ == "data: [DONE]" || current_ == "data:[DONE]") saw_done_ = true;
    // Only events that mention usage are parsed: the rest pass at the cost of this search.
    if (current_.find("\"usage\"") != std::string::npos) {
      std::string_view data = current_;
      if (data.rfind("data:", 0) == 0) data.remove_prefix(5);
      Json j = Json::parse(data, nullptr, false);
      if (j.is_object() && j.contains("usage") && j["usage"].is_object()) {
        const Json& u = j["usage"];
        usage_ = {u.value("prompt_tokens", int64_t{0}), u.value("completion_tokens", int64_t{0})};
      }
    }
    current_.clear();
  }
  std::string current_;
  char prev_ = '\n';
  int64_t events_ = 0;
  bool saw_done_ = false;
  std::optional<std::pair<int64_t, int64_t>> usage_;
};

net::HttpRequest UpstreamRequest(const Routed& r, const Upstream& up, const CancelToken* cancel,
                                 std::chrono::milliseconds idle) {
  net::HttpRequest q;
  q.method = "POST";
  q.url = up.base_url + "/" + r.route;
  q.headers = {{"Content-Type", "application/json"}};
  if (r.stream) q.headers.emplace_back("Accept", "text/event-stream");
  if (!up.api_key.empty()) q.headers.emplace_back("Authorization", "Bearer " + up.api_key);
  q.body = r.body;
  q.idle_timeout = idle;
  q.cancel = cancel;
  return q;
}

}  // namespace

bool Gateway::Impl::Reconnect(const Routed& r, Upstream& up, net::Response& error) {
  const pid_t dead = up.ticket.lease().status().pid;
  up.ticket = {};
  (void)manager.WaitUntil(r.model->name, [dead](const manager::BackendStatus& s) {
    return s.pid != dead || s.state != manager::State::kReady;
  }, std::chrono::seconds(5));
  auto again = Connect(r, &shutdown, error);
  if (!again) return false;
  up = std::move(*again);
  return true;
}

net::Response Gateway::Impl::Handle(net::Request& req, const std::string& route) {
  const auto began = Clock::now();
  net::Response error;
  auto routed = Resolve(req, route, error);
  if (!routed) {
    metrics.Request("", route, error.status, Seconds(began));
    return error;
  }
  // A stream's client may go away while the model starts: its cancel token is made in Forward; until then
  // the gateway's shutdown is what ends the wait.
  auto up = Connect(*routed, &shutdown, error);
  if (!up) {
    metrics.Request(routed->model->name, route, error.status, Seconds(began));
    return error;
  }
  if (routed->tools) return ToolsAnswer(std::move(*routed), std::move(*up), began);
  return Forward(std::move(*routed), std::move(*up), began);
}

net::Response Gateway::Impl::Forward(Routed r, Upstream up, Clock::time_point began) {
  const std::string model = r.model->name;
  if (!r.stream) {
    LinkedCancel cancel(shutdown);
    auto answer = http.Send(UpstreamRequest(r, up, &cancel.token, options.upstream_idle_timeout));
    if (!answer.ok() && answer.status().code() == Status::Code::kUnavailable && up.ticket.lease().valid()) {
      net::Response error;  // the engine died before it answered: once more on the restarted one
      if (!Reconnect(r, up, error)) return error;
      answer = http.Send(UpstreamRequest(r, up, &cancel.token, options.upstream_idle_timeout));
    }
    up.ticket = {};  // the model is free for the next request (and for a swap) from here on
    if (!answer.ok()) {
      metrics.Request(model, r.route, 502, Seconds(began));
      return ErrorResponse(502, "the model's server did not answer: " + answer.status().message(), "upstream_error");
    }
    net::Response out;
    out.status = answer->status;
    out.body = std::move(answer->body);
    const std::string& type = answer->Header("Content-Type");
    out.content_type = type.empty() ? "application/json" : type;
    if (out.status == 200 && out.body.find("\"usage\"") != std::string::npos) {
      Json j = Json::parse(out.body, nullptr, false);
      if (j.is_object() && j.contains("usage") && j["usage"].is_object())
        metrics.Tokens(model, j["usage"].value("prompt_tokens", int64_t{0}), j["usage"].value("completion_tokens", int64_t{0}));
    }
    metrics.Request(model, r.route, out.status, Seconds(began));
    return out;
  }

  struct Job {
    Job(const CancelToken& parent, Routed routed, Upstream upstream)
        : cancel(parent), r(std::move(routed)), up(std::move(upstream)) {}
    LinkedCancel cancel;
    Routed r;
    Upstream up;
  };
  auto job = std::make_shared<Job>(shutdown, std::move(r), std::move(up));
  auto response = net::Response::Stream("text/event-stream", [this, job, began, model](std::shared_ptr<net::Stream> stream) {
    std::weak_ptr<Job> weak = job;
    stream->OnClose([weak] {  // the client went away (or the server stops): the engine stops generating
      if (auto j = weak.lock()) j->cancel.token.Cancel();
    });
    int status = 0;
    std::string error_body;
    SseTally tally;
    Status done = http.Stream(
        UpstreamRequest(job->r, job->up, &job->cancel.token, options.upstream_idle_timeout),
        [&](int s, const net::HeaderList&) {
          status = s;
          return true;
        },
        [&](std::string_view chunk) {
          if (status != 200) {
            if (error_body.size() < kMaxErrorBody) error_body.append(chunk.substr(0, kMaxErrorBody - error_body.size()));
            return true;
          }
          while (!stream->WaitWritable(kWritableSlice))  // back-pressure: read no faster than the client takes
            if (stream->closed()) return false;
          tally.Feed(chunk);
          return stream->Write(std::string(chunk));
        });
    job->up.ticket = {};
    if (!stream->closed()) {
      if (status != 0 && status != 200) {
        Json body = Json::parse(error_body, nullptr, false);
        auto message = body.is_discarded() ? std::nullopt : llm::ErrorMessage(body);
        stream->Write(ErrorEvent(message.value_or("the model's server answered HTTP " + std::to_string(status)),
                                 status >= 500 ? "server_error" : "invalid_request_error", "upstream_" + std::to_string(status)));
      } else if (!job->cancel.token.cancelled() && (!done.ok() || (status == 200 && !tally.saw_done()))) {
        // The engine died (kill -9, crash) or the connection broke: say so in OpenAI's shape, end cleanly.
        if (!tally.at_boundary()) stream->Write("\n\n");  // end the cut-off event so ours parses on its own
        stream->Write(ErrorEvent("the model's server failed mid-stream: " +
                                     (done.ok() ? std::string("the stream ended without [DONE]") : done.message()) +
                                     " (a local engine is restarted; retry the request)",
                                 "server_error", "upstream_failed"));
      }
    }
    stream->Close();
    if (auto usage = tally.usage()) metrics.Tokens(model, usage->first, usage->second);
    else metrics.Tokens(model, 0, std::max<int64_t>(0, tally.events() - 2));  // role chunk and [DONE] carry none
    metrics.Request(model, job->r.route, status == 0 ? 502 : status, Seconds(began));
  });
  response.SetHeader("Cache-Control", "no-cache");
  return response;
}

}  // namespace llmdesk::gateway
