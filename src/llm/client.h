// llm/client.h — an OpenAI-compatible chat-completions client (llama-server, a remote vLLM/TGI, another
// llmdesk's gateway) over net::HttpClient.
//
// Complete() sends one request, streamed (SSE: deltas reach `on_delta` as they arrive) or not, and
// returns the assembled answer (openai.h does the merging and repairs).
// Errors, each naming the server's URL: the server's own error message for an HTTP error status
// (Unavailable for 5xx and 503 "loading model", InvalidArgument for 4xx); Unavailable when nothing answers,
// when the answer is not JSON/SSE (an HTML page, whatever its status: "the server at URL answered HTML instead
// of the OpenAI API (HTTP 502, text/html: <its title>)"), when a streamed chunk is malformed (naming what was
// wrong: "delta.tool_calls is not an array"), or when the stream ends before the answer did; Cancelled when
// the token fired; Timeout when no byte came for idle_timeout.
// Threads: thread-safe (the HttpClient is); Complete blocks its caller, and `on_delta` runs on it.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/cancel.h"
#include "common/status.h"
#include "llm/model.h"
#include "llm/openai.h"
#include "net/http_client.h"

namespace llmdesk::llm {

struct Endpoint {
  std::string base_url;  // up to and including /v1, e.g. "http://127.0.0.1:10500/v1"
  std::string api_key;   // sent as a bearer token when not empty
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{300000};  // prompt processing of a long context can be slow
};

class ChatClient : public Model {
 public:
  ChatClient(net::HttpClient& http, Endpoint endpoint);
  Result<Completion> Complete(const ChatRequest& request,
                              const std::function<void(const StreamAccumulator::Delta&)>& on_delta,
                              const CancelToken* cancel) override;
  const Endpoint& endpoint() const { return endpoint_; }

 private:
  net::HttpRequest MakeRequest(const ChatRequest& request, const CancelToken* cancel) const;
  net::HttpClient& http_;
  Endpoint endpoint_;
};

}  // namespace llmdesk::llm
