// Forwarding (contract in gateway.h): a /v1 request to its upstream, whole or streamed as it arrives.
#include <algorithm>

#include "common/json_read.h"
#include "gateway/impl.h"
#include "llm/openai.h"
#include "manager/manager.h"

namespace llmdesk::gateway {
namespace {

using Json = nlohmann::json;
constexpr size_t kMaxErrorBody = 64 * 1024;  // an upstream error body kept for the error event
constexpr size_t kMaxEventKept = 256 * 1024;  // the last SSE event kept to read its usage
constexpr auto kWritableSlice = std::chrono::milliseconds(100);

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
        usage_ = {JsonInt(u, "prompt_tokens"), JsonInt(u, "completion_tokens")};
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

bool Gateway::Impl::Reconnect(Job& job, net::Response& error) {
  const pid_t dead = job.up.ticket.lease().status().pid;
  job.up.ticket = {};
  (void)manager.WaitUntil(job.r.model->name, [dead](const manager::BackendStatus& s) {
    return s.pid != dead || s.state != manager::State::kReady;
  }, std::chrono::seconds(5));
  auto again = Connect(job.r, &job.cancel.token, error);
  if (!again) return false;
  job.up = std::move(*again);
  return true;
}

net::Response Gateway::Impl::Dispatch(net::Request& req, const std::string& route, bool on_io_thread) {
  constexpr size_t kInlineBody = 64 * 1024;  // parsing more here would hold up the IO thread's other connections
  if (on_io_thread && req.body.size() > kInlineBody)
    return net::Response::Defer([this, &req, route] { return Dispatch(req, route, false); });
  const auto began = Clock::now();
  net::Response error;
  auto routed = Resolve(req, route, error);
  if (!routed) {
    metrics.Request("", route, error.status, Seconds(began));
    return error;
  }
  auto job = std::make_shared<Job>(shutdown, std::move(*routed));
  if (job->r.stream && !job->r.tools) {  // nothing to wait for: the stream starts from here
    if (job->r.model->kind == config::ModelConfig::Kind::kRemote) {
      if (auto up = Connect(job->r, nullptr, error)) {  // a remote is never waited for
        job->up = std::move(*up);
        return Forward(std::move(job), began);
      }
    } else if (auto ticket = scheduler.TryEnter(job->r.model->name)) {
      job->up.ticket = std::move(*ticket);
      job->up.base_url = job->up.ticket.base_url();
      return Forward(std::move(job), began);
    }
  }
  if (!on_io_thread) return Serve(req, std::move(job), began);
  // (`req` outlives the deferred work: the connection reads no next request before this one is answered.)
  return net::Response::Defer([this, &req, job, began] { return Serve(req, job, began); });
}

net::Response Gateway::Impl::Serve(net::Request& req, std::shared_ptr<Job> job, Clock::time_point began) {
  // While this runs on the pool, the client going away ends the wait for the model's start and a whole
  // (non-streamed) upstream request; a stream's OnClose takes over once it runs.
  CancelWatch gone(req.gone, [j = job.get()] { j->cancel.token.Cancel(); });
  net::Response error;
  auto up = Connect(job->r, &job->cancel.token, error);
  if (!up) {
    metrics.Request(job->r.model->name, job->r.route, error.status, Seconds(began));
    return error;
  }
  job->up = std::move(*up);
  if (job->r.tools) return ToolsAnswer(job, began);  // (a copy: `gone` above points into the job)
  return Forward(job, began);
}

net::Response Gateway::Impl::Forward(std::shared_ptr<Job> job, Clock::time_point began) {
  const std::string model = job->r.model->name;
  if (!job->r.stream) {
    auto send = [&] { return http.Send(UpstreamRequest(job->r, job->up, &job->cancel.token, options.upstream_idle_timeout)); };
    auto answer = send();
    if (!answer.ok() && answer.status().code() == Status::Code::kUnavailable && job->up.ticket.lease().valid()) {
      net::Response error;  // the engine died before it answered: once more on the restarted one
      if (!Reconnect(*job, error)) return error;
      answer = send();
    }
    job->up.ticket = {};  // the model is free for the next request (and for a swap) from here on
    if (!answer.ok()) {
      const bool gone = job->cancel.token.cancelled();
      metrics.Request(model, job->r.route, gone ? 499 : 502, Seconds(began));
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
        metrics.Tokens(model, JsonInt(j["usage"], "prompt_tokens"), JsonInt(j["usage"], "completion_tokens"));
    }
    metrics.Request(model, job->r.route, out.status, Seconds(began));
    return out;
  }

  auto response = net::Response::Stream("text/event-stream", [this, job, began, model](std::shared_ptr<net::Stream> stream) {
    CancelOnClose(*stream, job);
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
