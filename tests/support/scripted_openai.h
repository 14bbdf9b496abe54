// tests/support/scripted_openai.h — a SCRIPTED stand-in for an OpenAI-compatible model server, for the
// multi-turn semantics the tiny generated models cannot produce (parallel tool calls, loops, bad JSON,
// server errors mid-stream). It is not a model: it replays fixed replies, one per request, in order.
//
// Each reply is a Turn: streamed chunks (sent as SSE `data:` events in realistic fragments, optionally
// with a pause before a chunk, optionally ending without [DONE] or cut off), a whole JSON body, an HTTP
// error, or a raw body of any content type (an HTML page). Requests are recorded for assertions. GET /props
// answers like llama-server's once SetProps gave it something to say.
// Runs on net::HttpServer on 127.0.0.1 with a kernel-picked port; stops in its destructor.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/http_server.h"

namespace llmdesk::test {

struct Turn {
  enum class Kind { kStream, kJson, kRaw };
  Kind kind = Kind::kStream;
  std::vector<nlohmann::json> chunks;  // kStream: chat.completion.chunk objects
  std::chrono::milliseconds pause{0};  // kStream: before each chunk
  bool done_marker = true;             // kStream: end with `data: [DONE]`
  std::string raw_tail;                // kStream: bytes sent as they are after the chunks (a stream cut mid-JSON)
  int status = 200;                    // kJson / kRaw
  std::string body;                    // kRaw
  std::string content_type = "application/json";
  nlohmann::json json;                 // kJson

  // Helpers for the common shapes: text in pieces, tool calls in pieces (name first, then arguments
  // split in two), an error body.
  static Turn Text(const std::string& text, size_t pieces = 3);
  static Turn ToolCalls(const std::vector<std::pair<std::string, std::string>>& name_and_arguments);
  static Turn Error(int status, const std::string& message);
  static Turn Html(int status, const std::string& page);
};

class ScriptedOpenAi {
 public:
  explicit ScriptedOpenAi(std::deque<Turn> turns);
  ~ScriptedOpenAi();
  std::string base_url() const;  // http://127.0.0.1:PORT/v1
  int port() const;
  std::vector<nlohmann::json> requests() const;  // bodies received, in order
  void Push(Turn turn);
  // GET /props (llama-server's) answers `props` once set; 404 before, as a server that is not llama-server.
  void SetProps(nlohmann::json props);
  int props_requests() const;

 private:
  net::Response Serve(net::Request& req);
  mutable std::mutex mu_;
  std::deque<Turn> turns_;
  std::vector<nlohmann::json> requests_;
  nlohmann::json props_;  // null = no /props
  int props_requests_ = 0;
  std::unique_ptr<net::HttpServer> server_;
};

}  // namespace llmdesk::test
