// gateway/impl.h — private to src/gateway: the Gateway's parts, shared by gateway.cpp (routes, models,
// errors), proxy.cpp (forwarding) and tools_route.cpp (`NAME+tools`: the agent loop).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/cancel.h"
#include "config/config.h"
#include "gateway/gateway.h"
#include "gateway/metrics.h"
#include "gateway/request.h"
#include "gateway/scheduler.h"
#include "net/http_client.h"
#include "net/http_server.h"

namespace llmdesk::chat {
class ToolHost;
}

namespace llmdesk::gateway {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

// OpenAI-shaped error response (ErrorBody); `extra` members are merged into "error".
net::Response ErrorResponse(int status, const std::string& message, const std::string& code,
                            const nlohmann::json& extra = nullptr);
// The response for a Status from the scheduler or an upstream call (429 + Retry-After, 503, 504, 502 ...).
net::Response ErrorResponse(const Status& status);
// One SSE `data:` event carrying an OpenAI error object, for failures after a stream began.
std::string ErrorEvent(const std::string& message, const std::string& type, const std::string& code);
std::string Dump(const nlohmann::json& j);
// A client's text in a message: as is when short, else its start (a 30 MB model name is not echoed back).
std::string Shown(std::string_view text);

// A request's own cancel token, also fired by the gateway's shutdown. Not movable: hold it by pointer.
class LinkedCancel {
 public:
  explicit LinkedCancel(const CancelToken& parent)
      : parent_(parent), id_(parent.OnCancel([this] { token.Cancel(); })) {}
  ~LinkedCancel() {
    if (id_) parent_.Forget(id_);
  }
  LinkedCancel(const LinkedCancel&) = delete;
  LinkedCancel& operator=(const LinkedCancel&) = delete;
  CancelToken token;

 private:
  const CancelToken& parent_;
  uint64_t id_;
};

// Where a request goes: a ticket on a spawned model, or a remote url with its key.
struct Upstream {
  std::string base_url;  // up to and including /v1
  std::string api_key;
  Ticket ticket;         // empty for a remote model
};

// One /v1 request from its routing on: shared by the handler and, for a stream, the writer that outlives it.
// Its cancel fires when the gateway shuts down or the client goes away (Request::gone while the handler
// runs, the stream's OnClose after): the wait for the model and the upstream request end at once.
struct Job {
  Job(const CancelToken& parent, Routed routed) : cancel(parent), r(std::move(routed)) {}
  LinkedCancel cancel;
  Routed r;
  Upstream up;
};

// A stream's end (the client went away, or the server stops) cancels the job: the engine stops generating.
inline void CancelOnClose(net::Stream& stream, const std::shared_ptr<Job>& job) {
  stream.OnClose([weak = std::weak_ptr<Job>(job)] {
    if (auto j = weak.lock()) j->cancel.token.Cancel();
  });
}

struct Gateway::Impl {
  Impl(manager::Manager& m, chat::ToolHost* t, Options o);

  manager::Manager& manager;
  chat::ToolHost* tools;
  const Options options;
  net::HttpClient http;
  Scheduler scheduler;
  Metrics metrics;
  CancelToken shutdown;
  std::atomic<uint64_t> next_id{1};
  struct TemplateCheck {
    std::string engine;  // the engine start it was read from (url and pid)
    std::optional<std::string> warning;
  };
  std::mutex checks_mu;  // guards checks
  std::map<std::string, TemplateCheck> checks;  // by model name

  // gateway.cors_origins: a request from one of them gets Access-Control-Allow-Origin (and its preflight
  // an answer); the listener lets only these foreign origins reach /v1.
  void AllowOrigin(const net::Request& req, net::Response& res) const;
  net::Response Preflight(const net::Request& req) const;
  net::Response Models(const std::string& only);
  // Parses and routes a request body; nullopt with `error` set when it must be refused.
  std::optional<Routed> Resolve(const net::Request& req, const std::string& route, net::Response& error);
  // A ticket (spawned, waiting for its start or for room) or the remote's url; nullopt with `error`.
  std::optional<Upstream> Connect(const Routed& r, const CancelToken* cancel, net::Response& error);
  // A spawned engine that refused the connection (killed, crashed) before the manager noticed: waits until
  // the manager sees it gone (bounded), then connects again through the scheduler. False with `error` set.
  bool Reconnect(Job& job, net::Response& error);
  // A /v1 POST, first on the IO thread (an inline route): a streamed request for a ready or remote model
  // starts its stream from there, two thread hops fewer before the first byte; all else (a start to wait
  // for, a whole answer, the agent loop, a body over 64 KB to parse) is deferred to the worker pool.
  net::Response Dispatch(net::Request& req, const std::string& route, bool on_io_thread = true);  // proxy.cpp
  // On the pool: waits for the model (Connect), then Forward or ToolsAnswer.
  net::Response Serve(net::Request& req, std::shared_ptr<Job> job, Clock::time_point began);  // proxy.cpp
  net::Response Forward(std::shared_ptr<Job> job, Clock::time_point began);  // proxy.cpp
  net::Response ToolsAnswer(std::shared_ptr<Job> job, Clock::time_point began);  // tools_route.cpp
  // Why the job's model cannot use tools (llm/props.h: its chat template), read once per engine start.
  std::optional<std::string> ToolsWarning(const Job& job);  // tools_route.cpp
  std::string NewId(const char* prefix) { return prefix + std::to_string(next_id++); }
};

}  // namespace llmdesk::gateway
