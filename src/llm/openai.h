// llm/openai.h — the OpenAI chat-completions wire format: requests, streamed chunks, whole responses.
//
// Pure functions and one accumulator; no I/O, no threads (the transport is net::HttpClient, the loop is
// chat/). What llama.cpp users trip over is handled here, once:
//  - tool_calls arrive in pieces, keyed by `index` (id and name in the first piece, argument text spread
//    over many): StreamAccumulator merges them by index;
//  - a tool call with an empty or missing `id` gets one ("call_<n>");
//  - a Hermes-style `<tool_call>{"name":…,"arguments":…}</tool_call>` that a small model leaked into
//    `content` is recovered as a tool call and removed from the content;
//  - servers report errors as HTTP errors with {"error":{"message",…}} bodies, or as an `error` member
//    inside a streamed chunk: both become a Status carrying the server's own message.
// Malformed input (wrong types, missing fields) is InvalidArgument naming what was wrong; nothing throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace llmdesk::llm {

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text as the model wrote it (may be invalid: the loop reports that to the model)
};

struct Message {
  std::string role;  // system | user | assistant | tool
  std::string content;
  std::vector<ToolCall> tool_calls;  // assistant
  std::string tool_call_id;          // tool
};

// An OpenAI "function" tool.
struct ToolSpec {
  std::string name;
  std::string description;
  nlohmann::json parameters = nlohmann::json::object();  // JSON Schema
};

struct ChatRequest {
  std::string model;
  std::vector<Message> messages;
  std::vector<ToolSpec> tools;
  bool stream = true;
  std::optional<int> max_tokens;
  std::optional<double> temperature;
  nlohmann::json extra = nlohmann::json::object();  // merged into the body last (e.g. llama.cpp sampling options)
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  Usage& operator+=(const Usage& o);
};

struct Completion {
  Message message;                 // role assistant
  std::string finish_reason;       // stop | length | tool_calls | ...
  Usage usage;
  nlohmann::json timings;          // llama-server's own timings (prompt_ms, predicted_ms, ...), when sent
};

// The request body. `parallel_tool_calls: true` is sent whenever more than one tool is offered (llama.cpp
// otherwise lets the model call only one); `stream_options.include_usage` when streaming.
nlohmann::json ToJson(const ChatRequest& request);
nlohmann::json ToJson(const Message& message);

// An MCP tools/list entry ({name, description, inputSchema}) as an OpenAI function tool.
ToolSpec FromMcpTool(const nlohmann::json& mcp_tool);

// The server's error message from an error body ({"error":{"message"}} or {"error":"text"} or
// {"message"}); nullopt when the body holds no recognisable error.
std::optional<std::string> ErrorMessage(const nlohmann::json& body);

// A whole (non-streamed) chat.completion response.
Result<Completion> ParseCompletion(const nlohmann::json& body);

// Moves every <tool_call>…</tool_call> JSON block out of `content` into tool calls (ids left empty);
// blocks that are not valid JSON with a string "name" are left in the content untouched.
std::vector<ToolCall> RecoverLeakedToolCalls(std::string& content);

// Gives every call without an id a unique one ("call_<n>").
void AssignMissingIds(std::vector<ToolCall>& calls);

// Merges a stream of chat.completion.chunk objects (the parsed `data:` of each SSE event).
class StreamAccumulator {
 public:
  // What one chunk added, for front ends that show progress.
  struct Delta {
    std::string content;                // text to append
    struct ToolPiece {
      size_t index = 0;
      std::string name;                 // set in the piece that names the tool
      std::string arguments;            // argument text to append
    };
    std::vector<ToolPiece> tool_pieces;
  };
  // Ok, or the server's error (an `error` member) as Unavailable, or InvalidArgument for a malformed chunk.
  Status Feed(const nlohmann::json& chunk, Delta* delta = nullptr);
  // The assembled message: ids assigned, leaked tool calls recovered (finish_reason becomes tool_calls).
  Completion Finish();
  bool saw_finish() const { return !finish_reason_.empty(); }

 private:
  std::string content_;
  std::vector<ToolCall> calls_;  // by index
  std::string finish_reason_;
  Usage usage_;
  nlohmann::json timings_;
};

}  // namespace llmdesk::llm
