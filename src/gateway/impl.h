// gateway/impl.h — private to src/gateway: the Gateway's parts, shared by gateway.cpp (routes, models,
// errors), proxy.cpp (forwarding) and tools_route.cpp (`NAME+tools`: the agent loop).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/cancel.h"
#include "config/config.h"
#include "gateway/gateway.h"
#include "gateway/metrics.h"
#include "gateway/scheduler.h"
#include "net/http_client.h"
#include "net/http_server.h"

namespace llmdesk::chat {
class ToolHost;
}

namespace llmdesk::gateway {

using Clock = std::chrono::steady_clock;

// OpenAI-shaped error response (ErrorBody); `extra` members are merged into "error".
net::Response ErrorResponse(int status, const std::string& message, const std::string& code,
                            const nlohmann::json& extra = nullptr);
// The response for a Status from the scheduler or an upstream call (429 + Retry-After, 503, 504, 502 ...).
net::Response ErrorResponse(const Status& status);
// One SSE `data:` event carrying an OpenAI error object, for failures after a stream began.
std::string ErrorEvent(const std::string& message, const std::string& type, const std::string& code);
std::string Dump(const nlohmann::json& j);

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

// What a /v1 request resolved to.
struct Routed {
  const config::ModelConfig* model = nullptr;
  std::string requested;  // the model as the client named it ("default+tools")
  std::string route;      // "chat/completions" | "completions" | "embeddings"
  bool tools = false;     // run the agent loop here
  bool stream = false;
  nlohmann::json json;    // the parsed body
  std::string body;       // what goes upstream
};

// Where a request goes: a ticket on a spawned model, or a remote url with its key.
struct Upstream {
  std::string base_url;  // up to and including /v1
  std::string api_key;
  Ticket ticket;         // empty for a remote model
};

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

  net::Response Models(const std::string& only);
  // Parses and routes a request body; nullopt with `error` set when it must be refused.
  std::optional<Routed> Resolve(const net::Request& req, const std::string& route, net::Response& error);
  // A ticket (spawned, waiting for its start or for room) or the remote's url; nullopt with `error`.
  std::optional<Upstream> Connect(const Routed& r, const CancelToken* cancel, net::Response& error);
  // A spawned engine that refused the connection (killed, crashed) before the manager noticed: waits until
  // the manager sees it gone (bounded), then connects again through the scheduler. False with `error` set.
  bool Reconnect(const Routed& r, Upstream& up, net::Response& error);
  net::Response Handle(net::Request& req, const std::string& route);  // proxy.cpp
  net::Response Forward(Routed r, Upstream up, Clock::time_point began);  // proxy.cpp
  net::Response ToolsAnswer(Routed r, Upstream up, Clock::time_point began);  // tools_route.cpp
  std::string NewId(const char* prefix) { return prefix + std::to_string(next_id++); }
};

}  // namespace llmdesk::gateway
