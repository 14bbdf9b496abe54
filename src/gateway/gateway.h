// gateway/gateway.h — the OpenAI-compatible gateway: /v1 on the gateway listener (127.0.0.1:8760, beside
// the control API), routed by the request's `model`.
//
// Routes (registered on a net::HttpServer by Register; the listener's policy applies first: loopback
// Host/Origin — a foreign Origin is 403 unless it is one of `gateway.cors_origins` —, `Authorization: Bearer
// <gateway.token>` when one is set):
//   GET  /v1/models, /v1/models/{id}   every configured model with its state (`llmdesk.state`), plus a
//                                      `NAME+tools` entry per model when a tool host is given
//   POST /v1/chat/completions, /v1/completions, /v1/embeddings
//        -> the model's backend: a spawned llama-server (started on demand through the manager, with its
//           port rules; one start however many requests wait) or a `url:` remote server (its api_key sent
//           as a bearer token). The body goes upstream byte for byte (client `tools` included: the client
//           runs them); only `NAME+tools` / `"llmdesk"` requests are rewritten.
//        Streamed (`"stream": true`): the upstream's bytes are passed on as they arrive, at the client's
//        pace (the upstream read waits while the client's queue is full). The client going away cancels
//        the request at once wherever it is: waiting for the model's start, streaming, or waiting for a
//        whole answer (net::Request::gone) — the engine stops generating. The upstream failing mid-stream
//        (engine killed) ends the stream cleanly after one `data: {"error": {...}}` event.
//   Model `NAME+tools` (or `"llmdesk": {"tools": "auto"}` in a chat request without its own `tools`): the
//        agent loop (chat::Agent) runs here with the tool host's tools (the configured MCP servers) and the
//        final answer is returned; streamed, tokens come as content deltas and each tool call / result as a
//        chunk with an empty delta and an `llmdesk` member; `usage` adds up all model turns. Tools whose
//        approval is `ask` are denied (no one here can answer). A model whose chat template cannot do tools
//        (llm/props.h, read once per engine start) gets an `x-llmdesk-warning` header and the warning in the
//        answer's `llmdesk.warning` (whole) or as the stream's first `llmdesk` note ({"event": "warning"}).
//   OPTIONS on the /v1 paths: the CORS preflight, answered (204) for `gateway.cors_origins` only (403 for
//        any other origin); their requests get Access-Control-Allow-Origin on every /v1 answer.
//   GET  /metrics                      Prometheus text: requests, latency, tokens, loads, queue depth per model
// Errors are OpenAI-shaped, {"error": {"message", "type", "code"}}: unknown model 404 (lists the available
// ones), malformed JSON (or nested deeper than 64) / missing model / a member of the wrong type (model,
// messages, stream, max_tokens, tools, llmdesk) 400, body over the limit 413, queue full 429 with a
// Retry-After from the model's last start and mean request time (scheduler.h),
// engine failed to start 503 with the manager's reason (the port's holder when that was the cause),
// upstream unreachable 502, start timeout 504. An upstream HTTP error is passed through as it is.
// gateway.max_loaded / gateway.queue: see scheduler.h (LRU unload only after in-flight requests finish).
//
// Threads: a POST is parsed on the server's IO thread (bodies up to 64 KB) and a stream for a ready or
// remote model starts from there; everything that may block (waiting for a model, a whole answer, the agent
// loop) runs on the server's worker pool. A stream holds a pool worker until it ends: net::HttpClient's
// transfers block their caller. Shutdown() cancels every waiting and running request; call it before the
// server stops. Manager, tool host and server must outlive the Gateway.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "config/config.h"

namespace llmdesk::net {
class HttpServer;
}
namespace llmdesk::manager {
class Manager;
}
namespace llmdesk::chat {
class ToolHost;
}

namespace llmdesk::gateway {

struct Options {
  size_t max_body_bytes = 32 * 1024 * 1024;  // per /v1 request; 413 beyond
  std::chrono::milliseconds upstream_idle_timeout{300000};  // no byte from the upstream for this long
  std::chrono::milliseconds queue_timeout{600000};  // waiting for room under max_loaded, on top of the start
};

class Gateway {
 public:
  // `tools` may be null: then `NAME+tools` requests are refused (400) and not listed.
  Gateway(manager::Manager& manager, chat::ToolHost* tools, Options options = {});
  ~Gateway();  // Shutdown()
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  void Register(net::HttpServer& server);
  void Shutdown();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// {"error": {"message", "type", "code"}} — OpenAI's error body. `type` follows the status
// (invalid_request_error, authentication_error, permission_error, not_found_error, rate_limit_error,
// server_error).
nlohmann::json ErrorBody(int status, const std::string& message, const std::string& code);

}  // namespace llmdesk::gateway
